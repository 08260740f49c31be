"""Teams: create, list, search, read, change, delete, restore, icons (``api4/team.go``)."""

from __future__ import annotations

import attrs
from aiohttp import web

from ..auth import require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body, not_found
from ..ids import is_valid_id
from ..models import Team
from ..models.teams import (
    TEAM_INVITE,
    TEAM_OPEN,
    SchemeIdBody,
    TeamPatchBody,
    TeamSearchBody,
    TeamUpdateBody,
)
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
from .team_access import (
    IMAGE_MAGIC,
    can_view_team,
    file_bytes,
    has_system_permission,
    multipart_form,
    require_team_permission,
    team_json,
    team_member_of,
)

routes = web.RouteTableDef()
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
    list_private = has_system_permission(caller, "list_private_teams") or caller.is_admin
    list_public = has_system_permission(caller, "list_public_teams")
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
    selected = [team_json(state, caller, t) for t in teams[page * per_page : (page + 1) * per_page]]
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
    elif has_system_permission(caller, "list_public_teams"):
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
        return json_response([team_json(state, caller, t) for t in found])
    per_page = max(search.per_page or 0, 0)
    start = max(search.page or 0, 0) * per_page
    page = found[start : start + per_page]
    return json_response({"teams": [team_json(state, caller, t) for t in page], "total_count": len(found)})


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
    if not can_view_team(state, caller, team):
        raise forbidden()
    return json_response(team_json(state, caller, team))


@routes.get("/api/v4/teams/name/{name}/exists")
async def team_exists(request: web.Request) -> web.Response:
    """``{"exists": ...}``: true for a team the caller is a member of or may list."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team_by_name(request.match_info["name"])
    exists = team is not None and (
        team_member_of(state, team.id, caller.id) is not None
        or (team.allow_open_invite and has_system_permission(caller, "list_public_teams"))
        or (not team.allow_open_invite and caller.is_admin)
    )
    return json_response({"exists": exists})


@routes.get("/api/v4/teams/{team_id}")
async def get_team(request: web.Request) -> web.Response:
    """A team by id."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team(path_id(request, "team_id"))
    if not can_view_team(state, caller, team):
        raise forbidden()
    return json_response(team_json(state, caller, team))


@routes.get("/api/v4/users/{user_id}/teams")
async def teams_for_user(request: web.Request) -> web.Response:
    """The undeleted teams a user is a member of (self, or system admins)."""
    caller = require_user(request)
    state = get_context(request).state
    user_id = path_user_id(request)
    if user_id != caller.id and not caller.is_admin:
        raise forbidden()
    return json_response([team_json(state, caller, t) for t in state.teams_of_user(user_id)])


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
    require_team_permission(state, caller, team_id, "view_team")
    return json_response(state.team_unread(team_id, user_id).to_json())


@routes.get("/api/v4/teams/{team_id}/stats")
async def team_stats(request: web.Request) -> web.Response:
    """Member counts of a team (``total_member_count``, ``active_member_count``)."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    require_team_permission(state, caller, team_id, "view_team")
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
    require_team_permission(state, caller, team_id, "manage_team")
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
    return json_response(team_json(state, caller, state.update_team(team, changes)))


@routes.put("/api/v4/teams/{team_id}/patch")
async def patch_team(request: web.Request) -> web.Response:
    """Change the given fields of a team (``manage_team``); closing it makes a new invite id."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    patch = await read_model(request, TeamPatchBody, "team")
    require_team_permission(state, caller, team_id, "manage_team")
    team = state.team(team_id)
    changes = {k: v for k, v in attrs.asdict(patch).items() if v is not None}
    if patch.allow_open_invite is False:
        changes["invite_id"] = state.ids.new_id()
    return json_response(team_json(state, caller, state.update_team(team, changes)))


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
    require_team_permission(state, caller, team_id, "manage_team")
    team = state.team(team_id)
    state.set_team_privacy(team, privacy, privacy == TEAM_OPEN)
    return json_response(team_json(state, caller, team))


@routes.delete("/api/v4/teams/{team_id}")
async def delete_team(request: web.Request) -> web.Response:
    """Archive a team (``manage_team``); ``permanent=true`` is refused while
    ``EnableAPITeamDeletion`` is off (the default): 401."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    require_team_permission(state, caller, team_id, "manage_team")
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
    require_team_permission(state, caller, team_id, "manage_team")
    team = state.team(team_id)
    state.restore_team(team)
    return json_response(team.to_json())


@routes.post("/api/v4/teams/{team_id}/regenerate_invite_id")
async def regenerate_invite_id(request: web.Request) -> web.Response:
    """A new invite id for the team (``manage_team``)."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    require_team_permission(state, caller, team_id, "manage_team")
    team = state.regenerate_team_invite_id(state.team(team_id))
    return json_response(team_json(state, caller, team))


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


# ------------------------------------------------------------------------------- icon


@routes.get("/api/v4/teams/{team_id}/image")
async def get_team_icon(request: web.Request) -> web.Response:
    """The team icon (PNG), with an ETag of ``last_team_icon_update``; 404 when none was set."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team(path_id(request, "team_id"))
    if not can_view_team(state, caller, team):
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
    require_team_permission(state, caller, team_id, "manage_team")
    if (request.content_length or 0) > ctx.settings.max_file_size:
        raise AppError(
            400,
            "api.team.set_team_icon.too_large.app_error",
            "Unable to upload team icon. File is too large.",
        )
    form = await multipart_form(request, "api.team.set_team_icon.parse.app_error")
    image = file_bytes(form.get("image"))
    if image is None:
        raise AppError(400, "api.team.set_team_icon.no_file.app_error", "No file under 'image' in request.")
    team = state.teams.get(team_id)
    if team is None:
        raise AppError(
            400, "api.team.set_team_icon.get_team.app_error", "An error occurred getting the team."
        )
    if not image.startswith(IMAGE_MAGIC):
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
    require_team_permission(state, caller, team_id, "manage_team")
    team = state.teams.get(team_id)
    if team is None:
        raise AppError(
            400, "api.team.remove_team_icon.get_team.app_error", "An error occurred getting the team."
        )
    state.remove_team_icon(team)
    return status_ok()
