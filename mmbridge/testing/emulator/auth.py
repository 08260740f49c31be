"""Sessions from tokens, and the permission checks the emulator applies."""

from __future__ import annotations

from aiohttp import web

from .context import SESSION, get_context
from .errors import AppError, forbidden, unauthorized
from .models import Session, User
from .state import State

AUTH_COOKIE = "MMAUTHTOKEN"


def token_from_request(request: web.Request) -> str:
    """The token from the cookie, ``Authorization: Bearer`` or ``Token`` (case-insensitive)."""
    cookie = request.cookies.get(AUTH_COOKIE, "")
    if cookie:
        return cookie
    header = request.headers.get("Authorization", "").strip()
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return ""


def resolve_session(state: State, token: str) -> tuple[Session | None, AppError | None]:
    """The session for ``token``, or the 401 to answer with."""
    if not token:
        return None, unauthorized()
    session = state.sessions.get(token)
    if session is None:
        return None, unauthorized()
    user = state.users.get(session.user_id)
    if session.is_access_token:
        access = state.tokens.get(session.token_id)
        if user is None or user.delete_at or access is None or not access.is_active:
            return None, AppError(401, "app.user_access_token.invalid_or_missing")
    elif user is None or user.delete_at:
        return None, unauthorized()
    return session, None


def require_user(request: web.Request) -> User:
    """The session user of ``request``; 401 without a valid session."""
    session: Session | None = request.get(SESSION)
    if session is None:
        state = get_context(request).state
        session, error = resolve_session(state, token_from_request(request))
        if error is not None or session is None:
            raise error or unauthorized()
        request[SESSION] = session
    return get_context(request).state.user(session.user_id)


def optional_user(request: web.Request) -> User | None:
    """The session user if the request carries a valid token, else ``None``."""
    try:
        return require_user(request)
    except AppError:
        return None


def require_admin(user: User) -> None:
    """403 unless ``user`` is a system admin."""
    if not user.is_admin:
        raise forbidden()


def require_self_or_admin(user: User, target_id: str) -> None:
    """403 unless ``user`` is ``target_id`` or a system admin (``edit_other_users``)."""
    if user.id != target_id and not user.is_admin:
        raise forbidden()


def can_manage_bot(state: State, user: User, bot_user_id: str) -> bool:
    """Admins manage every bot, owners their own."""
    bot = state.bots.get(bot_user_id)
    return bot is not None and (user.is_admin or bot.owner_id == user.id)


def can_read_channel(state: State, user: User, channel_id: str) -> bool:
    """Members read a channel; admins read everything."""
    return user.is_admin or state.is_channel_member(channel_id, user.id)


def can_view_channel(state: State, user: User, channel_id: str) -> bool:
    """Like :func:`can_read_channel`, plus team members for open channels (metadata only)."""
    if can_read_channel(state, user, channel_id):
        return True
    channel = state.channels.get(channel_id)
    return channel is not None and channel.type == "O" and state.is_team_member(channel.team_id, user.id)


def is_team_admin(state: State, user: User, team_id: str) -> bool:
    """System admins and team admins."""
    member = state.team_members.get((team_id, user.id))
    return user.is_admin or (member is not None and not member.delete_at and member.scheme_admin)
