"""The IRC bridge end to end: ``mmbridge run`` in its own process, a real IRC server (miniircd) on
a free loopback port, people on IRC with a plain IRC client, people on Mattermost (the emulator)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from mmbridge.testing.emulator import Emulator

from .conftest import Daemon, free_port
from .irc_setup import IRCSetup
from .ircnet import MiniIRCd


@pytest_asyncio.fixture
async def irc(emulator: Emulator, tmp_path: Path) -> AsyncIterator[IRCSetup]:
    """The IRC bridge's config against the emulator and a started miniircd (the bridge not yet
    started: ``await irc.start()``)."""
    _, token = emulator.create_bridge_bot()
    env = {key: value for key, value in os.environ.items() if not key.startswith("MMBRIDGE_")}
    ircd = MiniIRCd(tmp_path)
    await ircd.start()
    setup = IRCSetup(emulator, ircd, tmp_path, free_port(), token, Daemon(tmp_path, env), env)
    setup.write_config()
    try:
        yield setup
    finally:
        await setup.close()


async def test_irc_lines_arrive_as_puppets_and_mattermost_posts_as_users_own_nicks(irc: IRCSetup) -> None:
    await irc.start()
    bob = await irc.person("bob", "#test")
    await irc.wait_joined(bob, "relaybot")
    bob.say("#test", "hello from \x02IRC\x02")
    post = await irc.until_posted(lambda p: "hello from" in p.message)
    assert post.message == "hello from **IRC**"
    assert irc.author(post) == "irc_bob"
    assert irc.emulator.state.user(post.user_id).nickname == "bob"

    seed = irc.emulator.seed
    await irc.emulator.type_message(seed.token, irc.channel_id(), "hi *bob*, welcome")
    line = await bob.wait_for(lambda line: line.command == "PRIVMSG" and "welcome" in line.text)
    assert line.nick == "alice[m]"  # her own connection, nick from the template
    assert line.text == "hi \x1dbob\x1d, welcome"
    assert line.params[0] == "#test"
