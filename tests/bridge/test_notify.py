"""``mmbridge notify`` and the Notifier: messages as the bot to users and channels, send-or-update
by key, files, clear refusals."""

from __future__ import annotations

from pathlib import Path

from mmbridge.testing.emulator.models import Post

from .conftest import MirrorSetup


def bot_posts(setup: MirrorSetup, channel_id: str) -> list[Post]:
    state = setup.emulator.state
    return [
        p
        for p in state.posts.values()
        if p.channel_id == channel_id and not p.delete_at and state.user(p.user_id).username == "mmbridge-bot"
    ]


def dm_channel(setup: MirrorSetup, username: str) -> str:
    state = setup.emulator.state
    bot = next(u for u in state.users.values() if u.username == "mmbridge-bot")
    user = next(u for u in state.users.values() if u.username == username)
    return next(
        c.id
        for c in state.channels.values()
        if c.type == "D" and set(c.name.split("__")) == {bot.id, user.id}
    )


async def test_notify_a_channel_a_user_and_update_by_key(mirror: MirrorSetup, tmp_path: Path) -> None:
    notify = mirror.new_daemon("notify")
    config = ["-c", str(mirror.config)]
    result = await notify.run("notify", "--to", "~off-topic", "the **build** passed", *config)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("sent: post ")
    [post] = bot_posts(mirror, mirror.off_topic.id)
    assert post.message == "the **build** passed"

    first = await notify.run("notify", "--to", "@alice", "--key", "disk", "disk 90% full", *config)
    assert first.code == 0, first.stderr
    again = await notify.run("notify", "--to", "@alice", "--key", "disk", "disk fine again", *config)
    assert again.code == 0, again.stderr
    dm = dm_channel(mirror, "alice")
    assert [p.message for p in bot_posts(mirror, dm)] == ["disk fine again"]  # updated, not a second
    assert first.stdout == again.stdout  # the same post

    report = tmp_path / "report.txt"
    report.write_text("all good\n")
    with_file = await notify.run("notify", "--to", "@alice", "--file", str(report), "the report", *config)
    assert with_file.code == 0, with_file.stderr
    [attached] = [p for p in bot_posts(mirror, dm) if p.message == "the report"]
    assert [mirror.emulator.state.files[f].name for f in attached.file_ids] == ["report.txt"]


async def test_notify_refuses_clearly(mirror: MirrorSetup) -> None:
    notify = mirror.new_daemon("notify")
    config = ["-c", str(mirror.config)]
    for args, phrase in [
        (["--to", "~no-such-channel", "x"], "no channel ~no-such-channel"),
        (["--to", "@nobody", "x"], "no user @nobody"),
        (["x"], "name the target as @username or ~channel"),
        (["--to", "@alice", "--file", "/no/such/file", "x"], "no file /no/such/file"),
    ]:
        result = await notify.run("notify", *args, *config)
        assert result.code == 2, result.stderr
        assert phrase in result.stderr
        assert "Traceback" not in result.stderr
