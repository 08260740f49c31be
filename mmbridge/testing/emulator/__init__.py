"""An in-memory Mattermost server (REST API v4 subset) for testing bridges.

Usage::

    from mmbridge.testing.emulator import Emulator, EmulatorSettings

    emu = Emulator(settings=EmulatorSettings())
    await emu.start()
    ...  # talk HTTP to emu.url with emu.seed.bot_token; WebSocket at /api/v4/websocket
    await emu.stop()

Integrations (outgoing webhooks, slash commands, interactive actions and dialogs) call out over
HTTP to the URLs they were configured with; ``await emu.integrations_idle()`` waits for the
background calls, ``await emu.type_message(token, channel_id, "/cmd text")`` types like the
webapp, and ``emu.integration_calls`` lists every outbound call.
"""

from __future__ import annotations

from .app import Emulator
from .events import Broadcast, Event, EventBus
from .faults import FaultInjector
from .integrations import Integrations, OutboundCall
from .requestlog import RequestRecord
from .seed import Seed
from .settings import EmulatorSettings, RateLimitSettings
from .state import State
from .websocket import WebSocketConnectionInfo, WebSocketHub

__all__ = [
    "Broadcast",
    "Emulator",
    "EmulatorSettings",
    "Event",
    "EventBus",
    "FaultInjector",
    "Integrations",
    "OutboundCall",
    "RateLimitSettings",
    "RequestRecord",
    "Seed",
    "State",
    "WebSocketConnectionInfo",
    "WebSocketHub",
]
