"""Integrations a bridge provisions on the server: webhooks and slash commands."""

from __future__ import annotations

import attrs

from .ids import CommandID, WebhookID
from .serialization import MattermostObject


@attrs.frozen
class OutgoingWebhook(MattermostObject):
    """An outgoing webhook: the server POSTs matching posts to ``callback_urls`` with ``token``."""

    id: WebhookID
    token: str = attrs.field(default="", repr=False)
    team_id: str = ""
    channel_id: str = ""
    creator_id: str = ""
    display_name: str = ""
    description: str = ""
    trigger_words: list[str] = attrs.field(factory=list)
    trigger_when: int = 0
    callback_urls: list[str] = attrs.field(factory=list)
    content_type: str = ""
    create_at: int = 0
    update_at: int = 0
    delete_at: int = 0


@attrs.frozen
class Command(MattermostObject):
    """A custom slash command: ``/trigger`` runs a request to ``url`` carrying ``token``."""

    id: CommandID
    token: str = attrs.field(default="", repr=False)
    team_id: str = ""
    trigger: str = ""
    method: str = "P"
    url: str = ""
    creator_id: str = ""
    username: str = ""
    icon_url: str = ""
    auto_complete: bool = False
    auto_complete_desc: str = ""
    auto_complete_hint: str = ""
    display_name: str = ""
    description: str = ""
    create_at: int = 0
    update_at: int = 0
    delete_at: int = 0


@attrs.frozen
class IncomingWebhook(MattermostObject):
    """An incoming webhook: a POST to ``/hooks/{id}`` posts into ``channel_id``."""

    id: WebhookID
    channel_id: str = ""
    team_id: str = ""
    user_id: str = ""
    display_name: str = ""
    description: str = ""
    username: str = ""
    icon_url: str = ""
    channel_locked: bool = False
    create_at: int = 0
    update_at: int = 0
    delete_at: int = 0
