"""Users: login, create, read, patch, replace, (de)activate, roles, profile image, typing, status."""

from __future__ import annotations

from typing import Any

import attrs
from aiohttp import BodyPartReader, web

from ..auth import (
    AUTH_COOKIE,
    can_read_channel,
    optional_user,
    require_admin,
    require_self_or_admin,
    require_user,
)
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body, not_found
from ..ids import now_ms
from ..images import default_png
from ..models import (
    DEFAULT_NOTIFY_PROPS,
    DEFAULT_TIMEZONE,
    User,
)
from ..roles import BUILT_IN_ROLES, LICENSED_SYSTEM_ROLES, is_valid_role_name
from ..state import State
from ..validation import check_email, check_password, check_short_field, check_username
from .common import (
    get_str,
    json_response,
    paging,
    path_id,
    path_user_id,
    profiles,
    query_bool,
    read_id_list,
    read_model,
    read_object,
    status_ok,
    user_view,
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
    if user is None or not state.check_password(user, password) or user.delete_at:
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
    return json_response(profiles(request, [state.users[i] for i in dict.fromkeys(ids) if i in state.users]))


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
    found: list[User] = []
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
        found.append(user)
        if len(found) >= limit:
            break
    return json_response(profiles(request, found))


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
    return json_response(user_view(request, user))


@routes.get("/api/v4/users/{user_id}")
async def get_user(request: web.Request) -> web.Response:
    """A user by id (``me`` = the session user)."""
    require_user(request)
    user_id = path_user_id(request)
    return json_response(user_view(request, get_context(request).state.user(user_id)))


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
    """Activate or deactivate a user (admins; self-deactivation needs ``EnableUserDeactivation``,
    off by default); deactivation makes its tokens fail."""
    caller = require_user(request)
    user_id = path_user_id(request)
    state = get_context(request).state
    body = await read_object(request, "active")
    active = body.get("active")
    if not isinstance(active, bool):
        raise invalid_body("active")
    self_deactivation = not active and user_id == caller.id
    if not self_deactivation and not caller.is_admin:
        raise AppError(
            403,
            "api.user.update_active.permissions.app_error",
            "You do not have the appropriate permissions.",
        )
    if self_deactivation and not caller.is_admin:
        raise AppError(
            401,
            "api.user.update_active.not_enable.app_error",
            "You cannot deactivate yourself because this feature is not enabled.",
        )
    state.set_active(state.user(user_id), active)
    state.activation_status_changed()
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
    try:
        reader = await request.multipart()
        data: bytes | None = None
        content_type = "image/png"
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and part.name == "image":
                data = await part.read()
                content_type = part.headers.get("Content-Type", "image/png")
    except (ValueError, AssertionError):  # aiohttp: no boundary, truncated body
        raise AppError(400, "api.user.upload_profile_user.parse.app_error", "Could not parse form.") from None
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


# --------------------------------------------------------------------------- Account changes


@attrs.define
class _UserBody:
    """The ``model.User`` that ``PUT /users/{user_id}`` decodes (fields a client may send)."""

    id: str = ""
    username: str = ""
    email: str = ""
    password: str = ""
    nickname: str = ""
    first_name: str = ""
    last_name: str = ""
    position: str = ""
    roles: str = ""
    locale: str = ""
    props: dict[str, str] = attrs.field(factory=dict)
    notify_props: dict[str, str] = attrs.field(factory=dict)
    timezone: dict[str, str] = attrs.field(factory=dict)


def _replacement(state: State, user: User, body: _UserBody) -> dict[str, Any]:
    """The new field values of a full update, validated as ``User.IsValid`` and the store do."""
    username = check_username(body.username)
    email = check_email(body.email)
    for key in ("nickname", "first_name", "last_name"):
        check_short_field(getattr(body, key), key)
    if len(body.position) > 128:
        raise AppError(400, "model.user.is_valid.position.app_error", "Invalid position.")
    if user.auth_service and username != user.username:
        raise AppError(
            409,
            "api.user.update_user.login_provider_attribute_set.app_error",
            "Field 'username' must be set through the user's login provider.",
        )
    state.require_free_username(username, owner_id=user.id)
    state.require_free_email(email, owner_id=user.id)
    return {
        "username": username,
        "email": email,
        "nickname": body.nickname,
        "first_name": body.first_name,
        "last_name": body.last_name,
        "position": body.position,
        "locale": body.locale or "en",
        "props": dict(body.props),
        # PreUpdate puts back the defaults of an empty map.
        "notify_props": dict(body.notify_props) or dict(DEFAULT_NOTIFY_PROPS),
        "timezone": dict(body.timezone) or dict(DEFAULT_TIMEZONE),
    }


@routes.put("/api/v4/users/{user_id}")
async def update_user(request: web.Request) -> web.Response:
    """Replace a user's profile (self or ``edit_other_users``); roles and activity are kept."""
    caller = require_user(request)
    user_id = path_user_id(request)
    state = get_context(request).state
    body = await read_model(request, _UserBody, "user")
    if body.id != user_id:
        raise invalid_body("user_id")
    if "system_admin" in body.roles.split() and not caller.is_admin:
        raise forbidden()
    require_self_or_admin(caller, user_id)
    user = state.user(user_id)
    changes_email = body.email and body.email.lower() != user.email and caller.id == user_id
    # A new address of one's own needs the password (DoubleCheckPassword).
    if changes_email and not state.check_password(user, body.password):
        raise invalid_body("password")
    state.update_user(user, _replacement(state, user, body))
    return json_response(user.to_json())


@routes.delete("/api/v4/users/{user_id}")
async def delete_user(request: web.Request) -> web.Response:
    """Deactivate a user (``permanent=true`` needs ``EnableAPIUserDeletion``, off by default)."""
    caller = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    state = get_context(request).state
    if user_id == caller.id and not caller.is_admin:
        # TeamSettings.EnableUserDeactivation is off by default.
        raise AppError(
            401,
            "api.user.update_active.not_enable.app_error",
            "You cannot deactivate yourself because this feature is not enabled.",
        )
    user = state.user(user_id)
    if user.is_admin and not caller.is_admin:
        raise forbidden()
    if query_bool(request, "permanent", False):
        raise AppError(
            401,
            "api.user.delete_user.not_enabled.app_error",
            "Permanent delete feature is not enabled. Please contact your System Administrator.",
        )
    state.set_active(user, False)
    return status_ok()


@routes.delete("/api/v4/users")
async def permanent_delete_all_users(request: web.Request) -> web.Response:
    """Local mode only: over HTTP the API's catch-all route answers 404."""
    raise AppError(404, "api.context.404.app_error")


@attrs.define
class _RolesBody:
    roles: str = ""


@routes.put("/api/v4/users/{user_id}/roles")
async def update_user_roles(request: web.Request) -> web.Response:
    """Set a user's system roles (``manage_roles``); ``user_role_updated`` goes to that user."""
    caller = require_user(request)
    user_id = path_id(request, "user_id")
    state = get_context(request).state
    body = await read_model(request, _RolesBody, "roles")
    names = body.roles.split()
    if not all(is_valid_role_name(r) for r in names) or names == ["system_admin"]:
        raise invalid_body("roles")
    if any(r in LICENSED_SYSTEM_ROLES for r in names):
        raise AppError(
            400, "api.user.update_user_roles.license.app_error", "Role management requires a license."
        )
    require_admin(caller)
    user = state.users.get(user_id)
    if user is None:
        raise AppError(400, "app.user.missing_account.const")
    unknown = next((r for r in names if r not in BUILT_IN_ROLES), None)
    if unknown is not None:
        raise AppError(400, "app.role.check_roles_exist.role_not_found", "The provided role does not exist.")
    if user.is_admin and "system_admin" not in body.roles:
        admins = [u for u in state.users.values() if u.is_admin and not u.is_bot]
        if len(admins) <= 1:
            raise AppError(
                400, "app.user.update.lastAdmin.app_error", "You cannot demote the last system admin."
            )
    state.set_user_roles(user, body.roles)
    return status_ok()


@routes.post("/api/v4/users/{user_id}/promote")
async def promote_guest_to_user(request: web.Request) -> web.Response:
    """Promote a guest (``promote_guest``); without a license no account is a guest."""
    require_admin(require_user(request))
    get_context(request).state.user(path_id(request, "user_id"))
    raise AppError(
        501, "api.user.promote_guest_to_user.no_guest.app_error", "Unable to convert a non-guest user."
    )


@routes.post("/api/v4/users/{user_id}/demote")
async def demote_user_to_guest(request: web.Request) -> web.Response:
    """Guest accounts need a license: 501 on an unlicensed server."""
    require_user(request)
    path_id(request, "user_id")
    raise AppError(
        501, "api.team.demote_user_to_guest.license.error", "Your license does not support guest accounts."
    )


# --------------------------------------------------------------------------- Profile image


@routes.delete("/api/v4/users/{user_id}/image")
async def set_default_image(request: web.Request) -> web.Response:
    """Go back to the generated profile picture (self or ``edit_other_users``)."""
    caller = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    state = get_context(request).state
    state.reset_profile_image(state.user(user_id))
    return status_ok()


@routes.get("/api/v4/users/{user_id}/image/default")
async def get_default_image(request: web.Request) -> web.Response:
    """The generated profile picture, whatever image the user uploaded."""
    require_user(request)
    get_context(request).state.user(path_user_id(request))
    return web.Response(
        body=default_png(), content_type="image/png", headers={"Cache-Control": "max-age=86400, private"}
    )


# --------------------------------------------------------------------------- Other per-user reads


@routes.get("/api/v4/users/{user_id}/audits")
async def get_user_audits(request: web.Request) -> web.Response:
    """A user's audit records: the emulator keeps none."""
    caller = require_user(request)
    require_self_or_admin(caller, path_user_id(request))
    return json_response([])


@attrs.define
class _TermsBody:
    termsOfServiceId: str | None = None
    accepted: bool | None = None


@routes.post("/api/v4/users/{user_id}/terms_of_service")
async def save_terms_of_service(request: web.Request) -> web.Response:
    """Accept or reject terms of service: none exist (custom terms are off), so 404."""
    require_user(request)
    body = await read_model(request, _TermsBody, "terms_of_service")
    if body.termsOfServiceId is None:
        raise invalid_body("termsOfServiceId")
    if body.accepted is None:
        raise invalid_body("accepted")
    raise AppError(404, "app.terms_of_service.get.no_rows.app_error", "No terms of service found.")


@routes.get("/api/v4/users/{user_id}/terms_of_service")
async def get_terms_of_service(request: web.Request) -> web.Response:
    """The caller's latest terms of service answer: never given here, so 404."""
    require_user(request)
    raise AppError(
        404,
        "app.user_terms_of_service.get_by_user.no_rows.app_error",
        "No terms of service found for this user.",
    )


@routes.get("/api/v4/users/{user_id}/uploads")
async def get_uploads(request: web.Request) -> web.Response:
    """The caller's unfinished upload sessions (only one's own): the emulator has none."""
    caller = require_user(request)
    if path_user_id(request) != caller.id:
        raise AppError(403, "api.user.get_uploads_for_user.forbidden.app_error", "Failed to get uploads.")
    return json_response([])


@routes.get("/api/v4/users/{user_id}/channel_members")
async def get_channel_members_for_user(request: web.Request) -> web.Response:
    """Every channel membership of a user, with its team's name (self or ``edit_other_users``)."""
    caller = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    state = get_context(request).state
    page, per_page = paging(request)
    members = [m for (_, u), m in state.channel_members.items() if u == user_id]
    result: list[dict[str, Any]] = []
    for member in members[page * per_page : (page + 1) * per_page]:
        team = state.teams.get(state.channels[member.channel_id].team_id)
        result.append(
            {
                **member.to_json(),
                "team_display_name": team.display_name if team else "",
                "team_name": team.name if team else "",
                "team_update_at": team.update_at if team else 0,
            }
        )
    return json_response(result)
