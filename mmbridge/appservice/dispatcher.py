"""One dispatcher for every inbound event: WebSocket events and what the receiver is POSTed.

Guarantees:

* **Echoes dropped.** A drop predicate (usually :class:`~mmbridge.appservice.echo.EchoFilter`)
  sees each event first; the bridge's own posts never reach a handler.
* **Once.** Events that can arrive twice (a post seen over the WebSocket and an outgoing webhook,
  a re-sync replay) have a key; a key seen recently is dropped. The memory of keys is bounded.
* **Ordered per channel, parallel across channels.** Events of one channel are handled one after
  the other, in arrival order; each channel has its own worker.
* **Bounded.** At most ``max_pending`` events wait or run; :meth:`Dispatcher.dispatch` waits for
  room when the handlers fall behind (backpressure on the WebSocket reader and the receiver).
* **A failing echo check loses nothing.** The drop predicate is asked again, with backoff, until it
  answers; the caller waits meanwhile (backpressure), and nothing is dropped or let through unchecked.
* **A hung handler stops nothing.** One that runs past ``handler_timeout`` is cancelled and counted
  as a failure, so one stuck channel cannot hold the dispatcher's room (and so every channel).
* **A failing handler stops nothing.** Its exception is logged with the event's id, counted, and
  handed to whoever awaits that event's result (the receiver answers with a generic error).
* **Retried, then parked.** A durable event (posts, edits, deletes, reactions) whose handler fails
  is tried again with backoff (:class:`HandlerRetry`), its channel waiting meanwhile so order
  holds; after the last try it goes to the :class:`Delivery`'s dead letters. Only a handled (or
  parked) event is reported handled, so the ledger never records an event a handler lost.
* **Held while catching up.** :meth:`Dispatcher.hold` makes a channel's live durable events wait
  while what it missed is fed in first (``origin="catchup"``); :meth:`Dispatcher.release` lets
  them follow in arrival order.
* **Drained on close.** :meth:`Dispatcher.close` lets queued events finish, up to a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, Literal, Protocol, TypeVar

import attrs

from ..types import (
    Event,
    OutgoingWebhookEvent,
    PostDeletedEvent,
    PostedEvent,
    PostEditedEvent,
    ReactionAddedEvent,
    ReactionRemovedEvent,
)
from .ledger import is_durable

E = TypeVar("E", bound=Event)
T = TypeVar("T")
Handler = Callable[[Any], Awaitable[Any]]
DropPredicate = Callable[[Event], Awaitable[bool]]
H = TypeVar("H", bound=Handler)


Origin = Literal["live", "catchup", "replay"]


class Delivery(Protocol):
    """Where the dispatcher reports what became of each durable event (the bridge's ledger)."""

    async def starting(self, event: Event) -> bool:
        """The handlers of ``event`` are about to run; False skips them (the event changes
        nothing already handled). Raising makes the dispatcher ask again."""
        ...

    async def handled(self, event: Event) -> None:
        """Every handler of ``event`` returned: record it (raising makes the dispatcher try again)."""
        ...

    async def failed(self, event: Event, error: BaseException, attempts: int) -> None:
        """The handlers failed on every try: park the event (raising makes the dispatcher try again)."""
        ...

    def dropped(self, event: Event) -> None:
        """``event`` was dropped as an echo or a duplicate: nothing more to do for it."""
        ...


@attrs.frozen
class HandlerRetry:
    """How often a failing handler of a durable event is tried before its event is parked.

    With the defaults the tries span about a minute (0.5 + 1 + 2 + 4 + 8 + 16 + 30 s): enough to
    ride out a restarting server, a 429's wait or a locked database, short enough that a broken
    event does not hold its channel for long.
    """

    attempts: int = 8
    initial_delay: float = 0.5
    max_delay: float = 30.0

    def __attrs_post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.initial_delay < 0 or self.max_delay < self.initial_delay:
            raise ValueError("delays must be 0 <= initial_delay <= max_delay")

    def delay(self, attempt: int) -> float:
        """The wait after the ``attempt``-th failed try."""
        return float(min(self.initial_delay * 2 ** (attempt - 1), self.max_delay))


@attrs.frozen
class _Registration:
    handler: Handler
    channel_id: str | None


class DispatchStats:
    """Counters a metrics exporter reads (the dispatcher itself depends on no metrics library)."""

    def __init__(self) -> None:
        self.dispatched: dict[str, int] = {}
        self.dropped_echo = 0
        self.dropped_duplicate = 0
        self.unhandled = 0
        self.handler_errors: dict[str, int] = {}
        #: Times the drop predicate raised (each was asked again until it answered).
        self.drop_check_errors = 0
        #: Handler tries that failed and were tried again.
        self.retries = 0
        #: Events parked after their last try.
        self.dead_lettered = 0
        #: Held live events let go when their channel's buffer was full (catch-up fetches them).
        self.held_overflow = 0


class Dispatcher:
    """Typed events to the handlers registered for their type (or a base type).

    >>> dispatcher = Dispatcher()
    >>> @dispatcher.on(PostedEvent)
    ... async def relay(event: PostedEvent) -> None: ...
    """

    def __init__(
        self,
        *,
        max_pending: int = 1000,
        remember_keys: int = 20_000,
        handler_timeout: float | None = 300.0,
        drop: DropPredicate | None = None,
        on_handled: Callable[[Event, float, BaseException | None], None] | None = None,
        delivery: Delivery | None = None,
        retry: HandlerRetry | None = None,
        max_held: int = 10_000,
        log: logging.Logger | None = None,
    ) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.log = log or logging.getLogger("mmbridge.dispatcher")
        self.stats = DispatchStats()
        self._drop = drop
        self._on_handled = on_handled
        self.handler_timeout = handler_timeout
        self._registrations: dict[type[Event], list[_Registration]] = {}
        self._resolved: dict[type[Event], list[_Registration]] = {}
        self._room = asyncio.Semaphore(max_pending)
        self._seen: OrderedDict[Hashable, None] = OrderedDict()
        self._remember_keys = remember_keys
        self._queues: dict[str, deque[tuple[Event, asyncio.Future[Any]]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._closing = False
        #: Closed for good: a draining dispatcher still takes events (handlers push follow-ups).
        self._shut = False
        #: The longest wait between two tries of a failing drop predicate, in seconds.
        self.drop_retry_max_delay = 5.0
        self.delivery = delivery
        self.retry = retry or HandlerRetry()
        self.max_held = max_held
        self._held: dict[str, deque[tuple[Event, asyncio.Future[Any]]]] = {}
        self._overflowed: set[str] = set()
        self._closed = asyncio.Event()

    @property
    def pending(self) -> int:
        """Events queued or being handled (the one being handled stays at the head of its queue)."""
        return sum(len(queue) for queue in self._queues.values())

    def on(self, *event_types: type[Event], channel_id: str | None = None) -> Callable[[H], H]:
        """Decorator: handle events of these types (and their subclasses), optionally only in one
        channel. The handler's return value becomes the event's result (see :meth:`dispatch`)."""

        def register(handler: H) -> H:
            for event_type in event_types:
                self.add_handler(event_type, handler, channel_id=channel_id)
            return handler

        return register

    def add_handler(
        self, event_type: type[E], handler: Callable[[E], Awaitable[Any]], *, channel_id: str | None = None
    ) -> None:
        """Register ``handler`` for ``event_type`` (the decorator's plain form)."""
        self._registrations.setdefault(event_type, []).append(_Registration(handler, channel_id))
        self._resolved.clear()

    def handlers_for(self, event: Event) -> list[Handler]:
        """The handlers that will see ``event``, in registration order."""
        return [r.handler for r in self._matching(type(event)) if r.channel_id in (None, event.channel_id)]

    async def dispatch(self, event: Event, *, origin: Origin = "live") -> asyncio.Future[Any] | None:
        """Queue ``event`` for its handlers, waiting for room if too many are pending.

        Returns a future with the last handler's return value (or its exception) once handled, or
        None when the event is dropped: an echo, a duplicate, or of a type nobody handles.
        ``origin="catchup"`` passes a hold (it is what the hold waits for); ``"replay"`` (a dead
        letter handled again) passes the hold and the duplicate check.
        """
        if self._shut:
            raise RuntimeError("the dispatcher is closed")
        handlers = self.handlers_for(event)
        if not handlers:
            self.stats.unhandled += 1
            return None
        if origin == "live" and event.channel_id in self._held and is_durable(event):
            return self._hold_event(event)
        if self._drop is not None and await self._is_dropped(event):
            self.stats.dropped_echo += 1
            self._report_dropped(event)
            return None
        key = event.dedupe_key() if origin != "replay" else None
        if key is not None and key in self._seen:
            self.stats.dropped_duplicate += 1
            self._report_dropped(event)
            return None
        await self._room.acquire()
        if key is not None:
            # Remembered only once the event has a place: a dispatch cancelled while waiting for
            # room must not make a later copy of the event look like a duplicate.
            if key in self._seen:
                self._room.release()
                self.stats.dropped_duplicate += 1
                self._report_dropped(event)
                return None
            self._seen[key] = None
            if len(self._seen) > self._remember_keys:
                self._seen.popitem(last=False)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        channel = event.queue_key
        self._queues.setdefault(channel, deque()).append((event, future))
        if channel not in self._workers:
            self._workers[channel] = asyncio.create_task(self._work(channel), name=f"dispatch:{channel}")
        self.stats.dispatched[event.type] = self.stats.dispatched.get(event.type, 0) + 1
        return future

    def _report_dropped(self, event: Event) -> None:
        if self.delivery is not None and is_durable(event):
            self.delivery.dropped(event)

    # ---- holds ----------------------------------------------------------------------------------

    def hold(self, channel_ids: Iterable[str]) -> None:
        """Make the live durable events of these channels wait until :meth:`release`."""
        for channel in channel_ids:
            self._held.setdefault(channel, deque())

    def is_held(self, channel_id: str) -> bool:
        """Whether the channel's live events are waiting for a catch-up."""
        return channel_id in self._held

    def is_idle(self, channel_id: str) -> bool:
        """Whether nothing of the channel is queued, running or held."""
        return channel_id not in self._queues and channel_id not in self._held

    def _hold_event(self, event: Event) -> asyncio.Future[Any]:
        held = self._held[event.channel_id]
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if event.channel_id in self._overflowed:
            future.cancel()  # catch-up will fetch it
            return future
        if len(held) >= self.max_held:
            # Holding more would grow without bound; the next catch-up round fetches them all.
            self.stats.held_overflow += len(held) + 1
            self._overflowed.add(event.channel_id)
            for _, waiting in held:
                waiting.cancel()
            held.clear()
            future.cancel()
            return future
        held.append((event, future))
        return future

    async def release(self, channel_id: str) -> bool:
        """Let the channel's held events go, in arrival order, then stop holding it.

        Returns False (the channel stays held) when the hold overflowed and dropped events: the
        caller catches up again, then releases again.
        """
        held = self._held.get(channel_id)
        if held is None:
            return True
        if channel_id in self._overflowed:
            self._overflowed.discard(channel_id)
            return False
        # Events arriving while these are dispatched join the end of the queue, so order holds.
        while held:
            event, future = held.popleft()
            if future.done():
                continue
            try:
                result = await self.dispatch(event, origin="catchup")
            except BaseException:
                future.cancel()
                raise
            if result is None:
                future.set_result(None)
            else:
                _chain(result, future)
        del self._held[channel_id]
        return True

    async def _is_dropped(self, event: Event) -> bool:
        """The drop predicate's answer, asked again (with backoff) while it fails: a failing
        echo check (the store is locked or down) must neither end the caller's loop nor let an
        echo through nor lose the event. Waiting here is backpressure on the reader."""
        assert self._drop is not None

        def failed() -> str:
            self.stats.drop_check_errors += 1
            return f"echo check on {event.type} {event_id(event)}"

        return await self._until_it_answers(functools.partial(self._drop, event), failed)

    async def dispatch_and_wait(self, event: Event) -> Any:
        """Dispatch and wait for the result (for the receiver, whose answer is the handler's).

        A caller that stops waiting does not cancel the handling: the event stays in its queue.
        """
        future = await self.dispatch(event)
        return None if future is None else await asyncio.shield(future)

    async def close(self, drain_seconds: float = 10.0) -> None:
        """Let the queued events finish, for at most ``drain_seconds``, then take no more.

        While it drains, events dispatched by handlers (a connector pushing what a post became)
        are taken and drained too; failing handlers are not tried again (the next start catches
        their events up).
        """
        self._closing = True
        self._closed.set()
        for held in self._held.values():
            for _, future in held:
                future.cancel()
        self._held.clear()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + drain_seconds
        try:
            while self._workers and loop.time() < deadline:
                await asyncio.wait(list(self._workers.values()), timeout=deadline - loop.time())
        finally:
            self._shut = True
        still_running = list(self._workers.values())
        for task in still_running:
            task.cancel()
        if still_running:
            self.log.warning(
                "shutdown: %d queue(s) cancelled after %.0f s", len(still_running), drain_seconds
            )
            await asyncio.gather(*still_running, return_exceptions=True)

    async def _work(self, channel: str) -> None:
        queue = self._queues[channel]
        try:
            abandoned = False
            while queue:
                event, future = queue[0]
                try:
                    result = await self._deliver(event)
                except asyncio.CancelledError:
                    future.cancel()
                    raise
                except _Unrecorded as stop:
                    if not future.done():
                        future.set_exception(stop.error)
                        future.exception()
                    # What follows must not be recorded past it (its position would skip it):
                    # the queue stops here, and the next start catches all of it up.
                    abandoned = True
                except Exception as exc:
                    if not future.done():  # a caller may have given up on it
                        future.set_exception(exc)
                        future.exception()  # retrieved: nobody may be waiting for it
                else:
                    if not future.done():
                        future.set_result(result)
                finally:
                    queue.popleft()
                    self._room.release()
                if abandoned:
                    break
        finally:
            for _, future in queue:
                future.cancel()
                self._room.release()
            queue.clear()
            del self._queues[channel]
            del self._workers[channel]

    async def _deliver(self, event: Event) -> Any:
        """Handle ``event``: durable events are tried again on failure, then parked; either way the
        delivery hears of it before the channel's next event."""
        # Asked here, in the channel's order, not at dispatch: whether a reaction's removal
        # changes anything depends on the add queued before it.
        delivery = self.delivery
        if (
            delivery is not None
            and is_durable(event)
            and not await self._settle(functools.partial(delivery.starting, event))
        ):
            self.stats.dropped_duplicate += 1
            # Recorded all the same (changes nothing), so a replayed dead letter is closed too.
            await self._settle(functools.partial(delivery.handled, event))
            return None
        attempt = 0
        while True:
            attempt += 1
            try:
                result = await self._handle(event)
            except Exception as exc:
                if not event.retried or self.delivery is None:
                    raise
                if self._closing:
                    raise _Unrecorded(exc) from exc  # not recorded: the next start catches it up
                if attempt >= self.retry.attempts:
                    self.stats.dead_lettered += 1
                    self.log.error(
                        "%s %s failed %d times; parked as a dead letter (%s: %s)",
                        event.type,
                        event_id(event),
                        attempt,
                        type(exc).__name__,
                        exc,
                    )
                    await self._settle(functools.partial(self._failed, event, exc, attempt))
                    raise
                self.stats.retries += 1
                delay = self.retry.delay(attempt)
                self.log.warning(
                    "%s %s: try %d of %d failed; trying again in %.1f s",
                    event.type,
                    event_id(event),
                    attempt,
                    self.retry.attempts,
                    delay,
                )
                await self._pause(delay)
                if self._closing:
                    raise _Unrecorded(exc) from exc
                continue
            if self.delivery is not None and event.retried:
                await self._settle(functools.partial(self.delivery.handled, event))
            return result

    async def _failed(self, event: Event, error: BaseException, attempts: int) -> None:
        assert self.delivery is not None
        await self.delivery.failed(event, error, attempts)

    async def _settle(self, write: Callable[[], Awaitable[T]]) -> T:
        """Run a ledger write until it succeeds: the channel's next event must not be handled
        before this one is recorded (a position past an unrecorded event would lose it)."""
        return await self._until_it_answers(write, lambda: "recording a handled event")

    async def _until_it_answers(self, call: Callable[[], Awaitable[T]], what: Callable[[], str]) -> T:
        """``await call()`` again, with backoff, until it answers (a closing dispatcher gives up)."""
        delay = 0.05
        while True:
            try:
                return await call()
            except Exception as exc:
                if self._closing:
                    raise
                self.log.warning(
                    "%s failed (%s: %s); asking again in %.2f s", what(), type(exc).__name__, exc, delay
                )
                await self._pause(delay)
                delay = min(delay * 2, self.drop_retry_max_delay)

    async def _pause(self, seconds: float) -> None:
        """Sleep, or less when the dispatcher closes (a closing bridge stops retrying)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), seconds)

    async def _handle(self, event: Event) -> Any:
        result: Any = None
        failure: Exception | None = None
        for handler in self.handlers_for(event):
            started = time.perf_counter()
            error: BaseException | None = None
            try:
                # A hung handler must not hold its channel, and the dispatcher's room, forever.
                result = await asyncio.wait_for(handler(event), self.handler_timeout)
            except TimeoutError as exc:
                failure = error = exc
                name = getattr(handler, "__qualname__", repr(handler))
                self.stats.handler_errors[name] = self.stats.handler_errors.get(name, 0) + 1
                self.log.error(
                    "handler %s did not finish within %.0f s on %s %s: cancelled",
                    name,
                    self.handler_timeout,
                    event.type,
                    event_id(event),
                )
            except Exception as exc:
                failure = error = exc
                name = getattr(handler, "__qualname__", repr(handler))
                self.stats.handler_errors[name] = self.stats.handler_errors.get(name, 0) + 1
                self.log.exception("handler %s failed on %s %s", name, event.type, event_id(event))
            finally:
                if self._on_handled is not None:
                    self._on_handled(event, time.perf_counter() - started, error)
        if failure is not None:
            raise failure
        return result

    def _matching(self, event_type: type[Event]) -> list[_Registration]:
        resolved = self._resolved.get(event_type)
        if resolved is None:
            resolved = [
                registration
                for registered, registrations in self._registrations.items()
                if issubclass(event_type, registered)
                for registration in registrations
            ]
            self._resolved[event_type] = resolved
        return resolved


def dedupe_key(event: Event) -> Hashable | None:
    """What identifies an event that may arrive twice; None for events that cannot
    (:meth:`Event.dedupe_key <mmbridge.types.Event.dedupe_key>`)."""
    return event.dedupe_key()


def event_id(event: Event) -> str:
    """A short identification of an event for logs."""
    if isinstance(event, PostedEvent | PostEditedEvent | PostDeletedEvent):
        return f"post={event.post.id}"
    if isinstance(event, OutgoingWebhookEvent):
        return f"post={event.post_id}"
    if isinstance(event, ReactionAddedEvent | ReactionRemovedEvent):
        return f"post={event.reaction.post_id}"
    trigger = getattr(event, "trigger_id", "")
    if trigger:
        return f"trigger={trigger}"
    return f"seq={event.seq}"


class _Unrecorded(Exception):
    """A retried event failed while the dispatcher closes: neither handled nor parked."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _chain(source: asyncio.Future[Any], target: asyncio.Future[Any]) -> None:
    """Complete ``target`` as ``source`` completes."""

    def copy(done: asyncio.Future[Any]) -> None:
        if target.done():
            return
        if done.cancelled():
            target.cancel()
        elif done.exception() is not None:
            target.set_exception(done.exception())  # type: ignore[arg-type]
            target.exception()
        else:
            target.set_result(done.result())

    source.add_done_callback(copy)
