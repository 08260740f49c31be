"""What Mattermost POSTs to an integration (outgoing webhooks, slash commands, interactive actions,
dialog submissions), and what the integration may answer.

They share the :class:`~mmbridge.types.events.Event` base with WebSocket events, so one dispatcher
delivers both. Tokens are kept out of reprs.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, ClassVar

import attrs

from .events import Event


@attrs.frozen(kw_only=True)
class OutgoingWebhookEvent(Event):
    """A post that matched an outgoing webhook (open channels only; no thread or props data)."""

    event_type: ClassVar[str] = "outgoing_webhook"
    token: str = attrs.field(repr=False)
    team_id: str = ""
    team_domain: str = ""
    webhook_channel_id: str = ""
    channel_name: str = ""
    timestamp: int = 0
    """When the post was made, in ms (Mattermost sends seconds in form bodies; normalised here)."""
    user_id: str = ""
    user_name: str = ""
    post_id: str = ""
    text: str = ""
    trigger_word: str = ""
    file_ids: tuple[str, ...] = ()

    @property
    def channel_id(self) -> str:
        """The channel the post was made in."""
        return self.webhook_channel_id

    @property
    def author_id(self) -> str:
        """The post's author."""
        return self.user_id

    def dedupe_key(self) -> Hashable | None:
        """The post id: a webhook delivered twice is handled once; None without one."""
        return ("webhook", self.post_id) if self.post_id else None


@attrs.frozen(kw_only=True)
class SlashCommandEvent(Event):
    """A user ran one of the bridge's slash commands (``/command text``)."""

    event_type: ClassVar[str] = "slash_command"
    token: str = attrs.field(repr=False)
    command: str = ""
    text: str = ""
    team_id: str = ""
    team_domain: str = ""
    command_channel_id: str = ""
    channel_name: str = ""
    user_id: str = ""
    user_name: str = ""
    trigger_id: str = ""
    response_url: str = ""

    @property
    def channel_id(self) -> str:
        """The channel the command was run in."""
        return self.command_channel_id

    @property
    def author_id(self) -> str:
        """Who ran the command."""
        return self.user_id

    def dedupe_key(self) -> Hashable | None:
        """The trigger id (one per run); None without one."""
        return (self.event_type, self.trigger_id) if self.trigger_id else None


@attrs.frozen(kw_only=True)
class ActionEvent(Event):
    """A user clicked a button or chose a menu option of an interactive message."""

    event_type: ClassVar[str] = "action"
    user_id: str = ""
    user_name: str = ""
    action_channel_id: str = ""
    channel_name: str = ""
    team_id: str = ""
    team_domain: str = ""
    post_id: str = ""
    trigger_id: str = ""
    action_type: str = ""
    """``button`` or ``select`` (the payload's ``type``)."""
    data_source: str = ""
    context: dict[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def channel_id(self) -> str:
        """The channel of the interactive message."""
        return self.action_channel_id

    @property
    def author_id(self) -> str:
        """Who clicked or chose."""
        return self.user_id

    def dedupe_key(self) -> Hashable | None:
        """The trigger id (one per click); None without one."""
        return (self.event_type, self.trigger_id) if self.trigger_id else None


@attrs.frozen(kw_only=True)
class DialogSubmissionEvent(Event):
    """A user submitted (or cancelled) an interactive dialog."""

    event_type: ClassVar[str] = "dialog_submission"
    callback_id: str = ""
    state: str = attrs.field(default="", repr=False)
    user_id: str = ""
    dialog_channel_id: str = ""
    team_id: str = ""
    submission: dict[str, Any] = attrs.field(factory=dict)
    cancelled: bool = False

    @property
    def channel_id(self) -> str:
        """The channel the dialog was opened from."""
        return self.dialog_channel_id

    @property
    def author_id(self) -> str:
        """Who submitted or cancelled the dialog."""
        return self.user_id


@attrs.frozen
class WebhookResponse:
    """A reply to an outgoing webhook: posted by the server as the webhook's creator.

    ``response_type="comment"`` posts it as a reply in the triggering post's thread.
    """

    text: str
    username: str = ""
    icon_url: str = ""
    props: dict[str, Any] = attrs.field(factory=dict)
    response_type: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON body Mattermost reads."""
        body: dict[str, Any] = {"text": self.text}
        for key in ("username", "icon_url", "response_type"):
            if getattr(self, key):
                body[key] = getattr(self, key)
        if self.props:
            body["props"] = self.props
        return body


@attrs.frozen
class CommandResponse:
    """The answer to a slash command: ``ephemeral`` (only the caller sees it) or ``in_channel``."""

    text: str = ""
    response_type: str = "ephemeral"
    goto_location: str = ""
    username: str = ""
    icon_url: str = ""
    props: dict[str, Any] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON body Mattermost reads."""
        body: dict[str, Any] = {"response_type": self.response_type, "text": self.text}
        for key in ("goto_location", "username", "icon_url"):
            if getattr(self, key):
                body[key] = getattr(self, key)
        if self.props:
            body["props"] = self.props
        return body


@attrs.frozen
class ActionResponse:
    """The answer to an interactive action: change the post (``update``), tell the clicker
    something only they see (``ephemeral_text``), or send them somewhere (``goto_location``)."""

    update: dict[str, Any] | None = None
    ephemeral_text: str = ""
    goto_location: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON body Mattermost reads."""
        body: dict[str, Any] = {}
        if self.update is not None:
            body["update"] = self.update
        if self.ephemeral_text:
            body["ephemeral_text"] = self.ephemeral_text
        if self.goto_location:
            body["goto_location"] = self.goto_location
        return body


@attrs.frozen
class DialogResponse:
    """The answer to a dialog submission: field errors keep the dialog open."""

    errors: dict[str, str] = attrs.field(factory=dict)
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON body Mattermost reads (empty: the dialog closes)."""
        body: dict[str, Any] = {}
        if self.errors:
            body["errors"] = self.errors
        if self.error:
            body["error"] = self.error
        return body
