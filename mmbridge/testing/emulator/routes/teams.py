"""Teams, their members, invitations and icons (``api4/team.go``)."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import attrs
from aiohttp import web

from ..auth import require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body, invalid_url, not_found
from ..ids import is_valid_id
from ..models import Team, TeamMember, User
from ..models.requests import BodyTypeError, decode_body
from ..models.teams import (
    TEAM_INVITE,
    TEAM_OPEN,
    SchemeIdBody,
    SchemeRolesBody,
    TeamMemberBody,
    TeamPatchBody,
    TeamSearchBody,
    TeamUpdateBody,
)
from ..roles import BUILT_IN_ROLES, role_json
from ..state import State
from ..validation import check_team_name
from .common import (
    get_str,
    json_response,
    paging,
    path_id,
    path_user_id,
    query_bool,
    read_json,
    read_model,
    read_object,
    status_ok,
)

routes = web.RouteTableDef()

#: ``MaxAddMembersBatch``.
MAX_ADD_MEMBERS_BATCH = 256
_ROLE_NAME_RE = re.compile(r"^[a-z0-9_]{1,64}$")
#: Scheme-managed roles the emulator knows besides the built-in ones of :mod:`..roles`.
_GUEST_ROLES = ("team_guest", "channel_guest", "system_guest")
#: ``teamIconWidthAndHeight`` is applied by the real server when it re-encodes the icon; the
#: emulator keeps the uploaded bytes, but refuses what ``image.DecodeConfig`` cannot read.
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")


# ---------------------------------------------------------------------------- permissions


def _has_system_permission(user: User, permission: str) -> bool:
    """``SessionHasPermissionTo`` over the built-in system roles."""
    return any(permission in BUILT_IN_ROLES.get(role, ()) for role in user.roles.split())


def _member(state: State, team_id: str, user_id: str) -> TeamMember | None:
    member = state.team_members.get((team_id, user_id))
    return member if member is not None and not member.delete_at else None


def _has_team_permission(state: State, user: User, team_id: str, permission: str) -> bool:
    """``SessionHasPermissionToTeam``: the system roles, then the roles of the membership."""
    if _has_system_permission(user, permission):
        return True
    member = _member(state, team_id, user.id)
    if member is None:
        return False
    roles = member.to_json()["roles"].split()
    granted = {p for role in roles for p in BUILT_IN_ROLES.get(role, ())}
    if member.scheme_admin:
        granted.add("import_team")
    return permission in granted


def _require_team_permission(state: State, user: User, team_id: str, permission: str) -> None:
    if not _has_team_permission(state, user, team_id, permission):
        raise forbidden()


def _team_json(state: State, user: User, team: Team) -> dict[str, Any]:
    """``SanitizeTeam`` for ``user``."""
    return state.team_view(
        team,
        full=_has_team_permission(state, user, team.id, "manage_team"),
        with_invite_id=_has_team_permission(state, user, team.id, "invite_user"),
    )


def _is_listable(team: Team) -> bool:
    return team.allow_open_invite and team.type == TEAM_OPEN


def _can_view_team(state: State, user: User, team: Team) -> bool:
    return _is_listable(team) or _has_team_permission(state, user, team.id, "view_team")


# ------------------------------------------------------------------------------- helpers


def _member_missing() -> AppError:
    return not_found("app.team.get_member.missing.app_error")


def _error_json(error: AppError) -> dict[str, Any]:
    """An AppError nested in a result (``request_id`` left out as Go's ``omitempty`` does)."""
    return {
        "id": error.error_id,
        "message": error.message,
        "detailed_error": "",
        "status_code": error.status,
    }


def _scheme_role(name: str) -> bool:
    """Whether a known role is scheme-managed; 400 ``app.role.get_by_name.app_error`` if unknown."""
    if name in _GUEST_ROLES:
        return True
    if name not in BUILT_IN_ROLES:
        raise AppError(400, "app.role.get_by_name.app_error", "Unable to get role.")
    return bool(role_json(name)["scheme_managed"])


def _valid_user_roles(roles: str) -> bool:
    """``model.IsValidUserRoles``."""
    names = roles.split()
    if not all(_ROLE_NAME_RE.match(n) for n in names):
        return False
    return names != ["system_admin"]


async def _form(request: web.Request, error_id: str, status: int = 400) -> Any:
    """The multipart form of the request, or ``error_id`` (``ParseMultipartForm`` failed)."""
    if not request.content_type.startswith("multipart/form-data"):
        raise AppError(status, error_id, "Could not parse the multipart form.")
    try:
        return await request.post()
    except ValueError:
        raise AppError(status, error_id, "Could not parse the multipart form.") from None


def _file_bytes(field: Any) -> bytes | None:
    if isinstance(field, web.FileField):
        return bytes(field.file.read())
    return None


# ------------------------------------------------------------------------ teams: create/get


@routes.post("/api/v4/teams")
async def create_team(request: web.Request) -> web.Response:
    """Create a team (type ``O`` open or ``I`` invite-only); the creator becomes team admin."""
    caller = require_user(request)
    state = get_context(request).state
    body = await read_object(request, "team")
    name = get_str(body, "name", "team") or ""
    check_team_name(name)
    display_name = get_str(body, "display_name", "team") or ""
    if not (1 <= len(display_name) <= 64):
        raise invalid_body("team")
    team_type = get_str(body, "type", "team") or ""
    if team_type not in ("O", "I"):
        raise invalid_body("team")
    team = state.add_team(name, display_name, team_type, caller.id)
    return json_response(team.to_json(), status=201)


@routes.get("/api/v4/teams")
async def list_teams(request: web.Request) -> web.Response:
    """Teams, by display name: everything for system admins, open teams for the others
    (``list_public_teams``); ``include_total_count`` wraps them as ``{teams, total_count}``."""
    caller = require_user(request)
    state = get_context(request).state
    exclude_policy = query_bool(request, "exclude_policy_constrained", False)
    if exclude_policy and not caller.is_admin:
        raise forbidden()
    list_private = _has_system_permission(caller, "list_private_teams") or caller.is_admin
    list_public = _has_system_permission(caller, "list_public_teams")
    teams = sorted(state.teams.values(), key=lambda t: t.display_name)
    if list_private and not list_public:
        teams = [t for t in teams if not t.allow_open_invite]
    elif list_public and not list_private:
        teams = [t for t in teams if t.allow_open_invite]
    elif not list_public:
        raise AppError(
            403,
            "api.team.get_all_teams.insufficient_permissions",
            "You don't have the appropriate permissions to list all teams.",
        )
    page, per_page = paging(request)
    selected = [_team_json(state, caller, t) for t in teams[page * per_page : (page + 1) * per_page]]
    if query_bool(request, "include_total_count", False):
        return json_response({"teams": selected, "total_count": len(teams)})
    return json_response(selected)


@routes.post("/api/v4/teams/search")
async def search_teams(request: web.Request) -> web.Response:
    """Teams whose name or display name starts with ``term`` (any case): all teams for system
    admins (paged with ``page`` and ``per_page``), open teams for the others (never paged)."""
    caller = require_user(request)
    state = get_context(request).state
    search = await read_model(request, TeamSearchBody, "team_search")
    if search.exclude_policy_constrained is not None and not caller.is_admin:
        raise forbidden()
    paged = search.page is not None and search.per_page is not None
    if caller.is_admin:
        found = [t for t in _search(state, search) if _search_filters(t, search)]
    elif _has_system_permission(caller, "list_public_teams"):
        if search.page is not None or search.per_page is not None:
            raise AppError(
                501,
                "api.team.search_teams.pagination_not_implemented.public_team_search",
                "Pagination not implemented for public team search.",
            )
        found = [t for t in _search(state, search) if t.type == TEAM_OPEN and t.allow_open_invite]
    else:
        found = []
    if not paged:
        return json_response([_team_json(state, caller, t) for t in found])
    per_page = max(search.per_page or 0, 0)
    start = max(search.page or 0, 0) * per_page
    page = found[start : start + per_page]
    return json_response({"teams": [_team_json(state, caller, t) for t in page], "total_count": len(found)})


def _search(state: State, search: TeamSearchBody) -> list[Team]:
    term = search.term.lower()
    return sorted(
        (
            t
            for t in state.teams.values()
            if t.name.lower().startswith(term) or t.display_name.lower().startswith(term)
        ),
        key=lambda t: t.display_name,
    )


def _search_filters(team: Team, search: TeamSearchBody) -> bool:
    """``teamSearchQuery``: the open-invite filter OR the group-constrained one."""
    checks: list[bool] = []
    if search.allow_open_invite is not None:
        if search.allow_open_invite:
            checks.append(team.allow_open_invite)
        else:
            checks.append(not team.allow_open_invite and not team.is_group_constrained)
    if search.group_constrained is not None:
        checks.append(team.is_group_constrained == search.group_constrained)
    return not checks or any(checks)


@routes.get("/api/v4/teams/name/{name}")
async def get_team_by_name(request: web.Request) -> web.Response:
    """A team by name."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team_by_name(request.match_info["name"])
    if team is None:
        raise not_found("app.team.get_by_name.missing.app_error")
    if not _can_view_team(state, caller, team):
        raise forbidden()
    return json_response(_team_json(state, caller, team))


@routes.get("/api/v4/teams/name/{name}/exists")
async def team_exists(request: web.Request) -> web.Response:
    """``{"exists": ...}``: true for a team the caller is a member of or may list."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team_by_name(request.match_info["name"])
    exists = team is not None and (
        _member(state, team.id, caller.id) is not None
        or (team.allow_open_invite and _has_system_permission(caller, "list_public_teams"))
        or (not team.allow_open_invite and caller.is_admin)
    )
    return json_response({"exists": exists})


@routes.get("/api/v4/teams/{team_id}")
async def get_team(request: web.Request) -> web.Response:
    """A team by id."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team(path_id(request, "team_id"))
    if not _can_view_team(state, caller, team):
        raise forbidden()
    return json_response(_team_json(state, caller, team))


@routes.get("/api/v4/users/{user_id}/teams")
async def teams_for_user(request: web.Request) -> web.Response:
    """The undeleted teams a user is a member of (self, or system admins)."""
    caller = require_user(request)
    state = get_context(request).state
    user_id = path_user_id(request)
    if user_id != caller.id and not caller.is_admin:
        raise forbidden()
    return json_response([_team_json(state, caller, t) for t in state.teams_of_user(user_id)])


@routes.get("/api/v4/users/{user_id}/teams/members")
async def team_members_for_user(request: web.Request) -> web.Response:
    """Every team membership of a user, left ones included (self, or system admins)."""
    caller = require_user(request)
    state = get_context(request).state
    user_id = path_user_id(request)
    if user_id != caller.id and not caller.is_admin:
        raise forbidden()
    return json_response([m.to_json() for m in state.team_members_of_user(user_id)])


@routes.get("/api/v4/users/{user_id}/teams/unread")
async def teams_unread_for_user(request: web.Request) -> web.Response:
    """Unread message and mention counts per team (``exclude_team`` leaves one out)."""
    caller = require_user(request)
    state = get_context(request).state
    user_id = path_user_id(request)
    if user_id != caller.id and not caller.is_admin:
        raise forbidden()
    exclude = request.query.get("exclude_team", "")
    return json_response([u.to_json() for u in state.team_unreads(user_id, exclude)])


@routes.get("/api/v4/users/{user_id}/teams/{team_id}/unread")
async def team_unread_for_user(request: web.Request) -> web.Response:
    """Unread message and mention counts of a user in one team."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    user_id = path_user_id(request)
    if user_id != caller.id and not caller.is_admin:
        raise forbidden()
    _require_team_permission(state, caller, team_id, "view_team")
    return json_response(state.team_unread(team_id, user_id).to_json())


@routes.get("/api/v4/teams/{team_id}/stats")
async def team_stats(request: web.Request) -> web.Response:
    """Member counts of a team (``total_member_count``, ``active_member_count``)."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    _require_team_permission(state, caller, team_id, "view_team")
    state.team(team_id)
    return json_response(state.team_stats(team_id).to_json())


# --------------------------------------------------------------------- teams: change/delete


@routes.put("/api/v4/teams/{team_id}")
async def update_team(request: web.Request) -> web.Response:
    """Replace the editable fields of a team (``manage_team``); ``update_team`` to its members."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    body = await read_model(request, TeamUpdateBody, "team")
    if body.id != team_id:
        raise invalid_body("id")
    _require_team_permission(state, caller, team_id, "manage_team")
    team = state.team(team_id)
    changes = {
        "display_name": body.display_name,
        "description": body.description,
        "allow_open_invite": body.allow_open_invite,
        "company_name": body.company_name,
        "allowed_domains": body.allowed_domains,
        "last_team_icon_update": body.last_team_icon_update,
        "group_constrained": body.group_constrained,
    }
    return json_response(_team_json(state, caller, state.update_team(team, changes)))


@routes.put("/api/v4/teams/{team_id}/patch")
async def patch_team(request: web.Request) -> web.Response:
    """Change the given fields of a team (``manage_team``); closing it makes a new invite id."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    patch = await read_model(request, TeamPatchBody, "team")
    _require_team_permission(state, caller, team_id, "manage_team")
    team = state.team(team_id)
    changes = {k: v for k, v in attrs.asdict(patch).items() if v is not None}
    if patch.allow_open_invite is False:
        changes["invite_id"] = state.ids.new_id()
    return json_response(_team_json(state, caller, state.update_team(team, changes)))


@routes.put("/api/v4/teams/{team_id}/privacy")
async def update_team_privacy(request: web.Request) -> web.Response:
    """``{"privacy": "O"|"I"}``: type and ``allow_open_invite`` together (``manage_team``)."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    value = await read_json(request, "privacy")
    privacy = value.get("privacy") if isinstance(value, dict) else None
    if privacy not in (TEAM_OPEN, TEAM_INVITE):
        raise invalid_body("privacy")
    _require_team_permission(state, caller, team_id, "manage_team")
    team = state.team(team_id)
    state.set_team_privacy(team, privacy, privacy == TEAM_OPEN)
    return json_response(_team_json(state, caller, team))


@routes.delete("/api/v4/teams/{team_id}")
async def delete_team(request: web.Request) -> web.Response:
    """Archive a team (``manage_team``); ``permanent=true`` is refused while
    ``EnableAPITeamDeletion`` is off (the default): 401."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    _require_team_permission(state, caller, team_id, "manage_team")
    if query_bool(request, "permanent", False):
        raise AppError(
            401,
            "api.user.delete_team.not_enabled.app_error",
            "Permanent team deletion feature is not enabled. Please contact your System Administrator.",
        )
    state.soft_delete_team(state.team(team_id))
    return status_ok()


@routes.post("/api/v4/teams/{team_id}/restore")
async def restore_team(request: web.Request) -> web.Response:
    """Unarchive a team (``manage_team``); the restored team."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    _require_team_permission(state, caller, team_id, "manage_team")
    team = state.team(team_id)
    state.restore_team(team)
    return json_response(team.to_json())


@routes.post("/api/v4/teams/{team_id}/regenerate_invite_id")
async def regenerate_invite_id(request: web.Request) -> web.Response:
    """A new invite id for the team (``manage_team``)."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    _require_team_permission(state, caller, team_id, "manage_team")
    team = state.regenerate_team_invite_id(state.team(team_id))
    return json_response(_team_json(state, caller, team))


@routes.put("/api/v4/teams/{team_id}/scheme")
async def update_team_scheme(request: web.Request) -> web.Response:
    """Set the team's permission scheme: 501 without a licence, as on an unlicensed server."""
    require_user(request)
    path_id(request, "team_id")
    body = await read_model(request, SchemeIdBody, "scheme_id")
    if body.scheme_id is None or (body.scheme_id and not is_valid_id(body.scheme_id)):
        raise invalid_body("scheme_id")
    raise AppError(
        501,
        "api.team.update_team_scheme.license.error",
        "Your license does not support updating a team's scheme",
    )


# ---------------------------------------------------------------------------- members


@routes.post("/api/v4/teams/{team_id}/members")
async def add_team_member(request: web.Request) -> web.Response:
    """Join (self: ``join_public_teams`` for open-invite teams) or add (``add_user_to_team``) a
    user; 201 with the TeamMember."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    body = await read_object(request, "team_member")
    if (get_str(body, "team_id", "team_id") or "") != team_id:
        raise invalid_body("team_id")
    user_id = get_str(body, "user_id", "user_id") or ""
    team = state.team(team_id)
    user = state.user(user_id)
    if user.id == caller.id:
        permission = "join_public_teams" if team.allow_open_invite else "join_private_teams"
        allowed = _has_system_permission(caller, permission) or caller.is_admin
    else:
        allowed = _has_team_permission(state, caller, team.id, "add_user_to_team")
    if not allowed:
        raise forbidden()
    member = state.add_team_member(team, user, caller.id)
    return json_response(member.to_json(), status=201)


@routes.post("/api/v4/teams/{team_id}/members/batch")
async def add_team_members(request: web.Request) -> web.Response:
    """Add up to 256 users (``add_user_to_team``); with ``graceful`` each user's result or error."""
    caller = require_user(request)
    state = get_context(request).state
    graceful = bool(request.query.get("graceful"))
    team_id = path_id(request, "team_id")
    members = _member_bodies(await read_json(request, "members"))
    if len(members) > MAX_ADD_MEMBERS_BATCH:
        raise invalid_body("too many members in batch")
    if not members:
        raise invalid_body("no members in batch")
    team = state.team(team_id)
    if team.is_group_constrained:
        raise AppError(400, "api.team.add_members.user_denied", "Users are not in the team's groups.")
    for member in members:
        if member.team_id != team_id:
            raise invalid_body("team_id for member with user_id=" + member.user_id)
        if not is_valid_id(member.user_id):
            raise invalid_body("user_id")
    _require_team_permission(state, caller, team_id, "add_user_to_team")
    results: list[dict[str, Any]] = []
    for member in members:
        try:
            added = state.add_team_member(team, state.user(member.user_id), caller.id)
        except AppError as error:
            if not graceful:
                raise
            results.append({"user_id": member.user_id, "member": None, "error": _error_json(error)})
            continue
        results.append({"user_id": member.user_id, "member": added.to_json(), "error": None})
    if graceful:
        return json_response(results, status=201)
    return json_response([r["member"] for r in results], status=201)


def _member_bodies(value: Any) -> list[TeamMemberBody]:
    if not isinstance(value, list):
        raise invalid_body("members")
    try:
        return [decode_body(item, TeamMemberBody) for item in value]
    except BodyTypeError:
        raise invalid_body("members") from None


@routes.post("/api/v4/teams/{team_id}/members/ids")
async def team_members_by_ids(request: web.Request) -> web.Response:
    """The active memberships of the given users in a team (``view_team``)."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    ids = await read_json(request, "user_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise invalid_body("user_ids")
    _require_team_permission(state, caller, team_id, "view_team")
    found = (_member(state, team_id, user_id) for user_id in dict.fromkeys(ids))
    return json_response([m.to_json() for m in found if m is not None])


@routes.get("/api/v4/teams/{team_id}/members")
async def list_team_members(request: web.Request) -> web.Response:
    """Members of a team, paged."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team(path_id(request, "team_id"))
    if not caller.is_admin and not state.is_team_member(team.id, caller.id):
        raise forbidden()
    page, per_page = paging(request)
    ids = state.team_member_ids(team.id)[page * per_page : (page + 1) * per_page]
    return json_response([state.team_members[(team.id, i)].to_json() for i in ids])


@routes.get("/api/v4/teams/{team_id}/members/{user_id}")
async def get_team_member(request: web.Request) -> web.Response:
    """One team member."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team(path_id(request, "team_id"))
    user_id = path_id(request, "user_id")
    if not caller.is_admin and not state.is_team_member(team.id, caller.id):
        raise forbidden()
    if not state.is_team_member(team.id, user_id):
        raise _member_missing()
    return json_response(state.team_members[(team.id, user_id)].to_json())


@routes.delete("/api/v4/teams/{team_id}/members/{user_id}")
async def remove_team_member(request: web.Request) -> web.Response:
    """Leave (self) or remove (``remove_user_from_team``) a user, and the team's channels too."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team(path_id(request, "team_id"))
    user = state.user(path_id(request, "user_id"))
    if user.id != caller.id and not _has_team_permission(state, caller, team.id, "remove_user_from_team"):
        raise forbidden()
    if not state.is_team_member(team.id, user.id):
        raise _member_missing()
    state.remove_team_member(team, user, caller.id)
    return status_ok()


@routes.put("/api/v4/teams/{team_id}/members/{user_id}/roles")
async def update_team_member_roles(request: web.Request) -> web.Response:
    """Set a member's roles from a role list (``manage_team_roles``); ``memberrole_updated``."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    user_id = path_user_id(request)
    value = await read_json(request, "team_member_roles")
    # ``model.MapFromJSON``: anything but an object of strings reads as an empty map.
    is_string_map = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    roles = str(value.get("roles", "")) if is_string_map else ""
    if not _valid_user_roles(roles):
        raise invalid_body("team_member_roles")
    _require_team_permission(state, caller, team_id, "manage_team_roles")
    member = state.team_members.get((team_id, user_id))
    if member is None:
        raise _member_missing()
    flags = {"team_guest": False, "team_user": False, "team_admin": False}
    explicit: list[str] = []
    for name in roles.split():
        if not _scheme_role(name):
            explicit.append(name)
        elif name in flags:
            flags[name] = True
        else:
            raise AppError(
                400,
                "api.channel.update_team_member_roles.scheme_role.app_error",
                "The provided role is managed by a Scheme and therefore cannot be applied directly"
                " to a Team Member.",
            )
    if flags["team_guest"] != member.scheme_guest and not (flags["team_guest"] and flags["team_user"]):
        raise AppError(
            400,
            "api.channel.update_team_member_roles.changing_guest_role.app_error",
            "Invalid team member update: You can't add or remove the guest role manually.",
        )
    state.set_team_member_roles(
        member,
        guest=flags["team_guest"],
        user=flags["team_user"],
        admin=flags["team_admin"],
        explicit=" ".join(explicit),
    )
    return status_ok()


@routes.put("/api/v4/teams/{team_id}/members/{user_id}/schemeRoles")
async def update_team_member_scheme_roles(request: web.Request) -> web.Response:
    """Set a member's scheme flags (``manage_team_roles``); ``memberrole_updated`` to them."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    user_id = path_user_id(request)
    body = await read_model(request, SchemeRolesBody, "scheme_roles")
    _require_team_permission(state, caller, team_id, "manage_team_roles")
    member = state.team_members.get((team_id, user_id))
    if member is None:
        raise _member_missing()
    state.set_team_member_roles(
        member, guest=body.scheme_guest, user=body.scheme_user, admin=body.scheme_admin
    )
    return status_ok()


@routes.get("/api/v4/teams/{team_id}/members_minus_group_members")
async def members_minus_group_members(request: web.Request) -> web.Response:
    """Team members outside the given groups (system admins); the emulator has no groups."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    raw = request.query.get("group_ids", "")
    if len(re.sub(r"[^a-zA-Z0-9,]*", "", raw)) < 26 or not all(is_valid_id(g) for g in raw.split(",")):
        raise invalid_body("group_ids")
    if not caller.is_admin:
        raise forbidden()
    page, per_page = paging(request)
    users = [
        (state.users[m.user_id], m)
        for (t, _), m in state.team_members.items()
        if t == team_id and not m.delete_at and not state.users[m.user_id].delete_at
    ]
    users.sort(key=lambda pair: pair[0].username)
    selected = users[page * per_page : (page + 1) * per_page]
    listed = [
        {
            **user.to_json(),
            "groups": None,
            "scheme_guest": member.scheme_guest,
            "scheme_user": member.scheme_user,
            "scheme_admin": member.scheme_admin,
        }
        for user, member in selected
    ]
    return json_response({"users": listed, "total_count": len(users)})


# ------------------------------------------------------------------------- invitations


@routes.post("/api/v4/teams/members/invite")
async def add_user_to_team_from_invite(request: web.Request) -> web.Response:
    """Join the team of an invite id (``invite_id``) or of an email invitation (``token``)."""
    caller = require_user(request)
    state = get_context(request).state
    token = request.query.get("token", "")
    invite_id = request.query.get("invite_id", "")
    if token:
        # Email invitations are off: no invitation token exists.
        raise AppError(
            400,
            "api.user.create_user.signup_link_invalid.app_error",
            "The signup link does not appear to be valid.",
        )
    if not invite_id:
        raise AppError(
            400,
            "api.team.add_user_to_team.missing_parameter.app_error",
            "Parameter required to add user to team.",
        )
    team = state.team_by_invite_id(invite_id)
    member = state.add_team_member(team, caller, caller.id)
    if team.is_group_constrained:
        raise AppError(
            403,
            "app.team.invite_id.group_constrained.error",
            "Unable to join a group-constrained team by invite.",
        )
    return json_response(member.to_json(), status=201)


@routes.get("/api/v4/teams/invite/{invite_id}")
async def get_invite_info(request: web.Request) -> web.Response:
    """Name, display name and description of the open team behind an invite id (no session)."""
    state = get_context(request).state
    invite_id = request.match_info["invite_id"]
    if not re.fullmatch(r"[A-Za-z0-9]+", invite_id):
        raise invalid_url("invite_id")
    team = state.team_by_invite_id(invite_id)
    if team.type != TEAM_OPEN:
        raise AppError(
            403,
            "api.team.get_invite_info.not_open_team",
            "Invite is invalid because this is not an open team.",
        )
    return json_response(
        {"display_name": team.display_name, "description": team.description, "name": team.name, "id": team.id}
    )


@routes.post("/api/v4/teams/{team_id}/invite/email")
async def invite_users_by_email(request: web.Request) -> web.Response:
    """Invite by email: 501 ``invite_members.disabled`` (``EnableEmailInvitations`` is off)."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    _require_team_permission(state, caller, team_id, "invite_user")
    _require_team_permission(state, caller, team_id, "add_user_to_team")
    try:
        value = await read_json(request, "user_email")
    except AppError:
        value = None
    # ``model.MemberInvite`` reads a bare list of addresses or ``{"emails": [...]}``.
    emails = value.get("emails") if isinstance(value, dict) else value
    if not isinstance(emails, list) or not emails or not all(isinstance(e, str) for e in emails):
        raise invalid_body("user_email")
    raise AppError(501, "api.team.invite_members.disabled.app_error", "Email invitations are disabled.")


@routes.post("/api/v4/teams/{team_id}/invite-guests/email")
async def invite_guests_by_email(request: web.Request) -> web.Response:
    """Invite guests: 501 ``license.error``, as on a server without a licence."""
    require_user(request)
    raise AppError(
        501,
        "api.team.invite_guests_to_channels.license.error",
        "Your license does not support guest accounts",
    )


@routes.delete("/api/v4/teams/invites/email")
async def invalidate_email_invites(request: web.Request) -> web.Response:
    """Invalidate every pending email invitation (``invalidate_email_invite``: system admins)."""
    caller = require_user(request)
    if not caller.is_admin:
        raise forbidden()
    return status_ok()


@routes.post("/api/v4/teams/{team_id}/import")
async def import_team(request: web.Request) -> web.Response:
    """Import a Slack export into a team (``import_team``): the form is checked as the server
    checks it; a readable archive is not imported (501)."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    _require_team_permission(state, caller, team_id, "import_team")
    form = await _form(request, "api.team.import_team.parse.app_error", status=500)
    import_from = form.get("importFrom")
    if not isinstance(import_from, str):
        raise AppError(
            400,
            "api.team.import_team.no_import_from.app_error",
            "Malformed request: importFrom field is not present.",
        )
    size = form.get("filesize")
    if not isinstance(size, str):
        raise AppError(
            400,
            "api.team.import_team.unavailable.app_error",
            "Malformed request: filesize field is not present.",
        )
    if not re.fullmatch(r"[+-]?\d+", size):
        raise AppError(400, "api.team.import_team.integer.app_error", "Filesize not an integer.")
    data = _file_bytes(form.get("file"))
    if data is None:
        raise AppError(400, "api.team.import_team.no_file.app_error", "No file under 'file' in request.")
    if import_from != "slack":
        raise AppError(400, "api.team.import_team.unknown_import_from.app_error", "Unknown import source.")
    try:
        zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile:
        raise AppError(
            400, "api.slackimport.slack_import.zip.app_error", "Unable to open the Slack export zip file."
        ) from None
    raise AppError(501, "api.team.import_team.not_emulated", "The emulator does not import Slack exports.")


# ------------------------------------------------------------------------------- icon


@routes.get("/api/v4/teams/{team_id}/image")
async def get_team_icon(request: web.Request) -> web.Response:
    """The team icon (PNG), with an ETag of ``last_team_icon_update``; 404 when none was set."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team(path_id(request, "team_id"))
    if not _can_view_team(state, caller, team):
        raise forbidden()
    etag = str(team.last_team_icon_update)
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304)
    if team.icon is None:
        raise AppError(
            404, "api.team.get_team_icon.read_file.app_error", "Unable to read the team icon file."
        )
    headers = {"Cache-Control": "max-age=86400, private", "ETag": etag}
    return web.Response(body=team.icon, content_type="image/png", headers=headers)


@routes.post("/api/v4/teams/{team_id}/image")
async def set_team_icon(request: web.Request) -> web.Response:
    """Upload the team icon (multipart part ``image``; ``manage_team``); ``update_team``."""
    caller = require_user(request)
    ctx = get_context(request)
    state = ctx.state
    team_id = path_id(request, "team_id")
    _require_team_permission(state, caller, team_id, "manage_team")
    if (request.content_length or 0) > ctx.settings.max_file_size:
        raise AppError(
            400,
            "api.team.set_team_icon.too_large.app_error",
            "Unable to upload team icon. File is too large.",
        )
    form = await _form(request, "api.team.set_team_icon.parse.app_error")
    image = _file_bytes(form.get("image"))
    if image is None:
        raise AppError(400, "api.team.set_team_icon.no_file.app_error", "No file under 'image' in request.")
    team = state.teams.get(team_id)
    if team is None:
        raise AppError(
            400, "api.team.set_team_icon.get_team.app_error", "An error occurred getting the team."
        )
    if not image.startswith(_IMAGE_MAGIC):
        raise AppError(
            400, "api.team.set_team_icon.check_image_limits.app_error", "Image limits check failed."
        )
    state.set_team_icon(team, image)
    return status_ok()


@routes.delete("/api/v4/teams/{team_id}/image")
async def remove_team_icon(request: web.Request) -> web.Response:
    """Remove the team icon (``manage_team``); ``update_team``."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    _require_team_permission(state, caller, team_id, "manage_team")
    team = state.teams.get(team_id)
    if team is None:
        raise AppError(
            400, "api.team.remove_team_icon.get_team.app_error", "An error occurred getting the team."
        )
    state.remove_team_icon(team)
    return status_ok()
