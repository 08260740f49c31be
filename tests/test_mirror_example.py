"""The mirror example bridge runs its whole scenario on the emulator: what ``make demo-mirror`` shows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from examples.mirror.bridge import MirrorBridge
from examples.mirror.demo import run
from mmbridge.api import ClientAPI
from mmbridge.bridge import Registration
from mmbridge.testing.emulator import Emulator
from mmbridge.types import TeamID, UserID


def mirror_config_text(url: str, token: str, database: Path, channel_a: str, channel_b: str) -> str:
    """A short mirror config (every key not given takes its default)."""
    return f"""
mattermost:
  url: {url}
  token: {token}
  team: test-team
appservice:
  id: mirror
  port: 0
puppets:
  username_template: mirror_{{localpart}}
database:
  uri: sqlite:///{database}
mirror:
  channel_a: {channel_a}
  channel_b: {channel_b}
"""


async def test_the_mirror_demo_runs_the_daemon_and_passes_every_step(tmp_path: Path) -> None:
    lines: list[str] = []
    await run(out=lines.append, workdir=tmp_path)
    checks = [line for line in lines if line.startswith("  ok  ")]
    assert len(checks) == 14
    assert any("no echo loops: 5 posts, 5 copies" in line for line in checks)
    assert any("SIGTERM: the daemon drained its queues and exited 0" in line for line in checks)
    assert (tmp_path / "mirror.db").exists()  # puppets and the message map were kept in SQLite


async def test_edits_and_replies_still_find_their_copies_after_a_restart(
    emulator: Emulator, admin: ClientAPI, alice: ClientAPI, tmp_path: Path
) -> None:
    seed = emulator.seed
    team = TeamID(seed.team_id)
    a = await admin.channels.create(team, "restart-a", "Restart A")
    b = await admin.channels.create(team, "restart-b", "Restart B")
    await admin.channels.add_member(a.id, UserID(seed.user_id))
    _, bot_token = emulator.create_user("mirrorbot", admin=True, bot=True)

    config_path = tmp_path / "config.yaml"
    config_path.write_text(
        mirror_config_text(str(emulator.url), bot_token, tmp_path / "mirror.db", a.name, b.name)
    )

    def bridge() -> MirrorBridge:
        config = MirrorBridge.load_config(config_path)
        return MirrorBridge(config, registration=Registration.from_config(config.core))

    def copies(text: str) -> list[str]:
        return [p.id for p in emulator.state.posts.values() if p.channel_id == b.id and p.message == text]

    async def until(condition: Callable[[], object]) -> None:
        async with asyncio.timeout(10):
            while not condition():  # noqa: ASYNC110 - polls the emulator for the bridge's effect
                await asyncio.sleep(0.02)

    first = bridge()
    await first.start()
    root = await alice.posts.create(a.id, "before the restart")
    await until(lambda: copies("before the restart"))
    await first.stop()

    second = bridge()
    await second.start()
    try:
        await alice.posts.edit(root.id, "edited after the restart")
        reply = await alice.posts.create(a.id, "a reply after the restart", root_id=root.id)
        await until(lambda: copies("edited after the restart") and copies("a reply after the restart"))
        [copy_id] = copies("edited after the restart")
        [reply_copy] = copies("a reply after the restart")
        assert emulator.state.posts[reply_copy].root_id == copy_id
        assert reply.root_id == root.id
        puppets = [u for u in emulator.state.users.values() if u.username == "mirror_alice"]
        assert len(puppets) == 1  # the restarted bridge reused its puppet from the database
        assert puppets[0].nickname == "Alice Liddell"  # puppets.display_name_template: "{displayname}"
    finally:
        await second.stop()


def _restarted(bridge: MirrorBridge) -> MirrorBridge:
    """A new bridge on the same config (a restart: nothing kept in memory)."""
    return MirrorBridge(bridge.loaded, registration=bridge.registration)


async def _mirror(
    emulator: Emulator, admin: ClientAPI, tmp_path: Path, name: str
) -> tuple[MirrorBridge, str, str]:
    """A started mirror of two new channels ``<name>-a`` <-> ``<name>-b`` (alice in a, admin in b)."""
    seed = emulator.seed
    team = TeamID(seed.team_id)
    a = await admin.channels.create(team, f"{name}-a", f"{name} A")
    b = await admin.channels.create(team, f"{name}-b", f"{name} B")
    await admin.channels.add_member(a.id, UserID(seed.user_id))
    _, bot_token = emulator.create_user("mirrorbot", admin=True, bot=True)
    config_path = tmp_path / "config.yaml"
    config_path.write_text(
        mirror_config_text(str(emulator.url), bot_token, tmp_path / "mirror.db", a.name, b.name)
    )
    config = MirrorBridge.load_config(config_path)
    bridge = MirrorBridge(config, registration=Registration.from_config(config.core))
    await bridge.start()
    return bridge, a.id, b.id


async def _until(condition: Callable[[], object]) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - polls the emulator for the bridge's effect
            await asyncio.sleep(0.02)


async def test_a_renamed_user_keeps_their_puppet_and_their_copies(
    emulator: Emulator, admin: ClientAPI, alice: ClientAPI, tmp_path: Path
) -> None:
    bridge, a, b = await _mirror(emulator, admin, tmp_path, "rename")
    state = emulator.state
    try:
        post = await alice.posts.create(a, "before the rename")
        await _until(
            lambda: any(p.message == "before the rename" for p in state.posts.values() if p.channel_id == b)
        )
        await bridge.stop()
        await admin.users.patch(UserID(emulator.seed.user_id), username="alicia")
        bridge = _restarted(bridge)  # it knows the user only by id now
        await bridge.start()
        await alice.posts.edit(post.id, "edited after the rename")
        await alice.posts.create(a, "posted after the rename")
        await _until(
            lambda: (
                {p.message for p in state.posts.values() if p.channel_id == b and not p.delete_at}
                >= {"edited after the rename", "posted after the rename"}
            )
        )
        authors = {
            state.user(p.user_id).username for p in state.posts.values() if p.channel_id == b and not p.type
        }
        assert authors == {"mirror_alice"}  # one puppet, by user id: no mirror_alicia
        assert not [u for u in state.users.values() if u.username == "mirror_alicia"]
    finally:
        await bridge.stop()


async def test_a_reaction_and_a_reply_to_a_copy_not_yet_in_the_map_still_cross(
    emulator: Emulator, admin: ClientAPI, alice: ClientAPI, tmp_path: Path
) -> None:
    bridge, a, b = await _mirror(emulator, admin, tmp_path, "window")
    state = emulator.state
    try:
        original = await alice.posts.create(a, "copied")
        await _until(lambda: [p for p in state.posts.values() if p.channel_id == b and p.message == "copied"])
        [copy] = [p for p in state.posts.values() if p.channel_id == b and p.message == "copied"]
        # The window between the copy being made and its map row being written, held open.
        await bridge.db.execute("DELETE FROM mmbridge_message WHERE post_id = $1", copy.id)
        await admin.reactions.add(UserID(emulator.seed.admin_user_id), copy.id, "eyes")
        await admin.posts.create(b, "a reply to the copy", root_id=copy.id)
        await _until(lambda: {r.emoji_name for r in state.reactions.get(original.id, [])} == {"eyes"})
        await _until(
            lambda: [
                p for p in state.posts.values() if p.channel_id == a and p.message == "a reply to the copy"
            ]
        )
        [reply] = [
            p for p in state.posts.values() if p.channel_id == a and p.message == "a reply to the copy"
        ]
        assert reply.root_id == original.id  # in the original's thread, not top-level
    finally:
        await bridge.stop()


async def test_a_post_copied_but_not_recorded_before_a_crash_gets_its_later_edit(
    emulator: Emulator, admin: ClientAPI, alice: ClientAPI, tmp_path: Path
) -> None:
    bridge, a, b = await _mirror(emulator, admin, tmp_path, "unrecorded")
    state = emulator.state

    def copies() -> list[str]:
        return [
            p.message for p in state.posts.values() if p.channel_id == b and not p.delete_at and not p.type
        ]

    try:
        post = await alice.posts.create(a, "first text")
        await _until(lambda: copies() == ["first text"])
        # As if killed between making the copy and recording it: neither the map row nor the
        # ledger's record exists, the outbox knows the copy.
        await bridge.db.execute("DELETE FROM mmbridge_message WHERE remote_id = $1", post.id)
        await bridge.db.execute("DELETE FROM mmbridge_handled WHERE event_key = $1", f"post:{post.id}")
        await bridge.stop()
        await alice.posts.edit(post.id, "edited while down")
        bridge = _restarted(bridge)
        await bridge.start()
        await _until(lambda: copies() == ["edited while down"])  # the same copy, edited: not a second
    finally:
        await bridge.stop()
