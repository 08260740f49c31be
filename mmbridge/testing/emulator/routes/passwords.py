"""Users: passwords, password resets, email verification and failed login attempts."""

from __future__ import annotations

import attrs
from aiohttp import web

from ..auth import (
    require_admin,
    require_user,
)
from ..context import SESSION, get_context
from ..errors import AppError, invalid_body
from ..ids import now_ms
from ..models import (
    Session,
)
from ..state.users import PASSWORD_RECOVERY_TTL_MS
from ..validation import check_password
from .common import (
    json_response,
    path_user_id,
    read_model,
    status_ok,
)

routes = web.RouteTableDef()

# --------------------------------------------------------------------------- Passwords and email


@attrs.define
class _PasswordBody:
    current_password: str = ""
    new_password: str = ""
    already_hashed: str = ""


def _session_token(request: web.Request) -> str:
    session: Session | None = request.get(SESSION)
    return session.token if session is not None else ""


@routes.put("/api/v4/users/{user_id}/password")
async def update_password(request: web.Request) -> web.Response:
    """Change a password: one's own with the current one, another's as an admin; the user's
    other login sessions are revoked (``TerminateSessionsOnPasswordChange``)."""
    caller = require_user(request)
    user_id = path_user_id(request)
    state = get_context(request).state
    body = await read_model(request, _PasswordBody, "password")
    user = state.users.get(user_id)
    may_set = user is not None and caller.is_admin
    if body.already_hashed == "true":
        if not may_set:
            if user_id == caller.id:
                raise AppError(401, "api.user.update_password.user_and_hashed.app_error")
            raise AppError(403, "api.user.update_password.context.app_error")
    elif user_id == caller.id:
        if not body.current_password:
            raise invalid_body("current_password")
        user = state.user(user_id)
        if user.auth_data:
            raise AppError(400, "api.user.update_password.oauth.app_error")
        if not state.check_password(user, body.current_password):
            raise AppError(
                400, "api.user.update_password.incorrect.app_error", "The current password is incorrect."
            )
        check_password(body.new_password)
    elif may_set:
        check_password(body.new_password)
    else:
        raise AppError(
            403, "api.user.update_password.context.app_error", "Update password failed: not permitted."
        )
    assert user is not None
    keep = _session_token(request) if caller.id == user.id else ""
    state.set_password(user, body.new_password, keep_token=keep)
    return status_ok()


@attrs.define
class _ResetBody:
    token: str = ""
    new_password: str = ""


@routes.post("/api/v4/users/password/reset")
async def reset_password(request: web.Request) -> web.Response:
    """Set a new password with a recovery token (as sent by ``/password/reset/send``)."""
    state = get_context(request).state
    body = await read_model(request, _ResetBody, "password_reset")
    if len(body.token) != 64:
        raise invalid_body("token")
    token = state.email_tokens.get(body.token)
    if token is None or token.kind != "password_recovery":
        raise AppError(400, "api.user.reset_password.invalid_link.app_error", "The reset link is not valid.")
    user = state.users.get(token.user_id)
    if now_ms() - token.create_at >= PASSWORD_RECOVERY_TTL_MS or user is None or user.email != token.email:
        raise AppError(400, "api.user.reset_password.link_expired.app_error", "The reset link has expired.")
    check_password(body.new_password)
    state.set_password(user, body.new_password)
    state.use_email_token(token)
    return status_ok()


@attrs.define
class _EmailBody:
    email: str = ""


@routes.post("/api/v4/users/password/reset/send")
async def send_password_reset(request: web.Request) -> web.Response:
    """Start a password reset: OK for any address (email is off here, so nothing is sent)."""
    state = get_context(request).state
    body = await read_model(request, _EmailBody, "email")
    if not body.email:
        raise invalid_body("email")
    user = state.user_by_email(body.email)
    if user is not None:
        if user.auth_data:
            raise AppError(400, "api.user.send_password_reset.sso.app_error")
        state.new_email_token("password_recovery", user)
    return status_ok()


@attrs.define
class _TokenBody:
    token: str = ""


@routes.post("/api/v4/users/email/verify")
async def verify_email(request: web.Request) -> web.Response:
    """Verify an address with the token of a verification email."""
    state = get_context(request).state
    body = await read_model(request, _TokenBody, "token")
    if len(body.token) != 64:
        raise invalid_body("token")
    token = state.email_tokens.get(body.token)
    user = state.users.get(token.user_id) if token is not None and token.kind == "verify_email" else None
    if token is None or user is None:
        raise AppError(400, "api.user.verify_email.bad_link.app_error", "Bad verify email link.")
    state.verify_email(user)
    state.use_email_token(token)
    return status_ok()


@routes.post("/api/v4/users/email/verify/send")
async def send_verification_email(request: web.Request) -> web.Response:
    """Send a verification email: OK whether or not the address is known (email is off)."""
    state = get_context(request).state
    body = await read_model(request, _EmailBody, "email")
    if not body.email:
        raise invalid_body("email")
    user = state.user_by_email(body.email)
    if user is not None:
        state.new_email_token("verify_email", user)
    return status_ok()


@routes.post("/api/v4/users/{user_id}/email/verify/member")
async def verify_member_email(request: web.Request) -> web.Response:
    """Mark a user's email verified (``manage_system``); answers the user as read before."""
    caller = require_user(request)
    state = get_context(request).state
    user = state.user(path_user_id(request))
    require_admin(caller)
    before = user.to_json()
    state.verify_email(user)
    return json_response(before)


@routes.post("/api/v4/users/{user_id}/reset_failed_attempts")
async def reset_failed_attempts(request: web.Request) -> web.Response:
    """Unlock an account locked by wrong passwords (``sysconsole_write_user_management_users``)."""
    caller = require_user(request)
    user_id = path_user_id(request)
    require_admin(caller)
    state = get_context(request).state
    state.reset_failed_attempts(state.user(user_id))
    return status_ok()
