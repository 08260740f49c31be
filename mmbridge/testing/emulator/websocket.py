"""The WebSocket endpoint ``GET /api/v4/websocket``, modelled on the real server's hub.

What the real server does (``app/platform/web_conn.go``, ``web_hub.go``, ``websocket_router.go``,
``api4/websocket.go``) and this module reproduces:

* A connection (``WebConn``) outlives its socket. When the socket goes away the connection stays
  in the hub, *inactive*, for a while (``inactiveConnReaperInterval``, 5 minutes) with its
  sequence counter, its *dead queue* (the last 128 events written) and its send queue, which
  keeps collecting events (up to 256; one more and the hub drops the whole connection).
* A client resumes with ``?connection_id=<id>&sequence_number=<next seq>``: events from that
  seq still in the dead queue are written again (no ``hello``); if some were lost the connection
  gets a new id, seq restarts at 0 and a new ``hello`` is sent; an unknown id gives a fresh
  connection (new id, ``hello``).
* Events are filtered per connection when they are published (``ShouldSendEvent``): a
  ``connection_id``, then ``omit_connection_id``, then ``user_id`` (which wins over
  ``omit_users``), then ``omit_users``, then channel membership, then team membership.

Each published event is JSON-encoded once; the per-connection ``seq`` is appended to the
encoded text when a connection's writer task sends it, so publishing stays synchronous.
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from .auth import resolve_session, token_from_request
from .context import LOGGED, REQUEST_ID, get_context
from .errors import AppError, unauthorized
from .events import Broadcast, Event, EventBus
from .ids import is_valid_id, new_id, now_ms
from .models import Session
from .requestlog import RequestRecord
from .settings import EmulatorSettings
from .state import State

#: The route templates of the endpoint (a trailing slash is optional, as on the real server).
WEBSOCKET_ROUTES = frozenset({"/api/v4/websocket", "/api/v4/websocket/"})

#: Events the real hub drops for a connection whose send queue is half full.
SLOW_DROPPABLE = frozenset({"typing", "status_change", "multiple_channels_viewed"})

_SEQ_PARAM = re.compile(r"[+-]?[0-9]+")
_DECODER = json.JSONDecoder()

_MESSAGES = {
    "api.web_socket_router.no_action.app_error": "No websocket action.",
    "api.web_socket_router.bad_seq.app_error": "Invalid sequence for WebSocket message.",
    "api.web_socket_router.not_authenticated.app_error": (
        "Connection is not authenticated. Please log in and try again."
    ),
    "api.web_socket_router.bad_action.app_error": "Unknown WebSocket action.",
}


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def encode_event_prefix(event: str, data: dict[str, Any], broadcast: Broadcast) -> str:
    """The event's JSON without its closing brace, ending in ``,"seq":``.

    Go marshals the ``data`` map with sorted keys; the broadcast keeps its struct order.
    """
    body = _dumps(
        {
            "event": event,
            "data": dict(sorted(data.items())),
            "broadcast": broadcast.to_dict(),
        }
    )
    return body[:-1] + ',"seq":'


def _error_dict(error: AppError) -> dict[str, Any]:
    # ``request_id`` is empty (and omitted) for errors raised by the WebSocket router.
    return {
        "id": error.error_id,
        "message": error.message,
        "detailed_error": "",
        "status_code": error.status,
    }


def _response(
    status: str, seq_reply: int, data: dict[str, Any] | None = None, error: AppError | None = None
) -> str:
    body: dict[str, Any] = {"status": status}
    if seq_reply:
        body["seq_reply"] = seq_reply
    if data is not None:
        body["data"] = data
    if error is not None:
        body["error"] = _error_dict(error)
    return _dumps(body)


def _router_error(status: int, error_id: str) -> AppError:
    return AppError(status, error_id, _MESSAGES[error_id])


def _invalid_param(name: str) -> AppError:
    return AppError(
        400,
        "api.websocket_handler.invalid_param.app_error",
        f"Invalid {name} parameter.",
    )


@dataclass(frozen=True)
class WebSocketConnectionInfo:
    """One connection known to the hub (``emu.websocket_connections()``)."""

    connection_id: str
    user_id: str
    #: Whether a socket is attached right now (False: kept for a resume).
    active: bool
    #: The ``seq`` the next event sent on this connection will carry.
    next_seq: int
    #: Events and responses waiting to be written.
    queued: int = 0


class Connection:
    """The hub's state of one connection id; it outlives the sockets attached to it."""

    def __init__(self, hub: WebSocketHub, connection_id: str, user_id: str, token: str) -> None:
        self.hub = hub
        self.connection_id = connection_id
        self.user_id = user_id
        self.token = token
        self.next_seq = 0
        #: ``(seq, frame)`` of the last events written (``deadQueue``).
        self.dead: collections.deque[tuple[int, str]] = collections.deque(
            maxlen=hub.settings.ws_dead_queue_size
        )
        #: ``(is_event, text)``: events as a seq-less prefix, responses and raw frames as is.
        self.pending: collections.deque[tuple[bool, str]] = collections.deque()
        self.registered = False
        self.ws: web.WebSocketResponse | None = None
        self.transport: asyncio.Transport | None = None
        self.inactive_since = 0.0
        self.forget_on_disconnect = False
        self.drop_after: int | None = None
        self.stall_until = 0.0
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._auth_timer: asyncio.TimerHandle | None = None

    @property
    def active(self) -> bool:
        """Whether a socket is attached."""
        return self.ws is not None

    # ------------------------------------------------------------------ queue
    def push_event(self, prefix: str) -> None:
        """Queue an encoded event (its seq is added when it is written)."""
        settings = self.hub.settings
        if len(self.pending) >= settings.ws_send_queue_size:
            if self.ws is None:
                # The hub's non-blocking send fails: it closes and removes the connection,
                # so a later resume with this id finds nothing.
                self.hub.forget(self)
                return
            if settings.ws_close_slow_consumers:
                self.hub.forget(self)
                self.hub.close_socket(self, abort=False)
                return
        self.pending.append((True, prefix))
        if self.ws is not None:
            self._wake.set()

    def push_text(self, text: str) -> None:
        """Queue a response or a raw frame (no seq, never replayed)."""
        self.pending.append((False, text))
        if self.ws is not None:
            self._wake.set()

    # ----------------------------------------------------------------- socket
    def attach(self, ws: web.WebSocketResponse, transport: asyncio.Transport, initial: list[str]) -> None:
        """Attach a socket and start writing (``initial`` frames first)."""
        self.ws = ws
        self.transport = transport
        self._wake = asyncio.Event()
        if self.pending:
            self._wake.set()
        self._writer = asyncio.get_running_loop().create_task(self._write_loop(ws, initial))

    def detach(self, ws: web.WebSocketResponse | None = None) -> None:
        """Mark the connection inactive (if ``ws`` is still its socket)."""
        if self.ws is None or (ws is not None and self.ws is not ws):
            return
        self.ws = None
        self.transport = None
        self.inactive_since = time.monotonic()
        self.drop_after = None
        self.stall_until = 0.0
        if self._auth_timer is not None:
            self._auth_timer.cancel()
            self._auth_timer = None
        writer, self._writer = self._writer, None
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()
        if self.forget_on_disconnect or not self.registered:
            self.hub.forget(self)

    def start_auth_timer(self, seconds: float) -> None:
        """Close the socket if it has not authenticated within ``seconds``."""
        self._auth_timer = asyncio.get_running_loop().call_later(seconds, self._auth_expired)

    def authenticated(self) -> None:
        """Stop the authentication timer."""
        if self._auth_timer is not None:
            self._auth_timer.cancel()
            self._auth_timer = None

    def _auth_expired(self) -> None:
        self._auth_timer = None
        if not self.token and self.ws is not None:
            self.hub.close_socket(self, abort=False)

    async def _write_loop(self, ws: web.WebSocketResponse, initial: list[str]) -> None:
        loop = asyncio.get_running_loop()
        pending = self.pending
        try:
            for frame in initial:
                await ws.send_str(frame)
            while True:
                if not pending:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                if self.stall_until:
                    delay = self.stall_until - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                        continue
                    self.stall_until = 0.0
                is_event, text = pending.popleft()
                if is_event:
                    seq = self.next_seq
                    self.next_seq = seq + 1
                    frame = f"{text}{seq}}}"
                    self.dead.append((seq, frame))
                    await ws.send_str(frame)
                    if self.drop_after is not None:
                        self.drop_after -= 1
                        if self.drop_after <= 0:
                            self.drop_after = None
                            # Everything written so far reaches the peer, then the TCP
                            # connection ends without a close frame.
                            self.hub.close_socket(self, abort=False)
                            return
                else:
                    await ws.send_str(text)
        except asyncio.CancelledError:
            raise
        except Exception:  # a broken socket ends the writer; the reader detaches
            self.hub.close_socket(self, abort=True)


ActionHandler = Callable[["WebSocketHub", Connection, dict[str, Any]], dict[str, Any] | None]


class WebSocketHub:
    """All WebSocket connections of one emulator, and the delivery of published events."""

    def __init__(self, settings: EmulatorSettings, state: State, events: EventBus) -> None:
        self.settings = settings
        self.state = state
        self.events = events
        self._by_id: dict[str, Connection] = {}
        self._by_user: dict[str, dict[Connection, None]] = {}
        #: Every connection with a socket, authenticated or not.
        self._live: dict[Connection, None] = {}
        self._armed_drop_after: dict[str | None, int] = {}
        self._unsubscribe = events.subscribe(self._on_event)

    # --------------------------------------------------------------- indexing
    def register(self, conn: Connection) -> None:
        """Add an authenticated connection to the hub and queue its ``hello``."""
        conn.registered = True
        self._by_id[conn.connection_id] = conn
        self._by_user.setdefault(conn.user_id, {})[conn] = None
        conn.push_event(self._hello_prefix(conn))

    def forget(self, conn: Connection) -> None:
        """Remove a connection from the hub: a later resume with its id starts afresh."""
        conn.registered = False
        if self._by_id.get(conn.connection_id) is conn:
            del self._by_id[conn.connection_id]
        user_conns = self._by_user.get(conn.user_id)
        if user_conns is not None:
            user_conns.pop(conn, None)
            if not user_conns:
                del self._by_user[conn.user_id]

    def _rekey(self, conn: Connection, connection_id: str) -> None:
        if self._by_id.get(conn.connection_id) is conn:
            del self._by_id[conn.connection_id]
        conn.connection_id = connection_id
        self._by_id[connection_id] = conn

    def _expired(self, conn: Connection, now: float) -> bool:
        return conn.ws is None and now - conn.inactive_since > self.settings.ws_resume_ttl

    def _prune(self) -> None:
        now = time.monotonic()
        for conn in [c for c in self._by_id.values() if self._expired(c, now)]:
            self.forget(conn)

    def connections(self) -> list[WebSocketConnectionInfo]:
        """The connections in the hub (live ones and those kept for a resume)."""
        self._prune()
        return [
            WebSocketConnectionInfo(c.connection_id, c.user_id, c.active, c.next_seq, len(c.pending))
            for c in self._by_id.values()
        ]

    def is_online(self, user_id: str) -> bool:
        """Whether the user has a live authenticated socket."""
        return any(c.ws is not None for c in self._by_user.get(user_id, ()))

    def online_user_ids(self) -> list[str]:
        """Users with a live authenticated socket."""
        return [user_id for user_id in self._by_user if self.is_online(user_id)]

    def _matching_live(self, user_id: str | None) -> list[Connection]:
        return [c for c in self._live if c.ws is not None and (user_id is None or c.user_id == user_id)]

    # ------------------------------------------------------------- publishing
    def _hello_prefix(self, conn: Connection) -> str:
        return encode_event_prefix(
            "hello",
            {"server_version": self.settings.version_header, "connection_id": conn.connection_id},
            Broadcast(user_id=conn.user_id),
        )

    def _session_ok(self, conn: Connection) -> bool:
        session, _ = resolve_session(self.state, conn.token)
        return session is not None

    def _should_send(self, conn: Connection, event: Event) -> bool:
        broadcast = event.broadcast
        if not self._session_ok(conn):
            return False
        if event.event in SLOW_DROPPABLE and len(conn.pending) >= self.settings.ws_send_queue_size // 2:
            return False
        if broadcast.contains_sanitized_data or broadcast.contains_sensitive_data:
            # As ``ShouldSendEvent``: a sanitised copy skips admins, a sensitive one non-admins.
            user = self.state.users.get(conn.user_id)
            is_admin = user is not None and user.is_admin
            if broadcast.contains_sanitized_data and is_admin:
                return False
            if broadcast.contains_sensitive_data and not is_admin:
                return False
        if broadcast.connection_id:
            return conn.connection_id == broadcast.connection_id
        if broadcast.omit_connection_id and conn.connection_id == broadcast.omit_connection_id:
            return False
        if broadcast.user_id:
            return conn.user_id == broadcast.user_id
        if broadcast.omit_users and conn.user_id in broadcast.omit_users:
            return False
        if broadcast.channel_id:
            return self.state.is_channel_member(broadcast.channel_id, conn.user_id)
        if broadcast.team_id:
            return self.state.is_team_member(broadcast.team_id, conn.user_id)
        return True

    def _on_event(self, event: Event) -> None:
        if not self._by_id:
            return
        broadcast = event.broadcast
        targets: Iterable[Connection]
        if broadcast.connection_id:
            target = self._by_id.get(broadcast.connection_id)
            targets = () if target is None else (target,)
        elif broadcast.user_id:
            targets = tuple(self._by_user.get(broadcast.user_id, ()))
        else:
            targets = tuple(self._by_id.values())
        prefix = ""
        now = time.monotonic()
        for conn in targets:
            if conn.ws is None and self._expired(conn, now):
                self.forget(conn)
                continue
            if not self._should_send(conn, event):
                continue
            if not prefix:
                prefix = encode_event_prefix(event.event, event.data, broadcast)
            conn.push_event(prefix)

    # ---------------------------------------------------------------- sockets
    def close_socket(self, conn: Connection, *, abort: bool) -> None:
        """End the socket of ``conn`` without a close frame; the connection turns inactive."""
        transport = conn.transport
        conn.detach()
        if transport is not None:
            if abort:
                transport.abort()
            else:
                transport.close()

    def _take(self, user_id: str, connection_id: str) -> Connection | None:
        conn = self._by_id.get(connection_id)
        if conn is None or conn.user_id != user_id:
            return None
        if self._expired(conn, time.monotonic()):
            self.forget(conn)
            return None
        if conn.ws is not None:
            # Only one socket per connection id: the resume takes over.
            self.close_socket(conn, abort=True)
        return conn

    def _resume(self, conn: Connection, sequence: int) -> list[str]:
        """Prepare ``conn`` for a socket resuming at ``sequence``; returns frames to write first."""
        conn.next_seq = sequence
        if sequence == 0:
            return []
        dead = conn.dead
        for index, (seq, _) in enumerate(dead):
            if seq == sequence:
                frames = [frame for _, frame in list(dead)[index:]]
                conn.next_seq = sequence + len(frames)
                return frames
        if dead and dead[-1][0] != sequence - 1:
            # Events from ``sequence`` on were lost: a new connection id, seq from 0, a hello.
            dead.clear()
            self._rekey(conn, new_id())
            frame = f"{self._hello_prefix(conn)}0}}"
            dead.append((0, frame))
            conn.next_seq = 1
            return [frame]
        return []

    def _arm_pending_faults(self, conn: Connection) -> None:
        for key in (conn.user_id, None):
            if key in self._armed_drop_after:
                conn.drop_after = self._armed_drop_after.pop(key)
                return

    async def serve(self, request: web.Request, ws: web.WebSocketResponse, session: Session | None) -> None:
        """Run one upgraded socket until it closes."""
        transport = request.transport
        if transport is None:
            return
        conn: Connection | None = None
        initial: list[str] = []
        connection_id = request.query.get("connection_id", "")
        if session is not None and connection_id:
            sequence = request.query.get("sequence_number", "")
            if not is_valid_id(connection_id) or not _SEQ_PARAM.fullmatch(sequence) or int(sequence) < 0:
                transport.close()
                return
            conn = self._take(session.user_id, connection_id)
            if conn is not None:
                conn.token = session.token  # the resumed connection runs on the new session
                initial = self._resume(conn, int(sequence))
        if conn is None:
            user_id = session.user_id if session is not None else ""
            token = session.token if session is not None else ""
            conn = Connection(self, new_id(), user_id, token)
            if session is not None:
                self.register(conn)
        conn.attach(ws, transport, initial)
        self._live[conn] = None
        if conn.registered:
            self._arm_pending_faults(conn)
        else:
            conn.start_auth_timer(self.settings.ws_auth_timeout)
        try:
            while True:
                msg = await ws.receive()
                if msg.type == WSMsgType.TEXT:
                    if not self._handle_text(conn, msg.data):
                        self.close_socket(conn, abort=False)
                        break
                elif msg.type == WSMsgType.BINARY:
                    # The real server decodes MessagePack here; the emulator does not.
                    self.close_socket(conn, abort=False)
                    break
                else:
                    break
        finally:
            conn.detach(ws)
            if conn.ws is None:
                self._live.pop(conn, None)
            if not ws.closed and not transport.is_closing():
                await ws.close()

    async def on_shutdown(self, _app: web.Application) -> None:
        """Close every socket with a close frame (1001) and forget all connections."""
        live = list(self._live)
        sockets = [c.ws for c in live if c.ws is not None]
        for conn in live:
            conn.forget_on_disconnect = True
            conn.detach()
        for conn in list(self._by_id.values()):
            self.forget(conn)
        if sockets:
            closes = [ws.close(code=1001, message=b"server shutting down") for ws in sockets]
            await asyncio.wait([asyncio.ensure_future(c) for c in closes], timeout=1.0)

    # ----------------------------------------------------------------- router
    def _handle_text(self, conn: Connection, text: str) -> bool:
        """Route one request; False means the socket must be closed."""
        try:
            request, _ = _DECODER.raw_decode(text.lstrip(" \t\r\n"))
        except ValueError:
            return False
        if request is None:
            request = {}
        if not isinstance(request, dict):
            return False
        seq = request.get("seq")
        action = request.get("action")
        data = request.get("data")
        seq = 0 if seq is None else seq
        action = "" if action is None else action
        data = {} if data is None else data
        if isinstance(seq, bool) or not isinstance(seq, int):
            return False
        if not isinstance(action, str) or not isinstance(data, dict):
            return False
        if action.startswith("custom_"):
            return True  # plugin actions never reach the router
        if not action:
            self._fail(conn, seq, _router_error(400, "api.web_socket_router.no_action.app_error"))
            return True
        if seq <= 0:
            self._fail(conn, seq, _router_error(400, "api.web_socket_router.bad_seq.app_error"))
            return True
        if action == "authentication_challenge":
            return self._authenticate(conn, seq, data)
        if not conn.token:
            self._fail(conn, seq, _router_error(401, "api.web_socket_router.not_authenticated.app_error"))
            return True
        handler = ACTIONS.get(action)
        if handler is None:
            self._fail(conn, seq, _router_error(500, "api.web_socket_router.bad_action.app_error"))
            return True
        session, error = resolve_session(self.state, conn.token)
        if session is None:
            self._fail(conn, seq, error or unauthorized())
            return True
        try:
            result = handler(self, conn, data)
        except AppError as exc:
            self._fail(conn, seq, exc)
            return True
        conn.push_text(_response("OK", seq, result))
        return True

    def _fail(self, conn: Connection, seq: int, error: AppError) -> None:
        conn.push_text(_response("FAIL", seq, error=error))

    def _authenticate(self, conn: Connection, seq: int, data: dict[str, Any]) -> bool:
        if conn.token:
            return True  # a second challenge is ignored
        token = data.get("token")
        if not isinstance(token, str):
            return False
        session, _ = resolve_session(self.state, token)
        if session is None:
            return False
        conn.token = session.token
        conn.user_id = session.user_id
        conn.authenticated()
        self.register(conn)
        self._arm_pending_faults(conn)
        conn.push_text(_response("OK", seq))
        return True

    # ----------------------------------------------------------------- faults
    def drop(self, user_id: str | None = None) -> None:
        """Abort the live sockets (of ``user_id``, or all) now; their state is kept."""
        for conn in self._matching_live(user_id):
            self.close_socket(conn, abort=True)

    def drop_after(self, n: int, user_id: str | None = None) -> None:
        """Close the live sockets right after ``n`` more events were written to them."""
        if n <= 0:
            self.drop(user_id)
            return
        conns = [c for c in self._matching_live(user_id) if c.registered]
        if not conns:
            self._armed_drop_after[user_id] = n
        for conn in conns:
            conn.drop_after = n

    def stall(self, seconds: float, user_id: str | None = None) -> None:
        """Write nothing to the live sockets for ``seconds``; events queue up."""
        until = asyncio.get_running_loop().time() + seconds
        for conn in self._matching_live(user_id):
            conn.stall_until = max(conn.stall_until, until)

    def lose_replay(self, user_id: str | None = None) -> None:
        """Forget the retained state: the next resume gets a new connection id and a hello."""
        for conn in list(self._by_id.values()):
            if user_id is not None and conn.user_id != user_id:
                continue
            if conn.ws is None:
                self.forget(conn)
            else:
                conn.forget_on_disconnect = True

    def send_raw(self, text: str, user_id: str | None = None) -> None:
        """Queue a raw text frame (no seq, not kept for replay) on the live sockets."""
        for conn in self._matching_live(user_id):
            conn.push_text(text)

    def clear_faults(self) -> None:
        """Disarm pending drops and stalls."""
        self._armed_drop_after.clear()
        for conn in self._live:
            conn.drop_after = None
            conn.stall_until = 0.0
            conn.forget_on_disconnect = False


# ------------------------------------------------------------------- actions
def _ping(hub: WebSocketHub, _conn: Connection, _data: dict[str, Any]) -> dict[str, Any]:
    return {
        "text": "pong",
        "version": hub.settings.version,
        "server_time": now_ms(),
        "node_id": "",
    }


def _user_typing(hub: WebSocketHub, conn: Connection, data: dict[str, Any]) -> None:
    channel_id = data.get("channel_id")
    if not isinstance(channel_id, str) or not is_valid_id(channel_id):
        raise _invalid_param("channel_id")
    user = hub.state.users.get(conn.user_id)
    if user is None or not (user.is_admin or hub.state.is_channel_member(channel_id, user.id)):
        raise _invalid_param("channel_id")
    parent_id = data.get("parent_id")
    if not isinstance(parent_id, str):
        parent_id = ""
    hub.state.user_typing(user.id, channel_id, parent_id)


def _status(hub: WebSocketHub, user_id: str) -> str:
    return "online" if hub.is_online(user_id) else "offline"


def _get_statuses(hub: WebSocketHub, _conn: Connection, _data: dict[str, Any]) -> dict[str, Any]:
    return dict.fromkeys(hub.online_user_ids(), "online")


def _get_statuses_by_ids(hub: WebSocketHub, _conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
    raw = data.get("user_ids")
    user_ids = [u for u in raw if isinstance(u, str)] if isinstance(raw, list) else []
    if not user_ids:
        raise _invalid_param("user_ids")
    return {user_id: _status(hub, user_id) for user_id in user_ids}


def _user_update_active_status(_hub: WebSocketHub, _conn: Connection, data: dict[str, Any]) -> None:
    if not isinstance(data.get("user_is_active"), bool):
        raise _invalid_param("user_is_active")
    return


def _posted_notify_ack(_hub: WebSocketHub, _conn: Connection, _data: dict[str, Any]) -> None:
    return None


ACTIONS: dict[str, ActionHandler] = {
    "ping": _ping,
    "user_typing": _user_typing,
    "get_statuses": _get_statuses,
    "get_statuses_by_ids": _get_statuses_by_ids,
    "user_update_active_status": _user_update_active_status,
    "posted_notify_ack": _posted_notify_ack,
}


# ------------------------------------------------------------------ endpoint
HUB_KEY = web.AppKey("mmbridge_emulator_websocket_hub", WebSocketHub)


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    """``GET /api/v4/websocket``: header/cookie auth at upgrade, or an authentication challenge."""
    ctx = get_context(request)
    hub = request.app[HUB_KEY]
    session: Session | None = None
    token = token_from_request(request)
    if token:
        session, error = resolve_session(ctx.state, token)
        if error is not None:
            session = None
            if ctx.settings.ws_reject_invalid_token:
                raise unauthorized()
    ws = web.WebSocketResponse(
        heartbeat=ctx.settings.ws_ping_interval,
        max_msg_size=ctx.settings.ws_max_message_size,
        compress=False,
        autoclose=False,
        timeout=1.0,
    )
    if not ws.can_prepare(request).ok:
        raise AppError(
            400,
            "api.web_socket.connect.upgrade.app_error",
            "Failed to upgrade websocket connection.",
        )
    ws.headers["X-Request-Id"] = request[REQUEST_ID]
    ws.headers["X-Version-Id"] = ctx.settings.version_header
    await ws.prepare(request)
    ctx.requests.append(
        RequestRecord(
            method=request.method,
            path=request.path,
            route=None,  # the OpenAPI spec has no path for the WebSocket
            status=101,
            content_type="",
            body=b"",
            user_id=session.user_id if session is not None else "",
            query=request.query_string,
        )
    )
    request[LOGGED] = True
    await hub.serve(request, ws, session)
    return ws


def add_websocket_routes(app: web.Application) -> None:
    """Register the endpoint (GET only, trailing slash optional)."""
    for path in sorted(WEBSOCKET_ROUTES):
        app.router.add_get(path, websocket_handler, allow_head=False)
