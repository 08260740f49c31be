"""Soak: the mirror daemon under continuous faults and repeated SIGKILLs; counts what is lost or
doubled.

Run: .venv/bin/python bench/soak.py [--messages 10000] [--kills 10] [--seed 1]

The mirror bridge runs as ``python -m mmbridge run`` in a process of its own (as in
``bench/startup_bench.py``) against an emulator served by this process with its fault admin API on
(``Emulator(faults_api=True)``; faults are armed over HTTP with ``FaultsAPIClient``, as for any
bridge in another process). Alice (``~bridge-test``) and bob (``~off-topic``, every 4th message)
write ``--messages`` messages at a steady pace, with edits (every 10th), replies (every 9th),
reactions (every 6th) and a reaction added and removed again (every 12th)
(``examples.mirror.verify.converse``). Meanwhile:

* every 0.5-1.5 s one fault is armed, in turn: 3 x 503 on ``POST /posts``, a 429 on reactions,
  a 2 s delay on ``POST /posts``, a ``POST /posts`` whose connection drops after the post was made
  (the answer is lost), a dropped WebSocket, a dropped WebSocket whose replay buffer is gone;
* ``--kills`` times, spread over the run, the daemon gets SIGKILL and is restarted after 0-5 s.

Then it waits (up to 120 s) for the mirror to be exact and reports: messages, faults armed by kind,
kills, lost, doubled, other differences (order, edits, reactions, threads), dead letters, and the
time. It asserts nothing about time; it exits 1 when anything was lost or doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.startup_bench import Daemon, free_port, write_files
from examples.mirror.verify import MirrorVerifier, Speaker, converse
from mmbridge.api import ClientAPI
from mmbridge.testing.emulator import Emulator, EmulatorSettings
from mmbridge.testing.faults_client import FaultsAPIClient

SETTLE_LIMIT = 120.0


async def arm_faults(faults: FaultsAPIClient, rng: random.Random, armed: Counter[str]) -> None:
    kinds = ["503 x3 on POST /posts", "429 on reactions", "2 s delay", "answer lost", "ws drop", "ws reset"]
    turn = 0
    while True:
        await asyncio.sleep(rng.uniform(0.5, 1.5))
        kind = kinds[turn % len(kinds)]
        turn += 1
        if kind == kinds[0]:
            await faults.fail_next(3, 503, method="POST", path_contains="/api/v4/posts")
        elif kind == kinds[1]:
            await faults.rate_limit_next(1, retry_after=1, path_contains="/reactions")
        elif kind == kinds[2]:
            await faults.delay_next(1, 2.0, method="POST", path_contains="/api/v4/posts")
        elif kind == kinds[3]:
            await faults.drop_next(1, after_processing=True, method="POST", path_contains="/api/v4/posts")
        elif kind == kinds[4]:
            await faults.ws_drop()
        else:
            await faults.ws_lose_replay()
            await faults.ws_drop()
        armed[kind] += 1


async def soak(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    emu = Emulator(settings=EmulatorSettings(), faults_api=True)
    await emu.start(host="127.0.0.1", port=0)
    _, token = emu.create_bridge_bot()
    bob_id, bob_token = emu.create_user("bob")
    off_topic = emu.state.channel_by_name(emu.seed.team_id, "off-topic")
    assert off_topic is not None
    emu.state.add_channel_member(off_topic, emu.state.user(bob_id), bob_id)
    a, b = emu.seed.channel_id, off_topic.id
    alice = ClientAPI.connect(emu.url, emu.seed.token)
    bob = ClientAPI.connect(emu.url, bob_token)
    faults = FaultsAPIClient(emu.url)
    verifier = MirrorVerifier(emu.state, {emu.seed.user_id, bob_id})
    armed: Counter[str] = Counter()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mmbridge-soak-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        config, registration = write_files(workdir, emu, token, port)
        health = f"http://127.0.0.1:{port}/health"
        run_args = ["run", "-c", str(config), "-r", str(registration)]
        starts = 0
        async with aiohttp.ClientSession() as http:

            async def start() -> Daemon:
                nonlocal starts
                starts += 1
                daemon = Daemon(workdir, run_args, f"mmbridge-{starts}")
                await daemon.start()
                await daemon.until_healthy(http, health)
                return daemon

            daemon = await start()
            progress = [0]
            speakers = Speaker(alice, emu.seed.user_id, a), Speaker(bob, bob_id, b)
            talking = asyncio.create_task(
                converse(*speakers, args.messages, pace=args.pace, progress=progress)
            )
            faulting = asyncio.create_task(arm_faults(faults, rng, armed))
            for kill in range(1, args.kills + 1):  # spread evenly over the messages
                while progress[0] < kill * args.messages // (args.kills + 1):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                await daemon.kill()
                await asyncio.sleep(rng.uniform(0.0, 5.0))
                daemon = await start()
            await talking
            faulting.cancel()
            await faults.clear()
            wrote = time.perf_counter() - started
            deadline = time.perf_counter() + SETTLE_LIMIT
            while verifier.problems(a, b) and time.perf_counter() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
            settled = time.perf_counter() - started
            difference = verifier.compare(a, b)
            letters = Daemon(workdir, ["dead-letters", "-c", str(config)], "dead-letters")
            await letters.start()
            assert letters.process is not None
            await letters.process.wait()
            dead = letters.out.read_text().strip()
            code, _ = await daemon.stop()
    await faults.close()
    await alice.close()
    await bob.close()
    await emu.stop()
    print(f"messages {args.messages}, kills {starts - 1}, faults armed {sum(armed.values())}:")
    for kind, count in armed.items():
        print(f"  {kind}: {count}")
    print(f"lost {len(difference.lost)}, doubled {len(difference.doubled)}, other {len(difference.other)}")
    for line in difference.describe():
        print(f"  {line}")
    print(f"dead letters: {dead}")
    print(f"time: {wrote:.1f} s writing, {settled:.1f} s until exact; last daemon exit code {code}")
    return 1 if difference.lost or difference.doubled else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pace", type=float, default=0.005, help="seconds between messages")
    args = parser.parse_args()
    sys.exit(asyncio.run(soak(args)))


if __name__ == "__main__":
    main()
