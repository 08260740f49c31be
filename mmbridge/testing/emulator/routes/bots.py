"""Bot accounts."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import BodyPartReader, web

from ..auth import can_manage_bot, require_admin, require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body, not_found
from ..models import Bot, User, loads
from ..state import State
from ..validation import check_email, check_password, check_short_field, check_username
from .common import (
    get_str,
    json_response,
    paging,
    path_id,
    path_user_id,
    query_bool,
    read_body,
    read_object,
    status_ok,
)

routes = web.RouteTableDef()


def _bot(state: State, bot_user_id: str) -> Bot:
    bot = state.bots.get(bot_user_id)
    if bot is None:
        raise not_found("store.sql_bot.get.missing.app_error")
    return bot


@routes.post("/api/v4/bots")
async def create_bot(request: web.Request) -> web.Response:
    """Create a bot owned by the caller (403 when bot creation is disabled)."""
    caller = require_user(request)
    ctx = get_context(request)
    if not ctx.settings.enable_bot_account_creation:
        raise AppError(403, "api.bot.create_disabled")
    if caller.is_bot:
        raise forbidden()
    body = await read_object(request, "bot")
    username = check_username(get_str(body, "username", "bot") or "")
    display_name = get_str(body, "display_name", "bot") or ""
    description = get_str(body, "description", "bot") or ""
    bot = ctx.state.add_bot(username, display_name, description, caller.id)
    return json_response(bot.to_json(), status=201)


@routes.get("/api/v4/bots")
async def list_bots(request: web.Request) -> web.Response:
    """Bots, paged; non-admins see their own."""
    caller = require_user(request)
    state = get_context(request).state
    page, per_page = paging(request)
    include_deleted = request.query.get("include_deleted", "").lower() == "true"
    bots = [
        b
        for b in state.bots.values()
        if (caller.is_admin or b.owner_id == caller.id) and (include_deleted or not b.delete_at)
    ]
    chunk = bots[page * per_page : (page + 1) * per_page]
    return json_response([b.to_json() for b in chunk])


@routes.get("/api/v4/bots/{bot_user_id}")
async def get_bot(request: web.Request) -> web.Response:
    """A bot by its user id."""
    caller = require_user(request)
    state = get_context(request).state
    bot = _bot(state, path_id(request, "bot_user_id"))
    if not can_manage_bot(state, caller, bot.user_id):
        raise not_found("store.sql_bot.get.missing.app_error")
    return json_response(bot.to_json())


@routes.put("/api/v4/bots/{bot_user_id}")
async def patch_bot(request: web.Request) -> web.Response:
    """Patch username, display_name and description."""
    caller = require_user(request)
    state = get_context(request).state
    bot = _bot(state, path_id(request, "bot_user_id"))
    if not can_manage_bot(state, caller, bot.user_id):
        raise forbidden()
    body = await read_object(request, "bot")
    username = get_str(body, "username", "bot")
    display_name = get_str(body, "display_name", "bot")
    description = get_str(body, "description", "bot")
    state.patch_bot(
        bot,
        username=check_username(username or "") if "username" in body else None,
        display_name=display_name or "" if "display_name" in body else None,
        description=description or "" if "description" in body else None,
    )
    return json_response(bot.to_json())


def _managed_bot(state: State, caller: User, bot_user_id: str) -> Bot:
    """``SessionHasPermissionToManageBot``: the bot, for its owner or an admin; anyone else gets
    404, as the server pretends the bot does not exist to a caller who may not read it."""
    bot = _bot(state, bot_user_id)
    if not can_manage_bot(state, caller, bot.user_id):
        raise not_found("store.sql_bot.get.missing.app_error")
    return bot


async def _set_active(request: web.Request, active: bool) -> web.Response:
    caller = require_user(request)
    state = get_context(request).state
    bot = _managed_bot(state, caller, path_id(request, "bot_user_id"))
    return json_response(state.set_bot_active(bot, active).to_json())


@routes.post("/api/v4/bots/{bot_user_id}/disable")
async def disable_bot(request: web.Request) -> web.Response:
    """Deactivate a bot and its user (its sessions end)."""
    return await _set_active(request, False)


@routes.post("/api/v4/bots/{bot_user_id}/enable")
async def enable_bot(request: web.Request) -> web.Response:
    """Reactivate a bot and its user."""
    return await _set_active(request, True)


@routes.post("/api/v4/bots/{bot_user_id}/assign/{user_id}")
async def assign_bot(request: web.Request) -> web.Response:
    """Give a bot a new owner (not a bot; the server does not check that the user exists)."""
    caller = require_user(request)
    user_id = path_id(request, "user_id")
    state = get_context(request).state
    bot = _managed_bot(state, caller, path_id(request, "bot_user_id"))
    owner = state.users.get(user_id)
    if owner is not None and owner.is_bot:
        raise forbidden()
    return json_response(state.assign_bot(bot, user_id).to_json())


@routes.get("/api/v4/bots/{bot_user_id}/icon")
async def get_bot_icon(request: web.Request) -> web.Response:
    """The bot's SVG icon (404 when it has none)."""
    require_user(request)
    state = get_context(request).state
    bot = _bot(state, path_id(request, "bot_user_id"))
    if bot.icon is None:
        raise AppError(404, "api.bot.get_bot_icon_image.read.app_error", "Unable to read icon file.")
    etag = str(state.user(bot.user_id).last_picture_update)
    headers = {"Cache-Control": "max-age=86400, private", "ETag": etag}
    return web.Response(body=bot.icon, content_type="image/svg+xml", headers=headers)


#: The first element of a document (after the XML declaration, comments and a doctype).
_ROOT = re.compile(
    rb"^\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<([A-Za-z_:][\w:.-]*)([^>]*)>", re.S
)
_ATTRIBUTE = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_LENGTH = re.compile(rb"^\s*[0-9]*\.?[0-9]+")


def _is_svg(data: bytes) -> bool:
    """``parseSVG``: an ``<svg>`` root whose size comes from ``viewBox`` or ``width``/``height``."""
    root = _ROOT.match(data)
    if root is None or root.group(1).split(b":")[-1] != b"svg":
        return False
    attributes = {m.group(1): m.group(2) or m.group(3) or b"" for m in _ATTRIBUTE.finditer(root.group(2))}
    if len(attributes.get(b"viewBox", b"").replace(b",", b" ").split()) == 4:
        return True
    return all(_LENGTH.match(attributes.get(a, b"")) for a in (b"width", b"height"))


async def _icon_part(request: web.Request) -> bytes:
    if not request.content_type.startswith("multipart/"):
        raise AppError(500, "api.bot.set_bot_icon_image.parse.app_error", "Could not parse form.")
    try:
        reader = await request.multipart()
        data: bytes | None = None
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and part.name == "image" and data is None:
                data = bytes(await part.read())
    except (ValueError, AssertionError):  # aiohttp: no boundary, truncated body
        raise AppError(400, "api.bot.set_bot_icon_image.parse.app_error", "Could not parse form.") from None
    if data is None:
        raise AppError(400, "api.bot.set_bot_icon_image.no_file.app_error", "No file under 'image'.")
    return data


@routes.post("/api/v4/bots/{bot_user_id}/icon")
async def set_bot_icon(request: web.Request) -> web.Response:
    """Upload the bot's icon (multipart ``image``); only SVG is accepted."""
    caller = require_user(request)
    ctx = get_context(request)
    bot = _managed_bot(ctx.state, caller, path_id(request, "bot_user_id"))
    if (request.content_length or 0) > ctx.settings.max_file_size:
        raise AppError(413, "api.bot.set_bot_icon_image.too_large.app_error", "Too large.")
    data = await _icon_part(request)
    if not _is_svg(data):
        raise AppError(400, "api.bot.set_bot_icon_image.parse.app_error", "Could not parse the SVG.")
    ctx.state.set_bot_icon(bot, data)
    return status_ok()


@routes.delete("/api/v4/bots/{bot_user_id}/icon")
async def delete_bot_icon(request: web.Request) -> web.Response:
    """Delete the bot's icon."""
    caller = require_user(request)
    state = get_context(request).state
    state.delete_bot_icon(_managed_bot(state, caller, path_id(request, "bot_user_id")))
    return status_ok()


async def _user_patch(request: web.Request) -> dict[str, Any]:
    """A ``UserPatch`` body with a non-empty password; 400 ``userPatch`` otherwise."""
    try:
        body = loads(await read_body(request))
    except (ValueError, UnicodeDecodeError):
        raise invalid_body("userPatch") from None
    if not isinstance(body, dict) or not isinstance(body.get("password"), str) or not body["password"]:
        raise invalid_body("userPatch")
    return body


def _patched_fields(state: State, user: User, body: dict[str, Any]) -> dict[str, str]:
    """The patch's profile fields, validated as ``UpdateUser`` does (nothing is changed here)."""
    fields: dict[str, str] = {}
    for key in ("username", "email", "nickname", "first_name", "last_name", "position", "locale"):
        if key in body:
            fields[key] = get_str(body, key, "userPatch") or ""
    if "username" in fields:
        fields["username"] = check_username(fields["username"])
        state.require_free_username(fields["username"], owner_id=user.id)
    if "email" in fields:
        fields["email"] = check_email(fields["email"])
        state.require_free_email(fields["email"], owner_id=user.id)
    for key in ("nickname", "first_name", "last_name"):
        if key in fields:
            check_short_field(fields[key], key)
    return fields


@routes.post("/api/v4/bots/{bot_user_id}/convert_to_user")
async def convert_bot_to_user(request: web.Request) -> web.Response:
    """Turn an active bot into a user with the patch applied (``manage_system``)."""
    caller = require_user(request)
    state = get_context(request).state
    bot = _bot(state, path_id(request, "bot_user_id"))
    if bot.delete_at:
        raise not_found("store.sql_bot.get.missing.app_error")
    body = await _user_patch(request)
    require_admin(caller)
    user = state.user(bot.user_id)
    fields = _patched_fields(state, user, body)
    check_password(body["password"])
    for key, value in fields.items():
        setattr(user, key, value)
    set_admin = query_bool(request, "set_system_admin", False)
    user = state.convert_bot_to_user(bot, user, body["password"], set_admin)
    return json_response(user.to_json())


@routes.post("/api/v4/users/{user_id}/convert_to_bot")
async def convert_user_to_bot(request: web.Request) -> web.Response:
    """Turn a user into a bot that it owns itself; its sessions end (``manage_system``)."""
    caller = require_user(request)
    state = get_context(request).state
    user = state.user(path_user_id(request))
    require_admin(caller)
    return json_response(state.convert_user_to_bot(user).to_json())
