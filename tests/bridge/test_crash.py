"""The crash test: the mirror as its own process (``mmbridge run``), 300 messages at a steady rate
with edits, replies and reactions from both sides, SIGKILL three times with restarts after 0-5 s,
faults armed through the emulator's admin API. Afterwards every message exists exactly once on
the other side, in order per channel, with its edits and reactions, and nothing is parked."""

from __future__ import annotations

import asyncio
import random
import signal

from examples.mirror.verify import MirrorVerifier, Speaker, converse
from mmbridge.api import ClientAPI
from mmbridge.testing.faults_client import FaultsAPIClient

from .conftest import MirrorSetup, until

MESSAGES = 300
KILLS = 3


async def test_sigkill_three_times_under_faults_loses_and_doubles_nothing(mirror: MirrorSetup) -> None:
    emulator = mirror.emulator
    seed = emulator.seed
    a, b = seed.channel_id, mirror.off_topic.id
    bob_id, bob_token = emulator.create_user("bob")
    emulator.state.add_channel_member(emulator.state.channel(b), emulator.state.user(bob_id), bob_id)
    alice = ClientAPI.connect(emulator.url, seed.token)
    bob = ClientAPI.connect(emulator.url, bob_token)
    faults = FaultsAPIClient(emulator.url)
    rng = random.Random(10)
    check = MirrorVerifier(emulator.state, {seed.user_id, bob_id})
    try:
        daemon = await mirror.start_healthy()
        talking = asyncio.create_task(
            converse(Speaker(alice, seed.user_id, a), Speaker(bob, bob_id, b), MESSAGES)
        )
        for kill in range(KILLS):
            await asyncio.sleep(rng.uniform(0.8, 1.6))
            # Faults from outside the process, while it runs: 5xx bursts, a 429, a dropped
            # WebSocket that comes back without its replay buffer.
            await faults.fail_next(3, 503, method="POST", path_contains="/api/v4/posts")
            await faults.rate_limit_next(1, retry_after=1, path_contains="/reactions")
            await faults.ws_lose_replay()
            await faults.ws_drop()
            await asyncio.sleep(rng.uniform(0.3, 0.8))
            daemon.signal(signal.SIGKILL)
            await daemon.wait()
            await asyncio.sleep([0.0, 2.5, 5.0][kill])
            daemon = await mirror.start_healthy()
        await talking
        await until(lambda: not check.problems(a, b), limit=30)
        letters = await mirror.new_daemon("dead-letters").run("dead-letters", "-c", str(mirror.config))
        assert letters.code == 0, letters.stderr
        assert letters.stdout.strip() == "no dead letters"
        assert len(check.originals(a)) + len(check.originals(b)) == MESSAGES
        daemon.signal(signal.SIGTERM)
        assert (await daemon.wait()).code == 0
    finally:
        print("problems:", check.problems(a, b)[:10])
        await faults.close()
        await alice.close()
        await bob.close()
