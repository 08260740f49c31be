"""Integrations the server stores (incoming and outgoing webhooks, custom slash commands), and
the request bodies of incoming webhooks."""

from __future__ import annotations

from typing import Any

import attrs

from .wire import Record


@attrs.define
class OutgoingWebhook(Record):
    """An outgoing webhook: ``model.OutgoingWebhook`` (the token included, as the server sends it)."""

    id: str
    token: str
    create_at: int
    update_at: int
    creator_id: str
    team_id: str
    delete_at: int = 0
    channel_id: str = ""
    trigger_words: list[str] = attrs.field(factory=list)
    trigger_when: int = 0
    callback_urls: list[str] = attrs.field(factory=list)
    display_name: str = ""
    description: str = ""
    content_type: str = ""
    username: str = ""
    icon_url: str = ""


@attrs.define
class CommandWebhook:
    """A slash command's ``response_url``: ``model.CommandWebhook``, made for each call of a custom
    command (never sent to clients: its id is in the URL)."""

    id: str
    create_at: int
    command_id: str
    user_id: str
    channel_id: str
    root_id: str = ""
    use_count: int = 0


#: What ``Command.Sanitize`` blanks before a command goes to someone who may not manage it.
COMMAND_SANITIZED_FIELDS = ("token", "creator_id", "method", "url", "username", "icon_url")


@attrs.define
class Command(Record):
    """A custom slash command: ``model.Command``."""

    id: str
    token: str
    create_at: int
    update_at: int
    creator_id: str
    team_id: str
    trigger: str
    method: str
    url: str
    delete_at: int = 0
    username: str = ""
    icon_url: str = ""
    auto_complete: bool = False
    auto_complete_desc: str = ""
    auto_complete_hint: str = ""
    display_name: str = ""
    description: str = ""
    plugin_id: str = ""

    def sanitized_json(self) -> dict[str, str | int | bool]:
        """The command as ``Command.Sanitize`` leaves it."""
        data = self.to_json()
        data.update(dict.fromkeys(COMMAND_SANITIZED_FIELDS, ""))
        return data


@attrs.define
class IncomingWebhook(Record):
    """An incoming webhook: ``model.IncomingWebhook``."""

    id: str
    create_at: int
    update_at: int
    user_id: str
    channel_id: str
    team_id: str
    delete_at: int = 0
    display_name: str = ""
    description: str = ""
    username: str = ""
    icon_url: str = ""
    channel_locked: bool = False
    #: Always ``null`` on a hook made through the API (set only by the Slack import).
    webhook_schema_translation: dict[str, Any] | None = None


@attrs.define
class IncomingWebhookBody:
    """The body of ``POST``/``PUT /hooks/incoming``: the ``model.IncomingWebhook`` fields read."""

    id: str = ""
    channel_id: str = ""
    team_id: str = ""
    user_id: str = ""
    display_name: str = ""
    description: str = ""
    username: str = ""
    icon_url: str = ""
    channel_locked: bool = False


@attrs.define
class IncomingWebhookRequest:
    """What ``POST /hooks/{id}`` carries: ``model.IncomingWebhookRequest``.

    ``props``, ``attachments`` and ``priority`` are checked by the executor (their shapes).
    """

    text: str = ""
    username: str = ""
    icon_url: str = ""
    channel: str = ""
    type: str = ""
    icon_emoji: str = ""
    props: Any = None
    attachments: Any = None
    priority: Any = None
