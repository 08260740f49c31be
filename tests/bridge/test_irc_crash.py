"""The crash test of the IRC bridge: ``mmbridge run`` in its own process, Alice on Mattermost and
Bob on IRC talking at a steady rate, the bridge SIGKILLed twice and restarted, its IRC connections
cut once, Mattermost faults armed (5xx bursts, a WebSocket dropped without its replay).

What can be promised, and is counted:
- Mattermost -> IRC: every post reaches IRC, in order (what was missed is caught up), once, except
  a post in flight at a kill or a cut: sent, but killed before it was recorded as handled (or its
  confirmation lost with the connection), it is sent again, right after itself (at-least-once, as
  examples/irc/README.md says: IRC has no way to tell a line sent twice).
- IRC -> Mattermost: nothing is posted twice, in order; every line said while the bridge was
  connected is posted, except those of the last moment before a kill or a cut: IRC keeps no history,
  so a line said while the bridge is away, or heard but not yet posted when it is SIGKILLed, is gone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from mmbridge.testing.emulator import Emulator
from mmbridge.testing.faults_client import FaultsAPIClient

from .conftest import Daemon, free_port, until
from .irc_setup import IRCSetup
from .ircnet import CuttableLink, MiniIRCd

MESSAGES = 120
PACE = 0.06  # seconds between two messages of one side
IN_FLIGHT = 0.5  # a line said this close to a kill or a cut may be lost


@pytest_asyncio.fixture
async def irc(emulator: Emulator, tmp_path: Path) -> AsyncIterator[IRCSetup]:
    _, token = emulator.create_bridge_bot()
    env = {key: value for key, value in os.environ.items() if not key.startswith("MMBRIDGE_")}
    ircd = MiniIRCd(tmp_path)
    await ircd.start()
    setup = IRCSetup(emulator, ircd, tmp_path, free_port(), token, Daemon(tmp_path, env), env)
    try:
        yield setup
    finally:
        await setup.close()


async def test_sigkills_cuts_and_faults_lose_and_double_nothing_that_can_be_kept(irc: IRCSetup) -> None:
    link = CuttableLink(irc.ircd.port)
    await link.start()
    irc.write_config(port=link.port, send_rate=100, send_burst=100)
    seed = irc.emulator.seed
    faults = FaultsAPIClient(irc.emulator.url)
    bob = await irc.person("bob", "#test")
    connected: list[list[float]] = []  # [since, until] while the bridge was in #test

    async def bridge_back(restart: bool) -> None:
        if restart:
            await irc.start()
        if not connected:
            await irc.wait_joined(bob, "relaybot")
        else:  # the server saw the old connection go, then the new one join
            gone = await bob.wait_index(
                lambda line: line.command == "QUIT" and line.nick == "relaybot", since=mark[0]
            )
            await bob.wait_index(lambda line: line.command == "JOIN" and line.nick == "relaybot", since=gone)
        connected.append([time.monotonic(), float("inf")])

    mark = [0]

    def away() -> None:
        connected[-1][1] = time.monotonic() - IN_FLIGHT
        mark[0] = len(bob.lines)

    said: list[tuple[float, str]] = []
    written: dict[str, float] = {}

    async def alice_talks() -> None:
        for i in range(MESSAGES):
            written[f"mm {i}"] = time.monotonic()
            await irc.emulator.type_message(seed.token, irc.channel_id(), f"mm {i}")
            await asyncio.sleep(PACE)

    async def bob_talks() -> None:
        for i in range(MESSAGES):
            said.append((time.monotonic(), f"irc {i}"))
            bob.say("#test", f"irc {i}")
            await asyncio.sleep(PACE)

    try:
        await bridge_back(restart=True)
        talking = asyncio.gather(alice_talks(), bob_talks())
        for what in ("kill", "cut", "kill"):
            await asyncio.sleep(1.2)
            await faults.fail_next(3, 503, method="POST", path_contains="/api/v4/posts")
            await faults.ws_lose_replay()
            await faults.ws_drop()
            await asyncio.sleep(0.4)
            away()
            if what == "kill":
                irc.daemon.signal(signal.SIGKILL)
                await irc.daemon.wait()
                await asyncio.sleep(0.5)
            else:
                link.cut()  # every IRC connection of the bridge drops; it reconnects by itself
            await bridge_back(restart=what == "kill")
        await talking

        # Mattermost -> IRC: each post once, in order (a repeat only of one in flight at a fault).
        # (Alice's own posts meet the 503 bursts too: those that failed were never made.)
        expected = [p.message for p in irc.posts() if p.user_id == seed.user_id]
        assert len(expected) >= MESSAGES - 3 * 3
        heard = lambda: [line.text for line in bob.heard("#test") if line.nick == "alice[m]"]  # noqa: E731

        # IRC -> Mattermost: nothing doubled, in order, and every line said while connected.
        def kept(at: float) -> bool:
            return any(since <= at <= end for since, end in connected)

        await until(lambda: len(heard()) >= len(expected), limit=30)
        await asyncio.sleep(0.5)
        lines = heard()
        again = [i for i in range(1, len(lines)) if lines[i] == lines[i - 1]]
        assert len(again) <= 3  # at most one a fault
        assert all(not kept(written[lines[i]]) for i in again), [lines[i] for i in again]
        assert [line for i, line in enumerate(lines) if i not in again] == expected

        must = [text for at, text in said if kept(at)]
        posted = lambda: [p.message for p in irc.posts() if irc.author(p) == "irc_bob"]  # noqa: E731
        await until(lambda: set(must) <= set(posted()), limit=30)
        duplicates = [text for text, count in Counter(posted()).items() if count > 1]
        assert not duplicates
        order = [text for _, text in said]
        assert posted() == sorted(posted(), key=order.index)
        assert len(must) >= MESSAGES / 3  # the accounting leaves enough lines to check
        lost = MESSAGES - len(posted())
        print(f"IRC -> Mattermost: {len(posted())} posted, {lost} said while the bridge was away")

        users = [u.username for u in irc.emulator.state.users.values() if u.username.startswith("irc_")]
        assert users == ["irc_bob"]
        letters = await Daemon(irc.workdir, irc.env, "letters").run("dead-letters", "-c", str(irc.config))
        assert letters.stdout.strip() == "no dead letters", letters.stderr
        irc.daemon.signal(signal.SIGTERM)
        assert (await irc.daemon.wait()).code == 0
    finally:
        await link.stop()
