"""The toolkit end to end against the emulator: a connector of an in-memory network, the
ConnectorBridge doing portals, ghosts, the message map and both directions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import attrs
import pytest
import pytest_asyncio

from mmbridge.api import ClientAPI
from mmbridge.bridge import Registration
from mmbridge.bridge.toolkit import (
    BridgeUser,
    CommandError,
    LoginResult,
    PortalKey,
    RemoteChatInfo,
    RemoteMessage,
    Sender,
)
from mmbridge.testing.emulator import Emulator, EmulatorSettings
from mmbridge.testing.emulator.models import Post
from mmbridge.types import ChannelID, UserID

from .loopnet import LoopBridge, LoopConnector


def config_text(url: str, token: str, database: Path) -> str:
    return f"""
mattermost:
  url: {url}
  token: {token}
  team: test-team
appservice:
  id: loop
  port: 0
puppets:
  username_template: loop_{{localpart}}
database:
  uri: sqlite:///{database}
"""


async def until(condition: Callable[[], object], limit: float = 10.0) -> None:
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 - polls the emulator for the bridge's effect
            await asyncio.sleep(0.02)


class Loop:
    """A started LoopBridge and ways to look at the emulator."""

    def __init__(self, emulator: Emulator, path: Path, kind: type[LoopBridge] = LoopBridge) -> None:
        self.emulator = emulator
        self.path = path
        self.kind = kind
        self.bridge = self.make()

    def make(self) -> LoopBridge:
        config = self.kind.load_config(self.path)
        return self.kind(config, registration=Registration.from_config(config.core))

    async def restart(self) -> None:
        await self.bridge.stop()
        self.bridge = self.make()
        await self.bridge.start()

    def channel_of(self, chat: str) -> str:
        portal = next(p for p in self.bridge.portals.all() if p.key.id == chat)
        return portal.channel_id

    def posts(self, channel_id: str) -> list[Post]:
        state = self.emulator.state
        found = [
            p for p in state.posts.values() if p.channel_id == channel_id and not p.delete_at and not p.type
        ]
        return sorted(found, key=lambda p: (p.create_at, p.seq))

    def author(self, post: Post) -> str:
        return self.emulator.state.user(post.user_id).username


@pytest_asyncio.fixture
async def loop(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Loop]:
    _, token = emulator.create_user("loopbot", admin=True, bot=True)
    path = tmp_path / "config.yaml"
    path.write_text(config_text(str(emulator.url), token, tmp_path / "loop.db"))
    setup = Loop(emulator, path)
    await setup.bridge.start()
    try:
        yield setup
    finally:
        await setup.bridge.stop()


async def test_a_remote_message_makes_the_portal_and_the_ghost_and_posts_once(loop: Loop) -> None:
    net = loop.bridge.loop
    net.names["alice_remote"] = "Alice Remote"
    await net.say("general", "alice_remote", "hello from the loop")
    await until(lambda: any(p.key.id == "general" for p in loop.bridge.portals.all()))
    channel = loop.channel_of("general")
    await until(lambda: loop.posts(channel))
    [post] = loop.posts(channel)
    assert post.message == "hello from the loop"
    assert loop.author(post) == "loop_alice_remote"  # readable: the remote id itself
    user = loop.emulator.state.user(post.user_id)
    assert user.nickname == "Alice Remote"
    assert loop.emulator.state.channels[channel].name == "general"
    # The second message from that ghost is one HTTP request.
    loop.emulator.clear_requests()
    await net.say("general", "alice_remote", "second")
    await until(lambda: len(loop.posts(channel)) == 2)
    requests = [r for r in loop.emulator.requests if not r.path.endswith("/websocket")]
    assert [(r.method, r.path) for r in requests] == [("POST", "/api/v4/posts")]
    # The same remote message seen twice is bridged once.
    await net.say("general", "alice_remote", "second", message_id="m-dup")
    await net.say("general", "alice_remote", "second", message_id="m-dup")
    await until(lambda: len(loop.posts(channel)) == 3)
    await asyncio.sleep(0.1)
    assert len(loop.posts(channel)) == 3


@pytest.mark.parametrize(
    ("remote_id", "expected"),
    [("Ünïcode Näme", "loop_unicode-name-"), ("ALL", "loop_all-"), ("x" * 80, "loop_xxxxxxxx")],
)
async def test_a_remote_name_mattermost_refuses_gets_a_valid_stable_username(
    loop: Loop, remote_id: str, expected: str
) -> None:
    net = loop.bridge.loop
    await net.say("names", remote_id, "hi")
    await until(lambda: any(p.key.id == "names" for p in loop.bridge.portals.all()))
    channel = loop.channel_of("names")
    await until(lambda: loop.posts(channel))
    username = loop.author(loop.posts(channel)[0])
    assert username.startswith(expected)
    assert len(username) <= 64
    await loop.restart()
    await loop.bridge.loop.say("names", remote_id, "again")
    await until(lambda: len(loop.posts(channel)) == 2)
    assert {loop.author(p) for p in loop.posts(channel)} == {username}  # stable across restarts


async def test_a_name_taken_by_a_real_user_gets_another(loop: Loop) -> None:
    loop.emulator.create_user("loop_bob")  # a person, not a puppet
    await loop.bridge.loop.say("taken", "bob", "hi")
    await until(lambda: any(p.key.id == "taken" for p in loop.bridge.portals.all()))
    channel = loop.channel_of("taken")
    await until(lambda: loop.posts(channel))
    username = loop.author(loop.posts(channel)[0])
    assert username.startswith("loop_bob-")


async def test_edits_deletes_replies_and_reactions_cross_both_ways_and_after_a_restart(
    loop: Loop, admin: ClientAPI
) -> None:
    net = loop.bridge.loop
    first = await net.say("room", "carol", "remote root")
    await until(lambda: any(p.key.id == "room" for p in loop.bridge.portals.all()))
    channel = loop.channel_of("room")
    await until(lambda: loop.posts(channel))
    [root] = loop.posts(channel)
    # Mattermost -> remote: a reply, an edit, a reaction, a delete.
    admin_id = UserID(loop.emulator.seed.admin_user_id)
    await admin.channels.add_member(ChannelID(channel), admin_id)
    reply = await admin.posts.create(ChannelID(channel), "a reply from mattermost", root_id=root.id)
    await until(lambda: [s for s in net.sent if s.kind == "message"])
    [sent] = [s for s in net.sent if s.kind == "message"]
    assert (sent.text, sent.thread_root, sent.user) == ("a reply from mattermost", first, "sysadmin")
    await admin.posts.edit(reply.id, "edited on mattermost")
    await admin.reactions.add(admin_id, root.id, "tada")
    await until(lambda: {s.kind for s in net.sent} >= {"edit", "react"})
    assert [(s.kind, s.text, s.remote_id) for s in net.sent if s.kind in ("edit", "react")] == [
        ("edit", "edited on mattermost", sent.remote_id),
        ("react", "tada", first),
    ]

    await loop.restart()
    net = loop.bridge.loop
    # Remote -> Mattermost after the restart: an edit, a reaction, a reply, a delete.
    await net.edit("room", "carol", first, "remote root, edited")
    await net.react("room", "carol", first, "smile")
    reply_id = await net.say("room", "dave", "a remote reply", reply_to=first)
    await until(lambda: loop.posts(channel)[0].message == "remote root, edited")
    await until(lambda: "smile" in {r.emoji_name for r in loop.emulator.state.reactions.get(root.id, [])})
    await until(lambda: any(p.message == "a remote reply" for p in loop.posts(channel)))
    remote_reply = next(p for p in loop.posts(channel) if p.message == "a remote reply")
    assert remote_reply.root_id == root.id
    await net.delete("room", "dave", reply_id)
    await until(lambda: not any(p.message == "a remote reply" for p in loop.posts(channel)))
    await admin.posts.delete(reply.id)
    await until(lambda: any(s.kind == "delete" for s in net.sent))
    assert [s.remote_id for s in net.sent if s.kind == "delete"] == [sent.remote_id]
    # Nothing the bridge made went back to the remote side.
    assert [s.text for s in net.sent if s.kind == "message"] == []


async def test_a_40000_character_message_with_a_code_block_arrives_as_three_posts(loop: Loop) -> None:
    code = "```python\n" + "\n".join(f"print({n})" for n in range(800)) + "\n```\n"
    text = "word " * 3000 + "\n\n" + code + "\n" + "more " * 3000 + "\n\n" + "end " * 500
    assert len(text) > 39_000
    await loop.bridge.loop.say("long", "erin", text)
    await until(lambda: any(p.key.id == "long" for p in loop.bridge.portals.all()))
    channel = loop.channel_of("long")
    await until(lambda: len(loop.posts(channel)) == 3)
    posts = loop.posts(channel)
    assert sum(code.strip() in p.message for p in posts) == 1  # the code block whole, in one post
    assert all(len(p.message) <= 16383 for p in posts)
    assert "".join(p.message for p in posts).replace("\n", "").replace(" ", "") == text.replace(
        "\n", ""
    ).replace(" ", "")


async def command(loop: Loop, token: str, channel_id: str, text: str) -> str:
    """Run a slash command as the webapp does; the bridge's ephemeral answer."""
    answer = await loop.emulator.type_message(token, channel_id, text)
    return str(answer.get("text", answer))


async def test_bridge_commands_help_ping_status_and_permissions(loop: Loop) -> None:
    seed = loop.emulator.seed
    help_for_alice = await command(loop, seed.token, seed.channel_id, "/bridge help")
    assert "/bridge ping" in help_for_alice
    assert "/bridge login-token TOKEN" in help_for_alice
    assert "/bridge link" not in help_for_alice  # admin commands are not shown to others
    help_for_admin = await command(loop, seed.admin_token, seed.channel_id, "/bridge")
    assert "`/bridge link REMOTE_CHAT`: bridge this channel to a remote chat (admin)" in help_for_admin
    assert "pong: Loopnet bridge `loop` is running" in await command(
        loop, seed.token, seed.channel_id, "/bridge ping"
    )
    assert "not bridged" in await command(loop, seed.token, seed.channel_id, "/bridge status")
    assert "for bridge admins" in await command(loop, seed.token, seed.channel_id, "/bridge link somewhere")
    assert "no command 'nope'" in await command(loop, seed.token, seed.channel_id, "/bridge nope")
    # The loop connector has no logins (no HandlesLogin): login is neither offered nor run.
    assert "/bridge login ..." not in help_for_alice
    assert "no command 'login'" in await command(loop, seed.token, seed.channel_id, "/bridge login me")


async def test_link_an_existing_channel_and_relay_mode(loop: Loop, admin: ClientAPI) -> None:
    seed = loop.emulator.seed
    answer = await command(loop, seed.admin_token, seed.channel_id, "/bridge link lobby")
    assert answer == "This channel is now bridged to `lobby`."
    net = loop.bridge.loop
    net.names["frank"] = "Frank F."
    await net.say("lobby", "frank", "into the linked channel")
    await until(lambda: any(p.message == "into the linked channel" for p in loop.posts(seed.channel_id)))
    assert "bridged to `lobby`: 1 messages" in await command(
        loop, seed.token, seed.channel_id, "/bridge status"
    )

    assert "Relay mode is on" in await command(loop, seed.admin_token, seed.channel_id, "/bridge relay on")
    await net.say("lobby", "frank", "relayed")
    await until(lambda: any("relayed" in p.message for p in loop.posts(seed.channel_id)))
    relayed = next(p for p in loop.posts(seed.channel_id) if "relayed" in p.message)
    assert relayed.message == "**Frank F.**: relayed"  # the server allows no username override
    assert loop.author(relayed) == "loopbot"
    # Nothing the bridge posted went back to the remote side.
    assert not [s for s in net.sent if s.kind == "message"]
    assert await command(loop, seed.admin_token, seed.channel_id, "/bridge unlink") == (
        "This channel is no longer bridged to `lobby`."
    )
    assert "not bridged" in await command(loop, seed.token, seed.channel_id, "/bridge status")


async def test_double_puppeting_posts_as_the_user_with_no_echo(loop: Loop) -> None:
    seed = loop.emulator.seed
    await command(loop, seed.admin_token, seed.channel_id, "/bridge link lobby")
    answer = await command(loop, seed.token, seed.channel_id, f"/bridge login-token {seed.token}")
    assert answer == "Your messages from the remote side will appear as yourself."
    assert (
        await command(loop, seed.token, seed.channel_id, "/bridge login-token 0123456789abcdefghijklmnop")
        == "That token does not work."
    )
    net = loop.bridge.loop
    assert net.bridge is not None
    await net.bridge.push(
        RemoteMessage(
            portal=PortalKey("lobby"),
            sender=Sender(remote_id="alice-remote", from_me=True, user_id=seed.user_id),
            message_id="from-alice",
            text="sent from my remote account",
        )
    )
    await until(lambda: any(p.message == "sent from my remote account" for p in loop.posts(seed.channel_id)))
    post = next(p for p in loop.posts(seed.channel_id) if p.message == "sent from my remote account")
    assert post.user_id == seed.user_id  # as herself, not a ghost
    await asyncio.sleep(0.2)
    assert not [s for s in net.sent if s.kind == "message"]  # and not echoed back
    assert "double puppeting" in await command(loop, seed.token, seed.channel_id, "/bridge status")
    assert await command(loop, seed.token, seed.channel_id, "/bridge logout") == "Logged out."
    assert await loop.bridge.appservice.store.get_real_user_token(seed.user_id) is None


@pytest.mark.parametrize("emulator_settings", [EmulatorSettings(enable_post_username_override=True)])
async def test_relay_mode_uses_the_username_override_where_the_server_allows_it(loop: Loop) -> None:
    seed = loop.emulator.seed
    await command(loop, seed.admin_token, seed.channel_id, "/bridge link lobby")
    await command(loop, seed.admin_token, seed.channel_id, "/bridge relay on")
    net = loop.bridge.loop
    net.names["gina"] = "Gina G."
    await net.say("lobby", "gina", "with an override")
    await until(lambda: any(p.message == "with an override" for p in loop.posts(seed.channel_id)))
    post = next(p for p in loop.posts(seed.channel_id) if p.message == "with an override")
    assert loop.author(post) == "loopbot"
    assert post.props["override_username"] == "Gina G."
    assert not [u for u in loop.emulator.state.users.values() if u.username.startswith("loop_")]  # no puppet


async def test_a_direct_chat_becomes_a_direct_channel_between_the_ghost_and_its_user(loop: Loop) -> None:
    seed = loop.emulator.seed
    net = loop.bridge.loop
    assert net.bridge is not None
    await net.bridge.push(
        RemoteMessage(
            portal=PortalKey("zed", receiver=seed.user_id),  # zed's direct chat with alice
            sender=Sender(remote_id="zed"),
            message_id="dm-1",
            text="psst, alice",
        )
    )
    await until(lambda: any(p.key.id == "zed" for p in loop.bridge.portals.all()))
    portal = next(p for p in loop.bridge.portals.all() if p.key.id == "zed")
    channel = loop.emulator.state.channels[portal.channel_id]
    assert channel.type == "D"
    await until(lambda: loop.posts(channel.id))
    [post] = loop.posts(channel.id)
    assert (post.message, loop.author(post)) == ("psst, alice", "loop_zed")
    members = set(loop.emulator.state.channel_member_ids(channel.id))
    assert members == {post.user_id, seed.user_id}
    # The same chat again goes to the same channel, by the same ghost.
    await net.bridge.push(
        RemoteMessage(
            portal=PortalKey("zed", receiver=seed.user_id),
            sender=Sender(remote_id="zed"),
            message_id="dm-2",
            text="still there?",
        )
    )
    await until(lambda: len(loop.posts(channel.id)) == 2)
    assert {loop.author(p) for p in loop.posts(channel.id)} == {"loop_zed"}


async def test_chat_info_names_the_channel_and_brings_its_members_in(loop: Loop) -> None:
    net = loop.bridge.loop
    assert net.bridge is not None
    info = RemoteChatInfo(
        portal=PortalKey("#Rust Lang"), name="#Rust Lang", topic="all things rust", members=("ann", "bo")
    )
    await net.bridge.push(info)
    await until(lambda: any(p.key.id == "#Rust Lang" for p in loop.bridge.portals.all()))
    portal = next(p for p in loop.bridge.portals.all() if p.key.id == "#Rust Lang")
    channel = loop.emulator.state.channels[portal.channel_id]
    assert channel.name.startswith("rust-lang-")  # readable, made unique with a digest
    assert (channel.display_name, channel.purpose) == ("#Rust Lang", "all things rust")
    state = loop.emulator.state

    def members() -> set[str]:
        return {state.user(u).username for u in state.channel_member_ids(channel.id)}

    await until(lambda: members() >= {"loop_ann", "loop_bo", "loopbot"})
    # A new topic is synced.
    await net.bridge.push(attrs.evolve(info, topic="rust, and only rust"))
    await until(lambda: loop.emulator.state.channels[portal.channel_id].purpose == "rust, and only rust")


async def test_a_message_posted_but_not_recorded_before_a_stop_still_gets_its_edit_and_delete(
    loop: Loop,
) -> None:
    net = loop.bridge.loop
    first = await net.say("room", "carol", "posted, then the bridge stopped")
    await until(lambda: any(p.key.id == "room" for p in loop.bridge.portals.all()))
    channel = loop.channel_of("room")
    await until(lambda: loop.posts(channel))
    # As if stopped between making the post and writing its map row: only the outbox knows it.
    await loop.bridge.db.execute("DELETE FROM mmbridge_message WHERE remote_id = $1", first)
    await loop.restart()
    net = loop.bridge.loop
    await net.edit("room", "carol", first, "edited after the restart")
    await until(lambda: loop.posts(channel)[0].message == "edited after the restart")
    await net.delete("room", "carol", first)
    await until(lambda: not loop.posts(channel))


class LoginLoopConnector(LoopConnector):
    """The loop network with accounts: ``/bridge login NAME PASSWORD``."""

    def __init__(self) -> None:
        super().__init__()
        self.logged_out: list[str] = []

    async def login(self, user: BridgeUser, args: Sequence[str]) -> LoginResult:
        if len(args) != 2 or args[1] != "sesame":
            raise CommandError("wrong name or password")
        return LoginResult(args[0], {"session": f"s-{args[0]}"})

    async def logout(self, user: BridgeUser) -> None:
        self.logged_out.append(user.remote_id or "")


class LoginLoopBridge(LoopBridge):
    def create_connector(self) -> LoginLoopConnector:
        return LoginLoopConnector()


async def test_login_and_logout_with_a_remote_account_survive_a_restart(
    emulator: Emulator, tmp_path: Path
) -> None:
    _, token = emulator.create_user("loopbot", admin=True, bot=True)
    path = tmp_path / "config.yaml"
    path.write_text(config_text(str(emulator.url), token, tmp_path / "loop.db"))
    loop = Loop(emulator, path, LoginLoopBridge)
    await loop.bridge.start()
    try:
        seed = emulator.seed
        assert "/bridge login ..." in await command(loop, seed.token, seed.channel_id, "/bridge help")
        wrong = await command(loop, seed.token, seed.channel_id, "/bridge login alice_remote nope")
        assert wrong == "wrong name or password"
        assert "not logged in" in await command(loop, seed.token, seed.channel_id, "/bridge status")
        ok = await command(loop, seed.token, seed.channel_id, "/bridge login alice_remote sesame")
        assert ok == "You are logged in as `alice_remote`."
        # The password is masked in every log line from now on.
        assert "sesame" not in loop.bridge.secrets.redact("the password is sesame")
        await loop.restart()  # the login is stored
        status = await command(loop, seed.token, seed.channel_id, "/bridge status")
        assert "You are logged in as `alice_remote`." in status
        user = await loop.bridge.users.get(seed.user_id)
        assert user.login == {"session": "s-alice_remote"}
        assert await command(loop, seed.token, seed.channel_id, "/bridge logout") == "Logged out."
        connector = loop.bridge.connector
        assert isinstance(connector, LoginLoopConnector)
        assert connector.logged_out == ["alice_remote"]
        assert "not logged in" in await command(loop, seed.token, seed.channel_id, "/bridge status")
    finally:
        await loop.bridge.stop()
