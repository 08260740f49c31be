"""Sessions: logout, listing, revocation and mobile device ids."""

from __future__ import annotations

import contextlib
from typing import Any

from aiohttp import web

from ..auth import AUTH_COOKIE, require_admin, require_self_or_admin, require_user
from ..context import SESSION, get_context
from ..errors import AppError, invalid_body, invalid_url
from ..models import Session, loads
from ..state import State
from ..state.access import SESSION_LENGTH_MS
from .common import json_response, path_user_id, read_body, status_ok

routes = web.RouteTableDef()

#: The cookies ``RemoveSessionCookie`` clears.
SESSION_COOKIES = (AUTH_COOKIE, "MMUSERID", "MMCSRF")


async def _string_map(request: web.Request) -> dict[str, str]:
    """The body as ``model.MapFromJSON`` reads it: a JSON object of strings, else empty."""
    try:
        value: Any = loads(await read_body(request))
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return {}
    return value


def _session_json(state: State, session: Session) -> dict[str, Any]:
    """A sanitised session with the user's active team memberships, as ``GetSessions`` sends."""
    members = [
        m.to_json()
        for (_, user_id), m in state.team_members.items()
        if user_id == session.user_id and not m.delete_at
    ]
    return {**session.to_json(), "team_members": members}


@routes.post("/api/v4/users/logout")
async def logout(request: web.Request) -> web.Response:
    """Revoke the caller's session, if any, and clear the session cookies (200 without one too)."""
    with contextlib.suppress(AppError):
        require_user(request)
    session: Session | None = request.get(SESSION)
    if session is not None:
        get_context(request).state.revoke_session(session)
    response = status_ok()
    for name in SESSION_COOKIES:
        response.del_cookie(name, path="/")
    return response


@routes.get("/api/v4/users/{user_id}/sessions")
async def get_sessions(request: web.Request) -> web.Response:
    """A user's sessions, most recently active first, tokens blanked (self or admin)."""
    caller = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    state = get_context(request).state
    return json_response([_session_json(state, s) for s in state.sessions_of(user_id)])


@routes.post("/api/v4/users/{user_id}/sessions/revoke")
async def revoke_session(request: web.Request) -> web.Response:
    """Revoke one session of the user by its id (self or admin)."""
    caller = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    session_id = (await _string_map(request)).get("session_id", "")
    if not session_id:
        raise invalid_body("session_id")
    state = get_context(request).state
    session = state.session_by_id(session_id)
    if session is None:
        raise AppError(400, "app.session.get.app_error", "Unable to get the session.")
    if session.user_id != user_id:
        raise invalid_url("user_id")
    state.revoke_session(session)
    return status_ok()


@routes.post("/api/v4/users/{user_id}/sessions/revoke/all")
async def revoke_all_sessions_for_user(request: web.Request) -> web.Response:
    """Revoke every session of the user (self or admin)."""
    caller = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    get_context(request).state.revoke_all_sessions(user_id)
    return status_ok()


@routes.post("/api/v4/users/sessions/revoke/all")
async def revoke_all_sessions_all_users(request: web.Request) -> web.Response:
    """Revoke every session of every user (``manage_system``)."""
    require_admin(require_user(request))
    get_context(request).state.revoke_sessions_of_all_users()
    return status_ok()


@routes.put("/api/v4/users/sessions/device")
async def attach_device_id(request: web.Request) -> web.Response:
    """Attach a mobile device id to the caller's session; the cookie is set again."""
    require_user(request)
    session: Session = request[SESSION]
    device_id = (await _string_map(request)).get("device_id", "")
    if not device_id:
        raise invalid_body("device_id")
    get_context(request).state.attach_device_id(session, device_id)
    response = status_ok()
    max_age = SESSION_LENGTH_MS // 1000
    response.set_cookie(AUTH_COOKIE, session.token, max_age=max_age, httponly=True, path="/")
    return response
