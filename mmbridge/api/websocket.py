"""The WebSocket event stream: typed events, resumed across reconnects without loss.

Mattermost numbers the events of one connection (``seq``, from 0 for ``hello``) and keeps a
disconnected connection's recent events for a few minutes. On reconnect the stream presents its
``connection_id`` and the next ``seq`` it expects, and the server replays what was missed. When
the server cannot (too much missed, or it forgot the connection), it answers with a new ``hello``
and a new connection id; the stream then yields :class:`~mmbridge.types.StreamReset` before
going on, so the bridge knows to re-sync over REST instead of silently missing events.

Guarantees to the consumer: events arrive in ``seq`` order, none twice (replayed duplicates are
dropped), and any possible loss is announced by a ``StreamReset``. Frames that are not valid
JSON are logged and skipped; unknown event types arrive as ``UnknownEvent``.

The reader is supervised: whatever goes wrong while reading or parsing a frame is logged, and
the stream reconnects; only a refused token or :meth:`WebSocketStream.close` end it. A message
over ``max_message_size`` (16 MiB by default) closes the socket (aiohttp cannot skip it) and the
stream resumes; when the resumed connection meets the oversized message again (the server
replays it), the stream starts a fresh connection instead, announced by a ``StreamReset``, so
one huge event cannot stall the stream forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator

import aiohttp
import attrs

from ..errors import (
    MalformedResponseError,
    MattermostConnectionError,
    MattermostError,
    UnauthorizedError,
)
from ..types import safejson
from ..types.events import Event, HelloEvent, StreamReset, parse_event
from .http import HTTPAPI

MESSAGE_TOO_BIG = aiohttp.WSCloseCode.MESSAGE_TOO_BIG


@attrs.frozen
class ReconnectPolicy:
    """How the stream waits between reconnects: exponential backoff with jitter, forever.

    A bridge must outlive server restarts, so there is no give-up; only a refused token ends
    the stream, with :class:`UnauthorizedError` (checked over REST when a socket closes before
    any event, since the server upgrades even a badly authenticated socket). A connection that
    delivered an event, or stayed up for ``healthy_after`` seconds, resets the backoff.
    """

    initial_delay: float = 0.5
    max_delay: float = 30.0
    healthy_after: float = 30.0

    def delay(self, failures: int) -> float:
        """The wait after ``failures`` consecutive failed or short-lived connections."""
        ceiling = min(self.max_delay, self.initial_delay * 2.0 ** max(failures - 1, 0))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter


class _SequenceGap(Exception):
    """An event arrived with a ``seq`` past the next expected one."""


class _Oversized(Exception):
    """A message over the size limit closed the socket."""


class WebSocketStream:
    """Mattermost's ``/api/v4/websocket`` as an async iterator of typed events.

    >>> async for event in client.websocket.events():
    ...     if isinstance(event, PostedEvent): ...
    ...     elif isinstance(event, StreamReset): await resync()

    One consumer at a time. :meth:`close` (or leaving the ``async for``) ends the stream cleanly.
    """

    def __init__(
        self,
        http: HTTPAPI,
        *,
        reconnect: ReconnectPolicy | None = None,
        heartbeat: float = 30.0,
        max_message_size: int | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.http = http
        self.reconnect = reconnect or ReconnectPolicy()
        self.heartbeat = heartbeat
        #: The largest message accepted, in bytes (default: the HTTP layer's ``max_ws_message_size``).
        self.max_message_size = http.max_ws_message_size if max_message_size is None else max_message_size
        if self.max_message_size <= 0:
            raise ValueError("max_message_size must be a positive number of bytes")
        self.log = log or logging.getLogger("mmbridge.websocket")
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._closing = False
        self._connection_id = ""
        self._next_seq = 0
        self._action_seq = 0
        self._wake = asyncio.Event()
        self._fresh_reason = ""  # when set, the next connection does not resume
        self.reconnects = 0
        self.skipped_frames = 0
        #: Messages over ``max_message_size`` (each closed a socket).
        self.oversized_messages = 0
        #: Unexpected failures of the reader (each was logged and made the stream reconnect).
        self.reader_failures = 0
        #: Connections closed because nothing came, not even the answer to a ping, for two
        #: ``heartbeat`` intervals (a server that stalls without closing).
        self.silent_closes = 0
        self._last_received = 0.0

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        return f"WebSocketStream({self.http!r}, {state})"

    @property
    def connected(self) -> bool:
        """Whether a socket is open right now (for health checks)."""
        return self._ws is not None and not self._ws.closed

    def is_live(self, silence: float | None = None) -> bool:
        """Connected, and something arrived within ``silence`` seconds (default: two
        ``heartbeat`` intervals; the stream pings the server every ``heartbeat``, so a live
        server always answers within one)."""
        limit = 2 * self.heartbeat if silence is None else silence
        return self.connected and time.monotonic() - self._last_received <= limit

    @property
    def connection_id(self) -> str:
        """The server's id for this stream, from its last ``hello``."""
        return self._connection_id

    @property
    def next_seq(self) -> int:
        """The ``seq`` the stream expects next (what it asks the server to resume from)."""
        return self._next_seq

    async def send_typing(self, channel_id: str, parent_id: str = "") -> None:
        """Tell the channel this user is typing (``parent_id``: in that thread).

        Needs an open socket (typing is not worth queueing); raises
        :class:`MattermostConnectionError` otherwise.
        """
        ws = self._ws
        if ws is None or ws.closed:
            raise MattermostConnectionError("the websocket is not connected")
        self._action_seq += 1
        data = {"channel_id": channel_id, "parent_id": parent_id}
        await ws.send_json({"action": "user_typing", "seq": self._action_seq, "data": data})

    async def close(self) -> None:
        """End the stream for good: the ``async for`` over :meth:`events` finishes (also when
        called before the iteration starts, or while it is connecting or waiting to reconnect)."""
        self._closing = True
        self._wake.set()
        if self._ws is not None:
            await self._ws.close()

    async def events(self) -> AsyncIterator[Event]:
        """Yield events until :meth:`close`; reconnect and resume whenever the socket drops."""
        failures = 0
        gaps = 0
        oversized_at = -1  # next_seq when the last oversized message came
        while not self._stopped():
            connected_at = time.monotonic()
            try:
                ws = await self._connect()
            except UnauthorizedError:
                raise
            except (MattermostError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                failures += 1
                await self._wait_before_reconnect(failures, f"connect failed: {_describe(exc)}")
                continue
            if self._stopped():  # closed while connecting
                await ws.close()
                return
            self._ws = ws
            self._last_received = time.monotonic()
            pinger = asyncio.create_task(self._keep_alive(ws), name="websocket keep-alive")
            received = False
            try:
                async for event in self._read(ws):
                    if not received:
                        received = True
                        gaps = 0
                    yield event
            except _SequenceGap:
                gaps += 1
                self.log.warning("sequence gap; reconnecting to have the server replay")
                if gaps > 2:  # the gap keeps coming back: do not spin
                    await self._wait_before_reconnect(gaps - 2, "repeated sequence gaps")
                continue
            except _Oversized:
                if oversized_at == self._next_seq:
                    # The same place again: most likely the server replays that very event.
                    self._fresh_reason = "an event over max_message_size could not be received"
                    self.log.warning("websocket: %s; starting a new connection", self._fresh_reason)
                oversized_at = self._next_seq
                failures = failures + 1 if not received else 1
                await self._wait_before_reconnect(failures, "message too large")
                continue
            except Exception as exc:  # a bug or an unforeseen failure must not end the stream
                self.reader_failures += 1
                self.log.error("websocket reader failed (%s); reconnecting", _describe(exc), exc_info=True)
                failures += 1
                await self._wait_before_reconnect(failures, "reader failed")
                continue
            finally:
                pinger.cancel()
                await ws.close()
                self._ws = None
            if self._stopped():
                return
            if not received:
                # Mattermost upgrades a socket even for a bad token and then just closes it;
                # ask the REST API whether the token is still good (raises UnauthorizedError).
                await self._check_token()
            # A connection that delivered events worked: the next reconnect starts the backoff
            # over, so a few drops of a healthy server cost a short wait each, not a growing one.
            healthy = received or time.monotonic() - connected_at >= self.reconnect.healthy_after
            failures = 1 if healthy else failures + 1
            await self._wait_before_reconnect(failures, "connection closed")

    async def _keep_alive(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Ping the server (a Mattermost ``ping`` action, answered with ``pong``) every
        ``heartbeat`` seconds; close the socket when nothing came for two intervals, so that a
        server that stalls without closing is reconnected to (and resumed)."""
        while not ws.closed:
            await asyncio.sleep(self.heartbeat)
            if time.monotonic() - self._last_received > 2 * self.heartbeat:
                self.silent_closes += 1
                self.log.warning("websocket: nothing for %.0f s; reconnecting", 2 * self.heartbeat)
                await ws.close()
                return
            self._action_seq += 1
            try:
                await ws.send_json({"action": "ping", "seq": self._action_seq, "data": {}})
            except (aiohttp.ClientError, ConnectionError, RuntimeError):
                return  # closing: the reader sees it

    async def _check_token(self) -> None:
        try:
            await self.http.request("GET", ("users", "me"))
        except UnauthorizedError:
            self.log.error("websocket: the server refuses the token; the stream ends")
            raise
        except MattermostError:
            pass  # the server is unwell, not the token: keep reconnecting

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        params: dict[str, str] = {}
        if self._connection_id:
            self.reconnects += 1
            if not self._fresh_reason:
                params = {"connection_id": self._connection_id, "sequence_number": str(self._next_seq)}
        ws = await self.http.ws_connect(
            ("websocket",), params, heartbeat=self.heartbeat, max_msg_size=self.max_message_size
        )
        self.log.debug("websocket open (resuming=%s)", bool(params))
        return ws

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> AsyncIterator[Event]:
        async for message in ws:
            self._last_received = time.monotonic()
            if message.type is aiohttp.WSMsgType.TEXT:
                for event in self._accept(message.data):
                    yield event
            elif message.type is aiohttp.WSMsgType.BINARY:
                self._skip("binary frame (msgpack is not requested)")
            elif message.type is aiohttp.WSMsgType.ERROR:
                error = message.data if isinstance(message.data, BaseException) else ws.exception()
                if isinstance(error, aiohttp.WebSocketError) and error.code == MESSAGE_TOO_BIG:
                    self.oversized_messages += 1
                    self.log.warning(
                        "websocket: a message over max_message_size (%d bytes) closed the socket: %s",
                        self.max_message_size,
                        _describe(error),
                    )
                    raise _Oversized
                self.log.info("websocket error: %s", _describe(error))
                return

    def _accept(self, text: str) -> list[Event]:
        try:
            raw = safejson.loads(text)
        except ValueError:
            self._skip("a frame that is not JSON")
            return []
        if not isinstance(raw, dict):
            self._skip("a frame that is not a JSON object")
            return []
        if "event" not in raw:
            return []  # a reply to an action of ours ({"status", "seq_reply"}), not an event
        try:
            event = parse_event(raw)
        except MalformedResponseError as exc:
            self._skip(str(exc))
            return []
        except Exception as exc:  # a parser bug: skip the frame (a reconnect would replay it)
            self.log.error("websocket: parsing a frame failed", exc_info=True)
            self._skip(f"a frame the parser failed on ({type(exc).__name__})")
            return []
        if isinstance(event, HelloEvent):
            return self._hello(event)
        if event.seq < 0:
            self._skip(f"a {event.type} event without seq")
            return []
        if event.seq < self._next_seq:
            return []  # already delivered before the reconnect
        if event.seq > self._next_seq:
            raise _SequenceGap
        self._next_seq = event.seq + 1
        return [event]

    def _hello(self, hello: HelloEvent) -> list[Event]:
        events: list[Event] = []
        if self._connection_id and hello.connection_id != self._connection_id:
            reason = self._fresh_reason or "the server could not replay the events missed while disconnected"
            self.log.warning("websocket stream reset: %s", reason)
            events.append(
                StreamReset(
                    reason=reason,
                    old_connection_id=self._connection_id,
                    new_connection_id=hello.connection_id,
                )
            )
        self._connection_id = hello.connection_id
        self._next_seq = max(hello.seq, 0) + 1
        self._fresh_reason = ""
        events.append(hello)
        return events

    def _skip(self, what: str) -> None:
        self.skipped_frames += 1
        self.log.warning("skipped %s from the websocket", what)

    def _stopped(self) -> bool:
        return self._closing or self.http.closed

    async def _wait_before_reconnect(self, failures: int, why: str) -> None:
        if self._stopped():
            return
        delay = self.reconnect.delay(failures)
        self.log.info("websocket %s; reconnecting in %.2f s", why, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)  # close() cuts the wait short


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    if isinstance(exc, MattermostError):
        return str(exc)
    shown = isinstance(exc, TimeoutError | OSError | aiohttp.WebSocketError)
    return type(exc).__name__ + (f": {exc}" if shown else "")
