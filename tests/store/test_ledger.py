"""The event ledger on SQLite and PostgreSQL: keys, positions, reactions, seen positions, pruning,
dead letters, bridge scoping and restarts."""

from __future__ import annotations

import asyncio

import pytest

from mmbridge.appservice.ledger import (
    ADDING,
    PRESENT,
    REMOVING,
    EventLedger,
    ledger_key,
    load_event,
    message_digest,
)
from mmbridge.appservice.store import appservice_upgrade_table
from mmbridge.db import Database
from mmbridge.types import (
    Broadcast,
    ChannelID,
    Event,
    Post,
    PostDeletedEvent,
    PostedEvent,
    PostEditedEvent,
    PostID,
    Reaction,
    ReactionAddedEvent,
    ReactionRemovedEvent,
    UserID,
)

from .store_helpers import OWNER, Cleanup

CHANNEL = "c" * 26
OTHER_CHANNEL = "d" * 26
USER = "u" * 26


def pid(n: int) -> str:
    return f"p{n:025d}"


def make_post(
    n: int,
    *,
    channel: str = CHANNEL,
    create_at: int,
    update_at: int | None = None,
    edit_at: int = 0,
    delete_at: int = 0,
    message: str = "hello",
) -> Post:
    return Post(
        id=PostID(pid(n)),
        channel_id=ChannelID(channel),
        user_id=UserID(USER),
        message=message,
        create_at=create_at,
        update_at=create_at if update_at is None else update_at,
        edit_at=edit_at,
        delete_at=delete_at,
        props={"k": "v"},
    )


def posted(post: Post) -> PostedEvent:
    return PostedEvent(post=post, broadcast=Broadcast(channel_id=post.channel_id), seq=3)


def edited(post: Post) -> PostEditedEvent:
    return PostEditedEvent(post=post, broadcast=Broadcast(channel_id=post.channel_id), seq=4)


def deleted(post: Post) -> PostDeletedEvent:
    return PostDeletedEvent(post=post, broadcast=Broadcast(channel_id=post.channel_id), seq=5)


def reaction(
    kind: type[ReactionAddedEvent | ReactionRemovedEvent],
    post_n: int,
    *,
    emoji: str = "smile",
    create_at: int = 0,
    channel: str = CHANNEL,
) -> Event:
    item = Reaction(user_id=UserID(USER), post_id=PostID(pid(post_n)), emoji_name=emoji, create_at=create_at)
    return kind(reaction=item, broadcast=Broadcast(channel_id=channel), seq=6)


async def open_db(cleanup: Cleanup, url: str) -> Database:
    db = cleanup(Database.create(url, upgrade_table=[appservice_upgrade_table()], owner=OWNER))
    await db.start()
    return db


async def open_ledger(cleanup: Cleanup, url: str, bridge_id: str = "tests") -> EventLedger:
    return EventLedger(await open_db(cleanup, url), bridge_id)


def key(event: Event) -> str:
    keyed = ledger_key(event)
    assert keyed is not None
    return keyed[0]


async def test_recording_post_events_marks_keys_and_moves_the_position(db_url: str, cleanup: Cleanup) -> None:
    ledger = await open_ledger(cleanup, db_url)
    assert await ledger.position(CHANNEL) is None
    assert await ledger.positions() == {}

    new = posted(make_post(1, create_at=1_000, update_at=1_000))
    await ledger.record(new)
    assert await ledger.handled_keys([f"post:{pid(1)}"]) == {f"post:{pid(1)}"}
    assert await ledger.position(CHANNEL) == 1_000

    change = edited(make_post(1, create_at=1_000, update_at=2_000, edit_at=2_000, message="v2"))
    await ledger.record(change)
    edit_key = f"edit:{pid(1)}:2000:{message_digest('v2')}"
    assert key(change) == edit_key
    assert await ledger.handled_keys([edit_key]) == {edit_key}
    assert await ledger.position(CHANNEL) == 2_000

    # A deletion carries the post as it was (its old update_at): it is recorded, and it does not
    # move the position (see position_of).
    gone = deleted(make_post(2, create_at=1_500, update_at=1_500))
    await ledger.record(gone)
    assert await ledger.handled_keys([f"delete:{pid(2)}"]) == {f"delete:{pid(2)}"}
    assert await ledger.position(CHANNEL) == 2_000

    # Never backwards: an older event keeps the higher position.
    await ledger.record(posted(make_post(3, create_at=500, update_at=500)))
    assert await ledger.position(CHANNEL) == 2_000
    assert await ledger.handled_keys([f"post:{pid(3)}", f"post:{pid(99)}"]) == {f"post:{pid(3)}"}

    # Recording the same event twice is harmless.
    await ledger.record(new)
    assert await ledger.positions() == {CHANNEL: 2_000}

    # Another channel has its own position.
    await ledger.record(posted(make_post(4, channel=OTHER_CHANNEL, create_at=700)))
    assert await ledger.positions() == {CHANNEL: 2_000, OTHER_CHANNEL: 700}


async def test_an_edit_of_the_same_time_with_other_text_is_another_key(db_url: str, cleanup: Cleanup) -> None:
    ledger = await open_ledger(cleanup, db_url)
    first = edited(make_post(1, create_at=1, update_at=9, edit_at=9, message="one"))
    second = edited(make_post(1, create_at=1, update_at=9, edit_at=9, message="two"))
    pinned = edited(make_post(1, create_at=1, update_at=12, edit_at=9, message="one"))
    await ledger.record(first)
    assert await ledger.handled_keys([key(first), key(second)]) == {key(first)}
    assert key(pinned) == key(first)  # a pin bumps update_at only


async def test_transaction_writes_the_handlers_rows_and_the_record_together(
    db_url: str, cleanup: Cleanup
) -> None:
    ledger = await open_ledger(cleanup, db_url)
    db = ledger.db
    await db.execute("CREATE TABLE message_map (post_id TEXT PRIMARY KEY, remote_id TEXT NOT NULL)")
    good = posted(make_post(1, create_at=1_000))
    bad = posted(make_post(2, create_at=2_000))

    async with ledger.transaction(good) as conn:
        await conn.execute("INSERT INTO message_map (post_id, remote_id) VALUES ($1, $2)", pid(1), "r1")
    assert await db.fetchval("SELECT remote_id FROM message_map WHERE post_id = $1", pid(1)) == "r1"
    assert await ledger.handled_keys([key(good)]) == {key(good)}
    assert await ledger.position(CHANNEL) == 1_000
    # The dispatcher's record afterwards is a no-op, once.
    assert ledger.take_recorded(good) is True
    assert ledger.take_recorded(good) is False

    class HandlerBug(Exception):
        pass

    async def failing_handler() -> None:
        async with ledger.transaction(bad) as conn:
            await conn.execute("INSERT INTO message_map (post_id, remote_id) VALUES ($1, $2)", pid(2), "r2")
            raise HandlerBug

    with pytest.raises(HandlerBug):
        await failing_handler()
    assert await db.fetchval("SELECT COUNT(*) FROM message_map WHERE post_id = $1", pid(2)) == 0
    assert await ledger.handled_keys([key(bad)]) == set()
    assert await ledger.position(CHANNEL) == 1_000
    assert ledger.take_recorded(bad) is False


async def test_record_after_a_handler_transaction_writes_nothing_twice(db_url: str, cleanup: Cleanup) -> None:
    ledger = await open_ledger(cleanup, db_url)
    event = posted(make_post(1, create_at=1_000))
    async with ledger.transaction(event):
        pass
    await ledger.record(event)  # what the dispatcher does once the handler returned
    assert ledger.take_recorded(event) is False  # consumed by record
    assert await ledger.handled_keys([key(event)]) == {key(event)}


async def test_reaction_states_across_starting_and_record(db_url: str, cleanup: Cleanup) -> None:
    ledger = await open_ledger(cleanup, db_url)
    added = reaction(ReactionAddedEvent, 1, create_at=3_000)
    removed = reaction(ReactionRemovedEvent, 1)
    assert await ledger.reaction_state(pid(1), USER, "smile") is None

    assert await ledger.starting(added) is True
    assert await ledger.reaction_state(pid(1), USER, "smile") == ADDING
    assert await ledger.position(CHANNEL) is None  # only a handled event moves it
    assert await ledger.starting(added) is True  # still in doubt: its handlers run again
    await ledger.record(added)
    assert await ledger.reaction_state(pid(1), USER, "smile") == PRESENT
    assert await ledger.position(CHANNEL) == 3_000

    # The server re-sends the add of a reaction that is there: nothing to do.
    assert await ledger.starting(reaction(ReactionAddedEvent, 1, create_at=3_500)) is False
    assert await ledger.reaction_state(pid(1), USER, "smile") == PRESENT

    assert await ledger.starting(removed) is True
    assert await ledger.reaction_state(pid(1), USER, "smile") == REMOVING
    await ledger.record(removed)
    assert await ledger.reaction_state(pid(1), USER, "smile") is None
    assert await ledger.position(CHANNEL) == 3_000  # a removal carries no time

    # The removal of one never seen (the server sends those too): nothing to do, nothing written.
    never_seen = reaction(ReactionRemovedEvent, 2, emoji="tada")
    assert await ledger.starting(never_seen) is False
    assert await ledger.reaction_state(pid(2), USER, "tada") is None

    # A removal while the add is in doubt runs (the other side may have it).
    await ledger.starting(reaction(ReactionAddedEvent, 2, emoji="wave", create_at=1))
    assert await ledger.starting(reaction(ReactionRemovedEvent, 2, emoji="wave")) is True
    assert await ledger.reaction_state(pid(2), USER, "wave") == REMOVING

    # Post events always run.
    assert await ledger.starting(posted(make_post(9, create_at=1))) is True

    # known_reactions: per post, with the state.
    await ledger.record(reaction(ReactionAddedEvent, 3, emoji="a", create_at=1))
    await ledger.starting(reaction(ReactionAddedEvent, 3, emoji="b", create_at=2))
    await ledger.record(reaction(ReactionAddedEvent, 4, emoji="c", create_at=3))
    assert await ledger.known_reactions([pid(3), pid(5)]) == {
        (pid(3), USER, "a"): PRESENT,
        (pid(3), USER, "b"): ADDING,
    }
    assert await ledger.known_reactions([]) == {}


async def test_noted_positions_are_flushed_only_for_the_channels_given(db_url: str, cleanup: Cleanup) -> None:
    ledger = await open_ledger(cleanup, db_url)
    await ledger.record(posted(make_post(1, create_at=100)))
    ledger.note_seen(CHANNEL, 5_000)
    ledger.note_seen(CHANNEL, 4_000)  # lower: ignored
    ledger.note_seen(OTHER_CHANNEL, 7_000)
    assert sorted(ledger.noted_channels()) == [CHANNEL, OTHER_CHANNEL]
    assert await ledger.position(CHANNEL) == 100  # nothing written yet

    await ledger.flush_seen([OTHER_CHANNEL, "x" * 26])
    assert await ledger.positions() == {CHANNEL: 100, OTHER_CHANNEL: 7_000}
    assert ledger.noted_channels() == [CHANNEL]

    await ledger.flush_seen([])
    assert await ledger.position(CHANNEL) == 100
    await ledger.flush_seen()  # all
    assert await ledger.positions() == {CHANNEL: 5_000, OTHER_CHANNEL: 7_000}
    assert ledger.noted_channels() == []

    # A noted position never moves a channel backwards either.
    ledger.note_seen(CHANNEL, 10)
    await ledger.flush_seen([CHANNEL])
    assert await ledger.position(CHANNEL) == 5_000


async def test_a_failed_flush_keeps_the_noted_positions(db_url: str, cleanup: Cleanup) -> None:
    ledger = await open_ledger(cleanup, db_url)
    ledger.note_seen(CHANNEL, 5_000)
    await ledger.db.stop()
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the driver raises when stopped
        await ledger.flush_seen()
    assert ledger.noted_channels() == [CHANNEL]
    await ledger.db.start()
    await ledger.flush_seen()
    assert await ledger.position(CHANNEL) == 5_000


async def test_start_position_sets_only_a_first_position(db_url: str, cleanup: Cleanup) -> None:
    ledger = await open_ledger(cleanup, db_url)
    await ledger.start_position(CHANNEL, 1_000)
    assert await ledger.position(CHANNEL) == 1_000
    await ledger.start_position(CHANNEL, 9_000)
    assert await ledger.position(CHANNEL) == 1_000


async def test_handled_keys_asks_in_chunks(db_url: str, cleanup: Cleanup) -> None:
    ledger = await open_ledger(cleanup, db_url)
    recorded = [posted(make_post(n, create_at=n)) for n in range(1, 1_201, 2)]  # 600 odd ones
    for event in recorded:
        await ledger.record(event)
    asked = [f"post:{pid(n)}" for n in range(1, 1_201)]  # 1200 keys: three chunks
    assert await ledger.handled_keys(asked) == {key(e) for e in recorded}
    assert await ledger.handled_keys([]) == set()


async def test_prune_forgets_keys_older_than_the_position_minus_keep(db_url: str, cleanup: Cleanup) -> None:
    ledger = await open_ledger(cleanup, db_url)
    old = posted(make_post(1, create_at=1_000))
    edge = posted(make_post(2, create_at=8_000))
    new = posted(make_post(3, create_at=9_000))
    latest = posted(make_post(4, create_at=10_000))
    elsewhere = posted(make_post(5, channel=OTHER_CHANNEL, create_at=1_000))
    for event in (old, edge, new, latest, elsewhere):
        await ledger.record(event)
    assert await ledger.position(CHANNEL) == 10_000
    # A key of a channel with no position (a deletion only) is never pruned.
    orphan = deleted(make_post(6, channel="e" * 26, create_at=1, update_at=1))
    await ledger.record(orphan)

    removed = await ledger.prune(2_000)  # forgets event_time < 8000 in CHANNEL, < -1000 elsewhere
    assert removed == 1
    everything = [key(e) for e in (old, edge, new, latest, elsewhere, orphan)]
    assert await ledger.handled_keys(everything) == {
        key(edge),
        key(new),
        key(latest),
        key(elsewhere),
        key(orphan),
    }
    # Keep nothing: what is older than its channel's position goes (not what is at it).
    assert await ledger.prune(0) == 2
    assert await ledger.handled_keys(everything) == {key(latest), key(elsewhere), key(orphan)}


async def test_dead_letters_park_list_replay_and_discard(db_url: str, cleanup: Cleanup) -> None:
    ledger = await open_ledger(cleanup, db_url)
    first = posted(make_post(1, create_at=1_000, message="broken"))
    second = reaction(ReactionAddedEvent, 2, create_at=2_000)
    third = edited(make_post(3, channel=OTHER_CHANNEL, create_at=1, update_at=5, edit_at=5, message="x"))
    assert await ledger.dead_letter_count() == 0
    assert await ledger.dead_letters() == []

    letter_ids = []
    for n, event in enumerate((first, second, third)):
        letter_ids.append(await ledger.park(event, ValueError(f"bug {n}"), attempts=8))
        await asyncio.sleep(0.002)  # oldest first is by failed_at (ms)
    assert len(set(letter_ids)) == 3
    assert await ledger.dead_letter_count() == 3
    # Parking records nothing.
    assert await ledger.handled_keys([key(first), key(third)]) == set()
    assert await ledger.position(CHANNEL) is None

    letters = await ledger.dead_letters()
    assert [letter.letter_id for letter in letters] == letter_ids
    assert [letter.event for letter in letters] == [None, None, None]
    assert letters[0].channel_id == CHANNEL
    assert letters[0].event_type == "posted"
    assert letters[0].error == "ValueError: bug 0"
    assert letters[0].attempts == 8
    assert letters[0].failed_at > 0
    assert letters[0].replay_requested is False
    assert letters[2].channel_id == OTHER_CHANNEL
    assert letters[1].event_type == "reaction_added"

    # The stored event comes back equal to the original.
    with_events = await ledger.dead_letters(with_events=True)
    assert [letter.event for letter in with_events] == [first, second, third]
    raw = await ledger.db.fetchval(
        "SELECT event FROM mmbridge_dead_letter WHERE letter_id = $1", letter_ids[0]
    )
    assert load_event(str(raw)) == first

    # Replays: some, then all.
    assert await ledger.replays() == []
    assert await ledger.request_replay([letter_ids[1]]) == 1
    replays = await ledger.replays()
    assert [r.letter_id for r in replays] == [letter_ids[1]]
    assert replays[0].event == second
    assert replays[0].replay_requested is True
    assert await ledger.request_replay() == 3
    assert [r.letter_id for r in await ledger.replays()] == letter_ids

    # A replay that fails again: the letter stays, more attempts, no replay pending.
    await ledger.park_again(letter_ids[0], RuntimeError("still broken"), attempts=3)
    again = {letter.letter_id: letter for letter in await ledger.dead_letters()}
    assert again[letter_ids[0]].attempts == 11
    assert again[letter_ids[0]].error == "RuntimeError: still broken"
    assert again[letter_ids[0]].replay_requested is False
    assert again[letter_ids[0]].failed_at >= letters[0].failed_at
    assert [r.letter_id for r in await ledger.replays()] == letter_ids[1:]

    # A replay that worked: the letter goes.
    await ledger.replayed(letter_ids[1])
    assert await ledger.dead_letter_count() == 2
    assert letter_ids[1] not in {letter.letter_id for letter in await ledger.dead_letters()}

    # Discard: some, unknown ids, then all.
    assert await ledger.discard([letter_ids[2], "nope"]) == 1
    assert [letter.letter_id for letter in await ledger.dead_letters()] == [letter_ids[0]]
    assert await ledger.discard() == 1
    assert await ledger.dead_letter_count() == 0
    assert await ledger.discard() == 0


async def test_many_letters_are_replayed_and_discarded_in_chunks(db_url: str, cleanup: Cleanup) -> None:
    ledger = await open_ledger(cleanup, db_url)
    letter_ids = [
        await ledger.park(posted(make_post(n, create_at=n)), ValueError("x"), 1) for n in range(600)
    ]
    assert await ledger.request_replay(letter_ids) == 600
    assert len(await ledger.replays()) == 600
    assert await ledger.discard(letter_ids[:550]) == 550
    assert await ledger.dead_letter_count() == 50


def test_load_event_refuses_what_is_not_a_stored_event() -> None:
    for text in ('{"class": "TypingEvent", "data": {}}', "[1, 2]", '{"data": {}}'):
        with pytest.raises(ValueError, match="not a stored event"):
            load_event(text)


async def test_bridges_do_not_see_each_others_rows(db_url: str, cleanup: Cleanup) -> None:
    db = await open_db(cleanup, db_url)
    one = EventLedger(db, "one")
    two = EventLedger(db, "two")
    event = posted(make_post(1, create_at=1_000))
    added = reaction(ReactionAddedEvent, 1, create_at=1_500)
    await one.record(event)
    await one.record(added)
    await one.park(posted(make_post(2, create_at=2)), ValueError("x"), 1)

    assert await two.position(CHANNEL) is None
    assert await two.positions() == {}
    assert await two.handled_keys([key(event)]) == set()
    assert await two.reaction_state(pid(1), USER, "smile") is None
    assert await two.known_reactions([pid(1)]) == {}
    assert await two.dead_letter_count() == 0
    assert await two.dead_letters() == []
    assert await two.request_replay() == 0
    assert await two.discard() == 0
    assert await two.prune(0) == 0

    # The second bridge's own rows, with the same keys, live beside the first's.
    await two.record(posted(make_post(1, create_at=400)))
    assert await two.position(CHANNEL) == 400
    assert await one.position(CHANNEL) == 1_500
    # What one bridge saw decides nothing for the other.
    assert await two.starting(reaction(ReactionRemovedEvent, 1)) is False
    assert await two.starting(reaction(ReactionAddedEvent, 1, create_at=1_600)) is True
    assert await two.reaction_state(pid(1), USER, "smile") == ADDING
    assert await one.reaction_state(pid(1), USER, "smile") == PRESENT
    assert await one.starting(reaction(ReactionRemovedEvent, 1)) is True
    assert await one.reaction_state(pid(1), USER, "smile") == REMOVING
    assert await two.reaction_state(pid(1), USER, "smile") == ADDING
    assert await one.dead_letter_count() == 1
    assert await one.handled_keys([key(event)]) == {key(event)}


async def test_a_reopened_database_keeps_everything(db_url: str, cleanup: Cleanup) -> None:
    db = Database.create(db_url, upgrade_table=[appservice_upgrade_table()], owner=OWNER)
    await db.start()
    ledger = EventLedger(db, "tests")
    event = posted(make_post(1, create_at=1_000))
    await ledger.record(event)
    await ledger.record(reaction(ReactionAddedEvent, 1, create_at=1_200))
    await ledger.starting(reaction(ReactionAddedEvent, 1, emoji="tada", create_at=1_300))
    parked = posted(make_post(2, create_at=1_100, message="broken"))
    letter_id = await ledger.park(parked, ValueError("bug"), 4)
    await ledger.request_replay([letter_id])
    ledger.note_seen(OTHER_CHANNEL, 9_000)
    await ledger.flush_seen()
    await db.stop()

    reopened = EventLedger(await open_db(cleanup, db_url), "tests")
    assert await reopened.positions() == {CHANNEL: 1_200, OTHER_CHANNEL: 9_000}
    assert await reopened.handled_keys([key(event), key(parked)]) == {key(event)}
    assert await reopened.known_reactions([pid(1)]) == {
        (pid(1), USER, "smile"): PRESENT,
        (pid(1), USER, "tada"): ADDING,
    }
    letters = await reopened.replays()
    assert [(letter.letter_id, letter.attempts, letter.event) for letter in letters] == [
        (letter_id, 4, parked)
    ]
