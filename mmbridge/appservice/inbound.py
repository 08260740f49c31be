"""Read what Mattermost POSTs to a bridge into typed events; refuse anything else clearly.

Mattermost sends outgoing webhooks as form bodies (the default) or JSON, slash commands as form
bodies (or a GET query), interactive actions and dialog submissions as JSON. Every parser returns
an event or raises :class:`InboundError` naming the problem; none of them ever raises anything
else, whatever the bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from ..types import Broadcast, Post, PostedEvent, PostID, safejson, structure
from ..types.integrations import ActionEvent, DialogSubmissionEvent, OutgoingWebhookEvent, SlashCommandEvent

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class InboundError(ValueError):
    """A request body the receiver refuses (answered with 400 and this message)."""


def read_fields(body: bytes, content_type: str) -> dict[str, Any]:
    """A form or JSON object body as a dict (form values as strings)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == JSON:
        try:
            data = safejson.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise InboundError("the body is not valid JSON (or nested too deeply)") from None
        if not isinstance(data, dict):
            raise InboundError("the JSON body must be an object")
        return data
    if media in (FORM, ""):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InboundError("the form body is not UTF-8") from None
        return read_query(text)
    raise InboundError(f"unsupported Content-Type {media!r} (expected {FORM} or {JSON})")


def read_query(text: str) -> dict[str, Any]:
    """A URL-encoded form or query string; a repeated field keeps its last value."""
    try:
        parsed = parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=200)
    except ValueError as exc:
        raise InboundError(f"the form body cannot be read: {exc}") from None
    return {key: values[-1] for key, values in parsed.items()}


def _text(fields: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = fields.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        else:
            raise InboundError(f"field {key!r} must be a string")
    if required and not value:
        raise InboundError(f"field {key!r} is required")
    return value


def _int(fields: Mapping[str, Any], key: str) -> int:
    value = fields.get(key, 0)
    if isinstance(value, bool):
        raise InboundError(f"field {key!r} must be a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value or "0")
        except ValueError:
            raise InboundError(f"field {key!r} must be a number") from None
    raise InboundError(f"field {key!r} must be a number")


def outgoing_webhook(fields: Mapping[str, Any], *, form: bool) -> OutgoingWebhookEvent:
    """An outgoing webhook payload. Form bodies give ``timestamp`` in seconds, JSON in ms."""
    raw_ids = fields.get("file_ids", "")
    if isinstance(raw_ids, list) and all(isinstance(item, str) for item in raw_ids):
        file_ids = tuple(raw_ids)
    elif isinstance(raw_ids, str):
        file_ids = tuple(item for item in raw_ids.split(",") if item)
    else:
        raise InboundError("field 'file_ids' must be a comma-separated string or a list")
    timestamp = _int(fields, "timestamp")
    channel_id = _text(fields, "channel_id", required=True)
    return OutgoingWebhookEvent(
        token=_text(fields, "token", required=True),
        team_id=_text(fields, "team_id"),
        team_domain=_text(fields, "team_domain"),
        webhook_channel_id=channel_id,
        channel_name=_text(fields, "channel_name"),
        timestamp=timestamp * 1000 if form else timestamp,
        user_id=_text(fields, "user_id", required=True),
        user_name=_text(fields, "user_name"),
        post_id=_text(fields, "post_id", required=True),
        text=_text(fields, "text"),
        trigger_word=_text(fields, "trigger_word"),
        file_ids=file_ids,
        broadcast=Broadcast(channel_id=channel_id),
    )


def as_posted(event: OutgoingWebhookEvent, post: Post | None = None) -> PostedEvent:
    """The post an outgoing webhook announces, as the ``posted`` event the WebSocket would give
    (``source="webhook"``). With ``post`` (the post read back from the server) the event is that
    post, channel and author included; without, it is built from the payload's fields, which lack
    thread, props and edit data and are only as true as the sender."""
    if post is not None:
        return PostedEvent(post=post, source="webhook", broadcast=Broadcast(channel_id=post.channel_id))
    post = structure(
        {
            "id": PostID(event.post_id),
            "channel_id": event.webhook_channel_id,
            "user_id": event.user_id,
            "message": event.text,
            "create_at": event.timestamp,
            "update_at": event.timestamp,
            "file_ids": list(event.file_ids),
        },
        Post,
    )
    return PostedEvent(
        post=post,
        channel_name=event.channel_name,
        sender_name=f"@{event.user_name}" if event.user_name else "",
        team_id=event.team_id,
        channel_type="O",
        source="webhook",
        broadcast=event.broadcast,
    )


def slash_command(fields: Mapping[str, Any]) -> SlashCommandEvent:
    """A slash command request."""
    command = _text(fields, "command", required=True)
    if not command.startswith("/"):
        raise InboundError("field 'command' must start with '/'")
    channel_id = _text(fields, "channel_id", required=True)
    return SlashCommandEvent(
        token=_text(fields, "token", required=True),
        command=command,
        text=_text(fields, "text"),
        team_id=_text(fields, "team_id"),
        team_domain=_text(fields, "team_domain"),
        command_channel_id=channel_id,
        channel_name=_text(fields, "channel_name"),
        user_id=_text(fields, "user_id", required=True),
        user_name=_text(fields, "user_name"),
        trigger_id=_text(fields, "trigger_id"),
        response_url=_text(fields, "response_url"),
        broadcast=Broadcast(channel_id=channel_id),
    )


def action(fields: Mapping[str, Any]) -> ActionEvent:
    """An interactive message action (button or menu)."""
    context = fields.get("context") or {}
    if not isinstance(context, dict):
        raise InboundError("field 'context' must be an object")
    channel_id = _text(fields, "channel_id", required=True)
    return ActionEvent(
        user_id=_text(fields, "user_id", required=True),
        user_name=_text(fields, "user_name"),
        action_channel_id=channel_id,
        channel_name=_text(fields, "channel_name"),
        team_id=_text(fields, "team_id"),
        team_domain=_text(fields, "team_domain"),
        post_id=_text(fields, "post_id"),
        trigger_id=_text(fields, "trigger_id"),
        action_type=_text(fields, "type"),
        data_source=_text(fields, "data_source"),
        context=context,
        broadcast=Broadcast(channel_id=channel_id),
    )


def dialog_submission(fields: Mapping[str, Any]) -> DialogSubmissionEvent:
    """An interactive dialog submission (or cancellation)."""
    submission = fields.get("submission") or {}
    if not isinstance(submission, dict):
        raise InboundError("field 'submission' must be an object")
    cancelled = fields.get("cancelled", False)
    if not isinstance(cancelled, bool):
        raise InboundError("field 'cancelled' must be true or false")
    channel_id = _text(fields, "channel_id")
    return DialogSubmissionEvent(
        callback_id=_text(fields, "callback_id"),
        state=_text(fields, "state"),
        user_id=_text(fields, "user_id", required=True),
        dialog_channel_id=channel_id,
        team_id=_text(fields, "team_id"),
        submission=submission,
        cancelled=cancelled,
        broadcast=Broadcast(channel_id=channel_id),
    )
