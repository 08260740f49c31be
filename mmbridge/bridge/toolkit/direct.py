"""Direct and group channels, heard through a puppet.

The bot is never a member of a direct channel between a Mattermost user and a remote user's
puppet (a direct channel has exactly its two people), and outgoing webhooks do not fire in direct
channels, so the bot cannot hear what the Mattermost user writes there. The puppet can: for each
puppet in a direct or group portal, one WebSocket of that puppet's own carries the events of those
channels (and only those) into the bridge's dispatcher, where they are ordered, deduplicated and
echo-filtered like the bot's. A lost stream has those channels caught up, as the bot's does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ...api import ReconnectPolicy, WebSocketStream
from ...appservice import IntentAPI
from ...errors import MattermostError
from ...types import Event, HelloEvent, StreamReset

log = logging.getLogger("mmbridge.direct")

#: How long to wait before opening a puppet's stream again after it failed for good.
_RETRY_DELAY = 5.0


class _PuppetStream:
    """One puppet's WebSocket and the direct channels it is heard for."""

    def __init__(self, intent: IntentAPI) -> None:
        self.intent = intent
        self.channels: set[str] = set()
        self.stream: WebSocketStream | None = None
        self.task: asyncio.Task[None] | None = None


class DirectListeners:
    """The puppets' streams of the direct and group portals.

    ``dispatch`` gets each event of a listened channel; ``catch_up`` the channels of a stream that
    may have missed events (it reconnected without resuming, or was not yet up when they became portals).
    """

    def __init__(
        self,
        dispatch: Callable[[Event], Awaitable[Any]],
        catch_up: Callable[[set[str]], None],
    ) -> None:
        self._dispatch = dispatch
        self._catch_up = catch_up
        self._streams: dict[str, _PuppetStream] = {}

    def listening(self, channel_id: str) -> bool:
        """Whether some puppet's stream carries ``channel_id``."""
        return any(channel_id in s.channels for s in self._streams.values())

    async def listen(self, intent: IntentAPI, channel_id: str) -> None:
        """Hear ``channel_id`` through ``intent``'s puppet (its stream opened if not yet)."""
        await intent.ensure_registered()
        puppet = self._streams.get(intent.user_id)
        if puppet is None:
            puppet = self._streams[intent.user_id] = _PuppetStream(intent)
            puppet.task = asyncio.create_task(self._read(puppet), name=f"direct stream of @{intent.username}")
        puppet.channels.add(channel_id)

    async def close(self) -> None:
        """Close every stream."""
        for puppet in self._streams.values():
            if puppet.stream is not None:
                await puppet.stream.close()
            if puppet.task is not None:
                puppet.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await puppet.task
        self._streams.clear()

    async def _read(self, puppet: _PuppetStream) -> None:
        while True:
            try:
                client = await puppet.intent.ensure_registered()  # a fresh token if the old one was revoked
                puppet.stream = WebSocketStream(client.http, reconnect=ReconnectPolicy(initial_delay=0.2))
                first = True
                async for event in puppet.stream.events():
                    if isinstance(event, StreamReset) or (isinstance(event, HelloEvent) and first):
                        # What was written before the stream was up, or while it was lost.
                        self._catch_up(set(puppet.channels))
                        first = False
                    elif event.channel_id in puppet.channels:
                        await self._dispatch(event)
            except asyncio.CancelledError:
                raise
            except (MattermostError, OSError) as exc:
                log.warning(
                    "the stream of @%s failed (%s: %s); again in %.0f s",
                    puppet.intent.username,
                    type(exc).__name__,
                    exc,
                    _RETRY_DELAY,
                )
            await asyncio.sleep(_RETRY_DELAY)
