"""A small client of the emulator's fault-injection admin API (``--faults-api``).

For tests and bench scripts that drive a bridge running as its own process::

    async with FaultsAPIClient("http://127.0.0.1:8065", token) as faults:
        await faults.fail_next(3, 503, path_contains="/api/v4/posts")
        await faults.ws_drop()

Each method mirrors the :class:`~mmbridge.testing.emulator.FaultInjector` method of the same
name and returns the JSON answer; a refused call raises :class:`FaultsAPIError`.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import aiohttp
from yarl import URL

from .emulator.faults_api import FAULTS_API_PREFIX


class FaultsAPIError(Exception):
    """The admin API refused a call (bad body, bad token, API not enabled...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        #: The HTTP status of the answer.
        self.status = status
        #: The ``message`` of the answer (or its text).
        self.message = message


class FaultsAPIClient:
    """Arms faults on an emulator started with ``--faults-api``, at ``base_url``.

    Use it as an async context manager, or call :meth:`close` when done.
    """

    def __init__(self, base_url: str | URL, token: str | None = None, *, timeout: float = 10.0) -> None:
        self._base = URL(str(base_url))
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> FaultsAPIClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        url = self._base.with_path(FAULTS_API_PREFIX + path)
        async with self._session.request(method, url, json=body) as resp:
            text = await resp.text()
            try:
                answer = await resp.json(content_type=None)
            except ValueError:
                answer = None
            if resp.status != 200 or not isinstance(answer, dict):
                message = answer.get("message", text) if isinstance(answer, dict) else text
                raise FaultsAPIError(resp.status, str(message))
            return answer

    async def _arm(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        armed: dict[str, Any] = (await self._call("POST", path, body))["armed"]
        return armed

    async def _http(
        self, kind: str, n: int, method: str | None, path: str | None, **fields: Any
    ) -> dict[str, Any]:
        return await self._arm(
            "/http", {"kind": kind, "count": n, "method": method, "path_contains": path, **fields}
        )

    async def _websocket(self, kind: str, user_id: str | None, **fields: Any) -> dict[str, Any]:
        return await self._arm("/websocket", {"kind": kind, "user_id": user_id, **fields})

    # ------------------------------------------------------------------- HTTP
    async def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        *,
        gateway: bool = False,
        error_id: str | None = None,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> dict[str, Any]:
        """Answer the next ``n`` matching requests with ``status`` (AppError JSON or a proxy page)."""
        fields = {"status": status, "gateway": gateway, "error_id": error_id}
        return await self._http("fail", n, method, path_contains, **fields)

    async def drop_next(
        self,
        n: int = 1,
        after_processing: bool = False,
        *,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> dict[str, Any]:
        """Close the connection of the next ``n`` matching requests without an answer."""
        return await self._http("drop", n, method, path_contains, after_processing=after_processing)

    async def delay_next(
        self,
        n: int = 1,
        seconds: float = 1.0,
        *,
        while_processing: bool = False,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> dict[str, Any]:
        """Delay the next ``n`` matching requests by ``seconds``."""
        fields = {"seconds": seconds, "while_processing": while_processing}
        return await self._http("delay", n, method, path_contains, **fields)

    async def rate_limit_next(
        self,
        n: int = 1,
        retry_after: int = 1,
        *,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> dict[str, Any]:
        """Answer the next ``n`` matching requests with the limiter's 429."""
        return await self._http("rate_limit", n, method, path_contains, retry_after=retry_after)

    async def headers_next(
        self,
        headers: dict[str, str],
        n: int = 1,
        *,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> dict[str, Any]:
        """Handle the next ``n`` matching requests normally, with ``headers`` on their answers."""
        return await self._http("headers", n, method, path_contains, headers=headers)

    # -------------------------------------------------------------- WebSocket
    async def ws_drop(self, user_id: str | None = None) -> dict[str, Any]:
        """Abort the live WebSocket connections (of ``user_id``, or all) now."""
        return await self._websocket("drop", user_id)

    async def ws_drop_after(self, n: int, user_id: str | None = None) -> dict[str, Any]:
        """Close the live socket(s) right after ``n`` more events."""
        return await self._websocket("drop_after", user_id, count=n)

    async def ws_stall(self, seconds: float, user_id: str | None = None) -> dict[str, Any]:
        """Write nothing to the live socket(s) for ``seconds``."""
        return await self._websocket("stall", user_id, seconds=seconds)

    async def ws_lose_replay(self, user_id: str | None = None) -> dict[str, Any]:
        """Forget the connections' replay state: the next resume gets a reset (a new ``hello``)."""
        return await self._websocket("lose_replay", user_id)

    async def ws_send_raw(self, text: str, user_id: str | None = None) -> dict[str, Any]:
        """Push a raw text frame (without a seq) on the live socket(s)."""
        return await self._websocket("send_raw", user_id, text=text)

    # ------------------------------------------------------------------ state
    async def clear(self) -> dict[str, Any]:
        """Disarm every fault; returns what :meth:`armed` returns afterwards."""
        return await self._call("DELETE", "")

    async def armed(self) -> dict[str, Any]:
        """``{"http": [armed HTTP faults], "websocket_connections": [...]}``."""
        return await self._call("GET", "")
