"""The in-memory store and the state changes the real server's app layer makes.

This package is the one layer that changes records: every change the real server announces over
its WebSocket publishes its event here (routes never publish), and membership changes also write
the system posts the server writes. One module per resource, each a layer over the ones it
builds on; :class:`State` is all of them.
"""

from __future__ import annotations

from .base import DEFAULT_CHANNELS, StateData, direct_channel_name, group_channel_name
from .bots import BotState
from .categories import CategoryState
from .command_webhooks import CommandWebhookState
from .emoji import EmojiState
from .incoming_webhooks import IncomingWebhookState
from .status import StatusState
from .threads import ThreadState

__all__ = ["DEFAULT_CHANNELS", "State", "StateData", "direct_channel_name", "group_channel_name"]


class State(
    IncomingWebhookState, BotState, StatusState, CategoryState, ThreadState, EmojiState, CommandWebhookState
):
    """All data of one emulated server, and every change made to it."""
