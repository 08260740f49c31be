"""IRC bridge end to end: latency (p50/p99) and messages per second, an IRC client's line to the
Mattermost post and a Mattermost post to the IRC line.

Run: .venv/bin/python bench/irc_bench.py [--messages 300] [--burst 500]

The IRC bridge (``examples.irc``) runs as ``python -m mmbridge run`` in a process of its own,
between an emulator served by this process and ``miniircd`` (a real IRC server, a process of its
own). Bob is an IRC client (the ``irc`` library, as in ``make demo``) in ``#demo``; Alice reads
``~bridge-test`` over her own WebSocket and posts over REST. After a warm-up (the puppets, Alice's
IRC connection exist), measured:

* IRC -> Mattermost latency: Bob says a line, one at a time; until the post reaches Alice's
  WebSocket;
* Mattermost -> IRC latency: Alice posts, one at a time; until Bob's client receives the line
  (puppet mode: the line comes from ``alice[m]``, Alice's own IRC connection);
* throughput both ways: ``--burst`` messages sent at once, until the last has arrived.

Flood control is set out of the way (``irc.send_rate: 10000``); with the default (2 lines a second
per connection after a burst of 5) Mattermost -> IRC is bounded by it, as IRC networks require.
Plain script, loopback only; it asserts nothing about timings (it exits 1 when a message is missing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.startup_bench import BenchFailed, Daemon, free_port
from examples.irc.demo import CHANNEL, IRCPerson, start_ircd
from mmbridge.api import ClientAPI, WebSocketStream
from mmbridge.testing.emulator import Emulator
from mmbridge.types import ChannelID, PostedEvent

WAIT = 60.0


def write_config(folder: Path, emu: Emulator, token: str, port: int, irc_port: int) -> tuple[Path, Path]:
    from examples.irc import IRCBridge
    from mmbridge.bridge import Registration, write_registration

    config, registration = folder / "config.yaml", folder / "registration.yaml"
    config.write_text(
        f"""\
bridge: examples.irc:IRCBridge
mattermost: {{url: "{emu.url}", token: "{token}", team: {emu.seed.team_name}}}
appservice: {{id: irc, port: {port}}}
puppets: {{username_template: "irc_{{localpart}}"}}
database: {{uri: "sqlite:///{folder / "irc.db"}"}}
logging: {{version: 1, root: {{level: WARNING}}}}
irc:
  server: 127.0.0.1
  port: {irc_port}
  channels: {{"{CHANNEL}": bridge-test}}
  send_rate: 10000
  send_burst: 10000
  max_lines: 100
"""
    )
    loaded = IRCBridge.load_config(config, env={})
    write_registration(registration, Registration.from_config(loaded.core))
    return config, registration


class Arrivals:
    """When each text arrived on one side (the first time)."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.changed = asyncio.Event()

    def saw(self, text: str) -> None:
        self.at.setdefault(text, time.perf_counter())
        self.changed.set()

    async def until(self, texts: list[str]) -> float:
        """The time the last of ``texts`` arrived."""
        async with asyncio.timeout(WAIT):
            while missing := [t for t in texts if t not in self.at]:
                self.changed.clear()
                await self.changed.wait()
                del missing
        return max(self.at[t] for t in texts)


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms (n={len(ms)})"


async def run(messages: int, burst: int) -> None:
    emu = Emulator()
    await emu.start()
    folder = Path(tempfile.mkdtemp(prefix="irc-bench-"))
    _, token = emu.create_bridge_bot()
    port, irc_port = free_port(), free_port()
    config, registration = write_config(folder, emu, token, port, irc_port)
    ircd = await start_ircd(irc_port, folder / "miniircd.log")
    daemon = Daemon(folder, ["run", "-c", str(config), "-r", str(registration)], "irc")
    seed = emu.seed
    channel = ChannelID(seed.channel_id)
    on_mattermost, on_irc = Arrivals(), Arrivals()
    bob = IRCPerson("bob")
    reader: asyncio.Task[None] | None = None
    try:
        pid = await daemon.start()
        async with aiohttp.ClientSession() as session:
            await daemon.until_healthy(session, f"http://127.0.0.1:{port}/health")
        await bob.connect(irc_port)
        bob.on_message = lambda nick, text: on_irc.saw(text) if nick == "alice[m]" else None
        bob.connection.join(CHANNEL)
        async with ClientAPI.connect(emu.url, seed.token) as alice:
            stream = WebSocketStream(alice.http)

            async def read() -> None:
                async for event in stream.events():
                    if isinstance(event, PostedEvent) and event.post.user_id != seed.user_id:
                        on_mattermost.saw(event.post.message)

            reader = asyncio.create_task(read())
            await asyncio.sleep(2)  # the relay bot in #demo, Alice's stream up

            async def irc_to_mm(text: str) -> float:
                started = time.perf_counter()
                bob.say(text)
                return await on_mattermost.until([text]) - started

            async def mm_to_irc(text: str) -> float:
                started = time.perf_counter()
                await alice.posts.create(channel, text)
                return await on_irc.until([text]) - started

            for i in range(20):  # warm-up: the puppet, Alice's IRC connection
                await irc_to_mm(f"warm irc {i}")
                await mm_to_irc(f"warm mm {i}")
            up = [await irc_to_mm(f"irc {i}") for i in range(messages)]
            down = [await mm_to_irc(f"mm {i}") for i in range(messages)]

            texts = [f"burst irc {i}" for i in range(burst)]
            started = time.perf_counter()
            for text in texts:
                bob.say(text)
            up_rate = burst / (await on_mattermost.until(texts) - started)
            texts = [f"burst mm {i}" for i in range(burst)]
            started = time.perf_counter()
            await asyncio.gather(*[alice.posts.create(channel, text) for text in texts])
            down_rate = burst / (await on_irc.until(texts) - started)
            await stream.close()

        print(f"bridge pid {pid}; {messages} messages each way, one at a time; bursts of {burst}")
        print(f"IRC -> Mattermost latency: {percentiles(up)}")
        print(f"Mattermost -> IRC latency: {percentiles(down)}")
        print(f"IRC -> Mattermost throughput: {up_rate:.0f} messages/s")
        print(f"Mattermost -> IRC throughput: {down_rate:.0f} messages/s")
    except TimeoutError:
        raise BenchFailed(f"a message did not arrive within {WAIT:.0f} s:\n{daemon.tail()}") from None
    finally:
        if reader is not None:
            reader.cancel()
        bob.close()
        await daemon.stop()
        ircd.kill()
        await ircd.wait()
        await emu.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--burst", type=int, default=500)
    args = parser.parse_args()
    try:
        asyncio.run(run(args.messages, args.burst))
    except BenchFailed as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
    os._exit(0)
