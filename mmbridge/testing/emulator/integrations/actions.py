"""Post actions (buttons, menus): the integration is called, its answer applied to the post.

Follows ``DoPostActionWithCookie`` and ``DoActionRequest`` of ``server/channels/app/post_action.go``.
"""

from __future__ import annotations

import logging
from typing import Any

from ..errors import AppError
from ..ids import now_ms
from ..models import Channel, Post, User, dumps, generate_action_ids, hashtags_of, loads
from .outbound import IntegrationError, OutboundClient, OutboundResponse
from .posting import RETAIN_PROP_KEYS, is_valid_http_url, slack_links_to_markdown

log = logging.getLogger(__name__)


def action_error() -> AppError:
    """400 ``api.post.do_action.action_integration.app_error``: the integration failed."""
    return AppError(400, "api.post.do_action.action_integration.app_error")


class PostActions(OutboundClient):
    """Calls to the URLs of post actions."""

    async def do_post_action(
        self, user: User, post: Post, channel: Channel, action: dict[str, Any], selected_option: str
    ) -> tuple[str, str]:
        """``DoPostActionWithCookie`` for a stored post; returns (trigger id, goto_location)."""
        integration = action.get("integration") or {}
        context = integration.get("context")
        context = dict(context) if isinstance(context, dict) else None
        team = self.state.teams.get(channel.team_id)
        request: dict[str, Any] = {
            "user_id": user.id,
            "user_name": user.username,
            "channel_id": post.channel_id,
            "channel_name": channel.name,
            "team_id": channel.team_id,
            "team_domain": team.name if team else "",
            "post_id": post.id,
            "trigger_id": "",
            "type": action.get("type") or "",
            "data_source": "",
            "context": context,
        }
        if selected_option:
            request["context"] = dict(context or {}, selected_option=selected_option)
            request["data_source"] = action.get("data_source") or ""
        client_trigger_id, request["trigger_id"] = self.new_trigger_id(user.id)
        retain = {k: post.props[k] for k in RETAIN_PROP_KEYS if k in post.props}
        remove = [k for k in RETAIN_PROP_KEYS if k not in post.props]
        answer = await self.action_request("post_action", str(integration.get("url") or ""), request)
        response: dict[str, Any] = {}
        if answer.body:
            try:
                parsed = loads(answer.body)
            except (ValueError, UnicodeDecodeError):
                raise action_error() from None
            if not isinstance(parsed, dict):
                raise action_error()
            response = parsed
        update = response.get("update")
        if isinstance(update, dict):
            self._apply_update(post, update, retain, remove)
        ephemeral_text = response.get("ephemeral_text")
        if isinstance(ephemeral_text, str) and ephemeral_text:
            if not response.get("skip_slack_parsing"):
                ephemeral_text = slack_links_to_markdown(ephemeral_text)
            ephemeral = self.ephemeral_post(user.id, post.channel_id, ephemeral_text, post.root_id or post.id)
            ephemeral.props.update(retain)
            self.state.send_ephemeral(user.id, ephemeral)
        goto = response.get("goto_location")
        return client_trigger_id, goto if isinstance(goto, str) else ""

    async def action_request(self, kind: str, url: str, request: dict[str, Any]) -> OutboundResponse:
        """``DoActionRequest``: POST JSON; no answer or a non-200 is a 400 for the caller."""
        if not is_valid_http_url(url):
            raise action_error()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        try:
            answer = await self.send(kind, "POST", url, body=dumps(request).encode(), headers=headers)
        except IntegrationError as exc:
            log.error("integration action %s failed: %s", url, exc)
            raise action_error() from None
        if answer.status != 200:
            log.error("integration action %s answered %s", url, answer.status)
            raise action_error()
        return answer

    def _apply_update(
        self, post: Post, update: dict[str, Any], retain: dict[str, Any], remove: list[str]
    ) -> None:
        """``UpdatePost(update, safeUpdate=false)`` with the props the server keeps."""
        props = update.get("props")
        if isinstance(props, dict):
            new_props = dict(props)
            new_props.update(retain)
            for key in remove:
                new_props.pop(key, None)
        else:
            new_props = post.props
        message = update.get("message")
        message = message if isinstance(message, str) else ""
        previous = post.clone()
        now = max(now_ms(), post.update_at + 1)
        if message != post.message:
            post.message = message
            post.hashtags = hashtags_of(message)
            post.edit_at = now
        generate_action_ids(new_props)
        post.props = new_props
        post.update_at = now
        self.state.post_edited(post, previous)
