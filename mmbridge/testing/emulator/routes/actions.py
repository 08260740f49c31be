"""Interactive messages: post actions (buttons, menus) and interactive dialogs.

Follows ``server/channels/api4/integration_action.go`` and ``app/post_action.go``. Action
cookies (for ephemeral posts that are not stored) are not emulated.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ..auth import can_read_channel, require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body, invalid_url, not_found
from ..ids import is_valid_id
from ..integrations import is_valid_http_url
from ..models import Post, loads
from .common import json_response, path_id, read_body, read_object, status_ok

routes = web.RouteTableDef()

_ACTION_ID_RE = re.compile(r"^[A-Za-z0-9]+$")


def _find_action(post: Post, action_id: str) -> dict[str, Any] | None:
    """``Post.GetAction``: the action with this id in ``props.attachments[].actions[]``."""
    attachments = post.props.get("attachments")
    if not isinstance(attachments, list):
        return None
    for attachment in attachments:
        actions = attachment.get("actions") if isinstance(attachment, dict) else None
        for action in actions if isinstance(actions, list) else ():
            if isinstance(action, dict) and action.get("id") == action_id:
                return action
    return None


@routes.post("/api/v4/posts/{post_id}/actions/{action_id}")
async def do_post_action(request: web.Request) -> web.Response:
    """Click a button / pick a menu option: the integration is called, its answer applied."""
    caller = require_user(request)
    ctx = get_context(request)
    state = ctx.state
    post_id = path_id(request, "post_id")
    action_id = request.match_info["action_id"]
    if not _ACTION_ID_RE.match(action_id):
        raise invalid_url("action_id")
    raw = await read_body(request)
    try:  # as the real server: a body that does not decode is only logged
        body = loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        body = {}
    selected = body.get("selected_option") if isinstance(body, dict) else None
    post = state.posts.get(post_id)
    if post is None or post.delete_at:
        if caller.is_admin:
            raise not_found("app.post.get.app_error")
        raise forbidden()
    if not can_read_channel(state, caller, post.channel_id):
        raise forbidden()
    action = _find_action(post, action_id)
    if action is None or not isinstance(action.get("integration"), dict):
        raise AppError(404, "api.post.do_action.action_id.app_error")
    channel = state.channel(post.channel_id)
    trigger_id, goto = await ctx.integrations.do_post_action(
        caller, post, channel, action, selected if isinstance(selected, str) else ""
    )
    answer: dict[str, Any] = {"status": "OK", "trigger_id": trigger_id}
    if goto:
        answer["goto_location"] = goto
    return json_response(answer)


@routes.post("/api/v4/actions/dialogs/open")
async def open_dialog(request: web.Request) -> web.Response:
    """Validate the trigger id and send ``open_dialog`` to the user it was made for."""
    require_user(request)
    ctx = get_context(request)
    body = await read_object(request, "dialog")
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise invalid_body("url")
    trigger_id = body.get("trigger_id")
    client_trigger_id, user_id = ctx.integrations.decode_trigger_id(
        trigger_id if isinstance(trigger_id, str) else ""
    )
    dialog = dict(body, trigger_id=client_trigger_id)
    ctx.state.open_dialog(user_id, dialog)
    return status_ok()


@routes.post("/api/v4/actions/dialogs/submit")
async def submit_dialog(request: web.Request) -> web.Response:
    """Forward a dialog submission to its URL; the integration's ``error``/``errors`` come back."""
    caller = require_user(request)
    ctx = get_context(request)
    state = ctx.state
    body = await read_object(request, "dialog")
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise invalid_body("url")
    channel_id = body.get("channel_id")
    channel = (
        state.channels.get(channel_id) if isinstance(channel_id, str) and is_valid_id(channel_id) else None
    )
    if channel is None:
        raise not_found("app.channel.get.existing.app_error")
    if not can_read_channel(state, caller, channel.id):
        raise forbidden()
    team_id = body.get("team_id")
    if not caller.is_admin and not (isinstance(team_id, str) and state.is_team_member(team_id, caller.id)):
        raise forbidden()
    submission = {k: v for k, v in body.items() if k != "url"}
    submission["user_id"] = caller.id
    return json_response(await ctx.integrations.submit_dialog(url, submission))


def _is_valid_lookup_url(url: str) -> bool:
    """``model.IsValidLookupURL``: an http(s) URL, or a plugin path without ``..`` or ``//``."""
    if url.startswith("/plugins/"):
        return ".." not in url and "//" not in url
    return is_valid_http_url(url)


@routes.post("/api/v4/actions/dialogs/lookup")
async def lookup_dialog(request: web.Request) -> web.Response:
    """Ask a dialog's URL for the options of a dynamic select: the answer's ``items``."""
    caller = require_user(request)
    ctx = get_context(request)
    state = ctx.state
    body = await read_object(request, "dialog")
    url = body.get("url")
    if not isinstance(url, str) or not url or not _is_valid_lookup_url(url):
        raise invalid_body("url")
    channel_id = body.get("channel_id")
    channel = state.channel(channel_id if isinstance(channel_id, str) else "")
    if not can_read_channel(state, caller, channel.id):
        raise forbidden()
    team_id = body.get("team_id")
    if not caller.is_admin and not (isinstance(team_id, str) and state.is_team_member(team_id, caller.id)):
        raise forbidden()
    lookup = {k: v for k, v in body.items() if k != "url"}
    lookup["user_id"] = caller.id
    if url.startswith("/plugins/"):  # no plugins run here: the real server would answer 404 too
        raise AppError(400, "api.post.do_action.action_integration.app_error")
    return json_response(await ctx.integrations.lookup_dialog(url, lookup))
