"""Webhooks: incoming and outgoing ones (create, list, get, update, delete), the outgoing
hooks' token, and the execution of incoming webhooks (``POST /hooks/{id}``).

Follows ``server/channels/api4/webhook.go``, ``web/webhook.go`` and ``app/webhook.go``. The
permissions ``manage_{own,others}_{incoming,outgoing}_webhooks`` and
``bypass_incoming_webhook_channel_lock`` belong by default to team and system admins.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from ..auth import can_read_channel, is_team_admin, require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body, not_found
from ..ids import is_valid_id, now_ms
from ..integrations import decode_incoming_payload, is_valid_http_url
from ..models import (
    Channel,
    IncomingWebhook,
    IncomingWebhookBody,
    IncomingWebhookRequest,
    OutgoingWebhook,
    User,
    loads,
)
from ..state import State
from .common import json_response, paging, path_id, query_bool, read_body, read_model, read_object, status_ok

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


# ------------------------------------------------------------------ incoming webhooks
_INCOMING = "incoming_webhook"
#: What ``mime.ParseMediaType`` accepts as a media type: a token, or ``type/subtype``.
_MEDIA_TYPE_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+(/[!#$%&'*+\-.^_`|~0-9a-z]+)?")


def _incoming_disabled() -> AppError:
    return AppError(501, "api.incoming_webhook.disabled.app_error", "Incoming webhooks have been disabled.")


def _check_incoming_enabled(request: web.Request) -> None:
    if not get_context(request).settings.enable_incoming_webhooks:
        raise _incoming_disabled()


def _valid_username(name: str) -> bool:
    """``model.IsValidUsername``: 3-22 of ``a-z0-9.-_``, starting with a letter."""
    return (
        3 <= len(name) <= 22
        and name[0].isascii()
        and name[0].islower()
        and all(c.isascii() and (c.islower() or c.isdigit() or c in ".-_") for c in name)
    )


def _incoming_invalid(what: str) -> AppError:
    return AppError(400, f"model.incoming_hook.{what}.app_error", f"Invalid {what.replace('_', ' ')}.")


def _validate_incoming(hook: IncomingWebhook) -> None:
    """``IncomingWebhook.IsValid`` (the ids and the lengths)."""
    for what, value in (
        ("user_id", hook.user_id),
        ("channel_id", hook.channel_id),
        ("team_id", hook.team_id),
    ):
        if not is_valid_id(value):
            raise _incoming_invalid(what)
    limits: tuple[tuple[str, str, int], ...] = (
        ("display_name", hook.display_name, 64),
        ("description", hook.description, 500),
    )
    limits += (("username", hook.username, 64), ("icon_url", hook.icon_url, 1024))
    for what, value, limit in limits:
        if len(value) > limit:
            raise _incoming_invalid(what)


def _check_override_fields(request: web.Request, hook: IncomingWebhook, old: IncomingWebhook | None) -> None:
    """Overrides the settings forbid are dropped (kept as they were on update); then the name."""
    settings = get_context(request).settings
    if not settings.enable_post_username_override:
        hook.username = old.username if old is not None else ""
    if not settings.enable_post_icon_override:
        hook.icon_url = old.icon_url if old is not None else ""
    if hook.username and not _valid_username(hook.username):
        raise AppError(400, "api.incoming_webhook.invalid_username.app_error", "Invalid username.")


def _incoming_hook(request: web.Request, caller: User) -> tuple[IncomingWebhook, Channel]:
    """The hook of the URL and its channel, after the checks of ``getIncomingHook``."""
    state = get_context(request).state
    hook_id = path_id(request, "hook_id")
    _check_incoming_enabled(request)
    hook = state.incoming_hook(hook_id)
    if hook is None:
        raise not_found("app.webhooks.get_incoming.app_error")
    channel = state.channel(hook.channel_id)
    restricted = channel.type != "O" and not can_read_channel(state, caller, channel.id)
    if not _can_manage(state, caller, hook.team_id) or restricted:
        raise forbidden()
    return hook, channel


@routes.post("/api/v4/hooks/incoming")
async def create_incoming_hook(request: web.Request) -> web.Response:
    """Create an incoming webhook for a channel the caller can read (201)."""
    caller = require_user(request)
    state = get_context(request).state
    body = await read_model(request, IncomingWebhookBody, _INCOMING)
    channel = state.channel(body.channel_id)
    if not _can_manage(state, caller, channel.team_id) or not can_read_channel(state, caller, channel.id):
        raise forbidden()
    owner_id = caller.id
    if body.user_id and body.user_id != caller.id:
        owner_id = state.user(body.user_id).id
    hook = IncomingWebhook(
        id="",
        create_at=0,
        update_at=0,
        user_id=owner_id,
        channel_id=channel.id,
        team_id=channel.team_id,
        display_name=body.display_name,
        description=body.description,
        username=body.username,
        icon_url=body.icon_url,
        # Whoever may manage hooks may also bypass the lock, so the body's value stands.
        channel_locked=body.channel_locked,
    )
    _check_incoming_enabled(request)
    _check_override_fields(request, hook, None)
    hook.id = state.ids.new_id()  # ``PreSave`` runs before ``IsValid``
    hook.create_at = hook.update_at = now_ms()
    _validate_incoming(hook)
    return json_response(state.add_incoming_hook(hook).to_json(), status=201)


@routes.get("/api/v4/hooks/incoming")
async def get_incoming_hooks(request: web.Request) -> web.Response:
    """A page of incoming webhooks, of one team (``team_id``) or all (system admins)."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = request.query.get("team_id", "")
    allowed = _can_manage(state, caller, team_id) if team_id else caller.is_admin
    if not allowed:
        raise forbidden()
    _check_incoming_enabled(request)
    hooks = [
        h for h in state.incoming_hooks.values() if not h.delete_at and (not team_id or h.team_id == team_id)
    ]
    page, per_page = paging(request)
    listed = [h.to_json() for h in hooks[page * per_page : (page + 1) * per_page]]
    if query_bool(request, "include_total_count", False):
        return json_response({"incoming_webhooks": listed, "total_count": len(hooks)})
    return json_response(listed)


@routes.get("/api/v4/hooks/incoming/{hook_id}")
async def get_incoming_hook(request: web.Request) -> web.Response:
    """One incoming webhook."""
    caller = require_user(request)
    hook, _channel = _incoming_hook(request, caller)
    return json_response(hook.to_json())


@routes.put("/api/v4/hooks/incoming/{hook_id}")
async def update_incoming_hook(request: web.Request) -> web.Response:
    """Replace a hook's channel, names, overrides and lock; the real server answers 201."""
    caller = require_user(request)
    state = get_context(request).state
    hook_id = path_id(request, "hook_id")
    body = await read_model(request, IncomingWebhookBody, _INCOMING)
    if body.id != hook_id:
        raise invalid_body("hook_id")
    _check_incoming_enabled(request)
    old = state.incoming_hook(hook_id)
    if old is None:
        raise not_found("app.webhooks.get_incoming.app_error")
    team_id = body.team_id or old.team_id
    if team_id != old.team_id:
        raise AppError(400, "api.webhook.team_mismatch.app_error")
    channel = state.channel(body.channel_id)
    if channel.team_id != team_id:
        raise invalid_body("channel_id")
    if not _can_manage(state, caller, channel.team_id):
        raise forbidden()
    if channel.type != "O" and not can_read_channel(state, caller, channel.id):
        raise forbidden()
    updated = IncomingWebhook(
        id=old.id,
        create_at=old.create_at,
        update_at=old.update_at,
        user_id=old.user_id,
        channel_id=channel.id,
        team_id=old.team_id,
        display_name=body.display_name,
        description=body.description,
        username=body.username,
        icon_url=body.icon_url,
        channel_locked=body.channel_locked,
    )
    _check_override_fields(request, updated, old)
    _validate_incoming(updated)
    return json_response(state.replace_incoming_hook(updated).to_json(), status=201)


@routes.delete("/api/v4/hooks/incoming/{hook_id}")
async def delete_incoming_hook(request: web.Request) -> web.Response:
    """Soft-delete an incoming webhook."""
    caller = require_user(request)
    hook, _channel = _incoming_hook(request, caller)
    get_context(request).state.delete_incoming_hook(hook)
    return status_ok()


async def _incoming_payload(request: web.Request, hook_id: str) -> IncomingWebhookRequest:
    """The payload as ``web/webhook.go`` reads it: a form's ``payload``, multipart fields, or JSON."""
    raw = await read_body(request)
    content_type = request.headers.get("Content-Type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if content_type and not _MEDIA_TYPE_RE.fullmatch(media_type):
        raise AppError(400, "api.webhook.incoming.error", f"Webhook {hook_id}: invalid media type.")
    if media_type == "application/x-www-form-urlencoded":
        form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        return decode_incoming_payload((form.get("payload") or [""])[0].encode())
    if media_type == "multipart/form-data":
        try:
            post = await request.post()
        except (ValueError, AssertionError):  # aiohttp: no boundary, truncated body
            raise AppError(
                400, "api.webhook.incoming.error", f"Webhook {hook_id}: could not parse the form."
            ) from None
        fields = {"text": "text", "username": "username", "iconurl": "icon_url", "channelname": "channel"}
        fields |= {"type": "type", "iconemoji": "icon_emoji"}
        payload = IncomingWebhookRequest()
        for key, value in post.items():
            name = fields.get(key.replace("_", "").lower())
            if name is None or not isinstance(value, str):
                raise AppError(400, "api.webhook.incoming.error", f"Webhook {hook_id}: invalid field {key}.")
            setattr(payload, name, value)
        return payload
    return decode_incoming_payload(raw)


@routes.post("/hooks/commands/{id:[A-Za-z0-9]+}")
async def command_webhook(request: web.Request) -> web.Response:
    """A slash command's later answer, to the ``response_url`` it was called with: a JSON
    ``CommandResponse``, or any other body as its text; the answer is the text ``ok``."""
    body = await read_body(request)
    if request.content_type == "application/json":
        try:
            parsed = loads(body)
        except (ValueError, UnicodeDecodeError):
            parsed = None
        if not isinstance(parsed, dict):
            raise AppError(400, "web.command_webhook.parse.app_error")
    else:
        parsed = {"text": body.decode("utf-8", "replace")}
    get_context(request).integrations.handle_command_webhook(request.match_info["id"], parsed)
    return web.Response(text="ok", content_type="text/plain")


@routes.post("/hooks/{hook_id:[A-Za-z0-9]+}")
async def execute_incoming_hook(request: web.Request) -> web.Response:
    """Post what an incoming webhook was sent; the answer is the text ``ok``."""
    hook_id = request.match_info["hook_id"]
    payload = await _incoming_payload(request, hook_id)
    get_context(request).integrations.handle_incoming_webhook(hook_id, payload)
    return web.Response(text="ok", content_type="text/plain")
