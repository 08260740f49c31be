"""What the team routes share: the permission checks, the team as a caller may see it, roles."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..errors import AppError, forbidden, not_found
from ..models import Team, TeamMember, User
from ..models.teams import (
    TEAM_OPEN,
)
from ..roles import BUILT_IN_ROLES, is_valid_role_name, role_json
from ..state import State

#: ``MaxAddMembersBatch``.
MAX_ADD_MEMBERS_BATCH = 256
#: Scheme-managed roles the emulator knows besides the built-in ones of :mod:`..roles`.
_GUEST_ROLES = ("team_guest", "channel_guest", "system_guest")
#: ``teamIconWidthAndHeight`` is applied by the real server when it re-encodes the icon; the
#: emulator keeps the uploaded bytes, but refuses what ``image.DecodeConfig`` cannot read.
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")


# ---------------------------------------------------------------------------- permissions


def has_system_permission(user: User, permission: str) -> bool:
    """``SessionHasPermissionTo`` over the built-in system roles."""
    return any(permission in BUILT_IN_ROLES.get(role, ()) for role in user.roles.split())


def team_member_of(state: State, team_id: str, user_id: str) -> TeamMember | None:
    """The current (not deleted) membership of ``user_id`` in ``team_id``, or None."""
    member = state.team_members.get((team_id, user_id))
    return member if member is not None and not member.delete_at else None


def has_team_permission(state: State, user: User, team_id: str, permission: str) -> bool:
    """``SessionHasPermissionToTeam``: the system roles, then the roles of the membership."""
    if has_system_permission(user, permission):
        return True
    member = team_member_of(state, team_id, user.id)
    if member is None:
        return False
    roles = member.to_json()["roles"].split()
    granted = {p for role in roles for p in BUILT_IN_ROLES.get(role, ())}
    if member.scheme_admin:
        granted.add("import_team")
    return permission in granted


def require_team_permission(state: State, user: User, team_id: str, permission: str) -> None:
    """403 unless ``user`` has ``permission`` in ``team_id``."""
    if not has_team_permission(state, user, team_id, permission):
        raise forbidden()


def team_json(state: State, user: User, team: Team) -> dict[str, Any]:
    """``SanitizeTeam`` for ``user``."""
    return state.team_view(
        team,
        full=has_team_permission(state, user, team.id, "manage_team"),
        with_invite_id=has_team_permission(state, user, team.id, "invite_user"),
    )


def is_listable(team: Team) -> bool:
    """Whether anyone may find the team: open, and open to invitations."""
    return team.allow_open_invite and team.type == TEAM_OPEN


def can_view_team(state: State, user: User, team: Team) -> bool:
    """Whether ``user`` may read the team: a listable team, or ``view_team`` in it."""
    return is_listable(team) or has_team_permission(state, user, team.id, "view_team")


# ------------------------------------------------------------------------------- helpers


def member_missing() -> AppError:
    """404 ``app.team.get_member.missing.app_error``."""
    return not_found("app.team.get_member.missing.app_error")


def error_json(error: AppError) -> dict[str, Any]:
    """An AppError nested in a result (``request_id`` left out as Go's ``omitempty`` does)."""
    return {
        "id": error.error_id,
        "message": error.message,
        "detailed_error": "",
        "status_code": error.status,
    }


def is_scheme_role(name: str) -> bool:
    """Whether a known role is scheme-managed; 400 ``app.role.get_by_name.app_error`` if unknown."""
    if name in _GUEST_ROLES:
        return True
    if name not in BUILT_IN_ROLES:
        raise AppError(400, "app.role.get_by_name.app_error", "Unable to get role.")
    return bool(role_json(name)["scheme_managed"])


def valid_user_roles(roles: str) -> bool:
    """``model.IsValidUserRoles``."""
    names = roles.split()
    if not all(is_valid_role_name(n) for n in names):
        return False
    return names != ["system_admin"]


async def multipart_form(request: web.Request, error_id: str, status: int = 400) -> Any:
    """The multipart form of the request, or ``error_id`` (``ParseMultipartForm`` failed)."""
    if not request.content_type.startswith("multipart/form-data"):
        raise AppError(status, error_id, "Could not parse the multipart form.")
    try:
        return await request.post()
    except ValueError:
        raise AppError(status, error_id, "Could not parse the multipart form.") from None


def file_bytes(field: Any) -> bytes | None:
    """The content of an uploaded file field, or None when the field is not a file."""
    if isinstance(field, web.FileField):
        return bytes(field.file.read())
    return None
