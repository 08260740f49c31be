"""The mirror example bridge runs its whole scenario on the emulator: what ``make demo`` shows."""

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
