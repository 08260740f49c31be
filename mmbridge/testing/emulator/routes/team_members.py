"""Team members (add, batch, by ids, list, get, remove, roles) and invitations."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from aiohttp import web

from ..auth import require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body, invalid_url
from ..ids import is_valid_id
from ..models.requests import BodyTypeError, decode_body
from ..models.teams import (
    TEAM_OPEN,
    SchemeRolesBody,
    TeamMemberBody,
)
from .common import (
    get_str,
    json_response,
    paging,
    path_id,
    path_user_id,
    read_json,
    read_model,
    read_object,
    status_ok,
)
from .team_access import (
    MAX_ADD_MEMBERS_BATCH,
    error_json,
    file_bytes,
    has_system_permission,
    has_team_permission,
    is_scheme_role,
    member_missing,
    multipart_form,
    require_team_permission,
    team_member_of,
    valid_user_roles,
)

routes = web.RouteTableDef()


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
        allowed = has_system_permission(caller, permission) or caller.is_admin
    else:
        allowed = has_team_permission(state, caller, team.id, "add_user_to_team")
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
    require_team_permission(state, caller, team_id, "add_user_to_team")
    results: list[dict[str, Any]] = []
    for member in members:
        try:
            added = state.add_team_member(team, state.user(member.user_id), caller.id)
        except AppError as error:
            if not graceful:
                raise
            results.append({"user_id": member.user_id, "member": None, "error": error_json(error)})
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
    require_team_permission(state, caller, team_id, "view_team")
    found = (team_member_of(state, team_id, user_id) for user_id in dict.fromkeys(ids))
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
        raise member_missing()
    return json_response(state.team_members[(team.id, user_id)].to_json())


@routes.delete("/api/v4/teams/{team_id}/members/{user_id}")
async def remove_team_member(request: web.Request) -> web.Response:
    """Leave (self) or remove (``remove_user_from_team``) a user, and the team's channels too."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team(path_id(request, "team_id"))
    user = state.user(path_id(request, "user_id"))
    if user.id != caller.id and not has_team_permission(state, caller, team.id, "remove_user_from_team"):
        raise forbidden()
    if not state.is_team_member(team.id, user.id):
        raise member_missing()
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
    if not valid_user_roles(roles):
        raise invalid_body("team_member_roles")
    require_team_permission(state, caller, team_id, "manage_team_roles")
    member = state.team_members.get((team_id, user_id))
    if member is None:
        raise member_missing()
    flags = {"team_guest": False, "team_user": False, "team_admin": False}
    explicit: list[str] = []
    for name in roles.split():
        if not is_scheme_role(name):
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
    require_team_permission(state, caller, team_id, "manage_team_roles")
    member = state.team_members.get((team_id, user_id))
    if member is None:
        raise member_missing()
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
            **user.profile_json(as_admin=True),  # (system admins only)
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
    require_team_permission(state, caller, team_id, "invite_user")
    require_team_permission(state, caller, team_id, "add_user_to_team")
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
    require_team_permission(state, caller, team_id, "import_team")
    form = await multipart_form(request, "api.team.import_team.parse.app_error", status=500)
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
    data = file_bytes(form.get("file"))
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
