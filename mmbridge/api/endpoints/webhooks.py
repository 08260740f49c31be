"""``/hooks``: outgoing webhooks (how the server tells a bridge about posts by HTTP) and incoming
webhooks (how anything may post with a URL alone)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import ValidationError
from ...types import IncomingWebhook, OutgoingWebhook, WebhookID, structure, structure_list
from .. import validation as check
from .base import EndpointGroup

CONTENT_TYPES = ("application/x-www-form-urlencoded", "application/json")


class WebhooksAPI(EndpointGroup):
    """Outgoing webhooks (create, read, list, update, delete, renew their tokens) and incoming ones."""

    __slots__ = ()

    async def create_outgoing(
        self,
        team_id: str,
        display_name: str,
        callback_urls: Sequence[str],
        *,
        channel_id: str = "",
        trigger_words: Sequence[str] = (),
        trigger_when: int = 0,
        description: str = "",
        content_type: str = "application/json",
    ) -> OutgoingWebhook:
        """Create an outgoing webhook on a team (and, with ``channel_id``, one open channel)."""
        body = _hook_body(
            team_id,
            display_name,
            callback_urls,
            channel_id,
            trigger_words,
            trigger_when,
            description,
            content_type,
        )
        data = await self.http.request("POST", ("hooks", "outgoing"), json_body=body)
        return structure(data, OutgoingWebhook)

    async def get_outgoing(self, hook_id: WebhookID) -> OutgoingWebhook:
        """One outgoing webhook."""
        check.require_id("hook_id", hook_id)
        return structure(await self.http.request("GET", ("hooks", "outgoing", hook_id)), OutgoingWebhook)

    async def list_outgoing(
        self, *, team_id: str = "", channel_id: str = "", page: int = 0, per_page: int = 60
    ) -> list[OutgoingWebhook]:
        """A page of outgoing webhooks, of a team or a channel."""
        check.require_page(page, per_page)
        params: dict[str, str | int] = {"page": page, "per_page": per_page}
        if team_id:
            params["team_id"] = check.require_id("team_id", team_id)
        if channel_id:
            params["channel_id"] = check.require_id("channel_id", channel_id)
        data = await self.http.request("GET", ("hooks", "outgoing"), params=params)
        return structure_list(data, OutgoingWebhook)

    async def update_outgoing(self, hook: OutgoingWebhook, **changes: Any) -> OutgoingWebhook:
        """Change an outgoing webhook (``callback_urls=...``, ``trigger_words=...``, ...)."""
        current = {
            "id": hook.id,
            "team_id": hook.team_id,
            "channel_id": hook.channel_id,
            "display_name": hook.display_name,
            "description": hook.description,
            "trigger_words": list(hook.trigger_words),
            "trigger_when": hook.trigger_when,
            "callback_urls": list(hook.callback_urls),
            "content_type": hook.content_type,
        }
        unknown = set(changes) - set(current) - {"id"}
        if unknown:
            raise ValidationError(", ".join(sorted(unknown)), "is not a field of an outgoing webhook")
        merged = {**current, **changes}
        body = _hook_body(
            merged["team_id"],
            merged["display_name"],
            merged["callback_urls"],
            merged["channel_id"],
            merged["trigger_words"],
            merged["trigger_when"],
            merged["description"],
            merged["content_type"] or CONTENT_TYPES[0],
        )
        body["id"] = hook.id
        data = await self.http.request("PUT", ("hooks", "outgoing", hook.id), json_body=body)
        return structure(data, OutgoingWebhook)

    async def delete_outgoing(self, hook_id: WebhookID) -> None:
        """Delete an outgoing webhook."""
        check.require_id("hook_id", hook_id)
        await self.http.request("DELETE", ("hooks", "outgoing", hook_id))

    async def regen_outgoing_token(self, hook_id: WebhookID) -> OutgoingWebhook:
        """Give an outgoing webhook a new token (the old one stops working)."""
        check.require_id("hook_id", hook_id)
        data = await self.http.request("POST", ("hooks", "outgoing", hook_id, "regen_token"))
        return structure(data, OutgoingWebhook)

    async def create_incoming(
        self,
        channel_id: str,
        *,
        display_name: str = "",
        description: str = "",
        username: str = "",
        icon_url: str = "",
        channel_locked: bool = False,
    ) -> IncomingWebhook:
        """Create an incoming webhook posting into ``channel_id`` (``username``/``icon_url`` are
        used only where the server allows overrides)."""
        body: dict[str, Any] = {"channel_id": check.require_id("channel_id", channel_id)}
        body.update(_incoming_fields(display_name, description, username, icon_url))
        if channel_locked:
            body["channel_locked"] = True
        data = await self.http.request("POST", ("hooks", "incoming"), json_body=body)
        return structure(data, IncomingWebhook)

    async def get_incoming(self, hook_id: WebhookID) -> IncomingWebhook:
        """One incoming webhook."""
        check.require_id("hook_id", hook_id)
        return structure(await self.http.request("GET", ("hooks", "incoming", hook_id)), IncomingWebhook)

    async def list_incoming(
        self, *, team_id: str = "", page: int = 0, per_page: int = 60
    ) -> list[IncomingWebhook]:
        """A page of incoming webhooks, of one team when given."""
        check.require_page(page, per_page)
        params: dict[str, str | int] = {"page": page, "per_page": per_page}
        if team_id:
            params["team_id"] = check.require_id("team_id", team_id)
        data = await self.http.request("GET", ("hooks", "incoming"), params=params)
        return structure_list(data, IncomingWebhook)

    async def update_incoming(self, hook: IncomingWebhook) -> IncomingWebhook:
        """Save a changed incoming webhook (e.g. ``attrs.evolve(hook, display_name="...")``)."""
        check.require_id("hook_id", hook.id)
        body: dict[str, Any] = {
            "id": hook.id,
            "channel_id": check.require_id("channel_id", hook.channel_id),
            "channel_locked": hook.channel_locked,
            **_incoming_fields(hook.display_name, hook.description, hook.username, hook.icon_url),
        }
        data = await self.http.request("PUT", ("hooks", "incoming", hook.id), json_body=body)
        return structure(data, IncomingWebhook)

    async def delete_incoming(self, hook_id: WebhookID) -> None:
        """Delete an incoming webhook; its URL stops working."""
        check.require_id("hook_id", hook_id)
        await self.http.request("DELETE", ("hooks", "incoming", hook_id))


def _hook_body(
    team_id: str,
    display_name: str,
    callback_urls: Sequence[str],
    channel_id: str,
    trigger_words: Sequence[str],
    trigger_when: int,
    description: str,
    content_type: str,
) -> dict[str, Any]:
    if isinstance(callback_urls, str) or not callback_urls:
        raise ValidationError("callback_urls", "needs at least one URL (a list, not a string)")
    for url in callback_urls:
        if not url.startswith(("http://", "https://")):
            raise ValidationError("callback_urls", f"{url!r} is not an http(s) URL")
    if isinstance(trigger_words, str):
        raise ValidationError("trigger_words", "must be a list of words, not a string")
    if trigger_when not in (0, 1):
        raise ValidationError("trigger_when", "must be 0 (exact first word) or 1 (first word starts with)")
    if not channel_id and not trigger_words:
        raise ValidationError("trigger_words", "a team-wide webhook needs trigger words")
    body: dict[str, Any] = {
        "team_id": check.require_id("team_id", team_id),
        "display_name": check.require_text("display_name", display_name, maximum=64),
        "description": check.require_text("description", description, maximum=500),
        "callback_urls": list(callback_urls),
        "trigger_words": list(trigger_words),
        "trigger_when": trigger_when,
        "content_type": check.require_choice("content_type", content_type, CONTENT_TYPES),
    }
    if channel_id:
        body["channel_id"] = check.require_id("channel_id", channel_id)
    return body


def _incoming_fields(display_name: str, description: str, username: str, icon_url: str) -> dict[str, str]:
    """The text fields of an incoming webhook, checked against the server's limits."""
    return {
        "display_name": check.require_text("display_name", display_name, maximum=64),
        "description": check.require_text("description", description, maximum=500),
        "username": check.require_text("username", username, maximum=255),
        "icon_url": check.require_text("icon_url", icon_url, maximum=1024),
    }
