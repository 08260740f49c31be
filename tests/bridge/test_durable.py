"""Nothing lost, nothing doubled: the mirror as its own process, killed with SIGKILL, restarted,
its stream reset, its handlers failing; afterwards every change exists once on the other side."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from mmbridge.api import ClientAPI
from mmbridge.testing.emulator import Emulator
from mmbridge.testing.emulator.models import Post
from mmbridge.testing.faults_client import FaultsAPIClient
from mmbridge.types import ChannelID, PostID, UserID

from .conftest import MirrorSetup, until


def copies(emulator: Emulator, channel_id: str) -> list[Post]:
    """The live posts of mirror puppets in ``channel_id``, oldest first."""
    state = emulator.state
    return sorted(
        (
            post
            for post in state.posts.values()
            if post.channel_id == channel_id
            and not post.delete_at
            and state.user(post.user_id).username.startswith("mirror_")
        ),
        key=lambda post: (post.create_at, post.seq),
    )


def copy_of(emulator: Emulator, channel_id: str, text: str) -> list[Post]:
    return [post for post in copies(emulator, channel_id) if post.message == text]


def reactions_on(emulator: Emulator, post_id: str) -> set[str]:
    return {r.emoji_name for r in emulator.state.reactions.get(post_id, [])}


@pytest_asyncio.fixture
async def alice(mirror: MirrorSetup) -> AsyncIterator[ClientAPI]:
    """The seed's alice, over HTTP (she is in ``~bridge-test``)."""
    client = ClientAPI.connect(mirror.emulator.url, mirror.emulator.seed.token)
    try:
        yield client
    finally:
        await client.close()


async def test_changes_made_while_the_bridge_was_down_are_bridged_once_after_a_restart(
    mirror: MirrorSetup, alice: ClientAPI
) -> None:
    emulator = mirror.emulator
    seed = emulator.seed
    a, b = ChannelID(seed.channel_id), mirror.off_topic.id
    daemon = await mirror.start_healthy()
    old = await alice.posts.create(a, "old post")
    liked = await alice.posts.create(a, "liked post")
    doomed = await alice.posts.create(a, "doomed post")
    await alice.reactions.add(UserID(seed.user_id), liked.id, "smile")
    await until(
        lambda: (
            copy_of(emulator, b, "doomed post")
            and reactions_on(emulator, copy_of(emulator, b, "liked post")[0].id)
        )
    )
    daemon.signal(signal.SIGKILL)
    await daemon.wait()

    # While it is down: new posts and a reply, an edit, a reaction added and one removed, a delete.
    new = [await alice.posts.create(a, f"while down {n}") for n in range(5)]
    await alice.posts.create(a, "a reply while down", root_id=new[0].id)
    await alice.posts.edit(old.id, "old post, edited while down")
    await alice.reactions.add(UserID(seed.user_id), old.id, "tada")
    await alice.reactions.remove(UserID(seed.user_id), liked.id, "smile")
    await alice.posts.delete(doomed.id)

    again = await mirror.start_healthy()
    await until(lambda: copy_of(emulator, b, "a reply while down"), limit=15)
    await until(lambda: copy_of(emulator, b, "old post, edited while down"))
    await until(lambda: not copy_of(emulator, b, "doomed post"))
    edited = copy_of(emulator, b, "old post, edited while down")[0]
    await until(lambda: reactions_on(emulator, edited.id) == {"tada"})
    await until(lambda: reactions_on(emulator, copy_of(emulator, b, "liked post")[0].id) == set())

    texts = [post.message for post in copies(emulator, b)]
    assert texts == [
        "old post, edited while down",
        "liked post",
        *(f"while down {n}" for n in range(5)),
        "a reply while down",
    ]
    reply = copy_of(emulator, b, "a reply while down")[0]
    assert reply.root_id == copy_of(emulator, b, "while down 0")[0].id
    again.signal(signal.SIGTERM)
    assert (await again.wait()).code == 0
    # And nothing goes the other way: the copies are echoes.
    assert [p.message for p in copies(emulator, a)] == []
    assert PostID(old.id)


async def test_edits_and_reactions_missed_by_a_reset_stream_are_caught_up(
    mirror: MirrorSetup, alice: ClientAPI
) -> None:
    emulator = mirror.emulator
    seed = emulator.seed
    a, b = ChannelID(seed.channel_id), mirror.off_topic.id
    daemon = await mirror.start_healthy()
    posts = [await alice.posts.create(a, f"before the reset {n}") for n in range(3)]
    await until(lambda: len(copies(emulator, b)) == 3)
    async with FaultsAPIClient(emulator.url) as faults:
        # The stream drops, its replay buffer is gone, and reconnecting fails for a while.
        await faults.fail_next(3, 503, path_contains="/api/v4/websocket")
        await faults.ws_lose_replay()
        await faults.ws_drop()
        await alice.posts.edit(posts[0].id, "edited during the gap")
        await alice.reactions.add(UserID(seed.user_id), posts[1].id, "tada")
        await alice.posts.delete(posts[2].id)
        await alice.posts.create(a, "posted during the gap")
    await until(lambda: copy_of(emulator, b, "edited during the gap"), limit=15)
    await until(lambda: reactions_on(emulator, copy_of(emulator, b, "before the reset 1")[0].id) == {"tada"})
    await until(lambda: not copy_of(emulator, b, "before the reset 2"))
    await until(lambda: copy_of(emulator, b, "posted during the gap"))
    assert "catching up" in daemon.stderr()
    assert [p.message for p in copies(emulator, b)] == [
        "edited during the gap",
        "before the reset 1",
        "posted during the gap",
    ]


async def test_a_handler_that_keeps_failing_parks_its_event_for_a_replay(
    mirror: MirrorSetup, alice: ClientAPI
) -> None:
    emulator = mirror.emulator
    a, b = ChannelID(emulator.seed.channel_id), mirror.off_topic.id
    with mirror.config.open("a") as config:
        config.write("delivery:\n  retry_attempts: 2\n  retry_max_delay: 0.5\n")
    daemon = await mirror.start_healthy()
    await alice.posts.create(a, "the puppet exists")
    await until(lambda: copy_of(emulator, b, "the puppet exists"))
    daemon.signal(signal.SIGTERM)
    assert (await daemon.wait()).code == 0

    await alice.posts.create(a, "cannot be copied yet")
    async with FaultsAPIClient(emulator.url) as faults:
        await faults.fail_next(200, 500, method="POST", path_contains="/api/v4/posts")
        daemon = await mirror.start_healthy()
        listing = mirror.new_daemon("list")
        await until(lambda: "parked as a dead letter" in daemon.stderr(), limit=15)
        letters = await listing.run("dead-letters", "-c", str(mirror.config))
        assert letters.code == 0, letters.stderr
        [line] = letters.stdout.splitlines()
        assert "remote_message" in line  # the copy's making failed: the mirror's "remote" side
        assert "channel=portal:b" in line
        assert "tries=2" in line
        assert "500" in line
        await until_metric(mirror, "mmbridge_dead_letters 1.0")
        await faults.clear()
    assert not copy_of(emulator, b, "cannot be copied yet")

    replay = await mirror.new_daemon("replay").run(
        "dead-letters", "replay", "--all", "-c", str(mirror.config)
    )
    assert replay.code == 0, replay.stderr
    assert "1 dead letter(s) marked for replay" in replay.stdout
    await until(lambda: copy_of(emulator, b, "cannot be copied yet"), limit=15)
    await until_metric(mirror, "mmbridge_dead_letters 0.0")
    after = await mirror.new_daemon("after").run("dead-letters", "-c", str(mirror.config))
    assert after.stdout.strip() == "no dead letters"
    unknown = await mirror.new_daemon("unknown").run(
        "dead-letters", "discard", "nosuch", "-c", str(mirror.config)
    )
    assert unknown.code == 2
    assert "no dead letter nosuch" in unknown.stderr


async def until_metric(mirror: MirrorSetup, line: str) -> None:
    """Wait until the daemon's /metrics has ``line``."""
    url = f"http://127.0.0.1:{mirror.port}/metrics"
    async with asyncio.timeout(10), aiohttp.ClientSession() as http:
        while True:
            async with http.get(url) as response:
                if line in (await response.text()).splitlines():
                    return
            await asyncio.sleep(0.1)


async def test_no_token_reaches_the_log_even_at_debug(mirror: MirrorSetup, alice: ClientAPI) -> None:
    emulator = mirror.emulator
    a, b = ChannelID(emulator.seed.channel_id), mirror.off_topic.id
    with mirror.config.open("a") as config:  # every library at DEBUG, the SQL statements too
        config.write(
            "logging:\n  version: 1\n  disable_existing_loggers: false\n"
            "  handlers: {console: {class: logging.StreamHandler, stream: ext://sys.stderr}}\n"
            "  loggers: {mmbridge.db.sql: {level: DEBUG}}\n  root: {level: DEBUG, handlers: [console]}\n"
        )
    daemon = await mirror.start_healthy("--debug")
    await alice.posts.create(a, "hello")
    await until(lambda: copy_of(emulator, b, "hello"))
    daemon.signal(signal.SIGTERM)
    assert (await daemon.wait()).code == 0
    with contextlib.closing(sqlite3.connect(mirror.workdir / "mirror.db")) as db:
        puppets = [row[0] for row in db.execute("SELECT token FROM mmbridge_puppet")]
        stored = db.execute("SELECT value FROM mmbridge_kv WHERE name LIKE 'mmbridge.tokens.%'").fetchall()
    integrations = [pair.split("=", 1)[1] for (value,) in stored for pair in str(value).split()]
    registration = (mirror.workdir / "registration.yaml").read_text()
    action_secret = next(
        line.split(":", 1)[1].strip().strip('"')
        for line in registration.splitlines()
        if line.startswith("action_secret")
    )
    secrets = [mirror.bot_token, *puppets, *integrations, action_secret]
    assert len(puppets) == 1
    assert integrations
    log = daemon.stderr()
    assert "INSERT INTO mmbridge_puppet" in log  # the statement is logged, not its token
    for secret in secrets:
        assert secret not in log
