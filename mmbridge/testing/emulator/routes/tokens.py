"""Personal access tokens."""

from __future__ import annotations

import attrs
from aiohttp import web

from ..auth import can_manage_bot, require_admin, require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body
from ..models import AccessToken, User, loads
from ..roles import has_system_permission
from ..state import State
from .common import (
    get_str,
    json_response,
    paging,
    path_id,
    path_user_id,
    read_body,
    read_model,
    read_object,
    status_ok,
)

routes = web.RouteTableDef()


def _require(caller: User, permission: str) -> None:
    """``create_user_access_token``, ``read_…`` or ``revoke_…``: system admins have them, and users
    given the ``system_user_access_token`` role; checked before the token or its user is looked at."""
    if not has_system_permission(caller.roles, permission):
        raise forbidden()


def _check_token_access(state: State, caller: User, target: User) -> None:
    """Self, a bot the caller manages, or ``edit_other_users`` (admin)."""
    if caller.id == target.id or caller.is_admin:
        return
    if target.is_bot and can_manage_bot(state, caller, target.id):
        return
    raise forbidden()


def _check_enabled(request: web.Request, target: User) -> None:
    if not get_context(request).settings.enable_user_access_tokens and not target.is_bot:
        raise AppError(501, "app.user_access_token.disabled")


@routes.post("/api/v4/users/tokens/revoke")
async def revoke_token(request: web.Request) -> web.Response:
    """Delete a token and kill its session."""
    caller = require_user(request)
    state = get_context(request).state
    body = await read_object(request, "token_id")
    token_id = get_str(body, "token_id") or ""
    _require(caller, "revoke_user_access_token")
    token = state.tokens.get(token_id)
    if token is None:
        raise AppError(
            404,
            "app.user_access_token.get_by_user.app_error",
            "Unable to get user access token.",
        )
    _check_token_access(state, caller, state.user(token.user_id))
    state.revoke_token(token_id)
    return status_ok()


@routes.post("/api/v4/users/{user_id}/tokens")
async def create_token(request: web.Request) -> web.Response:
    """Create a token; the response is the only time the token is shown (200)."""
    caller = require_user(request)
    user_id = path_user_id(request)
    state = get_context(request).state
    body = await read_object(request, "token")
    description = get_str(body, "description", "description") or ""
    if not description:
        raise invalid_body("description")
    _require(caller, "create_user_access_token")
    target = state.user(user_id)
    _check_token_access(state, caller, target)
    _check_enabled(request, target)
    if target.delete_at:
        raise AppError(400, "app.user_access_token.inactive_user", "The user is deactivated.")
    token = state.add_token(target.id, description)
    return json_response({**token.to_json(), "token": token.token})


@routes.get("/api/v4/users/{user_id}/tokens")
async def list_tokens(request: web.Request) -> web.Response:
    """The user's tokens, without the token values."""
    caller = require_user(request)
    user_id = path_user_id(request)
    state = get_context(request).state
    _require(caller, "read_user_access_token")
    target = state.user(user_id)
    _check_token_access(state, caller, target)
    tokens = [t.to_json() for t in state.tokens.values() if t.user_id == target.id]
    return json_response(tokens)


@attrs.define
class TokenSearch:
    """``model.UserAccessTokenSearch``."""

    term: str = ""


def _token(state: State, token_id: str) -> AccessToken:
    """The token or 404 ``app.user_access_token.get_by_user.app_error``."""
    token = state.tokens.get(token_id)
    if token is None:
        raise AppError(404, "app.user_access_token.get_by_user.app_error", "Unable to get user access token.")
    return token


async def _token_id_of_body(request: web.Request) -> str:
    """``token_id`` of a string-map body (``MapFromJSON``: anything else reads as empty)."""
    try:
        value = loads(await read_body(request))
    except (ValueError, UnicodeDecodeError):
        return ""
    token_id = value.get("token_id") if isinstance(value, dict) else None
    return token_id if isinstance(token_id, str) else ""


@routes.get("/api/v4/users/tokens")
async def list_all_tokens(request: web.Request) -> web.Response:
    """Every user's tokens, paged, without their values (``manage_system``)."""
    require_admin(require_user(request))
    page, per_page = paging(request)
    tokens = list(get_context(request).state.tokens.values())
    return json_response([t.to_json() for t in tokens[page * per_page : (page + 1) * per_page]])


@routes.get("/api/v4/users/tokens/{token_id}")
async def get_token(request: web.Request) -> web.Response:
    """One token without its value (its user, a bot the caller manages, or an admin)."""
    caller = require_user(request)
    token_id = path_id(request, "token_id")
    _require(caller, "read_user_access_token")
    state = get_context(request).state
    token = _token(state, token_id)
    _check_token_access(state, caller, state.user(token.user_id))
    return json_response(token.to_json())


async def _set_token_active(request: web.Request, active: bool) -> web.Response:
    caller = require_user(request)
    token_id = await _token_id_of_body(request)
    _require(caller, "create_user_access_token" if active else "revoke_user_access_token")
    state = get_context(request).state
    token = _token(state, token_id)
    _check_token_access(state, caller, state.user(token.user_id))
    state.set_token_active(token, active)
    return status_ok()


@routes.post("/api/v4/users/tokens/disable")
async def disable_token(request: web.Request) -> web.Response:
    """Disable a token: its session is revoked and it no longer authenticates."""
    return await _set_token_active(request, False)


@routes.post("/api/v4/users/tokens/enable")
async def enable_token(request: web.Request) -> web.Response:
    """Enable a disabled token again."""
    return await _set_token_active(request, True)


@routes.post("/api/v4/users/tokens/search")
async def search_tokens(request: web.Request) -> web.Response:
    """Tokens whose id, user id or user's username starts with ``term`` (``manage_system``)."""
    require_admin(require_user(request))
    search = await read_model(request, TokenSearch, "user_access_token_search")
    if not search.term:
        raise invalid_body("term")
    state = get_context(request).state
    term = search.term.lower()

    def matches(token: AccessToken) -> bool:
        user = state.users.get(token.user_id)
        username = user.username if user is not None else ""
        return any(v.lower().startswith(term) for v in (token.id, token.user_id, username))

    return json_response([t.to_json() for t in state.tokens.values() if matches(t)])
