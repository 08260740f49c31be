"""Personal access tokens."""

from __future__ import annotations

from aiohttp import web

from ..auth import can_manage_bot, require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body
from ..models import User
from ..state import State
from .common import get_str, json_response, path_user_id, read_object, status_ok

routes = web.RouteTableDef()


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
    target = state.user(user_id)
    _check_enabled(request, target)
    _check_token_access(state, caller, target)
    description = get_str(body, "description", "description") or ""
    if not description:
        raise invalid_body("description")
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
    target = state.user(user_id)
    _check_token_access(state, caller, target)
    tokens = [t.to_json() for t in state.tokens.values() if t.user_id == target.id]
    return json_response(tokens)
