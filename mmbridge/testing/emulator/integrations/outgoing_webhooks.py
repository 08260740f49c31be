"""Outgoing webhooks: fired in the background by ``POST /posts``; their answers are posted.

Follows ``handleWebhookEvents`` and ``TriggerWebhook`` of ``server/channels/app/webhook.go``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..errors import AppError
from ..models import Channel, OutgoingWebhook, Post, User, dumps, loads
from .outbound import FORM_CONTENT_TYPE, IntegrationError, OutboundClient
from .posting import (
    go_form_encode,
    parse_attachments,
    save_integration_post,
    slack_links_to_markdown,
    webhook_props,
)

log = logging.getLogger(__name__)


class OutgoingWebhooks(OutboundClient):
    """Calls to the callback URLs of outgoing webhooks."""

    def trigger_outgoing_webhooks(self, post: Post, channel: Channel, user: User) -> None:
        """``handleWebhookEvents`` for a post made through ``POST /posts``: fire in the background."""
        if not self.settings.enable_outgoing_webhooks or channel.type != "O":
            return
        if post.type.startswith("system_") or post.props.get("from_webhook") == "true":
            return
        hooks = [
            h for h in self.state.outgoing_hooks.values() if h.team_id == channel.team_id and not h.delete_at
        ]
        if not hooks:
            return
        words = post.message.split()
        first = words[0] if words else ""
        relevant: list[OutgoingWebhook] = []
        # As the real server, one trigger word (that of the last matching hook) goes to all.
        trigger_word = ""
        for hook in hooks:
            if hook.channel_id not in (post.channel_id, ""):
                continue
            if hook.channel_id == post.channel_id and not hook.trigger_words:
                relevant.append(hook)
                trigger_word = ""
            elif hook.trigger_when == 0 and first and first in hook.trigger_words:
                relevant.append(hook)
                trigger_word = first
            elif hook.trigger_when == 1 and first:
                match = next((t for t in hook.trigger_words if first.startswith(t)), None)
                if match is not None:
                    relevant.append(hook)
                    trigger_word = match
        if not relevant:
            return
        team = self.state.teams.get(channel.team_id)
        for hook in relevant:
            payload = {
                "token": hook.token,
                "team_id": hook.team_id,
                "team_domain": team.name if team else "",
                "channel_id": post.channel_id,
                "channel_name": channel.name,
                "timestamp": post.create_at,
                "user_id": post.user_id,
                "user_name": user.username,
                "post_id": post.id,
                "text": post.message,
                "trigger_word": trigger_word,
                "file_ids": ",".join(post.file_ids),
            }
            self.spawn(self._fire_hook(hook, payload, post, channel))

    async def _fire_hook(
        self, hook: OutgoingWebhook, payload: dict[str, Any], post: Post, channel: Channel
    ) -> None:
        if hook.content_type == "application/json":
            content_type = "application/json"
            body = dumps(payload).encode()
        else:
            content_type = FORM_CONTENT_TYPE
            form = dict(payload, timestamp=str(payload["timestamp"] // 1000))
            body = go_form_encode(list(form.items())).encode()
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        await asyncio.gather(
            *(self._call_hook_url(hook, url, body, headers, post, channel) for url in hook.callback_urls)
        )

    async def _call_hook_url(
        self,
        hook: OutgoingWebhook,
        url: str,
        body: bytes,
        headers: dict[str, str],
        post: Post,
        channel: Channel,
    ) -> None:
        try:
            answer = await self.send("outgoing_webhook", "POST", url, body=body, headers=headers)
        except IntegrationError as exc:
            log.error("Outgoing Webhook POST failed (hook %s, %s): %s", hook.id, url, exc)
            return
        # The HTTP status is not checked; an empty body means "no post".
        if not answer.body.strip():
            return
        try:
            response = loads(answer.body)
        except (ValueError, UnicodeDecodeError):
            log.error("Outgoing Webhook answer of %s is not JSON", url)
            return
        if not isinstance(response, dict):
            log.error("Outgoing Webhook answer of %s is not a JSON object", url)
            return
        text = response.get("text")
        attachments = parse_attachments(response.get("attachments"))
        if text is None and not attachments:
            return
        try:
            self._post_hook_response(hook, response, text, attachments, post, channel)
        except AppError as exc:
            log.error("Failed to create the response post of hook %s: %s", hook.id, exc)

    def _post_hook_response(
        self,
        hook: OutgoingWebhook,
        response: dict[str, Any],
        text: Any,
        attachments: list[Any] | None,
        post: Post,
        channel: Channel,
    ) -> None:
        raw_props = response.get("props")
        props: dict[str, Any] = dict(raw_props) if isinstance(raw_props, dict) else {}
        props["webhook_display_name"] = hook.display_name
        username = response.get("username") if isinstance(response.get("username"), str) else ""
        icon_url = response.get("icon_url") if isinstance(response.get("icon_url"), str) else ""
        if self.settings.enable_post_username_override and hook.username and not username:
            username = hook.username
        if self.settings.enable_post_icon_override and hook.icon_url and not icon_url:
            icon_url = hook.icon_url
        post_props = webhook_props(self.settings, props, str(username or ""), str(icon_url or ""))
        if attachments:
            post_props["attachments"] = attachments
        post_type = response.get("type") if isinstance(response.get("type"), str) else ""
        root_id = post.id if response.get("response_type") == "comment" else ""
        message = slack_links_to_markdown(text) if isinstance(text, str) else ""
        save_integration_post(
            self.state, hook.creator_id, channel, message, post_props, str(post_type), root_id
        )
