"""Incoming webhooks: ``POST /hooks/{id}`` turns a Slack-style payload into a post.

Follows ``HandleIncomingWebhook`` and ``CreateWebhookPost`` of ``server/channels/app/webhook.go``
and ``IncomingWebhookRequestFromJSON`` of ``server/public/model/incoming_webhook.go``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import AppError, invalid_param
from ..models import Channel, IncomingWebhook, IncomingWebhookRequest, Post, User
from ..models.requests import BodyTypeError, decode_body
from .outbound import OutboundClient
from .posting import parse_attachments, save_integration_post, slack_links_to_markdown, webhook_props

__all__ = ["IncomingWebhooks", "decode_incoming_payload"]

#: The keys whose string values may hold raw newlines and tabs (``escapeControlCharsFromPayload``).
_LOOSE_STRING_RE = re.compile(r'"(text|fallback|pretext|author_name|title|value)"\s*:\s*"(\\"|[^"])*"', re.S)
_USER_ID_RE = re.compile(r"<@([A-Za-z0-9]+)(\|[^>]*)?>")
_ANNOUNCEMENT_RE = re.compile(r"<!(channel|here|all)>")


def _parse_error() -> AppError:
    return AppError(400, "model.incoming_hook.parse_data.app_error", "Unable to parse incoming data.")


def _escape_control_chars(raw: str) -> str:
    return _LOOSE_STRING_RE.sub(lambda m: m.group(0).replace("\n", "\\n").replace("\t", "\\t"), raw)


def _first_json_value(raw: str) -> Any:
    """The first JSON value of ``raw`` (Go's ``Decoder.Decode`` ignores what follows it)."""
    value, _end = json.JSONDecoder().raw_decode(raw.lstrip())
    return value


def _stringify_field_values(attachments: list[Any]) -> list[Any]:
    """``StringifySlackFieldValue``: a number or bool field value becomes its text."""
    out = []
    for attachment in attachments:
        if isinstance(attachment, dict) and isinstance(attachment.get("fields"), list):
            attachment = dict(attachment)
            attachment["fields"] = [
                dict(f, value=json.dumps(f["value"]))
                if isinstance(f, dict) and isinstance(f.get("value"), (int, float, bool))
                else f
                for f in attachment["fields"]
            ]
        out.append(attachment)
    return out


def decode_incoming_payload(raw: bytes) -> IncomingWebhookRequest:
    """``IncomingWebhookRequestFromJSON``: 400 ``model.incoming_hook.parse_data.app_error``."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise _parse_error() from None
    try:
        value = _first_json_value(text)
    except ValueError:
        try:
            value = _first_json_value(_escape_control_chars(text))
        except ValueError:
            raise _parse_error() from None
    try:
        request = decode_body(value, IncomingWebhookRequest)
    except BodyTypeError:
        raise _parse_error() from None
    if request.props is not None and not isinstance(request.props, dict):
        raise _parse_error()
    if request.priority is not None and not isinstance(request.priority, dict):
        raise _parse_error()
    if request.attachments is not None:
        if not isinstance(request.attachments, list) or not all(
            a is None or isinstance(a, dict) for a in request.attachments
        ):
            raise _parse_error()
        request.attachments = _stringify_field_values(request.attachments)
    return request


class IncomingWebhooks(OutboundClient):
    """The posts incoming webhooks make (nothing goes out: the integration calls in)."""

    def process_slack_text(self, text: str) -> str:
        """``ProcessSlackText``: ``<!channel>`` becomes ``@channel``, ``<@USERID>`` ``@username``."""
        text = _ANNOUNCEMENT_RE.sub(r"@\1", text)

        def user(match: re.Match[str]) -> str:
            found = self.state.users.get(match.group(1))
            return f"@{found.username}" if found is not None else match.group(0)

        return _USER_ID_RE.sub(user, text)

    def _target_channel(self, hook: IncomingWebhook, name: str) -> Channel:
        """The hook's channel, or the one ``channel`` names (``#name``, ``name``, ``@username``)."""
        if not name:
            return self.state.channel(hook.channel_id)
        if name.startswith("@"):
            other = self.state.user_by_username(name[1:])
            owner = self.state.users.get(hook.user_id)
            if other is None or owner is None:
                raise AppError(400, "web.incoming_webhook.user.app_error", "Couldn't find the user.")
            channel, _created = self.state.direct_channel(owner, other)
            return channel
        found = self.state.channel_by_name(hook.team_id, name.removeprefix("#"))
        if found is None:
            raise AppError(404, "web.incoming_webhook.channel.app_error", "Couldn't find the channel.")
        return found

    def handle_incoming_webhook(self, hook_id: str, request: IncomingWebhookRequest) -> list[Post]:
        """``HandleIncomingWebhook``: check the hook and the channel, then create the post(s)."""
        if not self.settings.enable_incoming_webhooks:
            raise AppError(
                501, "web.incoming_webhook.disabled.app_error", "Incoming webhooks have been disabled."
            )
        if not request.text and request.attachments is None:
            raise AppError(400, "web.incoming_webhook.text.app_error", "No text specified.")
        hook = self.state.incoming_hook(hook_id)
        if hook is None:
            raise AppError(400, "web.incoming_webhook.invalid.app_error", "Invalid webhook.")
        props: dict[str, Any] = dict(request.props or {})
        props["webhook_display_name"] = hook.display_name
        text = self.process_slack_text(request.text)
        post_type = request.type
        attachments = parse_attachments([a for a in request.attachments or [] if a is not None])
        if attachments:
            props["attachments"] = attachments
            post_type = "slack_attachment"
        channel = self._target_channel(hook, request.channel)
        if hook.channel_locked and hook.channel_id != channel.id:
            raise AppError(
                403,
                "web.incoming_webhook.channel_locked.app_error",
                "This webhook is not permitted to post to the requested channel.",
            )
        owner = self.state.users.get(hook.user_id)
        if owner is None:
            raise AppError(403, "web.incoming_webhook.user.app_error", "Couldn't find the user.")
        if channel.type != "O" and not (owner.is_admin or self.state.is_channel_member(channel.id, owner.id)):
            raise AppError(
                403, "web.incoming_webhook.permissions.app_error", "Inappropriate channel permissions."
            )
        return self.create_webhook_post(
            owner,
            channel,
            text,
            request.username or hook.username,
            request.icon_url or hook.icon_url,
            request.icon_emoji,
            props,
            post_type,
            request.priority,
        )

    def create_webhook_post(
        self,
        owner: User,
        channel: Channel,
        text: str,
        username: str,
        icon_url: str,
        icon_emoji: str,
        props: dict[str, Any],
        post_type: str,
        priority: dict[str, Any] | None,
    ) -> list[Post]:
        """``CreateWebhookPost``: the props the settings allow, split as ``SplitWebhookPost``."""
        if priority is not None and priority.get("priority") is None:
            raise invalid_param("webhook.priority.priority")
        if post_type.startswith("system_"):
            raise invalid_param("post.type")
        post_props = webhook_props(self.settings, props, username, icon_url, icon_emoji)
        if "attachments" in props:
            post_props["attachments"] = props["attachments"]
        if channel.delete_at:
            raise AppError(
                500,
                "api.post.create_webhook_post.creating.app_error",
                "Error creating post.",
            )
        return save_integration_post(
            self.state,
            owner.id,
            channel,
            slack_links_to_markdown(text),
            post_props,
            post_type,
            "",
            priority=dict(priority) if priority is not None else None,
        )
