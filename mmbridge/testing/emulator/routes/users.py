"""Users: read, search, create, patch, (de)activate, profile image, login."""

from __future__ import annotations

from typing import Any

from aiohttp import BodyPartReader, web

from ..auth import AUTH_COOKIE, can_read_channel, optional_user, require_self_or_admin, require_user
from ..context import get_context
from ..errors import AppError, invalid_body, not_found
from ..ids import now_ms
from ..images import default_png
from ..models import User
from ..validation import check_email, check_password, check_short_field, check_username
from .common import (
    get_str,
    json_response,
    path_user_id,
    read_id_list,
    read_object,
    status_ok,
)

routes = web.RouteTableDef()


@routes.post("/api/v4/users/login")
async def login(request: web.Request) -> web.Response:
    """Password login; the session token comes back in the ``Token`` header and cookie."""
    state = get_context(request).state
    body = await read_object(request, "login_id")
    login_id = get_str(body, "login_id") or ""
    password = get_str(body, "password") or ""
    user = state.user_by_username(login_id) or state.user_by_email(login_id)
    if user is not None and user.is_bot:
        raise AppError(
            401,
            "api.user.login.bot_login_forbidden.app_error",
            "Bot login is forbidden.",
        )
    if user is None or not user.password or user.password != password or user.delete_at:
        raise AppError(
            401,
            "api.user.login.invalid_credentials_email_username",
            "Enter a valid email or username and/or password.",
        )
    session = state.login_session(user.id)
    response = json_response(user.to_json())
    response.headers["Token"] = session.token
    response.set_cookie(AUTH_COOKIE, session.token, httponly=True, path="/")
    return response


@routes.post("/api/v4/users/ids")
async def get_users_by_ids(request: web.Request) -> web.Response:
    """Users for a list of ids; unknown ids are skipped."""
    require_user(request)
    state = get_context(request).state
    ids = await read_id_list(request, "user_ids")
    if not ids:
        raise invalid_body("user_ids")
    return json_response([state.users[i].to_json() for i in dict.fromkeys(ids) if i in state.users])


@routes.post("/api/v4/users/search")
async def search_users(request: web.Request) -> web.Response:
    """Prefix search on username, names, nickname and email, with team/channel filters."""
    require_user(request)
    state = get_context(request).state
    body = await read_object(request, "term")
    term = (get_str(body, "term") or "").lower().lstrip("@")
    team_id = get_str(body, "team_id") or ""
    not_in_team = get_str(body, "not_in_team_id") or ""
    in_channel = get_str(body, "in_channel_id") or ""
    not_in_channel = get_str(body, "not_in_channel_id") or ""
    allow_inactive = bool(body.get("allow_inactive", False))
    limit = body.get("limit", 100)
    limit = limit if isinstance(limit, int) and 0 < limit <= 1000 else 100
    found: list[dict[str, Any]] = []
    for user in state.users.values():
        fields = (user.username, user.first_name, user.last_name, user.nickname, user.email)
        if term and not any(f.lower().startswith(term) for f in fields):
            continue
        if user.delete_at and not allow_inactive:
            continue
        if team_id and not state.is_team_member(team_id, user.id):
            continue
        if not_in_team and state.is_team_member(not_in_team, user.id):
            continue
        if in_channel and not state.is_channel_member(in_channel, user.id):
            continue
        if not_in_channel and state.is_channel_member(not_in_channel, user.id):
            continue
        found.append(user.to_json())
        if len(found) >= limit:
            break
    return json_response(found)


@routes.post("/api/v4/users")
async def create_user(request: web.Request) -> web.Response:
    """Create a user (no session needed; with an admin session, created as admin)."""
    state = get_context(request).state
    body = await read_object(request, "user")
    username = check_username(get_str(body, "username", "user") or "")
    email = check_email(get_str(body, "email", "user") or "")
    password = get_str(body, "password", "user") or ""
    check_password(password)
    names = {k: get_str(body, k, "user") or "" for k in ("first_name", "last_name", "nickname")}
    for key, value in names.items():
        check_short_field(value, key)
    props = body.get("props") or {}
    if not isinstance(props, dict):
        raise invalid_body("user")
    caller = optional_user(request)
    roles = "system_user"
    if caller is not None and caller.is_admin and isinstance(body.get("roles"), str):
        roles = body["roles"] or roles
    user = state.add_user(
        username,
        email,
        password=password,
        roles=roles,
        position=get_str(body, "position", "user") or "",
        locale=get_str(body, "locale", "user") or "en",
        props={str(k): str(v) for k, v in props.items()},
        first_name=names["first_name"],
        last_name=names["last_name"],
        nickname=names["nickname"],
    )
    return json_response(user.to_json(), status=201)


@routes.get("/api/v4/users/username/{username}")
async def get_user_by_username(request: web.Request) -> web.Response:
    """A user by username."""
    require_user(request)
    user = get_context(request).state.user_by_username(request.match_info["username"])
    if user is None:
        raise not_found("app.user.missing_account.const")
    return json_response(user.to_json())


@routes.get("/api/v4/users/{user_id}")
async def get_user(request: web.Request) -> web.Response:
    """A user by id (``me`` = the session user)."""
    require_user(request)
    user_id = path_user_id(request)
    return json_response(get_context(request).state.user(user_id).to_json())


def _apply_patch(request: web.Request, user: User, body: dict[str, Any]) -> None:
    state = get_context(request).state
    if "username" in body:
        name = check_username(get_str(body, "username", "user") or "")
        state.require_free_username(name, owner_id=user.id)
        user.username = name
    if "email" in body:
        email = check_email(get_str(body, "email", "user") or "")
        state.require_free_email(email, owner_id=user.id)
        user.email = email
    for key in ("first_name", "last_name", "nickname"):
        if key in body:
            value = get_str(body, key, "user") or ""
            check_short_field(value, key)
            setattr(user, key, value)
    for key in ("position", "locale"):
        if key in body:
            setattr(user, key, get_str(body, key, "user") or "")
    if "remote_id" in body:
        user.remote_id = get_str(body, "remote_id", "user")
    for key in ("props", "notify_props", "timezone"):
        if key in body:
            value = body[key]
            if not isinstance(value, dict):
                raise invalid_body("user")
            setattr(user, key, {str(k): str(v) for k, v in value.items()})


@routes.put("/api/v4/users/{user_id}/patch")
async def patch_user(request: web.Request) -> web.Response:
    """Partial update of a user (self or admin)."""
    caller = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    user = get_context(request).state.user(user_id)
    body = await read_object(request, "user")
    _apply_patch(request, user, body)
    get_context(request).state.user_updated(user)
    return json_response(user.to_json())


@routes.put("/api/v4/users/{user_id}/active")
async def set_active(request: web.Request) -> web.Response:
    """Activate or deactivate a user; deactivation makes its tokens fail."""
    caller = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    state = get_context(request).state
    user = state.user(user_id)
    body = await read_object(request, "active")
    active = body.get("active")
    if not isinstance(active, bool):
        raise invalid_body("active")
    if active and not caller.is_admin:
        raise AppError(403, "api.context.permissions.app_error")
    state.set_active(user, active)
    return status_ok()


@routes.post("/api/v4/users/{user_id}/image")
async def set_image(request: web.Request) -> web.Response:
    """Upload a profile image (multipart part ``image``)."""
    caller = require_user(request)
    user_id = path_user_id(request)
    state = get_context(request).state
    if caller.id != user_id and not caller.is_admin:
        bot = state.bots.get(user_id)
        if bot is None or bot.owner_id != caller.id:
            raise AppError(403, "api.context.permissions.app_error")
    user = state.user(user_id)
    if not request.content_type.startswith("multipart/"):
        raise AppError(400, "api.user.upload_profile_user.parse.app_error", "Could not parse form.")
    reader = await request.multipart()
    data: bytes | None = None
    content_type = "image/png"
    while (part := await reader.next()) is not None:
        if isinstance(part, BodyPartReader) and part.name == "image":
            data = await part.read()
            content_type = part.headers.get("Content-Type", "image/png")
    if not data:
        raise AppError(400, "api.user.upload_profile_user.no_file.app_error", "No file under 'image'.")
    if len(data) > get_context(request).settings.max_file_size:
        raise AppError(413, "api.user.upload_profile_user.too_large.app_error", "Too large.")
    user.image = data
    user.image_type = content_type
    user.last_picture_update = now_ms()
    state.user_updated(user)
    return status_ok()


@routes.get("/api/v4/users/{user_id}/image")
async def get_image(request: web.Request) -> web.Response:
    """The stored profile image, or a default PNG."""
    require_user(request)
    user = get_context(request).state.user(path_user_id(request))
    if user.image is None:
        return web.Response(body=default_png(), content_type="image/png")
    return web.Response(body=user.image, content_type=user.image_type)


@routes.post("/api/v4/users/{user_id}/typing")
async def publish_typing(request: web.Request) -> web.Response:
    """``typing`` on the channel for everyone but the typist; the typist must be able to post."""
    state = get_context(request).state
    session_user = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(session_user, user_id)
    body = await read_object(request, "typing_request")
    channel_id = get_str(body, "channel_id") or ""
    parent_id = get_str(body, "parent_id") or ""
    if channel_id not in state.channels:
        raise invalid_body("typing_request.channel_id")
    if not can_read_channel(state, session_user, channel_id):
        raise AppError(403, "api.context.permissions.app_error")
    state.user_typing(user_id, channel_id, parent_id)
    return status_ok()


_STATUSES = ("online", "away", "offline", "dnd")


@routes.get("/api/v4/users/{user_id}/status")
async def get_status(request: web.Request) -> web.Response:
    """A user's status (``offline`` until someone sets it)."""
    state = get_context(request).state
    require_user(request)
    user_id = path_user_id(request)
    state.user(user_id)
    return json_response(state.status_of(user_id))


@routes.put("/api/v4/users/{user_id}/status")
async def update_status(request: web.Request) -> web.Response:
    """Set a status by hand; ``status_change`` goes to that user only, as on the real server."""
    state = get_context(request).state
    caller = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    body = await read_object(request, "status")
    status = get_str(body, "status") or ""
    if get_str(body, "user_id") != user_id:
        raise invalid_body("user_id")
    if status not in _STATUSES:
        raise invalid_body("status")
    state.user(user_id)
    return json_response(state.set_status(user_id, status))
