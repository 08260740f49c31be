"""The IRC bridge end to end: ``mmbridge run`` in its own process, a real IRC server (miniircd) on
a free loopback port, people on IRC with a plain IRC client, people on Mattermost (the emulator)."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import signal
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from mmbridge.api import ClientAPI
from mmbridge.testing.emulator import Emulator
from mmbridge.testing.emulator.models import Post
from mmbridge.types import ChannelID, PostID, TeamID, UserID

from .conftest import Daemon, free_port, until
from .irc_setup import IRCSetup
from .ircnet import CLOAK, IRCClient, Line, MiniIRCd


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


async def until_found(find: Callable[[], list[Post]], limit: float = 10.0) -> Post:
    """The last of what ``find`` finds, once it finds something."""
    await until(find, limit)
    return find()[-1]


def raw_length(line: Line) -> int:
    """The bytes the server sent for a PRIVMSG line (``:nick!user@host PRIVMSG target :text``)."""
    return len(f":{line.nick}!{line.nick[:10]}@{CLOAK} PRIVMSG {line.params[0]} :{line.text}\r\n".encode())


async def alice_on_irc(irc: IRCSetup, bob: IRCClient, text: str, last: str = "") -> Post:
    """Alice posts ``text`` in ~bridge-test; returns it once bob has heard its last word (or
    ``last``)."""
    answer = await irc.emulator.type_message(irc.emulator.seed.token, irc.channel_id(), text)
    last = last or text.split()[-1]
    await bob.wait_for(lambda line: line.command == "PRIVMSG" and last in line.text)
    return irc.emulator.state.posts[answer["id"]]


async def test_relay_mode_says_who_speaks_through_the_relay_bot(irc: IRCSetup) -> None:
    irc.write_config(mode="relay")
    await irc.start()
    bob = await irc.person("bob", "#test")
    await irc.wait_joined(bob, "relaybot")
    seed = irc.emulator.seed
    await irc.emulator.type_message(seed.token, irc.channel_id(), "hello **everyone**")
    line = await bob.wait_for(lambda line: line.command == "PRIVMSG" and "everyone" in line.text)
    assert (line.nick, line.text) == ("relaybot", "<alice> hello \x02everyone\x02")
    await irc.emulator.type_message(seed.token, irc.channel_id(), "/me waves")
    line = await bob.wait_for(lambda line: line.command == "PRIVMSG" and "waves" in line.text)
    assert (line.nick, line.text) == ("relaybot", "* alice waves")
    assert not [line for line in bob.lines if line.command == "JOIN" and line.nick == "alice[m]"]


async def test_actions_cross_both_ways(irc: IRCSetup) -> None:
    await irc.start()
    bob = await irc.person("bob", "#test")
    await irc.wait_joined(bob, "relaybot")
    bob.act("#test", "waves at everyone")
    post = await irc.until_posted(lambda p: "waves" in p.message)
    # what the server's own /me makes: a "me" post of the action in asterisks
    assert (irc.author(post), post.type, post.message) == ("irc_bob", "me", "*waves at everyone*")
    await irc.emulator.type_message(irc.emulator.seed.token, irc.channel_id(), "/me waves back")
    line = await bob.wait_for(lambda line: line.action is not None)
    assert (line.nick, line.action) == ("alice[m]", "waves back")


async def test_long_messages_fit_irc_lines_and_long_pastes_become_a_link(irc: IRCSetup) -> None:
    await irc.start()
    bob = await irc.person("bob", "#test")
    await irc.wait_joined(bob, "relaybot")
    words = " ".join(f"wörd{i}" for i in range(150))  # 1,300 bytes: three lines
    await alice_on_irc(irc, bob, words + " end")
    heard = [line for line in bob.heard("#test") if line.nick == "alice[m]"]
    assert 3 <= len(heard) <= 4  # cut to fit, and not so many that it becomes a link
    assert all(raw_length(line) <= 512 for line in heard)
    assert " ".join(line.text for line in heard) == words + " end"

    paste = "\n".join(f"line {i}" for i in range(10))
    post = await alice_on_irc(irc, bob, paste + "\nlast", last="more lines")
    heard = [line for line in bob.heard("#test") if line.nick == "alice[m]"][-4:]
    link = f"{irc.emulator.url}/{irc.emulator.seed.team_name}/pl/{post.id}"
    assert [line.text for line in heard] == ["line 0", "line 1", "line 2", f"(... 8 more lines: {link})"]


async def test_replies_edits_reactions_and_files_reach_irc(
    irc: IRCSetup, mm_client_for: Callable[[str], ClientAPI]
) -> None:
    await irc.start()
    bob = await irc.person("bob", "#test")
    await irc.wait_joined(bob, "relaybot")
    bob.say("#test", "the meeting is at noon")
    root = await irc.until_posted(lambda p: "noon" in p.message)
    seed = irc.emulator.seed
    alice = mm_client_for(seed.token)

    await irc.emulator.type_message(seed.token, irc.channel_id(), "thanks", root_id=root.id)
    line = await bob.wait_for(lambda line: line.command == "PRIVMSG" and "thanks" in line.text)
    assert (line.nick, line.text) == ("alice[m]", "bob: thanks")

    post = await alice_on_irc(irc, bob, "see you at 5")
    await alice.posts.edit(PostID(post.id), "see you at 6")
    line = await bob.wait_for(lambda line: line.action is not None and "meant" in line.action)
    assert (line.nick, line.action) == ("alice[m]", "meant: see you at 6")

    await alice.reactions.add(UserID(seed.user_id), PostID(root.id), "thumbsup")
    line = await bob.wait_for(lambda line: line.action is not None and "reacted" in line.action)
    assert line.action == 'reacted :thumbsup: to "the meeting is at noon"'

    info = await alice.files.upload(ChannelID(irc.channel_id()), b"minutes", "notes.txt")
    created = await alice.posts.create(ChannelID(irc.channel_id()), "the notes", file_ids=[info.id])
    link = f"{irc.emulator.url}/{seed.team_name}/pl/{created.id}"
    line = await bob.wait_for(lambda line: "notes.txt" in line.text)
    texts = [line.text for line in bob.heard("#test")][-2:]
    assert texts == ["the notes", f"notes.txt: {link}"]


async def test_edits_as_sed_corrections(irc: IRCSetup, mm_client_for: Callable[[str], ClientAPI]) -> None:
    irc.write_config(edits="sed")
    await irc.start()
    bob = await irc.person("bob", "#test")
    await irc.wait_joined(bob, "relaybot")
    post = await alice_on_irc(irc, bob, "see you at 5 tomorrow")
    await mm_client_for(irc.emulator.seed.token).posts.edit(PostID(post.id), "see you at 6 tomorrow")
    line = await bob.wait_for(lambda line: line.text.startswith("s/"))
    assert (line.nick, line.text) == ("alice[m]", "s/5/6/")


async def test_a_nick_change_renames_the_puppet_and_a_part_or_quit_takes_it_out(irc: IRCSetup) -> None:
    await irc.start()
    bob = await irc.person("bob", "#test")
    await irc.wait_joined(bob, "relaybot")
    bob.say("#test", "before")
    first = await irc.until_posted(lambda p: p.message == "before")
    puppet = irc.emulator.state.user(first.user_id)
    await bob.rename("robert")
    bob.say("#test", "after")
    second = await irc.until_posted(lambda p: p.message == "after")
    assert second.user_id == puppet.id  # the same puppet, renamed
    await until(lambda: irc.emulator.state.user(puppet.id).nickname == "robert")
    # A restart remembers who robert was: still the same puppet.
    irc.daemon.signal(signal.SIGTERM)
    assert (await irc.daemon.wait()).code == 0
    await irc.start()
    await irc.wait_joined(bob, "relaybot")
    bob.say("#test", "after the restart")
    third = await irc.until_posted(lambda p: p.message == "after the restart")
    assert third.user_id == puppet.id

    bob.send("PART #test :later")
    await until(lambda: not irc.emulator.state.is_channel_member(irc.channel_id(), puppet.id))
    # A quit takes the puppet out too.
    await bob.join("#test")
    bob.say("#test", "back")
    await irc.until_posted(lambda p: p.message == "back")
    assert irc.emulator.state.is_channel_member(irc.channel_id(), puppet.id)
    await bob.quit("gone")
    await until(lambda: not irc.emulator.state.is_channel_member(irc.channel_id(), puppet.id))


@pytest.mark.parametrize("nick", ["[Weird|Nick]", "carol"])
async def test_an_irc_nick_mattermost_refuses_gets_a_valid_stable_puppet(irc: IRCSetup, nick: str) -> None:
    irc.emulator.create_user("irc_carol")  # a real user has the name carol's puppet would get
    await irc.start()
    person = await irc.person(nick, "#test")
    await irc.wait_joined(person, "relaybot")
    person.say("#test", "one")
    first = await irc.until_posted(lambda p: p.message == "one")
    username = irc.author(first)
    assert re.fullmatch(r"irc_[a-z0-9._-]{1,60}", username), username
    assert username != "irc_carol"
    assert irc.emulator.state.user(first.user_id).nickname == nick

    await irc.daemon.kill()
    await irc.start()
    await irc.wait_joined(person, "relaybot")
    person.say("#test", "two")
    second = await irc.until_posted(lambda p: p.message == "two")
    assert second.user_id == first.user_id


async def test_private_messages_are_direct_messages_both_ways(irc: IRCSetup) -> None:
    await irc.start()
    bob = await irc.person("bob", "#test")
    await irc.wait_joined(bob, "relaybot")
    await alice_on_irc(irc, bob, "I am here")  # alice[m] is on IRC from her first post
    bob.say("alice[m]", "psst, a secret")
    seed, state = irc.emulator.seed, irc.emulator.state
    secret = await until_found(lambda: [p for p in state.posts.values() if p.message == "psst, a secret"])
    direct = state.channels[secret.channel_id]
    assert direct.type == "D"
    assert set(state.channel_member_ids(direct.id)) == {secret.user_id, seed.user_id}
    assert state.user(secret.user_id).username == "irc_bob"

    await irc.emulator.type_message(seed.token, direct.id, "a secret *back*")
    line = await bob.wait_for(lambda line: line.command == "PRIVMSG" and "back" in line.text)
    assert (line.nick, line.params[0], line.text) == ("alice[m]", "bob", "a secret \x1dback\x1d")
    # Nothing of the direct chat went to the channel.
    assert not [line for line in bob.heard("#test") if "secret" in line.text]


async def test_a_restart_mid_conversation_makes_no_second_puppet_and_loses_or_doubles_nothing(
    irc: IRCSetup,
) -> None:
    await irc.start()
    bob = await irc.person("bob", "#test")
    await irc.wait_joined(bob, "relaybot")
    seed = irc.emulator.seed
    for i in range(5):
        bob.say("#test", f"irc {i}")
        await irc.emulator.type_message(seed.token, irc.channel_id(), f"mm {i}")
    await irc.until_posted(lambda p: p.message == "irc 4")
    irc.daemon.signal(signal.SIGTERM)  # a restart: everything heard is bridged before it exits
    assert (await irc.daemon.wait()).code == 0
    for i in range(5, 8):  # while it is down, Mattermost goes on (IRC cannot replay)
        await irc.emulator.type_message(seed.token, irc.channel_id(), f"mm {i}")
    await irc.start()
    await irc.wait_joined(bob, "relaybot")
    for i in range(5, 10):
        bob.say("#test", f"irc {i}")
    await irc.until_posted(lambda p: p.message == "irc 9")
    await bob.wait_for(lambda line: line.text == "mm 7")
    await asyncio.sleep(0.3)  # anything doubled would have arrived by now

    bridged = [p.message for p in irc.posts() if irc.author(p).startswith("irc_")]
    assert bridged == [f"irc {i}" for i in range(10)]
    assert {irc.author(p) for p in irc.posts() if p.message.startswith("irc")} == {"irc_bob"}
    heard = [line.text for line in bob.heard("#test") if line.nick == "alice[m]"]
    assert heard == [f"mm {i}" for i in range(8)]
    assert [u.username for u in irc.emulator.state.users.values() if u.username.startswith("irc_")] == [
        "irc_bob"
    ]


async def test_twenty_people_in_three_channels_keep_each_channels_order(
    irc: IRCSetup, mm_client_for: Callable[[str], ClientAPI]
) -> None:
    admin = mm_client_for(irc.emulator.seed.admin_token)
    team = TeamID(irc.emulator.seed.team_id)
    for name in ("ch-a", "ch-b", "ch-c"):
        await admin.channels.create(team, name, name.upper())
    irc.write_config(channels={"#a": "ch-a", "#b": "ch-b", "#c": "ch-c"})
    await irc.start()
    channels = ("#a", "#b", "#c")
    watcher = await irc.person("watcher", *channels)
    for channel in channels:
        await irc.wait_joined(watcher, "relaybot", channel)
    people = [await irc.person(f"user{i}", *channels) for i in range(20)]
    for round_ in range(3):
        for person in people:
            for channel in channels:
                person.say(channel, f"{person.nick} says {round_} in {channel}")
    total = len(people) * 3
    for channel in channels:
        name = f"ch-{channel[1]}"
        await until(lambda name=name: len(irc.posts(name)) == total, limit=60)
        await until(lambda channel=channel: len(watcher.heard(channel)) == total)
        said = [(line.nick, line.text) for line in watcher.heard(channel)]
        posted = [(irc.author(p).removeprefix("irc_"), p.message) for p in irc.posts(name)]
        assert posted == said


async def test_link_bridges_another_channel_by_command(irc: IRCSetup) -> None:
    await irc.start()
    bob = await irc.person("bob", "#other")
    seed = irc.emulator.seed
    off_topic = irc.channel_id("off-topic")
    answer = await irc.emulator.type_message(seed.admin_token, off_topic, "/irc link #other")
    assert answer["text"] == "This channel is now bridged to `#other`."
    await irc.wait_joined(bob, "relaybot", "#other")
    bob.say("#other", "over here")
    post = await irc.until_posted(lambda p: p.message == "over here", name="off-topic")
    assert irc.author(post) == "irc_bob"
    answer = await irc.emulator.type_message(seed.admin_token, off_topic, "/irc unlink")
    await bob.wait_for(lambda line: line.command == "PART" and line.nick == "relaybot")


async def test_the_bridge_reconnects_when_the_irc_server_restarts(irc: IRCSetup) -> None:
    await irc.start()
    bob = await irc.person("bob", "#test")
    await irc.wait_joined(bob, "relaybot")
    await alice_on_irc(irc, bob, "before the outage")
    await irc.ircd.stop()  # every connection of the bridge drops
    await irc.ircd.start()
    bob = await irc.person("bob", "#test")
    await irc.wait_joined(bob, "relaybot")
    bob.say("#test", "after the outage")
    await irc.until_posted(lambda p: p.message == "after the outage")
    await alice_on_irc(irc, bob, "me too, after the outage")
    assert [line.nick for line in bob.heard("#test")] == ["alice[m]"]


async def test_flood_control_paces_the_lines_of_one_connection(irc: IRCSetup) -> None:
    irc.write_config(send_rate=4, send_burst=2, max_lines=10)
    await irc.start()
    bob = await irc.person("bob", "#test")
    await irc.wait_joined(bob, "relaybot")
    await alice_on_irc(irc, bob, "\n".join(f"line {i}" for i in range(10)))
    times = [t for t, line in zip(bob.times, bob.lines, strict=True) if line.text.startswith("line ")]
    assert len(times) == 10
    # Two at once, then four a second: the last of ten comes two seconds after the first.
    assert times[-1] - times[0] >= (10 - 2) / 4 * 0.9


async def test_an_idle_connection_is_closed_and_opened_again_when_needed(irc: IRCSetup) -> None:
    irc.write_config(idle_timeout=1)
    await irc.start()
    bob = await irc.person("bob", "#test")
    await irc.wait_joined(bob, "relaybot")
    await alice_on_irc(irc, bob, "first")
    await bob.wait_for(lambda line: line.command == "QUIT" and line.nick == "alice[m]")
    await alice_on_irc(irc, bob, "back again")
    joins = [line for line in bob.lines if line.command == "JOIN" and line.nick == "alice[m]"]
    assert len(joins) == 2


async def test_tls_to_the_irc_server(irc: IRCSetup, tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: no certificate to test TLS with")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = await asyncio.create_subprocess_exec(
        openssl,
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        str(key),
        "-out",
        str(cert),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await made.communicate()
    assert made.returncode == 0, errors
    await irc.ircd.stop()
    irc.ircd = MiniIRCd(tmp_path, "--ssl-cert-file", str(cert), "--ssl-key-file", str(key))
    await irc.ircd.start()
    irc.write_config(port=irc.ircd.port, tls=True, tls_ca_file=str(cert))
    await irc.start()
    bob = await irc.person("bob", "#test", tls=ssl.create_default_context(cafile=str(cert)))
    await irc.wait_joined(bob, "relaybot")
    bob.say("#test", "over TLS")
    await irc.until_posted(lambda p: p.message == "over TLS")
    await alice_on_irc(irc, bob, "TLS for me too")


async def test_a_server_password(irc: IRCSetup, tmp_path: Path) -> None:
    await irc.ircd.stop()
    irc.ircd = MiniIRCd(tmp_path, "--password", "letmein")
    await irc.ircd.start()
    irc.write_config(port=irc.ircd.port, password="letmein")
    await irc.start()
    bob = IRCClient(irc.ircd.port, "bob")
    await bob.connect(password="letmein")
    irc.clients.append(bob)
    await bob.join("#test")
    await irc.wait_joined(bob, "relaybot")
    assert "letmein" not in irc.daemon.stderr()  # a secret never reaches the log


async def test_sasl_plain_logs_in_before_registering(irc: IRCSetup) -> None:
    """Against a small server that speaks only the SASL part of IRCv3 (no IRC server on PyPI
    does SASL): the bridge asks for it, logs in with PLAIN, and only then registers."""
    said: list[str] = []
    logged_in, welcomed = asyncio.Event(), asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def send(line: str) -> None:
            writer.write(f":sasl.test {line}\r\n".encode())

        nick, user_given, cap_ended = "*", False, False
        while raw := await reader.readline():
            line = raw.decode().rstrip("\r\n")
            said.append(line)
            command, _, rest = line.partition(" ")
            if line == "CAP REQ :sasl":
                send("CAP * ACK :sasl")
            elif line == "AUTHENTICATE PLAIN":
                writer.write(b"AUTHENTICATE +\r\n")
            elif command == "AUTHENTICATE":
                if base64.b64decode(rest) == b"relay\0relay\0s3cret":
                    logged_in.set()
                    send(f"903 {nick} :SASL authentication successful")
                else:
                    send(f"904 {nick} :SASL authentication failed")
            elif command == "NICK":
                nick = rest
            elif command == "USER":
                user_given = True
            elif line == "CAP END":
                cap_ended = True
            if user_given and cap_ended and logged_in.is_set() and not welcomed.is_set():
                welcomed.set()
                send(f"001 {nick} :Welcome")

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    irc.write_config(port=port, sasl_username="relay", sasl_password="s3cret", channels={})
    try:
        await irc.start()
        await asyncio.wait_for(welcomed.wait(), 10)
        assert said[0] == "CAP REQ :sasl"  # before NICK and USER: registration waits for the login
        assert said.index("CAP END") > said.index("AUTHENTICATE PLAIN")
        assert "s3cret" not in irc.daemon.stderr()
    finally:
        server.close()
