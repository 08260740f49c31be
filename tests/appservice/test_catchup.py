"""Catch-up against the emulator: what a channel missed since its ledger position comes through the
dispatcher once, in order, and nothing it already handled does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mmbridge.api import ClientAPI
from mmbridge.appservice.catchup import SERVER_SINCE_LIMIT, CatchUp, CatchUpReport
from mmbridge.appservice.dispatcher import Dispatcher, HandlerRetry
from mmbridge.appservice.ledger import ADDING, PRESENT, REMOVING, EventLedger, LedgerDelivery
from mmbridge.appservice.store import appservice_upgrade_table
from mmbridge.db import Database
from mmbridge.testing.emulator import Emulator
from mmbridge.testing.emulator.models import Post as EmulatorPost
from mmbridge.types import (
    Broadcast,
    ChannelID,
    Event,
    Post,
    PostDeletedEvent,
    PostedEvent,
    PostEditedEvent,
    Reaction,
    ReactionAddedEvent,
    ReactionRemovedEvent,
    UserID,
    structure,
)

HOUR = 3_600_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def tick() -> None:
    """Let the millisecond clock move on, so later changes get a later ``update_at``."""
    await asyncio.sleep(0.005)


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[EventLedger]:
    db = Database.create(
        f"sqlite:///{tmp_path / 'ledger.db'}",
        upgrade_table=[appservice_upgrade_table()],
        owner="mmbridge-tests",
    )
    await db.start()
    try:
        yield EventLedger(db, "tests")
    finally:
        await db.stop()


async def catch_up(
    admin: ClientAPI,
    ledger: EventLedger,
    channel_id: str,
    *,
    margin_ms: int = 0,
    window_ms: int = 24 * HOUR,
) -> tuple[CatchUpReport, list[Event]]:
    """One catch-up of ``channel_id`` through a real dispatcher and ledger delivery; returns the
    report and what the handlers got, in order."""
    dispatcher = Dispatcher(
        delivery=LedgerDelivery(ledger), retry=HandlerRetry(attempts=2, initial_delay=0.01, max_delay=0.01)
    )
    got: list[Event] = []

    async def record(event: Event) -> None:
        got.append(event)

    dispatcher.add_handler(Event, record)
    catchup = CatchUp(admin, ledger, dispatcher, margin_ms=margin_ms, window_ms=window_ms)
    try:
        report = await asyncio.wait_for(catchup.channel(channel_id), 60)
    finally:
        await dispatcher.close(drain_seconds=30)
    await ledger.flush_seen([channel_id])
    return report, got


def described(events: list[Event]) -> list[tuple[str, ...]]:
    """Events as (type, post id[, user, emoji]) for comparisons."""
    out: list[tuple[str, ...]] = []
    for event in events:
        if isinstance(event, PostedEvent | PostEditedEvent | PostDeletedEvent):
            out.append((event.type, event.post.id))
        elif isinstance(event, ReactionAddedEvent | ReactionRemovedEvent):
            r = event.reaction
            out.append((event.type, r.post_id, r.user_id, r.emoji_name))
        else:
            out.append((event.type,))
    return out


def as_posted(post: Post) -> PostedEvent:
    return PostedEvent(post=post, broadcast=Broadcast(channel_id=post.channel_id))


def reaction_event(
    kind: type[ReactionAddedEvent | ReactionRemovedEvent], reaction: Reaction, channel_id: str
) -> Event:
    return kind(reaction=reaction, broadcast=Broadcast(channel_id=channel_id))


async def post_at(admin: ClientAPI, channel_id: str, message: str, create_at: int) -> Post:
    """A post with a chosen ``create_at`` (a system admin may set it, as on the real server)."""
    data = await admin.http.request(
        "POST",
        ("posts",),
        json_body={"channel_id": channel_id, "message": message, "create_at": create_at},
    )
    return structure(data, Post)


async def start_at_now(ledger: EventLedger, channel_id: str) -> int:
    """Give the channel its position now (after what the test made so far) and return it."""
    await tick()
    position = now_ms()
    await ledger.start_position(channel_id, position)
    await tick()
    return position


async def test_posts_edits_and_deletions_after_the_position_come_in_order(
    emulator: Emulator, alice: ClientAPI, admin: ClientAPI, ledger: EventLedger
) -> None:
    channel = ChannelID(emulator.seed.channel_id)
    old_edited = await alice.posts.create(channel, "v1")
    bridged_then_deleted = await alice.posts.create(channel, "bridged, then deleted")
    position = await start_at_now(ledger, channel)
    await ledger.record(as_posted(bridged_then_deleted))  # handled before the bridge went away
    assert await ledger.position(channel) == position

    first = await alice.posts.create(channel, "first new")
    # Three posts in one millisecond: they come in the order the server made them.
    same_ms = now_ms()
    simultaneous = [await post_at(admin, channel, f"same ms {n}", same_ms) for n in range(3)]
    assert {p.create_at for p in simultaneous} == {same_ms}
    await tick()
    edited = await alice.posts.edit(old_edited.id, "v2")
    await tick()
    await alice.posts.delete(bridged_then_deleted.id)
    await tick()
    never_bridged = await alice.posts.create(channel, "made and deleted while away")
    await alice.posts.delete(never_bridged.id)
    await tick()
    reply = await alice.posts.create(channel, "a reply", root_id=first.id)
    await tick()
    fresh = await alice.posts.create(channel, "fresh v1")
    await tick()
    await alice.posts.edit(fresh.id, "fresh v2")

    report, got = await catch_up(admin, ledger, channel)

    assert described(got) == [
        ("posted", first.id),
        *(("posted", p.id) for p in simultaneous),
        ("post_edited", old_edited.id),
        ("post_deleted", bridged_then_deleted.id),
        ("posted", reply.id),
        ("posted", fresh.id),  # with its current text,
        ("post_edited", fresh.id),  # and its edit: a crash may have left a copy of "fresh v1"
    ]
    by_id = {
        e.post.id: e
        for e in got
        if isinstance(e, PostedEvent | PostEditedEvent | PostDeletedEvent)
        and not (e.post.id == fresh.id and isinstance(e, PostEditedEvent))
    }
    edit_event = by_id[old_edited.id]
    assert isinstance(edit_event, PostEditedEvent)
    assert edit_event.post.message == "v2"
    assert edit_event.post.edit_at == edited.edit_at
    fresh_event = by_id[fresh.id]
    assert isinstance(fresh_event, PostedEvent)
    assert fresh_event.post.message == "fresh v2"
    assert fresh_event.source == "catchup"
    assert by_id[reply.id].post.root_id == first.id
    # Edit-history rows (original_id set) never become events.
    assert all(e.post.id in emulator.state.posts for e in by_id.values())
    assert all(not e.post.original_id for e in by_id.values())
    # Synthesised events have negative, distinct seqs.
    assert len({e.seq for e in got}) == len(got)
    assert all(e.seq < 0 for e in got)

    assert report.channel_id == channel
    assert report.since == position
    assert report.dispatched == len(got)
    assert not report.incomplete
    assert not report.window_exceeded
    assert not report.first_time
    # Every change up to the newest one needs nothing more now.
    newest = max(p.update_at for p in emulator.state.posts.values() if p.channel_id == channel)
    assert await ledger.position(channel) == newest


async def test_a_second_catch_up_dispatches_only_what_is_new(
    emulator: Emulator, alice: ClientAPI, admin: ClientAPI, ledger: EventLedger
) -> None:
    channel = ChannelID(emulator.seed.channel_id)
    old = await alice.posts.create(channel, "old")
    position = await start_at_now(ledger, channel)
    new = await alice.posts.create(channel, "new")
    await tick()
    await alice.posts.edit(old.id, "old, edited")
    await tick()
    await alice.reactions.add(UserID(emulator.seed.user_id), old.id, "smile")
    _, first_run = await catch_up(admin, ledger, channel)
    assert described(first_run) == [
        ("posted", new.id),
        ("post_edited", old.id),
        ("reaction_added", old.id, emulator.seed.user_id, "smile"),
    ]

    # Again from the same point (as with a margin): every key is handled, nothing comes again.
    again_margin = (await ledger.position(channel) or 0) - position
    _, second_run = await catch_up(admin, ledger, channel, margin_ms=again_margin)
    assert second_run == []

    await tick()
    newer = await alice.posts.create(channel, "newer")
    report, third_run = await catch_up(admin, ledger, channel, margin_ms=again_margin)
    assert described(third_run) == [("posted", newer.id)]
    assert report.dispatched == 1


async def test_handled_keys_inside_the_margin_are_not_dispatched_again(
    emulator: Emulator, alice: ClientAPI, admin: ClientAPI, ledger: EventLedger
) -> None:
    channel = ChannelID(emulator.seed.channel_id)
    await start_at_now(ledger, channel)
    handled = [await alice.posts.create(channel, f"handled {n}") for n in range(3)]
    for post in handled:
        await ledger.record(as_posted(post))  # the live stream had them
    assert await ledger.position(channel) == handled[-1].update_at
    await tick()
    missed = await alice.posts.create(channel, "missed")
    # A margin reaching back before the handled posts: they are read again, and dropped.
    margin = handled[-1].update_at - handled[0].create_at + 1
    report, got = await catch_up(admin, ledger, channel, margin_ms=margin)
    assert described(got) == [("posted", missed.id)]
    assert report.since == handled[0].create_at - 1
    assert report.changed == 4
    assert report.dispatched == 1


async def test_a_deleted_post_that_was_handled_after_the_position_is_deleted(
    emulator: Emulator, alice: ClientAPI, admin: ClientAPI, ledger: EventLedger
) -> None:
    channel = ChannelID(emulator.seed.channel_id)
    await start_at_now(ledger, channel)
    bridged = await alice.posts.create(channel, "bridged live")
    await ledger.record(as_posted(bridged))
    lost = await alice.posts.create(channel, "never bridged")
    await tick()
    await alice.posts.delete(bridged.id)
    await alice.posts.delete(lost.id)
    margin = (await ledger.position(channel) or 0) - bridged.create_at + 1
    _, got = await catch_up(admin, ledger, channel, margin_ms=margin)
    assert described(got) == [("post_deleted", bridged.id)]


async def test_reactions_are_compared_with_what_the_ledger_saw(
    emulator: Emulator, alice: ClientAPI, admin: ClientAPI, ledger: EventLedger
) -> None:
    channel = ChannelID(emulator.seed.channel_id)
    me = UserID(emulator.seed.user_id)
    target = await alice.posts.create(channel, "react here")
    other = await alice.posts.create(channel, "and here")
    kept = await alice.reactions.add(me, target.id, "thumbsup")
    removed_later = await alice.reactions.add(me, other.id, "smile")
    removal_in_doubt = await alice.reactions.add(me, other.id, "wave")
    position = await start_at_now(ledger, channel)
    for seen in (kept, removed_later, removal_in_doubt):  # the handlers had them
        await ledger.record(reaction_event(ReactionAddedEvent, seen, channel))
    assert await ledger.position(channel) == position

    new = await alice.reactions.add(me, target.id, "tada")
    in_doubt = await alice.reactions.add(me, target.id, "heart")
    # The bridge was handling this one when it died: in doubt, and the server has it.
    await ledger.starting(reaction_event(ReactionAddedEvent, in_doubt, channel))
    await tick()
    await alice.reactions.remove(me, other.id, "smile")
    await alice.reactions.remove(me, other.id, "wave")
    # Its removal was being handled when the bridge died: in doubt, and the server lacks it.
    await ledger.starting(reaction_event(ReactionRemovedEvent, removal_in_doubt, channel))
    assert await ledger.reaction_state(target.id, me, "heart") == ADDING
    assert await ledger.reaction_state(other.id, me, "wave") == REMOVING

    _, got = await catch_up(admin, ledger, channel)
    assert sorted(described(got)) == sorted(
        [
            ("reaction_added", target.id, me, "tada"),
            ("reaction_added", target.id, me, "heart"),
            ("reaction_removed", other.id, me, "smile"),
            ("reaction_removed", other.id, me, "wave"),
        ]
    )
    added = {e.reaction.emoji_name: e for e in got if isinstance(e, ReactionAddedEvent)}
    assert added["tada"].reaction.create_at == new.create_at
    assert added["tada"].channel_id == channel
    removed = [e for e in got if isinstance(e, ReactionRemovedEvent)]
    assert all(e.channel_id == channel for e in removed)
    # No post events: the reactions bumped the posts, nothing else changed.
    assert not [e for e in got if isinstance(e, PostedEvent | PostEditedEvent | PostDeletedEvent)]

    # Handled now: the ledger agrees with the server.
    assert await ledger.known_reactions([target.id, other.id]) == {
        (target.id, me, "thumbsup"): PRESENT,
        (target.id, me, "tada"): PRESENT,
        (target.id, me, "heart"): PRESENT,
    }
    margin = (await ledger.position(channel) or 0) - position
    _, again = await catch_up(admin, ledger, channel, margin_ms=margin)
    assert again == []


async def test_more_than_the_servers_1000_changes_still_dispatches_every_new_post_once(
    emulator: Emulator, admin: ClientAPI, ledger: EventLedger
) -> None:
    seed = emulator.seed
    state = emulator.state
    position = await start_at_now(ledger, seed.channel_id)
    made: list[str] = []
    count = SERVER_SINCE_LIMIT + 100
    for i in range(count):
        at = position + 1 + i
        post_id = state.ids.new_id()
        state.save_post(
            EmulatorPost(
                id=post_id,
                channel_id=seed.channel_id,
                user_id=seed.user_id,
                create_at=at,
                update_at=at,
                message=f"bulk {i}",
            ),
            sender=None,
        )
        made.append(post_id)

    report, got = await catch_up(admin, ledger, seed.channel_id)
    assert report.incomplete is True
    assert report.dispatched == count
    dispatched = [e.post.id for e in got if isinstance(e, PostedEvent)]
    assert len(dispatched) == len(got)
    assert dispatched == made  # every one, once, oldest first
    assert await ledger.position(seed.channel_id) == position + count


async def test_a_position_older_than_the_window_is_caught_up_from_the_window_only(
    emulator: Emulator, alice: ClientAPI, admin: ClientAPI, ledger: EventLedger
) -> None:
    channel = ChannelID(emulator.seed.channel_id)
    now = now_ms()
    await ledger.start_position(channel, now - 10 * HOUR)
    too_old = await post_at(admin, channel, "five hours ago", now - 5 * HOUR)
    in_window = await post_at(admin, channel, "half an hour ago", now - HOUR // 2)
    recent = await alice.posts.create(channel, "just now")

    before = now_ms()
    report, got = await catch_up(admin, ledger, channel, window_ms=HOUR)
    after = now_ms()
    assert report.window_exceeded is True
    assert before - HOUR <= report.since <= after - HOUR
    mine = [e.post.id for e in got if isinstance(e, PostedEvent) and not e.post.is_system]
    assert mine == [in_window.id, recent.id]
    assert too_old.id not in {e.post.id for e in got if isinstance(e, PostedEvent)}


async def test_a_channel_without_a_position_gets_one_and_nothing_is_dispatched(
    emulator: Emulator, alice: ClientAPI, admin: ClientAPI, ledger: EventLedger
) -> None:
    channel = ChannelID(emulator.seed.channel_id)
    await alice.posts.create(channel, "before the bridge knew the channel")
    before = now_ms()
    report, got = await catch_up(admin, ledger, channel)
    after = now_ms()
    assert report.first_time is True
    assert report.dispatched == 0
    assert got == []
    position = await ledger.position(channel)
    assert position is not None
    assert before <= position <= after
    assert report.since == position


async def test_a_root_pulled_in_for_its_reply_is_not_an_event(
    emulator: Emulator, alice: ClientAPI, admin: ClientAPI, ledger: EventLedger
) -> None:
    channel = ChannelID(emulator.seed.channel_id)
    root = await alice.posts.create(channel, "an old root")
    reply = await alice.posts.create(channel, "an old reply", root_id=root.id)
    await start_at_now(ledger, channel)
    await alice.reactions.add(UserID(emulator.seed.user_id), reply.id, "smile")
    _, got = await catch_up(admin, ledger, channel)
    assert described(got) == [("reaction_added", reply.id, emulator.seed.user_id, "smile")]


async def test_a_post_caught_up_with_its_edit_is_not_edited_again_by_the_next_catch_up(
    emulator: Emulator, alice: ClientAPI, admin: ClientAPI, ledger: EventLedger
) -> None:
    """A post made and edited while away comes as ``posted`` with its current text and as
    ``post_edited`` (a crash may have left a copy of the first text); reading the same span again
    (the margin, a stream reset) sends neither again."""
    channel = ChannelID(emulator.seed.channel_id)
    position = await start_at_now(ledger, channel)
    fresh = await alice.posts.create(channel, "fresh v1")
    await tick()
    await alice.posts.edit(fresh.id, "fresh v2")
    _, first = await catch_up(admin, ledger, channel)
    assert described(first) == [("posted", fresh.id), ("post_edited", fresh.id)]
    assert isinstance(first[0], PostedEvent)
    assert first[0].post.message == "fresh v2"
    assert first[1].post.message == "fresh v2"  # type: ignore[attr-defined]

    margin = (await ledger.position(channel) or 0) - position
    _, again = await catch_up(admin, ledger, channel, margin_ms=margin)
    assert described(again) == []


async def test_an_edit_missed_of_a_post_bridged_live_comes_as_an_edit(
    emulator: Emulator, alice: ClientAPI, admin: ClientAPI, ledger: EventLedger
) -> None:
    channel = ChannelID(emulator.seed.channel_id)
    await start_at_now(ledger, channel)
    live = await alice.posts.create(channel, "live v1")
    await ledger.record(as_posted(live))  # bridged live with its first text
    await tick()
    await alice.posts.edit(live.id, "live v2")  # missed
    margin = (await ledger.position(channel) or 0) - live.create_at + 1
    _, got = await catch_up(admin, ledger, channel, margin_ms=margin)
    assert described(got) == [("post_edited", live.id)]
    assert isinstance(got[0], PostEditedEvent)
    assert got[0].post.message == "live v2"
