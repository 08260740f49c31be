"""The dispatcher: order per channel, once only, echoes dropped, bounded, failures contained."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from mmbridge.appservice.dispatcher import Dispatcher
from mmbridge.types import (
    Event,
    Post,
    PostedEvent,
    PostEditedEvent,
    Reaction,
    ReactionAddedEvent,
    ReactionRemovedEvent,
    TypingEvent,
    UserID,
    structure,
)
from mmbridge.types.events import Broadcast


def posted(post_id: str, channel: str, user: str = "u" * 26, message: str = "") -> PostedEvent:
    post = structure({"id": post_id, "channel_id": channel, "user_id": user, "message": message}, Post)
    return PostedEvent(post=post, broadcast=Broadcast(channel_id=channel))


def pid(n: int) -> str:
    return f"{n:026d}"


async def test_order_is_kept_per_channel_while_channels_run_in_parallel() -> None:
    dispatcher = Dispatcher(max_pending=500)
    seen: dict[str, list[int]] = {}
    running = 0
    most_at_once = 0
    rng = random.Random(7)

    @dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        nonlocal running, most_at_once
        running += 1
        most_at_once = max(most_at_once, running)
        await asyncio.sleep(rng.random() * 0.002)
        seen.setdefault(event.channel_id, []).append(int(event.post.message))
        running -= 1

    channels = [f"c{n:025d}" for n in range(20)]
    futures = []
    counter = 0
    for number in range(200):
        for channel in rng.sample(channels, len(channels)):
            counter += 1
            futures.append(await dispatcher.dispatch(posted(pid(counter), channel, message=str(number))))
    await asyncio.wait_for(asyncio.gather(*(f for f in futures if f is not None)), 30)
    assert sorted(seen) == sorted(channels)
    for channel in channels:
        assert seen[channel] == list(range(200)), channel
    assert most_at_once > 1  # channels did run side by side


async def test_the_same_post_by_two_paths_is_handled_once() -> None:
    dispatcher = Dispatcher()
    handled: list[str] = []

    @dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        handled.append(event.post.id)

    first = await dispatcher.dispatch(posted(pid(1), "c" * 26))
    again = await dispatcher.dispatch(posted(pid(1), "c" * 26))
    assert first is not None
    assert again is None
    await first
    assert handled == [pid(1)]
    assert dispatcher.stats.dropped_duplicate == 1


async def test_echoes_never_reach_handlers() -> None:
    bot = "b" * 26

    async def is_echo(event: Event) -> bool:
        return isinstance(event, PostedEvent) and event.post.user_id == bot

    dispatcher = Dispatcher(drop=is_echo)
    handled: list[str] = []
    dispatcher.add_handler(PostedEvent, lambda e: _append(handled, e.post.user_id))
    assert await dispatcher.dispatch(posted(pid(1), "c" * 26, user=bot)) is None
    future = await dispatcher.dispatch(posted(pid(2), "c" * 26))
    assert future is not None
    await future
    assert handled == ["u" * 26]
    assert dispatcher.stats.dropped_echo == 1


async def _append(target: list[str], value: str) -> None:
    target.append(value)


async def test_a_failing_handler_is_logged_counted_and_the_stream_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dispatcher = Dispatcher()
    handled: list[str] = []

    @dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> str:
        if event.post.message == "boom":
            raise ValueError("handler bug")
        handled.append(event.post.message)
        return "ok"

    bad = await dispatcher.dispatch(posted(pid(1), "c" * 26, message="boom"))
    good = await dispatcher.dispatch(posted(pid(2), "c" * 26, message="fine"))
    assert bad is not None
    assert good is not None
    with pytest.raises(ValueError, match="handler bug"):
        await bad
    assert await good == "ok"
    assert handled == ["fine"]
    assert sum(dispatcher.stats.handler_errors.values()) == 1
    assert f"post={pid(1)}" in caplog.text


async def test_a_full_dispatcher_makes_the_producer_wait() -> None:
    dispatcher = Dispatcher(max_pending=3)
    release = asyncio.Event()

    @dispatcher.on(PostedEvent)
    async def slow(event: PostedEvent) -> None:
        await release.wait()

    for n in range(3):
        await dispatcher.dispatch(posted(pid(n), f"c{n:025d}"))
    blocked = asyncio.create_task(dispatcher.dispatch(posted(pid(9), "d" * 26)))
    await asyncio.sleep(0.05)
    assert not blocked.done()  # backpressure: no fourth event while three are pending
    release.set()
    future = await asyncio.wait_for(blocked, 5)
    assert future is not None
    await asyncio.wait_for(future, 5)


async def test_handlers_by_base_type_and_channel_filter() -> None:
    dispatcher = Dispatcher()
    everything: list[str] = []
    only_one_channel: list[str] = []
    dispatcher.add_handler(Event, lambda e: _append(everything, e.type))
    dispatcher.add_handler(PostedEvent, lambda e: _append(only_one_channel, e.post.id), channel_id="x" * 26)
    for event in (
        posted(pid(1), "x" * 26),
        posted(pid(2), "y" * 26),
        TypingEvent(user_id=UserID("u" * 26), broadcast=Broadcast(channel_id="x" * 26)),
    ):
        future = await dispatcher.dispatch(event)
        assert future is not None
        await future
    assert everything == ["posted", "posted", "typing"]
    assert only_one_channel == [pid(1)]


async def test_events_nobody_handles_are_counted_and_dropped() -> None:
    dispatcher = Dispatcher()
    dispatcher.add_handler(ReactionAddedEvent, lambda e: _append([], e.type))
    assert await dispatcher.dispatch(posted(pid(1), "c" * 26)) is None
    assert dispatcher.stats.unhandled == 1


async def test_close_drains_then_refuses(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    dispatcher = Dispatcher()
    done: list[int] = []

    @dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        await asyncio.sleep(0.01)
        done.append(int(event.post.id))

    for n in range(5):
        await dispatcher.dispatch(posted(pid(n), "c" * 26))
    await dispatcher.close(drain_seconds=5)
    assert done == list(range(5))
    with pytest.raises(RuntimeError):
        await dispatcher.dispatch(posted(pid(9), "c" * 26))


async def test_close_cancels_what_does_not_finish_in_time() -> None:
    dispatcher = Dispatcher()

    @dispatcher.on(PostedEvent)
    async def stuck(event: PostedEvent) -> None:
        await asyncio.sleep(60)

    future = await dispatcher.dispatch(posted(pid(1), "c" * 26))
    assert future is not None
    await dispatcher.close(drain_seconds=0.05)
    assert future.cancelled()


async def test_a_caller_giving_up_does_not_lose_the_channels_other_events() -> None:
    dispatcher = Dispatcher()
    handled: list[str] = []
    gate = asyncio.Event()

    @dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        await gate.wait()
        handled.append(event.post.message)

    waiting = asyncio.create_task(dispatcher.dispatch_and_wait(posted(pid(1), "c" * 26, message="first")))
    await asyncio.sleep(0.01)
    later = [await dispatcher.dispatch(posted(pid(n), "c" * 26, message=str(n))) for n in (2, 3)]
    waiting.cancel()  # e.g. the receiver's request was cancelled
    with pytest.raises(asyncio.CancelledError):
        await waiting
    gate.set()
    await asyncio.wait_for(asyncio.gather(*(f for f in later if f is not None)), 5)
    assert handled == ["first", "2", "3"]


async def test_a_dispatch_cancelled_while_waiting_for_room_can_be_sent_again() -> None:
    dispatcher = Dispatcher(max_pending=1)
    gate = asyncio.Event()
    handled: list[str] = []

    @dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        await gate.wait()
        handled.append(event.post.id)

    await dispatcher.dispatch(posted(pid(1), "c" * 26))
    blocked = asyncio.create_task(dispatcher.dispatch(posted(pid(2), "c" * 26)))
    await asyncio.sleep(0.01)
    blocked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await blocked
    gate.set()
    again = await asyncio.wait_for(dispatcher.dispatch(posted(pid(2), "c" * 26)), 5)
    assert again is not None  # not mistaken for a duplicate
    await asyncio.wait_for(again, 5)
    assert handled == [pid(1), pid(2)]


async def test_a_failing_echo_check_is_asked_again_and_nothing_is_lost() -> None:
    failures = [RuntimeError("database is locked"), RuntimeError("database is locked")]

    async def flaky(event: Event) -> bool:
        if failures:
            raise failures.pop()
        return False

    dispatcher = Dispatcher(drop=flaky)
    dispatcher.drop_retry_max_delay = 0.01
    handled: list[str] = []

    @dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        handled.append(event.post.id)

    future = await dispatcher.dispatch(posted(pid(1), "c" * 26))  # does not raise
    assert future is not None
    await future
    assert handled == [pid(1)]
    assert dispatcher.stats.drop_check_errors == 2
    await dispatcher.close()


def reaction_event(
    kind: type[ReactionAddedEvent | ReactionRemovedEvent], seq: int, create_at: int = 0
) -> Event:
    reaction = structure(
        {"user_id": "u" * 26, "post_id": pid(7), "emoji_name": "smile", "create_at": create_at}, Reaction
    )
    return kind(reaction=reaction, seq=seq, broadcast=Broadcast(channel_id="c" * 26))


async def test_removing_a_reaction_twice_is_two_events_a_replay_is_one() -> None:
    dispatcher = Dispatcher()
    seen: list[int] = []

    @dispatcher.on(ReactionRemovedEvent)
    async def handle(event: ReactionRemovedEvent) -> None:
        seen.append(event.seq)

    # The server sends removals with create_at 0: removed, added again, removed again.
    for seq in (4, 9, 9):  # the last is the replay of seq 9 after a reconnect
        future = await dispatcher.dispatch(reaction_event(ReactionRemovedEvent, seq))
        if future is not None:
            await future
    assert seen == [4, 9]
    await dispatcher.close()


async def test_two_edits_in_one_millisecond_are_both_handled() -> None:
    dispatcher = Dispatcher()
    texts: list[str] = []

    @dispatcher.on(PostEditedEvent)
    async def handle(event: PostEditedEvent) -> None:
        texts.append(event.post.message)

    for text in ("first edit", "second edit", "second edit"):
        post = structure(
            {
                "id": pid(8),
                "channel_id": "c" * 26,
                "user_id": "u" * 26,
                "message": text,
                "update_at": 1_700_000_000_000,
                "edit_at": 1_700_000_000_000,
            },
            Post,
        )
        future = await dispatcher.dispatch(
            PostEditedEvent(post=post, broadcast=Broadcast(channel_id="c" * 26))
        )
        if future is not None:
            await future
    assert texts == ["first edit", "second edit"]
    await dispatcher.close()


async def test_a_hung_handler_is_cancelled_and_the_channels_go_on(caplog: pytest.LogCaptureFixture) -> None:
    dispatcher = Dispatcher(max_pending=2, handler_timeout=0.2)
    handled: list[str] = []

    @dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        if event.post.message == "hang":
            await asyncio.Event().wait()  # never returns
        handled.append(event.post.id)

    hung = await dispatcher.dispatch(posted(pid(1), "a" * 26, message="hang"))
    await dispatcher.dispatch(posted(pid(2), "a" * 26))  # the same channel, behind it
    # The room is full (2): this waits until the hung handler is cancelled, not forever.
    other = await asyncio.wait_for(dispatcher.dispatch(posted(pid(3), "b" * 26)), 5)
    assert hung is not None
    assert other is not None
    with pytest.raises(TimeoutError):
        await hung
    await other
    await dispatcher.close()
    assert sorted(handled) == [pid(2), pid(3)]
    assert "did not finish within" in caplog.text
