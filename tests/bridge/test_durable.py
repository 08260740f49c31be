"""Nothing lost, nothing doubled: the mirror as its own process, killed with SIGKILL, restarted,
its stream reset, its handlers failing; afterwards every change exists once on the other side."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator

import pytest_asyncio

from mmbridge.api import ClientAPI
from mmbridge.testing.emulator import Emulator
from mmbridge.testing.emulator.models import Post
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
