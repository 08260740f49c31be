"""Fault injection for tests: failures, dropped connections, delays, 429s and WebSocket faults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from aiohttp import web

FaultKind = Literal["fail", "drop", "delay", "rate_limit", "headers"]


@dataclass
class Fault:
    """One armed fault, applied to the next ``remaining`` matching requests."""

    kind: FaultKind
    remaining: int
    method: str | None = None
    path_contains: str | None = None
    status: int = 503
    gateway: bool = False
    after_processing: bool = False
    seconds: float = 0.0
    while_processing: bool = False
    retry_after: int = 1
    headers: dict[str, str] | None = None
    #: The AppError id of a ``fail`` answer (``None``: the emulator's injected-fault id).
    error_id: str | None = None

    def matches(self, request: web.Request) -> bool:
        """Whether this fault targets ``request``."""
        if self.remaining <= 0:
            return False
        if self.method is not None and request.method.upper() != self.method.upper():
            return False
        return self.path_contains is None or self.path_contains in request.path


class WebSocketFaultTarget(Protocol):
    """What the WebSocket hub offers to :class:`FaultInjector`."""

    def drop(self, user_id: str | None = None) -> None:
        """Abort the live sockets (of ``user_id``, or all) now."""

    def drop_after(self, n: int, user_id: str | None = None) -> None:
        """Close the live sockets after ``n`` more events were written to them."""

    def stall(self, seconds: float, user_id: str | None = None) -> None:
        """Write nothing to the live sockets for ``seconds``."""

    def lose_replay(self, user_id: str | None = None) -> None:
        """Forget the retained state: the next resume gets a new connection id."""

    def send_raw(self, text: str, user_id: str | None = None) -> None:
        """Queue a raw text frame on the live sockets."""

    def clear_faults(self) -> None:
        """Disarm pending drops and stalls."""


class FaultInjector:
    """Faults armed by tests; consulted by a middleware on every request."""

    def __init__(self) -> None:
        self.armed: list[Fault] = []
        self._websocket: WebSocketFaultTarget | None = None

    def attach_websocket(self, target: WebSocketFaultTarget) -> None:
        """Give the ``ws_*`` faults the hub they act on (done by the :class:`Emulator`)."""
        self._websocket = target

    def _ws(self) -> WebSocketFaultTarget:
        if self._websocket is None:
            raise RuntimeError("no WebSocket hub is attached to this FaultInjector")
        return self._websocket

    # -------------------------------------------------------------- WebSocket
    def ws_drop(self, user_id: str | None = None) -> None:
        """Abort the live WebSocket connections (of ``user_id``, or all) now.

        The TCP connection ends without a close frame (frames still buffered are lost); the
        server keeps the connection's state, so the client can resume.
        """
        self._ws().drop(user_id)

    def ws_drop_after(self, n: int, user_id: str | None = None) -> None:
        """Close the live socket(s) right after ``n`` more events were written to them.

        The frames already written arrive; then the TCP connection ends without a close frame
        (a mid-burst drop). The state is kept for a resume. Without a live socket of that user
        the fault waits for the next one.
        """
        self._ws().drop_after(n, user_id)

    def ws_stall(self, seconds: float, user_id: str | None = None) -> None:
        """Write nothing to the live socket(s) for ``seconds``; events queue up meanwhile."""
        self._ws().stall(seconds, user_id)

    def ws_lose_replay(self, user_id: str | None = None) -> None:
        """Forget the retained state and replay buffer of the connections (of ``user_id``).

        A live connection is forgotten as soon as its socket goes away, so the next resume
        gets a new ``connection_id``, seq 0 and a new ``hello``.
        """
        self._ws().lose_replay(user_id)

    def ws_send_raw(self, text: str, user_id: str | None = None) -> None:
        """Push a raw text frame (garbage JSON, an unknown event...) without a seq."""
        self._ws().send_raw(text, user_id)

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        *,
        gateway: bool = False,
        error_id: str | None = None,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Answer the next ``n`` requests with ``status`` without processing them.

        The body is an AppError JSON (with ``error_id`` as its ``id`` when given), or with
        ``gateway=True`` the HTML page a reverse proxy sends (``text/html``, no Mattermost
        headers).
        """
        self._arm(Fault("fail", n, method, path_contains, status=status, gateway=gateway, error_id=error_id))

    def drop_next(
        self,
        n: int = 1,
        after_processing: bool = False,
        *,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Close the connection of the next ``n`` requests without any response.

        With ``after_processing=True`` the request is handled first (a post IS created) and the
        connection is dropped before the response is sent.
        """
        self._arm(Fault("drop", n, method, path_contains, after_processing=after_processing))

    def delay_next(
        self,
        n: int = 1,
        seconds: float = 1.0,
        *,
        while_processing: bool = False,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Delay the next ``n`` requests by ``seconds`` before handling them.

        With ``while_processing=True`` the delay happens inside the handler instead, at the
        point where the work is in flight (for ``POST /posts``: after the ``pending_post_id``
        has been registered and before the post is stored).
        """
        self._arm(
            Fault(
                "delay",
                n,
                method,
                path_contains,
                seconds=seconds,
                while_processing=while_processing,
            )
        )

    def rate_limit_next(
        self,
        n: int = 1,
        retry_after: int = 1,
        *,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Answer the next ``n`` requests with the real limiter's 429."""
        self._arm(Fault("rate_limit", n, method, path_contains, retry_after=retry_after))

    def headers_next(
        self,
        headers: dict[str, str],
        n: int = 1,
        *,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Handle the next ``n`` requests normally, with ``headers`` set on their answers (a proxy
        or a misconfigured server sending, say, ``X-RateLimit-Reset: 3600`` on a 200)."""
        self._arm(Fault("headers", n, method, path_contains, headers=dict(headers)))

    def clear(self) -> None:
        """Disarm every fault (pending WebSocket drops and stalls too)."""
        self.armed.clear()
        if self._websocket is not None:
            self._websocket.clear_faults()

    def take(self, request: web.Request, *, delays: bool) -> Fault | None:
        """Consume and return the first armed fault matching ``request``.

        ``delays`` selects delay faults (True) or the other kinds (False).
        """
        for fault in self.armed:
            if (fault.kind == "delay") == delays and fault.matches(request):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.armed.remove(fault)
                return fault
        return None

    def _arm(self, fault: Fault) -> None:
        if fault.remaining > 0:
            self.armed.append(fault)
