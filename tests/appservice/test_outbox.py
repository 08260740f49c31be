"""Exactly-once posts: a source makes one post across retries, crashes and restarts; pending post
ids carry the installation's id."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from mmbridge.appservice import (
    BRIDGE_PROP,
    AppServiceAPI,
    MemoryStateStore,
    StateStore,
    create_state_store,
)
from mmbridge.appservice.appservice import INSTALL_ID_KEY
from mmbridge.appservice.outbox import SOURCE_PROP
from mmbridge.appservice.store import OutboxEntry
from mmbridge.testing.emulator import Emulator
from mmbridge.types import ChannelID

from .conftest import make_appservice

PENDING_ID = re.compile(r"^mmbridge:irc:([0-9a-f]{8}):(\d+)$")


def now_ms() -> int:
    return int(time.time() * 1000)


def calls(emulator: Emulator) -> list[tuple[str, str | None]]:
    return [(r.method, r.route) for r in emulator.requests]


def stamped_posts(emulator: Emulator, source: str) -> list[str]:
    """Ids of the live posts carrying ``source``."""
    return [
        p.id for p in emulator.state.posts.values() if p.props.get(SOURCE_PROP) == source and not p.delete_at
    ]


async def unsent_entry(appservice: AppServiceAPI, source: str, channel_id: str) -> OutboxEntry:
    """What a crash right after writing the outbox entry leaves behind."""
    return await appservice.store.add_outbox(
        OutboxEntry(
            source=source,
            channel_id=channel_id,
            pending_post_id=await appservice.txn_ids.next_txn_id(),
            created_at=now_ms(),
        )
    )


async def test_a_source_sent_twice_makes_one_post(emulator: Emulator, appservice: AppServiceAPI) -> None:
    channel = emulator.seed.channel_id
    intent = appservice.puppet("alice")
    first = await intent.send_markdown(channel, "hello **there**", source="irc:msg-1")
    assert first.message == "hello **there**"
    assert first.props[SOURCE_PROP] == "irc:msg-1"
    assert first.props[BRIDGE_PROP] == "irc"
    stored = emulator.state.posts[first.id]
    assert stored.props[SOURCE_PROP] == "irc:msg-1"
    assert stored.props[BRIDGE_PROP] == "irc"

    emulator.clear_requests()
    second = await intent.send_markdown(channel, "hello **there**", source="irc:msg-1")
    assert second.id == first.id
    assert second.channel_id == channel
    assert second.user_id == first.user_id
    assert calls(emulator) == []  # answered from the outbox
    assert stamped_posts(emulator, "irc:msg-1") == [first.id]

    entry = await appservice.store.get_outbox("irc:msg-1")
    assert entry is not None
    assert entry.post_id == first.id
    assert entry.channel_id == channel
    assert entry.pending_post_id == first.pending_post_id
    assert await appservice.store.unfinished_outbox() == []

    # send_text too; another source is another post.
    text = await intent.send_text(channel, "*plain*", source="irc:msg-2")
    assert text.message == "\\*plain\\*"
    again = await intent.send_text(channel, "*plain*", source="irc:msg-2")
    assert again.id == text.id != first.id
    # Without a source nothing is deduplicated.
    plain = [await intent.send_markdown(channel, "no source") for _ in range(2)]
    assert plain[0].id != plain[1].id
    assert SOURCE_PROP not in plain[0].props


async def test_one_source_sent_at_the_same_moment_twice_makes_one_post(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    channel = emulator.seed.channel_id
    intent = appservice.puppet("alice")
    await intent.ensure_joined(channel)
    posts = await asyncio.gather(
        *(intent.send_markdown(channel, "racing", source="irc:race") for _ in range(2))
    )
    assert posts[0].id == posts[1].id
    assert stamped_posts(emulator, "irc:race") == [posts[0].id]


async def test_a_crash_before_the_post_was_made_sends_it_once(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    channel = emulator.seed.channel_id
    intent = appservice.puppet("alice")
    await intent.ensure_joined(channel)
    entry = await unsent_entry(appservice, "irc:msg-3", channel)
    assert [e.source for e in await appservice.store.unfinished_outbox()] == ["irc:msg-3"]

    emulator.clear_requests()
    post = await intent.send_markdown(channel, "after the crash", source="irc:msg-3")
    assert calls(emulator).count(("POST", "/api/v4/posts")) == 1
    assert post.pending_post_id == entry.pending_post_id  # the id written before the crash
    assert post.props[SOURCE_PROP] == "irc:msg-3"
    assert stamped_posts(emulator, "irc:msg-3") == [post.id]
    finished = await appservice.store.get_outbox("irc:msg-3")
    assert finished is not None
    assert finished.post_id == post.id
    assert await appservice.store.unfinished_outbox() == []

    emulator.clear_requests()
    assert (await intent.send_markdown(channel, "after the crash", source="irc:msg-3")).id == post.id
    assert calls(emulator) == []


async def test_a_crash_after_the_post_was_made_finds_it_instead_of_posting_again(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    channel = ChannelID(emulator.seed.channel_id)
    intent = appservice.puppet("alice")
    await intent.ensure_joined(channel)
    entry = await unsent_entry(appservice, "irc:msg-4", channel)
    client = await intent.ensure_registered()
    made = await client.posts.create(
        channel,
        "made before the crash",
        props={SOURCE_PROP: "irc:msg-4", BRIDGE_PROP: "irc"},
        pending_post_id=entry.pending_post_id,
    )
    # Other posts came after it (the search reads newest first).
    for n in range(3):
        await intent.send_markdown(channel, f"later {n}")

    emulator.clear_requests()
    found = await intent.send_markdown(channel, "made before the crash", source="irc:msg-4")
    assert found.id == made.id
    assert ("POST", "/api/v4/posts") not in calls(emulator)
    assert stamped_posts(emulator, "irc:msg-4") == [made.id]
    finished = await appservice.store.get_outbox("irc:msg-4")
    assert finished is not None
    assert finished.post_id == made.id


async def test_reconcile_outbox_records_the_posts_a_crash_left_unrecorded(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    channel = ChannelID(emulator.seed.channel_id)
    intent = appservice.puppet("alice")
    await intent.ensure_joined(channel)
    client = await intent.ensure_registered()

    made_entry = await unsent_entry(appservice, "irc:made", channel)
    made = await client.posts.create(
        channel,
        "made",
        props={SOURCE_PROP: "irc:made", BRIDGE_PROP: "irc"},
        pending_post_id=made_entry.pending_post_id,
    )
    await unsent_entry(appservice, "irc:unsent", channel)
    # A post stamped with the same source by another bridge is not ours.
    await unsent_entry(appservice, "irc:foreign", channel)
    await client.posts.create(
        channel, "other bridge", props={SOURCE_PROP: "irc:foreign", BRIDGE_PROP: "xmpp"}
    )

    assert await appservice.reconcile_outbox() == 1
    finished = await appservice.store.get_outbox("irc:made")
    assert finished is not None
    assert finished.post_id == made.id
    assert sorted(e.source for e in await appservice.store.unfinished_outbox()) == [
        "irc:foreign",
        "irc:unsent",
    ]
    assert await appservice.reconcile_outbox() == 0

    # The entries left are sent when their sources come again, once each.
    emulator.clear_requests()
    assert (await intent.send_markdown(channel, "made", source="irc:made")).id == made.id
    assert calls(emulator) == []
    unsent = await intent.send_markdown(channel, "unsent", source="irc:unsent")
    foreign = await intent.send_markdown(channel, "ours this time", source="irc:foreign")
    assert calls(emulator).count(("POST", "/api/v4/posts")) == 2
    assert stamped_posts(emulator, "irc:unsent") == [unsent.id]
    assert foreign.props[BRIDGE_PROP] == "irc"
    assert await appservice.store.unfinished_outbox() == []


async def test_pending_post_ids_carry_an_install_id_a_new_store_does_not_share(
    emulator: Emulator, appservice: AppServiceAPI, bridge_bot: tuple[str, str]
) -> None:
    channel = emulator.seed.channel_id
    install_id = await appservice.store.get_value(INSTALL_ID_KEY)
    assert install_id is not None
    assert re.fullmatch(r"[0-9a-f]{8}", install_id)
    assert appservice.txn_ids.prefix == f"mmbridge:irc:{install_id}"
    post = await appservice.puppet("alice").send_markdown(channel, "same text", source="irc:a")
    match = PENDING_ID.match(post.pending_post_id)
    assert match is not None, post.pending_post_id
    assert match.group(1) == install_id

    # The store was lost: a new, empty one starts its counter again, but not its install id.
    lost = MemoryStateStore()
    other = make_appservice(emulator, lost, bridge_bot[1])
    await other.start()
    try:
        other_install = await lost.get_value(INSTALL_ID_KEY)
        assert other_install is not None
        assert other_install != install_id
        again = await other.puppet("alice").send_markdown(channel, "same text", source="irc:a")
        other_match = PENDING_ID.match(again.pending_post_id)
        assert other_match is not None, again.pending_post_id
        assert other_match.group(1) == other_install
        assert again.pending_post_id != post.pending_post_id
        # So the server does not take it for a retry of the first post (its 30 s window).
        assert again.id != post.id
    finally:
        await other.close()


async def test_the_install_id_and_the_outbox_survive_a_restart(
    emulator: Emulator, tmp_path: Path, bridge_bot: tuple[str, str]
) -> None:
    url = f"sqlite:///{tmp_path / 'bridge.db'}"
    channel = emulator.seed.channel_id
    prefixes: list[str] = []
    pending: list[str] = []
    posts: list[str] = []
    for run in range(2):
        store: StateStore = create_state_store(url, owner="mmbridge-tests", bridge_id="tests")
        await store.start()
        appservice = make_appservice(emulator, store, bridge_bot[1])
        try:
            await appservice.start()
            prefixes.append(appservice.txn_ids.prefix)
            emulator.clear_requests()
            posts.append((await appservice.puppet("alice").send_markdown(channel, "once", source="irc:x")).id)
            if run == 1:
                assert ("POST", "/api/v4/posts") not in calls(emulator)  # the outbox answered
            pending.append(
                (await appservice.puppet("alice").send_markdown(channel, f"run {run}")).pending_post_id
            )
        finally:
            await appservice.close()
            await store.stop()
    assert prefixes[0] == prefixes[1]
    assert all(p.startswith(prefixes[0] + ":") for p in pending)
    assert pending[0] != pending[1]  # the counter goes on too
    assert posts[0] == posts[1]
    assert stamped_posts(emulator, "irc:x") == [posts[0]]


async def test_a_recorded_post_comes_back_with_its_author_after_a_restart(
    emulator: Emulator, tmp_path: Path, bridge_bot: tuple[str, str]
) -> None:
    """``send_markdown``: "a post already recorded comes back with its id, channel and author"; the
    intent of a restarted bridge has not looked its puppet up yet when the outbox answers."""
    url = f"sqlite:///{tmp_path / 'bridge.db'}"
    channel = emulator.seed.channel_id
    returned = []
    for _ in range(2):
        store: StateStore = create_state_store(url, owner="mmbridge-tests", bridge_id="tests")
        await store.start()
        appservice = make_appservice(emulator, store, bridge_bot[1])
        try:
            await appservice.start()
            returned.append(await appservice.puppet("alice").send_markdown(channel, "once", source="irc:y"))
        finally:
            await appservice.close()
            await store.stop()
    first, second = returned
    assert second.id == first.id
    assert second.channel_id == first.channel_id == channel
    assert second.user_id == first.user_id


async def test_outbox_store_methods(store: StateStore) -> None:
    first = OutboxEntry(source="s1", channel_id="c" * 26, pending_post_id="p1", created_at=1_000)
    assert await store.get_outbox("s1") is None
    assert await store.add_outbox(first) == first
    # One source, one entry: a second write returns the first.
    assert (
        await store.add_outbox(OutboxEntry(source="s1", channel_id="d" * 26, pending_post_id="p2")) == first
    )
    assert await store.get_outbox("s1") == first
    await store.add_outbox(
        OutboxEntry(source="s0", channel_id="c" * 26, pending_post_id="p0", created_at=500)
    )
    await store.add_outbox(
        OutboxEntry(source="s2", channel_id="c" * 26, pending_post_id="p3", created_at=3_000)
    )
    assert [e.source for e in await store.unfinished_outbox()] == ["s0", "s1", "s2"]

    await store.finish_outbox("s1", "post1")
    await store.finish_outbox("s2", "post2")
    await store.finish_outbox("missing", "post9")  # nothing to finish
    assert await store.get_outbox("missing") is None
    finished = await store.get_outbox("s1")
    assert finished is not None
    assert (finished.post_id, finished.pending_post_id) == ("post1", "p1")
    assert [e.source for e in await store.unfinished_outbox()] == ["s0"]

    # Pruning forgets finished entries written before the time, never unfinished ones.
    assert await store.prune_outbox(2_000) == 1
    assert await store.get_outbox("s1") is None
    assert await store.get_outbox("s0") is not None
    assert await store.get_outbox("s2") is not None
    assert await store.prune_outbox(10_000) == 1
    assert [e.source for e in await store.unfinished_outbox()] == ["s0"]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_outbox_entries_are_scoped_by_bridge(store_url: str) -> None:
    one = create_state_store(store_url, owner="mmbridge-tests", bridge_id="one")
    two = create_state_store(store_url, owner="mmbridge-tests", bridge_id="two")
    await one.start()
    await two.start()
    try:
        await one.add_outbox(OutboxEntry(source="s", channel_id="c" * 26, pending_post_id="p", created_at=1))
        assert await two.get_outbox("s") is None
        assert await two.unfinished_outbox() == []
        assert await two.prune_outbox(10) == 0
        await two.finish_outbox("s", "x")
        entry = await one.get_outbox("s")
        assert entry is not None
        assert entry.post_id == ""
    finally:
        await two.stop()
        await one.stop()
