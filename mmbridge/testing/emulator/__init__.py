"""An in-memory Mattermost server (REST API v4 subset) for testing bridges.

Usage::

    from mmbridge.testing.emulator import Emulator, EmulatorSettings

    emu = Emulator(settings=EmulatorSettings())
    await emu.start()
    ...  # talk HTTP to emu.url with emu.seed.bot_token; WebSocket at /api/v4/websocket
    await emu.stop()
"""

from __future__ import annotations

from .app import Emulator
from .events import Broadcast, Event, EventBus
from .faults import FaultInjector
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
    "RateLimitSettings",
    "RequestRecord",
    "Seed",
    "State",
    "WebSocketConnectionInfo",
    "WebSocketHub",
]
