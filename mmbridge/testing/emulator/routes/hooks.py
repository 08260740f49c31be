"""Outgoing webhooks: create, list, get, update, delete, regenerate the token.

Follows ``server/channels/api4/webhook.go`` and ``app/webhook.go``. The permissions
``manage_outgoing_webhooks`` (own and others') belong by default to team and system admins.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..auth import is_team_admin, require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body, not_found
from ..ids import is_valid_id, now_ms
from ..integrations import is_valid_http_url
from ..models import OutgoingWebhook, User
from ..state import State
from .common import json_response, paging, path_id, read_object, status_ok

routes = web.RouteTableDef()

_BODY = "outgoing_webhook"


def _disabled() -> AppError:
    return AppError(501, "api.outgoing_webhook.disabled.app_error")


def _check_enabled(request: web.Request) -> None:
    if not get_context(request).settings.enable_outgoing_webhooks:
        raise _disabled()


def _can_manage(state: State, user: User, team_id: str) -> bool:
    return is_team_admin(state, user, team_id)


def _str_list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid_body(_BODY)
    return list(value)


def _str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid_body(_BODY)
    return value


def _int(body: dict[str, Any], key: str) -> int:
    value = body.get(key, 0)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid_body(_BODY)
    return value


def _invalid(what: str) -> AppError:
    return AppError(
        400, f"model.outgoing_hook.is_valid.{what}.app_error", f"Invalid {what.replace('_', ' ')}."
    )


def _validate(hook: OutgoingWebhook) -> None:
    """``OutgoingWebhook.IsValid``."""
    if not is_valid_id(hook.creator_id):
        raise _invalid("user_id")
    if hook.channel_id and not is_valid_id(hook.channel_id):
        raise _invalid("channel_id")
    if not is_valid_id(hook.team_id):
        raise _invalid("team_id")
    if len(str(hook.trigger_words)) > 1024:
        raise _invalid("words")
    if any(word == "" for word in hook.trigger_words):
        raise _invalid("trigger_words")
    if not hook.callback_urls or len(str(hook.callback_urls)) > 1024:
        raise _invalid("callback")
    if not all(is_valid_http_url(url) for url in hook.callback_urls):
        raise _invalid("url")
    if len(hook.display_name) > 64:
        raise _invalid("display_name")
    if len(hook.description) > 500:
        raise _invalid("description")
    if len(hook.content_type) > 128 or hook.trigger_when > 1:
        raise _invalid("content_type")
    if len(hook.username) > 64:
        raise AppError(400, "model.outgoing_hook.username.app_error")
    if len(hook.icon_url) > 1024:
        raise AppError(400, "model.outgoing_hook.icon_url.app_error")


def _check_channel_and_triggers(state: State, hook: OutgoingWebhook, *, update: bool) -> None:
    """The channel rules of ``CreateOutgoingWebhook``/``UpdateOutgoingWebhook``."""
    if hook.channel_id:
        channel = state.channels.get(hook.channel_id)
        if channel is None:
            raise not_found("app.channel.get.existing.app_error")
        if channel.type != "O":
            if update:
                raise AppError(403, "api.webhook.create_outgoing.not_open.app_error")
            # The real server answers this (sic) id for a private channel on creation.
            raise AppError(403, "api.outgoing_webhook.disabled.app_error")
        if channel.team_id != hook.team_id:
            raise AppError(403, "api.webhook.create_outgoing.permissions.app_error")
    elif not hook.trigger_words:
        # The real server answers 500 to the same mistake on update.
        raise AppError(500 if update else 400, "api.webhook.create_outgoing.triggers.app_error")
    for other in state.outgoing_hooks.values():
        if other.delete_at or other.team_id != hook.team_id or other.id == hook.id:
            continue
        if (
            other.channel_id == hook.channel_id
            and set(other.callback_urls) & set(hook.callback_urls)
            and set(other.trigger_words) & set(hook.trigger_words)
        ):
            if update:
                raise AppError(400, "api.webhook.update_outgoing.intersect.app_error")
            raise AppError(500, "api.webhook.create_outgoing.intersect.app_error")


def _hook(request: web.Request, caller: User) -> OutgoingWebhook:
    """The hook of the URL, after the enabled and permission checks of the real handlers."""
    state = get_context(request).state
    hook_id = path_id(request, "hook_id")
    _check_enabled(request)
    hook = state.outgoing_hooks.get(hook_id)
    if hook is None or hook.delete_at:
        raise not_found("app.webhooks.get_outgoing.app_error")
    if not _can_manage(state, caller, hook.team_id):
        raise forbidden()
    return hook


@routes.post("/api/v4/hooks/outgoing")
async def create_outgoing_hook(request: web.Request) -> web.Response:
    """Create an outgoing webhook (201); the token is generated."""
    caller = require_user(request)
    state = get_context(request).state
    body = await read_object(request, _BODY)
    team_id = _str(body, "team_id")
    if not _can_manage(state, caller, team_id):
        raise forbidden()
    creator_id = _str(body, "creator_id") or caller.id
    if creator_id != caller.id:
        state.user(creator_id)
    now = now_ms()
    hook = OutgoingWebhook(
        id=state.ids.new_id(),
        token=state.ids.new_token(),
        create_at=now,
        update_at=now,
        creator_id=creator_id,
        team_id=team_id,
        channel_id=_str(body, "channel_id"),
        trigger_words=_str_list(body, "trigger_words"),
        trigger_when=_int(body, "trigger_when"),
        callback_urls=_str_list(body, "callback_urls"),
        display_name=_str(body, "display_name"),
        description=_str(body, "description"),
        content_type=_str(body, "content_type"),
        username=_str(body, "username"),
        icon_url=_str(body, "icon_url"),
    )
    _check_enabled(request)
    _check_channel_and_triggers(state, hook, update=False)
    _validate(hook)
    state.outgoing_hooks[hook.id] = hook
    return json_response(hook.to_json(), status=201)


@routes.get("/api/v4/hooks/outgoing")
async def get_outgoing_hooks(request: web.Request) -> web.Response:
    """A page of hooks, optionally of one channel (``channel_id``) or team (``team_id``)."""
    caller = require_user(request)
    state = get_context(request).state
    channel_id = request.query.get("channel_id", "")
    team_id = request.query.get("team_id", "")
    if channel_id:
        channel = state.channels.get(channel_id)
        if channel is None or not _can_manage(state, caller, channel.team_id):
            raise forbidden()
        _check_enabled(request)
        hooks = [h for h in state.outgoing_hooks.values() if h.channel_id == channel_id]
    elif team_id:
        if not _can_manage(state, caller, team_id):
            raise forbidden()
        _check_enabled(request)
        hooks = [h for h in state.outgoing_hooks.values() if h.team_id == team_id]
    else:
        if not caller.is_admin:
            raise forbidden()
        _check_enabled(request)
        hooks = list(state.outgoing_hooks.values())
    page, per_page = paging(request)
    live = [h for h in hooks if not h.delete_at]
    return json_response([h.to_json() for h in live[page * per_page : (page + 1) * per_page]])


@routes.get("/api/v4/hooks/outgoing/{hook_id}")
async def get_outgoing_hook(request: web.Request) -> web.Response:
    """One hook."""
    caller = require_user(request)
    return json_response(_hook(request, caller).to_json())


@routes.put("/api/v4/hooks/outgoing/{hook_id}")
async def update_outgoing_hook(request: web.Request) -> web.Response:
    """Replace a hook's settings (its creator, team and creation time stay)."""
    caller = require_user(request)
    state = get_context(request).state
    hook_id = path_id(request, "hook_id")
    body = await read_object(request, _BODY)
    if body.get("id") != hook_id:
        raise invalid_body("hook_id")
    old = _hook(request, caller)
    team_id = _str(body, "team_id") or old.team_id
    if team_id != old.team_id:
        raise AppError(400, "api.webhook.team_mismatch.app_error")
    updated = OutgoingWebhook(
        id=old.id,
        token=_str(body, "token") or old.token,
        create_at=old.create_at,
        update_at=max(now_ms(), old.update_at + 1),
        creator_id=old.creator_id,
        team_id=old.team_id,
        channel_id=_str(body, "channel_id"),
        trigger_words=_str_list(body, "trigger_words"),
        trigger_when=_int(body, "trigger_when"),
        callback_urls=_str_list(body, "callback_urls"),
        display_name=_str(body, "display_name"),
        description=_str(body, "description"),
        content_type=_str(body, "content_type"),
        username=_str(body, "username"),
        icon_url=_str(body, "icon_url"),
    )
    _check_channel_and_triggers(state, updated, update=True)
    _validate(updated)
    state.outgoing_hooks[old.id] = updated
    return json_response(updated.to_json())


@routes.delete("/api/v4/hooks/outgoing/{hook_id}")
async def delete_outgoing_hook(request: web.Request) -> web.Response:
    """Soft-delete a hook."""
    caller = require_user(request)
    hook = _hook(request, caller)
    hook.delete_at = now_ms()
    return status_ok()


@routes.post("/api/v4/hooks/outgoing/{hook_id}/regen_token")
async def regen_outgoing_hook_token(request: web.Request) -> web.Response:
    """A new token; the real server answers the whole hook (the spec says StatusOK)."""
    caller = require_user(request)
    hook = _hook(request, caller)
    hook.token = get_context(request).state.ids.new_token()
    hook.update_at = max(now_ms(), hook.update_at + 1)
    return json_response(hook.to_json())
