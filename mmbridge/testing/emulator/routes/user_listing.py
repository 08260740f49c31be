"""Users: listing with the server's filters, lookups by email and username, autocomplete, counts."""

from __future__ import annotations

from typing import Any

import attrs
from aiohttp import web

from ..auth import (
    can_read_channel,
    require_admin,
    require_user,
)
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body, invalid_url, not_found
from ..models import (
    ChannelMember,
    TeamMember,
    User,
)
from ..roles import is_valid_role_name
from ..state import State
from ..validation import check_email
from .common import (
    json_response,
    paging,
    profiles,
    query_bool,
    read_id_list,
    user_view,
)

routes = web.RouteTableDef()

# --------------------------------------------------------------------------- Listing and lookup

#: ``UserSearchDefaultLimit`` / ``UserSearchMaxLimit``.
_SEARCH_DEFAULT_LIMIT = 100
_SEARCH_MAX_LIMIT = 1000
_STATUS_ORDER = {"online": 0, "away": 1, "dnd": 2}


def _role_list(request: web.Request, name: str, param: str) -> list[str]:
    """``model.CleanRoleNames`` of a comma-separated query parameter; 400 naming ``param``."""
    raw = request.query.get(name, "")
    if not raw:
        return []
    roles = [r.strip() for r in raw.split(",")]
    if not all(is_valid_role_name(r) for r in roles):
        raise invalid_body(param)
    return roles


def _can_view_team(state: State, user: User, team_id: str) -> bool:
    """``view_team``: team members and system admins."""
    return user.is_admin or state.is_team_member(team_id, user.id)


@attrs.define(frozen=True)
class _RoleFilter:
    """``applyMultiRoleFilters`` of the user store: the listed system, team and channel roles,
    any of which lets a user through (no roles: everyone)."""

    system: list[str]
    team: list[str]
    channel: list[str]

    def admits(self, state: State, user: User, team_id: str, channel_id: str) -> bool:
        """Whether ``user`` holds one of the roles (team and channel roles in those scopes)."""
        if not (self.system or self.team or self.channel):
            return True
        tests: list[bool] = []
        user_roles = user.roles.split()
        for role in self.system:
            if role == "system_user":
                tests.append(user.roles == "system_user")
            elif role.startswith("system_"):
                tests.append(role in user.roles)
        team_member = state.team_members.get((team_id, user.id))
        if team_member is not None:
            tests += [_scheme_role(team_member, r, "team", user_roles) for r in self.team]
        channel_member = state.channel_members.get((channel_id, user.id))
        if channel_member is not None:
            tests += [_scheme_role(channel_member, r, "channel", user_roles) for r in self.channel]
        # Names the store does not know add no condition at all.
        return any(tests) or not tests


def _scheme_role(member: TeamMember | ChannelMember, role: str, scope: str, user_roles: list[str]) -> bool:
    if role == f"{scope}_admin":
        return member.scheme_admin and "system_guest" not in user_roles
    if role == f"{scope}_user":
        return member.scheme_user and not member.scheme_admin and "system_admin" not in user_roles
    if role == f"{scope}_guest":
        return member.scheme_guest
    return False


def _check_sort(sort: str, query: Any) -> None:
    """The sort orders ``getUsers`` supports, each only with its filter."""
    team_only = bool(query.get("in_team")) and not any(
        query.get(k)
        for k in ("not_in_team", "in_channel", "not_in_channel", "without_team", "in_group", "not_in_group")
    )
    allowed = {
        "": True,
        "last_activity_at": team_only,
        "create_at": team_only,
        "status": bool(query.get("in_channel")),
        "admin": bool(query.get("in_channel")),
    }
    if not allowed.get(sort, False):
        raise invalid_url("sort")


def _sorted_users(state: State, users: list[User], sort: str, channel_id: str) -> list[User]:
    by_name = sorted(users, key=lambda u: u.username)
    if sort == "last_activity_at":
        return sorted(by_name, key=lambda u: -int(state.status_of(u.id)["last_activity_at"]))
    if sort == "create_at":
        return sorted(by_name, key=lambda u: -u.create_at)
    if sort == "status":
        return sorted(by_name, key=lambda u: _STATUS_ORDER.get(str(state.status_of(u.id)["status"]), 3))
    if sort == "admin":
        return sorted(by_name, key=lambda u: not state.channel_members[(channel_id, u.id)].scheme_admin)
    return by_name


def _candidates(request: web.Request, caller: User) -> tuple[list[User], bool]:
    """The users of the filter ``getUsers`` picks (in its order of precedence), after its
    permission check, and whether the role and activity filters apply to them."""
    state = get_context(request).state
    query = request.query
    in_team, not_in_team = query.get("in_team", ""), query.get("not_in_team", "")
    in_channel, not_in_channel = query.get("in_channel", ""), query.get("not_in_channel", "")
    constrained = query_bool(request, "group_constrained", False)
    users = list(state.users.values())
    if query_bool(request, "without_team", False):
        # ``list_users_without_team``: system admins (and user managers) only.
        require_admin(caller)
        teams = {u for (_, u), m in state.team_members.items() if not m.delete_at}
        return [u for u in users if u.id not in teams], True
    if not_in_channel:
        if not can_read_channel(state, caller, not_in_channel):
            raise forbidden()
        if constrained:  # no group is synced to anything
            return [], False
        return [
            u
            for u in users
            if state.is_team_member(in_team, u.id)
            and not state.is_channel_member(not_in_channel, u.id)
            and not u.delete_at
        ], False
    if not_in_team:
        if not _can_view_team(state, caller, not_in_team):
            raise forbidden()
        if constrained:
            return [], False
        return [u for u in users if not state.is_team_member(not_in_team, u.id)], False
    if in_team:
        if not _can_view_team(state, caller, in_team):
            raise forbidden()
        # The team query wins over in_channel; the activity and creation orders take no filters.
        users = [u for u in users if state.is_team_member(in_team, u.id)]
        return users, query.get("sort", "") not in ("last_activity_at", "create_at")
    if in_channel:
        if not can_read_channel(state, caller, in_channel):
            raise forbidden()
        return [u for u in users if state.is_channel_member(in_channel, u.id)], True
    for key in ("in_group", "not_in_group"):
        if query.get(key):
            # requireGroupAccess: the emulated server has no groups, so none is found.
            raise not_found("app.group.no_rows")
    return users, True


@routes.get("/api/v4/users")
async def get_users(request: web.Request) -> web.Response:
    """Users, filtered by team, channel, activity and roles, sorted and paged as ``getUsers``."""
    caller = require_user(request)
    state = get_context(request).state
    query = request.query
    if query.get("not_in_channel") and not query.get("in_team"):
        raise invalid_url("team_id")
    sort = query.get("sort", "")
    _check_sort(sort, query)
    active, inactive = query_bool(request, "active", False), query_bool(request, "inactive", False)
    if active and inactive:
        raise invalid_url("inactive")
    roles = _RoleFilter(
        _role_list(request, "roles", "roles"),
        _role_list(request, "team_roles", "teamRoles") if query.get("in_team") else [],
        _role_list(request, "channel_roles", "channelRoles") if query.get("in_channel") else [],
    )
    users, filtered = _candidates(request, caller)
    if filtered:
        role = query.get("role", "")
        team_id, channel_id = query.get("in_team", ""), query.get("in_channel", "")
        users = [
            u
            for u in users
            if (role in u.roles)
            and not (active and u.delete_at)
            and not (inactive and not u.delete_at)
            and roles.admits(state, u, team_id, channel_id)
        ]
    page, per_page = paging(request)
    ordered = _sorted_users(state, users, sort, query.get("in_channel", ""))
    return json_response(profiles(request, ordered[page * per_page : (page + 1) * per_page]))


@routes.post("/api/v4/users/usernames")
async def get_users_by_usernames(request: web.Request) -> web.Response:
    """Users for a list of usernames; unknown names are skipped."""
    require_user(request)
    state = get_context(request).state
    names = await read_id_list(request, "usernames")
    if not names:
        raise invalid_body("usernames")
    wanted = set(names)
    found = sorted((u for u in state.users.values() if u.username in wanted), key=lambda u: u.username)
    return json_response(profiles(request, found))


@routes.post("/api/v4/users/group_channels")
async def get_users_by_group_channels(request: web.Request) -> web.Response:
    """For each group message of the caller among the ids, its other members."""
    caller = require_user(request)
    state = get_context(request).state
    ids = await read_id_list(request, "channel_ids")
    if not ids:
        raise invalid_body("channel_ids")
    result: dict[str, list[dict[str, Any]]] = {}
    for channel_id in dict.fromkeys(ids):
        channel = state.channels.get(channel_id)
        if channel is None or channel.type != "G" or not state.is_channel_member(channel_id, caller.id):
            continue
        members = [state.users[u] for u in state.channel_member_ids(channel_id) if u != caller.id]
        if members:
            result[channel_id] = profiles(request, members)
    return json_response(result)


@routes.get("/api/v4/users/email/{email}")
async def get_user_by_email(request: web.Request) -> web.Response:
    """A user by email address (``ShowEmailAddress`` is on by default)."""
    require_user(request)
    email = request.match_info["email"]
    try:
        check_email(email)
    except AppError:
        raise invalid_url("email") from None
    user = get_context(request).state.user_by_email(email)
    if user is None:
        raise not_found("app.user.missing_account.const")
    return json_response(user_view(request, user))


def _autocomplete_matches(user: User, term: str) -> bool:
    """Prefix match on username, names and nickname (never the email), active users only."""
    if user.delete_at:
        return False
    fields = (user.username, user.first_name, user.last_name, user.nickname)
    return not term or any(f.lower().startswith(term) for f in fields)


@routes.get("/api/v4/users/autocomplete")
async def autocomplete_users(request: web.Request) -> web.Response:
    """Users for an @-mention: in the channel and out of it, in the team, or anywhere."""
    caller = require_user(request)
    state = get_context(request).state
    channel_id = request.query.get("in_channel", "")
    team_id = request.query.get("in_team", "")
    term = request.query.get("name", "").strip().lower().lstrip("@")
    limit_raw = request.query.get("limit", "")
    try:
        limit = min(int(limit_raw), _SEARCH_MAX_LIMIT) if limit_raw else _SEARCH_DEFAULT_LIMIT
    except ValueError:
        limit = 0
    if channel_id and not can_read_channel(state, caller, channel_id):
        raise forbidden()
    if team_id and not _can_view_team(state, caller, team_id):
        raise forbidden()
    matches = sorted(
        (u for u in state.users.values() if _autocomplete_matches(u, term)), key=lambda u: u.username
    )
    if channel_id:
        if not team_id:
            raise AppError(
                500,
                "api.user.autocomplete_users.missing_team_id.app_error",
                "Team id parameter is required to autocomplete by channel.",
            )
        inside = [u for u in matches if state.is_channel_member(channel_id, u.id)]
        outside = [
            u
            for u in matches
            if state.is_team_member(team_id, u.id) and not state.is_channel_member(channel_id, u.id)
        ]
        body: dict[str, Any] = {"users": profiles(request, inside[:limit])}
        if outside[:limit]:
            body["out_of_channel"] = profiles(request, outside[:limit])
        return json_response(body)
    if team_id:
        matches = [u for u in matches if state.is_team_member(team_id, u.id)]
    return json_response({"users": profiles(request, matches[:limit])})


@routes.get("/api/v4/users/known")
async def get_known_users(request: web.Request) -> web.Response:
    """Ids of the users the caller shares a channel with."""
    caller = require_user(request)
    state = get_context(request).state
    mine = {c for (c, u) in state.channel_members if u == caller.id}
    known = dict.fromkeys(u for (c, u) in state.channel_members if c in mine and u != caller.id)
    return json_response(list(known))


@routes.get("/api/v4/users/stats")
async def get_users_stats(request: web.Request) -> web.Response:
    """``total_users_count``: active accounts, bots included."""
    require_user(request)
    users = get_context(request).state.users.values()
    return json_response({"total_users_count": sum(1 for u in users if not u.delete_at)})


@routes.get("/api/v4/users/stats/filtered")
async def get_filtered_users_stats(request: web.Request) -> web.Response:
    """A user count with filters (``sysconsole_read_user_management_users``: admins)."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = request.query.get("in_team", "")
    channel_id = request.query.get("in_channel", "")
    roles = _RoleFilter(
        _role_list(request, "roles", "roles"),
        _role_list(request, "team_roles", "teamRoles") if team_id else [],
        _role_list(request, "channel_roles", "channelRoles") if channel_id else [],
    )
    require_admin(caller)
    deleted = query_bool(request, "include_deleted", False)
    bots = query_bool(request, "include_bots", False)
    count = sum(
        1
        for u in state.users.values()
        if (deleted or not u.delete_at)
        and (bots or not u.is_bot)
        and (not team_id or state.is_team_member(team_id, u.id))
        and (not channel_id or state.is_channel_member(channel_id, u.id))
        and roles.admits(state, u, team_id, channel_id)
    )
    return json_response({"total_users_count": count})


@routes.get("/api/v4/users/invalid_emails")
async def get_users_with_invalid_emails(request: web.Request) -> web.Response:
    """Active email accounts outside ``RestrictCreationToDomains``: with no restriction (the
    default) that is every one of them, as the store's query has no domain to exclude."""
    require_admin(require_user(request))
    page, per_page = paging(request)
    users = [
        u
        for u in get_context(request).state.users.values()
        if not u.is_bot and u.roles != "system_guest" and not u.delete_at and not u.auth_service
    ]
    return json_response(profiles(request, users[page * per_page : (page + 1) * per_page]))


@routes.get("/api/v4/limits/server")
async def get_server_limits(request: web.Request) -> web.Response:
    """The unlicensed user limits (soft 2500, hard 5000); non-admins get zeros."""
    caller = require_user(request)
    users = get_context(request).state.users.values()
    limits = {"maxUsersLimit": 2500, "maxUsersHardLimit": 5000}
    active = sum(1 for u in users if not u.delete_at and not u.is_bot)
    if not caller.is_admin:
        limits, active = {"maxUsersLimit": 0, "maxUsersHardLimit": 0}, 0
    return json_response(
        {**limits, "activeUserCount": active, "lastAccessiblePostTime": 0, "postHistoryLimit": 0}
    )
