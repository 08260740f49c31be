"""Teams and team membership."""

from __future__ import annotations

from aiohttp import web

from ..auth import is_team_admin, require_user
from ..context import get_context
from ..errors import forbidden, invalid_body, not_found
from ..models import Team, User
from ..state import State
from ..validation import check_team_name
from .common import get_str, json_response, paging, path_id, read_object, status_ok

routes = web.RouteTableDef()


def _can_view_team(state: State, user: User, team: Team) -> bool:
    return user.is_admin or team.allow_open_invite or state.is_team_member(team.id, user.id)


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


@routes.get("/api/v4/teams/name/{name}")
async def get_team_by_name(request: web.Request) -> web.Response:
    """A team by name."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team_by_name(request.match_info["name"])
    if team is None or not _can_view_team(state, caller, team):
        raise not_found("app.team.get_by_name.missing.app_error")
    return json_response(team.to_json())


@routes.get("/api/v4/teams/{team_id}")
async def get_team(request: web.Request) -> web.Response:
    """A team by id."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team(path_id(request, "team_id"))
    if not _can_view_team(state, caller, team):
        raise forbidden()
    return json_response(team.to_json())


@routes.post("/api/v4/teams/{team_id}/members")
async def add_team_member(request: web.Request) -> web.Response:
    """Join (self, open team) or add (team admin) a user; 201 with the TeamMember."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    body = await read_object(request, "team_member")
    if (get_str(body, "team_id", "team_id") or "") != team_id:
        raise invalid_body("team_id")
    user_id = get_str(body, "user_id", "user_id") or ""
    team = state.team(team_id)
    user = state.user(user_id)
    self_join = user.id == caller.id and team.type == "O" and team.allow_open_invite
    if not self_join and not is_team_admin(state, caller, team.id):
        raise forbidden()
    member = state.add_team_member(team, user, caller.id)
    return json_response(member.to_json(), status=201)


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
        raise not_found("app.team.get_member.missing.app_error")
    return json_response(state.team_members[(team.id, user_id)].to_json())


@routes.delete("/api/v4/teams/{team_id}/members/{user_id}")
async def remove_team_member(request: web.Request) -> web.Response:
    """Leave (self) or remove (team admin) a user; they leave the team's channels too."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team(path_id(request, "team_id"))
    user = state.user(path_id(request, "user_id"))
    if user.id != caller.id and not is_team_admin(state, caller, team.id):
        raise forbidden()
    if not state.is_team_member(team.id, user.id):
        raise not_found("app.team.get_member.missing.app_error")
    state.remove_team_member(team, user, caller.id)
    return status_ok()
