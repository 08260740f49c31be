"""What every integration kind shares when it posts: Slack markup, webhook props, long posts.

Follows ``CreateWebhookPost`` and ``SplitWebhookPost`` of ``server/channels/app/webhook.go``.
Posts are built with ``State.new_post`` and stored with ``State.save_post`` (which announces them).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

from ..errors import AppError, invalid_param
from ..models import Channel, Post, dumps, generate_action_ids
from ..settings import EmulatorSettings
from ..state import State

__all__ = [
    "DEFAULT_WEBHOOK_USERNAME",
    "POST_PROPS_MAX_USER_RUNES",
    "RETAIN_PROP_KEYS",
    "go_form_encode",
    "is_valid_http_url",
    "parse_attachments",
    "save_integration_post",
    "slack_links_to_markdown",
    "webhook_props",
]

#: ``model.PostActionRetainPropKeys``: kept on a post whatever an action's update says.
RETAIN_PROP_KEYS = ("from_webhook", "override_username", "override_icon_url")
#: ``model.DefaultWebhookUsername``.
DEFAULT_WEBHOOK_USERNAME = "webhook"
#: ``model.PostPropsMaxUserRunes``: the props of one post, as JSON, at most this long.
POST_PROPS_MAX_USER_RUNES = 800000
#: The props an integration may not set itself (``CreateWebhookPost`` drops them).
_RESERVED = ("attachments", "override_icon_url", "override_username", "from_webhook")

_SLACK_LINK_RE = re.compile(r"<([^\n<|>]+)\|([^|\n>]+)>")


def slack_links_to_markdown(text: str) -> str:
    """``<url|text>`` becomes ``[text](url)`` (``ParseSlackLinksToMarkdown``)."""
    return _SLACK_LINK_RE.sub(r"[\2](\1)", text)


def go_form_encode(pairs: list[tuple[str, str]]) -> str:
    """``url.Values.Encode``: keys sorted (values keep their order), ``+`` for spaces."""
    return urlencode(sorted(pairs, key=lambda kv: kv[0]), quote_via=quote_plus)


def is_valid_http_url(url: str) -> bool:
    """``model.IsValidHTTPURL``: an http(s) URL with a host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def parse_attachments(value: Any) -> list[Any] | None:
    """Attachments with their Slack links turned into Markdown, or None when absent/empty."""
    if not isinstance(value, list) or not value:
        return None
    out = []
    for attachment in value:
        if isinstance(attachment, dict):
            attachment = dict(attachment)
            for key in ("text", "pretext"):
                if isinstance(attachment.get(key), str):
                    attachment[key] = slack_links_to_markdown(attachment[key])
        out.append(attachment)
    return out


def webhook_props(
    settings: EmulatorSettings,
    props: dict[str, Any],
    username: str,
    icon_url: str,
    icon_emoji: str = "",
) -> dict[str, Any]:
    """``CreateWebhookPost``'s props: ``from_webhook`` and the overrides the settings allow."""
    out: dict[str, Any] = {"from_webhook": "true"}
    if settings.enable_post_username_override:
        out["override_username"] = username or DEFAULT_WEBHOOK_USERNAME
    if settings.enable_post_icon_override:
        if icon_url:
            out["override_icon_url"] = icon_url
        if icon_emoji:
            out["override_icon_emoji"] = icon_emoji
    for key, value in props.items():
        if key not in _RESERVED:
            out[key] = value
    return out


def _split_message(message: str, limit: int) -> list[str]:
    """The message in chunks of at most ``limit`` runes (one empty chunk for an empty text)."""
    return [message[i : i + limit] for i in range(0, len(message), limit)] or [""]


def save_integration_post(
    state: State,
    user_id: str,
    channel: Channel,
    message: str,
    props: dict[str, Any],
    post_type: str,
    root_id: str,
    priority: dict[str, Any] | None = None,
) -> list[Post]:
    """Create one post, or several when the text is over the size limit (``SplitWebhookPost``).

    The props other than ``attachments`` go on every part; the attachments go on the last.
    """
    if post_type.startswith("system_"):
        raise invalid_param("post.type")
    base = {k: v for k, v in props.items() if k != "attachments"}
    if len(dumps(base)) > POST_PROPS_MAX_USER_RUNES:
        raise AppError(
            400,
            "web.incoming_webhook.split_props_length.app_error",
            f"Unable to split webhook props into {POST_PROPS_MAX_USER_RUNES} character parts.",
        )
    if root_id:
        root = state.posts.get(root_id)
        if root is None or root.delete_at or root.channel_id != channel.id:
            raise AppError(400, "api.post.create_post.root_id.app_error")
        root_id = root.root_id or root.id
    chunks = _split_message(message, state.settings.max_post_size)
    sender = state.users.get(user_id)
    created = []
    for index, chunk in enumerate(chunks):
        chunk_props = dict(base)
        if index == len(chunks) - 1 and "attachments" in props:
            chunk_props["attachments"] = props["attachments"]
        generate_action_ids(chunk_props)
        post = state.new_post(
            channel.id,
            user_id,
            chunk,
            post_type=post_type,
            root_id=root_id,
            props=chunk_props,
            priority=priority,
        )
        state.save_post(post, sender=sender)
        created.append(post)
    return created
