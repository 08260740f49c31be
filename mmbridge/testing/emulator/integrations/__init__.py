"""Integrations: outgoing and incoming webhooks, slash commands, post actions and dialogs.

One :class:`Integrations` object per emulator (``emu.integrations``) is every kind at once, each
kind a module of this package over the shared HTTP caller of :mod:`.outbound` (its client
session, the log of calls ``emu.integration_calls``, ``emu.integrations_idle()``). They follow
``server/channels/app/webhook.go``, ``command.go`` and ``post_action.go`` of the real server.
"""

from __future__ import annotations

from .commands import BUILTIN_COMMANDS, BUILTIN_TRIGGERS, SlashCommands, builtin_command, suggestions
from .dialogs import Dialogs
from .incoming_webhooks import IncomingWebhooks, decode_incoming_payload
from .outbound import IntegrationError, OutboundCall, OutboundClient, OutboundResponse
from .outgoing_webhooks import OutgoingWebhooks
from .posting import go_form_encode, is_valid_http_url, slack_links_to_markdown

__all__ = [
    "BUILTIN_COMMANDS",
    "BUILTIN_TRIGGERS",
    "IntegrationError",
    "Integrations",
    "OutboundCall",
    "OutboundClient",
    "OutboundResponse",
    "builtin_command",
    "decode_incoming_payload",
    "go_form_encode",
    "is_valid_http_url",
    "slack_links_to_markdown",
    "suggestions",
]


class Integrations(OutgoingWebhooks, IncomingWebhooks, SlashCommands, Dialogs):
    """The emulator's integrations, every kind (post actions come with :class:`Dialogs`)."""
