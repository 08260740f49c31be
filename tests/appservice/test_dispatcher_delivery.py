"""The dispatcher and its Delivery: retries, dead letters, holds, replays, and what is reported."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mmbridge.appservice.dispatcher import Dispatcher, HandlerRetry, dedupe_key
from mmbridge.appservice.ledger import PRESENT, EventLedger, LedgerDelivery, ledger_key
from mmbridge.appservice.store import appservice_upgrade_table
from mmbridge.db import Database
from mmbridge.types import (
    Broadcast,
    ChannelID,
    Event,
    Post,
    PostedEvent,
    PostEditedEvent,
    PostID,
    Reaction,
    ReactionAddedEvent,
    ReactionRemovedEvent,
    TypingEvent,
    UserID,
)
from mmbridge.types.integrations import SlashCommandEvent

CHANNEL = "a" * 26
OTHER = "b" * 26
USER = "u" * 26
BOT = "e" * 26
FAST = HandlerRetry(attempts=5, initial_delay=0.01, max_delay=0.02)


def pid(n: int) -> str:
    return f"p{n:025d}"


def posted(n: int, channel: str = CHANNEL, *, user: str = USER, message: str = "") -> PostedEvent:
    post = Post(
        id=PostID(pid(n)),
        channel_id=ChannelID(channel),
        user_id=UserID(user),
        message=message or str(n),
        create_at=1_000 + n,
        update_at=1_000 + n,
    )
    return PostedEvent(post=post, broadcast=Broadcast(channel_id=channel))


def edited(n: int, *, message: str, edit_at: int, update_at: int) -> PostEditedEvent:
    post = Post(
        id=PostID(pid(n)),
        channel_id=ChannelID(CHANNEL),
        user_id=UserID(USER),
        message=message,
        create_at=1_000,
        update_at=update_at,
        edit_at=edit_at,
    )
    return PostEditedEvent(post=post, broadcast=Broadcast(channel_id=CHANNEL))


def reaction_event(
    kind: type[ReactionAddedEvent | ReactionRemovedEvent], *, create_at: int = 0, emoji: str = "smile"
) -> Event:
    reaction = Reaction(user_id=UserID(USER), post_id=PostID(pid(1)), emoji_name=emoji, create_at=create_at)
    return kind(reaction=reaction, broadcast=Broadcast(channel_id=CHANNEL))


def name(event: Event) -> str:
    """A short name for logs: the post's message, or the event type."""
    if isinstance(event, PostedEvent | PostEditedEvent):
        return event.post.message
    return event.type


class LoggedDelivery(LedgerDelivery):
    """A real LedgerDelivery that also writes what it is told into a shared log."""

    def __init__(self, ledger: EventLedger, log: list[tuple[str, ...]]) -> None:
        super().__init__(ledger)
        self.log = log
        self.failures: list[tuple[Event, BaseException, int]] = []
        self.dropped_events: list[Event] = []

    async def starting(self, event: Event) -> bool:
        self.log.append(("starting", name(event)))
        return await super().starting(event)

    async def handled(self, event: Event) -> None:
        self.log.append(("handled", name(event)))
        await super().handled(event)

    async def failed(self, event: Event, error: BaseException, attempts: int) -> None:
        self.log.append(("failed", name(event), str(attempts)))
        self.failures.append((event, error, attempts))
        await super().failed(event, error, attempts)

    def dropped(self, event: Event) -> None:
        self.log.append(("dropped", name(event)))
        self.dropped_events.append(event)
        super().dropped(event)


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


@pytest.fixture
def log() -> list[tuple[str, ...]]:
    return []


@pytest.fixture
def delivery(ledger: EventLedger, log: list[tuple[str, ...]]) -> LoggedDelivery:
    return LoggedDelivery(ledger, log)


def key_of(event: Event) -> str:
    keyed = ledger_key(event)
    assert keyed is not None
    return keyed[0]


async def settle(*futures: asyncio.Future[object] | None, limit: float = 5) -> None:
    """Wait until every future is done, whatever its outcome."""
    await asyncio.wait_for(
        asyncio.gather(*(f for f in futures if f is not None), return_exceptions=True), limit
    )


# ---- retries and dead letters ------------------------------------------------------------------


async def test_a_handler_failing_twice_is_retried_and_recorded_once_after_success(
    ledger: EventLedger, delivery: LoggedDelivery, log: list[tuple[str, ...]]
) -> None:
    dispatcher = Dispatcher(delivery=delivery, retry=FAST)
    tries = 0

    @dispatcher.on(PostedEvent)
    async def flaky(event: PostedEvent) -> str:
        nonlocal tries
        tries += 1
        log.append(("try", name(event), str(tries)))
        if tries <= 2:
            raise ConnectionError("server restarting")
        return "bridged"

    event = posted(1, message="hello")
    future = await dispatcher.dispatch(event)
    assert future is not None
    assert await asyncio.wait_for(future, 5) == "bridged"
    assert log == [
        ("starting", "hello"),
        ("try", "hello", "1"),
        ("try", "hello", "2"),
        ("try", "hello", "3"),
        ("handled", "hello"),
    ]
    assert dispatcher.stats.retries == 2
    assert dispatcher.stats.dead_lettered == 0
    assert await ledger.handled_keys([key_of(event)]) == {key_of(event)}
    assert await ledger.position(CHANNEL) == event.post.update_at
    assert await ledger.dead_letter_count() == 0
    await dispatcher.close()


async def test_a_handler_always_failing_is_parked_after_the_last_try_then_the_channel_goes_on(
    ledger: EventLedger, delivery: LoggedDelivery, log: list[tuple[str, ...]]
) -> None:
    dispatcher = Dispatcher(
        delivery=delivery, retry=HandlerRetry(attempts=3, initial_delay=0.01, max_delay=0.02)
    )
    tries: dict[str, int] = {}

    @dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> str:
        text = name(event)
        tries[text] = tries.get(text, 0) + 1
        log.append(("try", text))
        if text == "boom":
            raise ValueError("handler bug")
        return "ok"

    bad = posted(1, message="boom")
    good = posted(2, message="fine")
    bad_future = await dispatcher.dispatch(bad)
    good_future = await dispatcher.dispatch(good)
    assert bad_future is not None
    assert good_future is not None
    with pytest.raises(ValueError, match="handler bug"):
        await asyncio.wait_for(bad_future, 5)
    assert await asyncio.wait_for(good_future, 5) == "ok"

    assert tries == {"boom": 3, "fine": 1}
    # Order holds: the next event of the channel starts only once the failing one is parked.
    assert log == [
        ("starting", "boom"),
        ("try", "boom"),
        ("try", "boom"),
        ("try", "boom"),
        ("failed", "boom", "3"),
        ("starting", "fine"),
        ("try", "fine"),
        ("handled", "fine"),
    ]
    (failure,) = delivery.failures
    assert failure[0] is bad
    assert isinstance(failure[1], ValueError)
    assert failure[2] == 3
    assert dispatcher.stats.dead_lettered == 1
    assert dispatcher.stats.retries == 2

    (letter,) = await ledger.dead_letters(with_events=True)
    assert letter.event == bad
    assert letter.attempts == 3
    assert letter.error == "ValueError: handler bug"
    assert letter.channel_id == CHANNEL
    # The parked event is not recorded; the next one is.
    assert await ledger.handled_keys([key_of(bad), key_of(good)]) == {key_of(good)}
    await dispatcher.close()


async def test_a_single_attempt_parks_at_once(delivery: LoggedDelivery, log: list[tuple[str, ...]]) -> None:
    dispatcher = Dispatcher(delivery=delivery, retry=HandlerRetry(attempts=1, initial_delay=0, max_delay=0))

    @dispatcher.on(ReactionAddedEvent)
    async def handle(event: ReactionAddedEvent) -> None:
        raise RuntimeError("nope")

    reaction = Reaction(user_id=UserID(USER), post_id=PostID(pid(1)), emoji_name="smile", create_at=5)
    future = await dispatcher.dispatch(
        ReactionAddedEvent(reaction=reaction, broadcast=Broadcast(channel_id=CHANNEL))
    )
    assert future is not None
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(future, 5)
    assert log == [("starting", "reaction_added"), ("failed", "reaction_added", "1")]
    assert dispatcher.stats.retries == 0
    await dispatcher.close()


@pytest.mark.parametrize(
    "event",
    [
        TypingEvent(user_id=UserID(USER), broadcast=Broadcast(channel_id=CHANNEL)),
        SlashCommandEvent(token="t", command="/irc", command_channel_id=CHANNEL, trigger_id="trig"),
    ],
    ids=["typing", "slash_command"],
)
async def test_events_that_are_not_durable_are_tried_once_and_not_reported(
    event: Event, delivery: LoggedDelivery, log: list[tuple[str, ...]], ledger: EventLedger
) -> None:
    dispatcher = Dispatcher(delivery=delivery, retry=FAST)
    calls = 0

    async def handle(received: Event) -> None:
        nonlocal calls
        calls += 1
        raise ValueError("handler bug")

    dispatcher.add_handler(type(event), handle)
    future = await dispatcher.dispatch(event)
    assert future is not None
    with pytest.raises(ValueError, match="handler bug"):
        await asyncio.wait_for(future, 5)
    assert calls == 1
    assert log == []  # neither starting, nor failed, nor handled
    assert dispatcher.stats.retries == 0
    assert dispatcher.stats.dead_lettered == 0
    assert await ledger.dead_letter_count() == 0
    await dispatcher.close()


async def test_closing_during_a_retry_wait_ends_it_promptly_without_parking(
    ledger: EventLedger, delivery: LoggedDelivery, log: list[tuple[str, ...]]
) -> None:
    dispatcher = Dispatcher(delivery=delivery, retry=HandlerRetry(attempts=5, initial_delay=30, max_delay=30))
    first_try = asyncio.Event()

    @dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        first_try.set()
        raise ConnectionError("server down")

    event = posted(1, message="pending")
    future = await dispatcher.dispatch(event)
    assert future is not None
    await asyncio.wait_for(first_try.wait(), 5)
    await asyncio.sleep(0.01)  # in the 30 s wait now

    started = time.monotonic()
    await dispatcher.close(drain_seconds=10)
    assert time.monotonic() - started < 2  # not the 30 s wait, not the drain timeout
    assert future.done()
    assert future.cancelled() or isinstance(future.exception(), ConnectionError)
    assert ("failed", "pending", "1") not in log
    assert all(entry[0] != "failed" for entry in log)
    assert all(entry[0] != "handled" for entry in log)
    assert await ledger.dead_letter_count() == 0  # the next start catches it up instead
    assert await ledger.handled_keys([key_of(event)]) == set()


async def test_a_closing_dispatcher_does_not_try_the_handler_again(delivery: LoggedDelivery) -> None:
    """ "A closing dispatcher stops retrying": once close() cut the wait short, the handler is not
    run again (during shutdown, a try can take up to handler_timeout)."""
    dispatcher = Dispatcher(delivery=delivery, retry=HandlerRetry(attempts=5, initial_delay=30, max_delay=30))
    tries = 0
    first_try = asyncio.Event()

    @dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        nonlocal tries
        tries += 1
        first_try.set()
        raise ConnectionError("server down")

    future = await dispatcher.dispatch(posted(1))
    await asyncio.wait_for(first_try.wait(), 5)
    await asyncio.sleep(0.01)
    await dispatcher.close(drain_seconds=10)
    await settle(future)
    assert tries == 1


async def test_a_failing_record_is_written_again_before_the_channels_next_event(
    ledger: EventLedger, log: list[tuple[str, ...]]
) -> None:
    class FlakyDelivery(LoggedDelivery):
        failures_left = 2

        async def handled(self, event: Event) -> None:
            if self.failures_left:
                self.failures_left -= 1
                self.log.append(("record failed", name(event)))
                raise RuntimeError("database is locked")
            await super().handled(event)

    dispatcher = Dispatcher(delivery=FlakyDelivery(ledger, log), retry=FAST)

    @dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        log.append(("try", name(event)))

    first = await dispatcher.dispatch(posted(1, message="one"))
    second = await dispatcher.dispatch(posted(2, message="two"))
    await settle(first, second)
    assert log == [
        ("starting", "one"),
        ("try", "one"),  # the handler is not run again, only the write
        ("record failed", "one"),
        ("record failed", "one"),
        ("handled", "one"),
        ("starting", "two"),
        ("try", "two"),
        ("handled", "two"),
    ]
    await dispatcher.close()


async def test_reaction_events_that_change_nothing_skip_the_handlers_in_channel_order(
    ledger: EventLedger, delivery: LoggedDelivery, log: list[tuple[str, ...]]
) -> None:
    dispatcher = Dispatcher(delivery=delivery, retry=FAST)
    seen: list[tuple[str, int]] = []

    async def handle(event: Event) -> None:
        assert isinstance(event, ReactionAddedEvent | ReactionRemovedEvent)
        seen.append((event.type, event.seq))

    dispatcher.add_handler(ReactionAddedEvent, handle)
    dispatcher.add_handler(ReactionRemovedEvent, handle)

    def numbered(
        kind: type[ReactionAddedEvent | ReactionRemovedEvent], seq: int, create_at: int = 0
    ) -> Event:
        reaction = Reaction(
            user_id=UserID(USER), post_id=PostID(pid(1)), emoji_name="smile", create_at=create_at
        )
        return kind(reaction=reaction, broadcast=Broadcast(channel_id=CHANNEL), seq=seq)

    # Queued together: the removal is judged after the add before it was handled, not at dispatch.
    futures = [
        await dispatcher.dispatch(numbered(ReactionRemovedEvent, 1)),  # never seen: skipped
        await dispatcher.dispatch(numbered(ReactionAddedEvent, 2, create_at=10)),
        await dispatcher.dispatch(numbered(ReactionAddedEvent, 3, create_at=11)),  # re-sent: skipped
        await dispatcher.dispatch(numbered(ReactionRemovedEvent, 4)),
        await dispatcher.dispatch(numbered(ReactionRemovedEvent, 5)),  # gone already: skipped
    ]
    assert all(f is not None for f in futures)
    await settle(*futures)
    assert [f.result() for f in futures if f is not None] == [None] * 5
    assert seen == [("reaction_added", 2), ("reaction_removed", 4)]
    # Skipped events are recorded too (they change nothing), so a replayed letter is closed.
    assert [entry[0] for entry in log].count("handled") == 5
    assert dispatcher.stats.dropped_duplicate == 3
    assert await ledger.reaction_state(pid(1), USER, "smile") is None
    await dispatcher.close()


# ---- holds --------------------------------------------------------------------------------------


async def test_a_held_channel_waits_for_its_catch_up_then_goes_in_arrival_order(
    delivery: LoggedDelivery,
) -> None:
    dispatcher = Dispatcher(delivery=delivery, retry=FAST)
    handled: list[tuple[str, str]] = []

    async def handle(event: Event) -> None:
        handled.append((event.channel_id, name(event)))

    dispatcher.add_handler(PostedEvent, handle)
    dispatcher.add_handler(TypingEvent, handle)

    assert dispatcher.is_idle(CHANNEL)
    dispatcher.hold([CHANNEL])
    assert dispatcher.is_held(CHANNEL)
    assert not dispatcher.is_idle(CHANNEL)
    assert not dispatcher.is_held(OTHER)

    live = [await dispatcher.dispatch(posted(n, message=f"live {n}")) for n in (1, 2)]
    assert all(f is not None for f in live)
    elsewhere = await dispatcher.dispatch(posted(3, OTHER, message="other channel"))
    typing = await dispatcher.dispatch(
        TypingEvent(user_id=UserID(USER), broadcast=Broadcast(channel_id=CHANNEL))
    )
    await settle(elsewhere, typing)
    await asyncio.sleep(0.02)
    assert not any(f is not None and f.done() for f in live)
    # Other channels, and events that are not durable, are not held.
    assert handled == [(OTHER, "other channel"), (CHANNEL, "typing")]

    caught_up = [
        await dispatcher.dispatch(posted(n, message=f"missed {n}"), origin="catchup") for n in (4, 5)
    ]
    await settle(*caught_up)
    assert handled[2:] == [(CHANNEL, "missed 4"), (CHANNEL, "missed 5")]
    assert not any(f is not None and f.done() for f in live)

    assert await dispatcher.release(CHANNEL) is True
    assert not dispatcher.is_held(CHANNEL)
    await settle(*live)
    assert [f.result() for f in live if f is not None] == [None, None]
    assert [n for c, n in handled if c == CHANNEL] == ["typing", "missed 4", "missed 5", "live 1", "live 2"]
    assert dispatcher.is_idle(CHANNEL)
    # Released twice, or a channel never held: nothing to do.
    assert await dispatcher.release(CHANNEL) is True
    assert await dispatcher.release(OTHER) is True
    await dispatcher.close()


async def test_a_held_event_the_catch_up_already_delivered_is_dropped_on_release(
    delivery: LoggedDelivery, log: list[tuple[str, ...]]
) -> None:
    dispatcher = Dispatcher(delivery=delivery, retry=FAST)
    handled: list[str] = []

    @dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        handled.append(name(event))

    dispatcher.hold([CHANNEL])
    live = await dispatcher.dispatch(posted(1, message="both ways"))
    from_catchup = await dispatcher.dispatch(posted(1, message="both ways"), origin="catchup")
    await settle(from_catchup)
    assert await dispatcher.release(CHANNEL) is True
    assert live is not None
    assert await asyncio.wait_for(live, 5) is None
    assert handled == ["both ways"]
    assert ("dropped", "both ways") in log
    await dispatcher.close()


async def test_a_hold_overflowing_cancels_the_held_events_and_release_says_so_once(
    delivery: LoggedDelivery,
) -> None:
    dispatcher = Dispatcher(delivery=delivery, retry=FAST, max_held=2)
    handled: list[str] = []

    @dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        handled.append(name(event))

    dispatcher.hold([CHANNEL])
    first = await dispatcher.dispatch(posted(1))
    second = await dispatcher.dispatch(posted(2))
    assert first is not None
    assert second is not None
    assert not first.done()
    third = await dispatcher.dispatch(posted(3))  # one past max_held
    assert third is not None
    assert first.cancelled()
    assert second.cancelled()
    assert third.cancelled()
    later = await dispatcher.dispatch(posted(4))  # catch-up will fetch it too
    assert later is not None
    assert later.cancelled()
    assert dispatcher.stats.held_overflow == 3

    assert await dispatcher.release(CHANNEL) is False
    assert dispatcher.is_held(CHANNEL)  # the caller catches up again, then releases again
    again = await dispatcher.dispatch(posted(5))
    assert again is not None
    assert not again.done()  # held normally this time
    assert await dispatcher.release(CHANNEL) is True
    assert not dispatcher.is_held(CHANNEL)
    await settle(again)
    assert handled == ["5"]
    await dispatcher.close()


async def test_close_cancels_held_events(delivery: LoggedDelivery) -> None:
    dispatcher = Dispatcher(delivery=delivery, retry=FAST)
    dispatcher.add_handler(PostedEvent, _ignore)
    dispatcher.hold([CHANNEL])
    held = await dispatcher.dispatch(posted(1))
    await dispatcher.close()
    assert held is not None
    assert held.cancelled()


async def _ignore(event: Event) -> None:
    return None


# ---- replays ------------------------------------------------------------------------------------


async def test_a_replayed_dead_letter_passes_the_hold_and_the_duplicate_check(
    ledger: EventLedger, delivery: LoggedDelivery
) -> None:
    dispatcher = Dispatcher(
        delivery=delivery, retry=HandlerRetry(attempts=2, initial_delay=0.01, max_delay=0.01)
    )
    broken = True
    handled: list[str] = []

    @dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        if broken:
            raise ValueError("bug, fixed in the next release")
        handled.append(name(event))

    event = posted(1, message="lost once")
    await settle(await dispatcher.dispatch(event))
    assert await ledger.dead_letter_count() == 1

    # The replay fails again: the letter stays with more attempts and no replay pending.
    await ledger.request_replay()
    (letter,) = await ledger.replays()
    assert letter.event is not None
    delivery.replaying(letter.event, letter.letter_id)
    await settle(await dispatcher.dispatch(letter.event, origin="replay"))
    (kept,) = await ledger.dead_letters()
    assert kept.letter_id == letter.letter_id
    assert kept.attempts == 4
    assert kept.replay_requested is False

    # Fixed: the replay is handled (even while the channel is held), recorded, the letter gone.
    broken = False
    await ledger.request_replay([letter.letter_id])
    (letter,) = await ledger.replays()
    assert letter.event is not None
    assert await dispatcher.dispatch(letter.event) is None  # seen before: only a replay gets past
    dispatcher.hold([CHANNEL])
    delivery.replaying(letter.event, letter.letter_id)
    replayed = await dispatcher.dispatch(letter.event, origin="replay")
    assert replayed is not None
    await asyncio.wait_for(replayed, 5)
    assert "lost once" in handled
    assert await ledger.dead_letter_count() == 0
    assert await ledger.handled_keys([key_of(event)]) == {key_of(event)}
    await dispatcher.close()


async def test_a_replayed_letter_that_changes_nothing_any_more_is_not_left_behind(
    ledger: EventLedger, delivery: LoggedDelivery
) -> None:
    """A parked reaction add, then the same reaction added again live and handled: replaying the
    letter has nothing left to do, and the letter must go (else it is replayed, and skipped, on
    every housekeeping round, and the delivery keeps its entry)."""
    dispatcher = Dispatcher(delivery=delivery, retry=HandlerRetry(attempts=1, initial_delay=0, max_delay=0))
    broken = True
    calls: list[int] = []

    @dispatcher.on(ReactionAddedEvent)
    async def handle(event: ReactionAddedEvent) -> None:
        calls.append(event.reaction.create_at)
        if broken:
            raise ValueError("bug")

    await settle(await dispatcher.dispatch(reaction_event(ReactionAddedEvent, create_at=10)))
    assert await ledger.dead_letter_count() == 1
    broken = False
    await settle(await dispatcher.dispatch(reaction_event(ReactionAddedEvent, create_at=20)))  # re-sent
    assert await ledger.reaction_state(pid(1), USER, "smile") == PRESENT

    await ledger.request_replay()
    (letter,) = await ledger.replays()
    assert letter.event is not None
    delivery.replaying(letter.event, letter.letter_id)
    replay = await dispatcher.dispatch(letter.event, origin="replay")
    await settle(replay)
    assert calls == [10, 20]  # skipped: the reaction is there already
    assert await ledger.replays() == []
    assert await ledger.dead_letter_count() == 0
    await dispatcher.close()


# ---- duplicates and drops -----------------------------------------------------------------------


async def test_an_edit_bumped_by_a_pin_is_a_duplicate_and_a_new_text_is_not(
    delivery: LoggedDelivery, ledger: EventLedger
) -> None:
    dispatcher = Dispatcher(delivery=delivery, retry=FAST)
    texts: list[str] = []

    @dispatcher.on(PostEditedEvent)
    async def handle(event: PostEditedEvent) -> None:
        texts.append(event.post.message)

    edit = edited(1, message="v2", edit_at=5_000, update_at=5_000)
    pin = edited(1, message="v2", edit_at=5_000, update_at=6_000)  # same edit, bumped by a pin
    other_text = edited(1, message="v3", edit_at=5_000, update_at=6_000)
    assert dedupe_key(edit) == dedupe_key(pin)
    assert dedupe_key(edit) != dedupe_key(other_text)

    await settle(await dispatcher.dispatch(edit))
    assert await dispatcher.dispatch(pin) is None
    await settle(await dispatcher.dispatch(other_text))
    assert texts == ["v2", "v3"]
    assert dispatcher.stats.dropped_duplicate == 1
    assert delivery.dropped_events == [pin]
    await dispatcher.close()


async def test_echoes_and_duplicates_are_reported_dropped(
    delivery: LoggedDelivery, ledger: EventLedger, log: list[tuple[str, ...]]
) -> None:
    async def is_echo(event: Event) -> bool:
        if isinstance(event, PostedEvent):
            return event.post.user_id == BOT
        return isinstance(event, TypingEvent) and event.user_id == BOT

    dispatcher = Dispatcher(delivery=delivery, retry=FAST, drop=is_echo)
    handled: list[str] = []

    async def handle(event: Event) -> None:
        handled.append(name(event))

    dispatcher.add_handler(PostedEvent, handle)
    dispatcher.add_handler(TypingEvent, handle)

    echo = posted(7, user=BOT, message="our own")
    assert await dispatcher.dispatch(echo) is None
    first = posted(1, message="once")
    await settle(await dispatcher.dispatch(first))
    duplicate = posted(1, message="once")
    assert await dispatcher.dispatch(duplicate) is None
    # An echo that is not durable is dropped, but nothing is reported for it.
    assert (
        await dispatcher.dispatch(TypingEvent(user_id=UserID(BOT), broadcast=Broadcast(channel_id=CHANNEL)))
        is None
    )

    assert handled == ["once"]
    assert delivery.dropped_events == [echo, duplicate]
    assert [entry for entry in log if entry[0] == "dropped"] == [("dropped", "our own"), ("dropped", "once")]
    assert dispatcher.stats.dropped_echo == 2
    assert dispatcher.stats.dropped_duplicate == 1
    # The ledger notes how far the channel needs nothing more, written once the channel is idle.
    assert ledger.noted_channels() == [CHANNEL]
    assert await ledger.position(CHANNEL) == first.post.update_at
    await ledger.flush_seen([c for c in ledger.noted_channels() if dispatcher.is_idle(c)])
    assert await ledger.position(CHANNEL) == echo.post.update_at
    await dispatcher.close()
