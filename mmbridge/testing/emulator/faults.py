"""Fault injection for tests: failures, dropped connections, delays and 429s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aiohttp import web

FaultKind = Literal["fail", "drop", "delay", "rate_limit"]


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

    def matches(self, request: web.Request) -> bool:
        """Whether this fault targets ``request``."""
        if self.remaining <= 0:
            return False
        if self.method is not None and request.method.upper() != self.method.upper():
            return False
        return self.path_contains is None or self.path_contains in request.path


class FaultInjector:
    """Faults armed by tests; consulted by a middleware on every request."""

    def __init__(self) -> None:
        self.armed: list[Fault] = []

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        *,
        gateway: bool = False,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Answer the next ``n`` requests with ``status`` without processing them.

        The body is an AppError JSON, or with ``gateway=True`` the HTML page a reverse proxy
        sends (``text/html``, no Mattermost headers).
        """
        self._arm(Fault("fail", n, method, path_contains, status=status, gateway=gateway))

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

    def clear(self) -> None:
        """Disarm every fault."""
        self.armed.clear()

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
