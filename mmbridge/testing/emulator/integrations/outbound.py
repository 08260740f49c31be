"""The shared HTTP caller of every integration kind: one client session, idle tracking, the log.

:class:`OutboundClient` owns the ``aiohttp.ClientSession`` used for every call to an
integration, the background tasks of outgoing webhooks (see :meth:`OutboundClient.idle`), the
list of calls made (``emu.integration_calls``) and the trigger ids handed to integrations.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..errors import AppError
from ..ids import new_id, now_ms
from ..models import Post
from ..settings import EmulatorSettings
from ..state import State

__all__ = [
    "FORM_CONTENT_TYPE",
    "MAX_RESPONSE_SIZE",
    "IntegrationError",
    "OutboundCall",
    "OutboundClient",
    "OutboundResponse",
]

log = logging.getLogger(__name__)

#: ``MaxIntegrationResponseSize``: at most this much of an integration's answer is read.
MAX_RESPONSE_SIZE = 1024 * 1024
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class IntegrationError(Exception):
    """The call to an integration failed: refused, timed out, or not HTTP at all."""


@dataclass(frozen=True)
class OutboundResponse:
    """What an integration answered (the body cut at 1 MiB)."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class OutboundCall:
    """One call the emulator made to an integration (``emu.integration_calls``)."""

    kind: str  # "outgoing_webhook", "command", "post_action", "dialog_submit", "dialog_lookup"
    method: str
    url: str
    #: The HTTP status, 0 when the call failed (see ``error``).
    status: int
    error: str = ""


@dataclass
class _Trigger:
    user_id: str
    created: int


class OutboundClient:
    """The emulator's HTTP client side, shared by every integration kind."""

    def __init__(self, settings: EmulatorSettings, state: State) -> None:
        self.settings = settings
        self.state = state
        #: Every call made, oldest first.
        self.calls: list[OutboundCall] = []
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        self._idle: asyncio.Event | None = None
        self._secret = secrets.token_bytes(32)
        self._triggers: dict[str, _Trigger] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} calls={len(self.calls)} in_flight={self._in_flight}>"

    # ------------------------------------------------------------- lifecycle
    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.outgoing_integration_timeout),
                auto_decompress=True,
            )
        return self._session

    async def close(self) -> None:
        """Cancel the background calls and close the client session."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _busy_event(self) -> asyncio.Event:
        if self._idle is None:
            self._idle = asyncio.Event()
            self._idle.set()
        return self._idle

    def _update_idle(self) -> None:
        event = self._busy_event()
        if self._in_flight == 0 and not self._tasks:
            event.set()
        else:
            event.clear()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background; :meth:`idle` waits for it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        self._update_idle()

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                log.error("integration task failed", exc_info=finished.exception())
            self._update_idle()

        task.add_done_callback(done)

    async def idle(self) -> None:
        """Return when no outbound call (or webhook task) is in flight."""
        event = self._busy_event()
        while not (self._in_flight == 0 and not self._tasks):
            await event.wait()
            # A finished task may have spawned another within the same loop iteration.
            await asyncio.sleep(0)

    # ------------------------------------------------------------- transport
    async def send(
        self,
        kind: str,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> OutboundResponse:
        """Make one call; :class:`IntegrationError` when there is no HTTP answer."""
        self._in_flight += 1
        self._update_idle()
        try:
            try:
                async with self._client().request(
                    method, url, data=body, headers=headers or {}, allow_redirects=True
                ) as resp:
                    data = await resp.content.read(MAX_RESPONSE_SIZE)
                    self.calls.append(OutboundCall(kind, method, url, resp.status))
                    return OutboundResponse(resp.status, resp.headers.get("Content-Type", ""), data)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                self.calls.append(OutboundCall(kind, method, url, 0, error))
                if isinstance(exc, TimeoutError):
                    log.warning("%s %s timed out; consider raising outgoing_integration_timeout", method, url)
                raise IntegrationError(error) from exc
        finally:
            self._in_flight -= 1
            self._update_idle()

    def ephemeral_post(self, user_id: str, channel_id: str, message: str, root_id: str = "") -> Post:
        """A post that is only ever sent (``State.send_ephemeral``), never stored."""
        return self.state.new_post(channel_id, user_id, message, root_id=root_id)

    # ------------------------------------------------------------ trigger ids
    def new_trigger_id(self, user_id: str) -> tuple[str, str]:
        """``GenerateTriggerId``: (the id the client sees, the signed id the integration gets)."""
        client_id = new_id()
        created = now_ms()
        data = f"{client_id}:{user_id}:{created}"
        signature = base64.b64encode(hmac.new(self._secret, data.encode(), hashlib.sha256).digest())
        self._triggers[client_id] = _Trigger(user_id, created)
        trigger = base64.b64encode(f"{data}:{signature.decode()}".encode()).decode()
        return client_id, trigger

    def decode_trigger_id(self, trigger_id: str) -> tuple[str, str]:
        """``DecodeAndVerifyTriggerId``: (client trigger id, user id), or a 400."""
        prefix = "interactive_message.decode_trigger_id"
        try:
            decoded = base64.b64decode(trigger_id, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise AppError(
                400, f"{prefix}.base64_decode_failed", "Failed to decode base64 for trigger ID."
            ) from None
        parts = decoded.split(":")
        if len(parts) != 4:
            raise AppError(400, f"{prefix}.missing_data", "Trigger ID missing required data.")
        client_id, user_id, created, signature = parts
        data = f"{client_id}:{user_id}:{created}"
        expected = base64.b64encode(hmac.new(self._secret, data.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, signature):
            raise AppError(400, f"{prefix}.verify_signature_failed", "Signature verification failed.")
        if now_ms() - int(created) > self.settings.outgoing_integration_timeout * 1000:
            raise AppError(400, f"{prefix}.expired", "Trigger ID expired.")
        return client_id, user_id
