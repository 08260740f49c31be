"""Channels (O, P, D, G), their members, patches and soft deletion."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..auth import (
    can_read_channel,
    can_view_channel,
    is_team_admin,
    require_admin,
    require_self_or_admin,
    require_user,
)
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body, invalid_url, not_found
from ..ids import is_valid_id
from ..models import Channel, ChannelMember, User
from ..models.channels import (
    ChannelSchemeRolesBody,
    ChannelSearchBody,
    ChannelUpdateBody,
    ChannelViewBody,
)
from ..roles import BUILT_IN_ROLES
from ..state import DEFAULT_CHANNELS, State
from ..state.channels import CHANGE_POSTS
from ..validation import check_channel_fields, check_channel_name
from .common import (
    get_str,
    json_response,
    paging,
    path_id,
    path_user_id,
    query_bool,
    read_id_list,
    read_json,
    read_model,
    read_object,
    status_ok,
)

routes = web.RouteTableDef()

DEFAULT_CHANNEL_NAMES = frozenset(name for name, _ in DEFAULT_CHANNELS)


def _visible_channel(state: State, caller: User, channel_id: str) -> Channel:
    channel = state.channel(channel_id)
    if not can_view_channel(state, caller, channel.id):
        raise forbidden()
    return channel


@routes.post("/api/v4/channels/direct")
async def create_direct(request: web.Request) -> web.Response:
    """Get or create the DM of two users (201 either way)."""
    caller = require_user(request)
    state = get_context(request).state
    ids = await read_id_list(request, "user_ids")
    if len(ids) != 2 or not all(is_valid_id(i) for i in ids):
        raise invalid_body("user_ids")
    if caller.id not in ids and not caller.is_admin:
        raise forbidden()
    users = [state.user(i) for i in ids]
    creator = caller if caller.id in ids else users[0]
    other = users[1] if users[0].id == creator.id else users[0]
    channel, _ = state.direct_channel(creator, other)
    return json_response(channel.to_json(), status=201)


@routes.post("/api/v4/channels/group")
async def create_group(request: web.Request) -> web.Response:
    """Get or create the GM of 3-8 users (the caller included)."""
    caller = require_user(request)
    state = get_context(request).state
    ids = list(dict.fromkeys(await read_id_list(request, "user_ids")))
    if caller.id not in ids:
        ids.append(caller.id)
    if not all(is_valid_id(i) for i in ids):
        raise invalid_body("user_ids")
    if not 3 <= len(ids) <= 8:
        raise AppError(
            400,
            "api.channel.create_group.bad_size.app_error",
            "Group message channels must contain at least 3 and no more than 8 users.",
        )
    users = [state.user(i) for i in ids]
    channel, _ = state.group_channel(caller, users)
    return json_response(channel.to_json(), status=201)


@routes.post("/api/v4/channels")
async def create_channel(request: web.Request) -> web.Response:
    """Create an open or private channel; the creator becomes a member."""
    caller = require_user(request)
    state = get_context(request).state
    body = await read_object(request, "channel")
    team_id = get_str(body, "team_id", "channel") or ""
    channel_type = get_str(body, "type", "channel") or ""
    if channel_type not in ("O", "P"):
        raise AppError(400, "model.channel.is_valid.type.app_error", "Invalid type.")
    name = get_str(body, "name", "channel") or ""
    display_name = get_str(body, "display_name", "channel") or ""
    header = get_str(body, "header", "channel") or ""
    purpose = get_str(body, "purpose", "channel") or ""
    if not is_valid_id(team_id):
        raise AppError(400, "model.channel.is_valid.team_id.app_error", "Invalid team id.")
    team = state.team(team_id)
    if not caller.is_admin and not state.is_team_member(team.id, caller.id):
        raise forbidden()
    check_channel_name(name, channel_type)
    check_channel_fields(display_name, header, purpose)
    channel = state.create_channel(
        team, name, display_name, channel_type, caller, header=header, purpose=purpose
    )
    return json_response(channel.to_json(), status=201)


@routes.get("/api/v4/channels/{channel_id}")
async def get_channel(request: web.Request) -> web.Response:
    """A channel by id."""
    caller = require_user(request)
    state = get_context(request).state
    return json_response(_visible_channel(state, caller, path_id(request, "channel_id")).to_json())


@routes.get("/api/v4/teams/{team_id}/channels/name/{channel_name}")
async def get_channel_by_name(request: web.Request) -> web.Response:
    """A channel of a team by name (deleted ones with ``include_deleted=true``)."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team(path_id(request, "team_id"))
    channel = state.channel_by_name(team.id, request.match_info["channel_name"])
    include_deleted = request.query.get("include_deleted", "").lower() == "true"
    if channel is None or (channel.delete_at and not include_deleted):
        raise not_found("app.channel.get_by_name.missing.app_error")
    if not can_view_channel(state, caller, channel.id):
        raise not_found("app.channel.get_by_name.missing.app_error")
    return json_response(channel.to_json())


@routes.post("/api/v4/teams/{team_id}/channels/search")
async def search_channels(request: web.Request) -> web.Response:
    """Open channels of a team whose name or display name contains ``term``."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team(path_id(request, "team_id"))
    if not caller.is_admin and not state.is_team_member(team.id, caller.id):
        raise forbidden()
    body = await read_object(request, "channel_search")
    term = (get_str(body, "term", "channel_search") or "").lower()
    found = [
        c.to_json()
        for c in state.channels.values()
        if c.team_id == team.id
        and not c.delete_at
        and c.type == "O"
        and (term in c.name.lower() or term in c.display_name.lower())
    ]
    return json_response(found, status=201)


def _check_add_permission(state: State, caller: User, channel: Channel, user: User) -> None:
    if caller.is_admin:
        return
    if channel.type == "O" and user.id == caller.id:
        if not state.is_team_member(channel.team_id, caller.id):
            raise forbidden()
        return
    if not state.is_channel_member(channel.id, caller.id):
        raise forbidden()


@routes.post("/api/v4/channels/{channel_id}/members")
async def add_channel_member(request: web.Request) -> web.Response:
    """Add one (``user_id``) or several (``user_ids``) members; 201."""
    caller = require_user(request)
    state = get_context(request).state
    channel = state.channel(path_id(request, "channel_id"))
    body = await read_object(request, "user_id")
    single = get_str(body, "user_id", "user_id")
    many = body.get("user_ids")
    if single:
        ids = [single]
    elif isinstance(many, list) and many and all(isinstance(i, str) for i in many):
        ids = list(many)
    else:
        raise invalid_body("user_id")
    if not all(is_valid_id(i) for i in ids):
        raise invalid_body("user_id")
    if channel.type in ("D", "G"):
        raise AppError(
            400,
            "api.channel.add_user_to_channel.type.app_error",
            "Can not add user to this channel type.",
        )
    if channel.delete_at:
        raise AppError(
            400,
            "api.channel.add_user.to.channel.failed.deleted.app_error",
            "Failed to add user to channel because the channel has been archived.",
        )
    members: list[dict[str, Any]] = []
    for user_id in ids:
        user = state.user(user_id)
        _check_add_permission(state, caller, channel, user)
        if not state.is_team_member(channel.team_id, user.id):
            raise AppError(
                403,
                "api.channel.add_members.user_denied",
                "Channel membership denied to the following users because they are not members of the team.",
            )
        members.append(state.add_channel_member(channel, user, caller.id).to_json())
    return json_response(members[0] if single else members, status=201)


@routes.get("/api/v4/channels/{channel_id}/members")
async def list_channel_members(request: web.Request) -> web.Response:
    """Members of a channel, paged."""
    caller = require_user(request)
    state = get_context(request).state
    channel = _visible_channel(state, caller, path_id(request, "channel_id"))
    page, per_page = paging(request)
    ids = state.channel_member_ids(channel.id)[page * per_page : (page + 1) * per_page]
    return json_response([state.channel_members[(channel.id, i)].to_json() for i in ids])


@routes.get("/api/v4/channels/{channel_id}/members/{user_id}")
async def get_channel_member(request: web.Request) -> web.Response:
    """One channel member."""
    caller = require_user(request)
    state = get_context(request).state
    channel = _visible_channel(state, caller, path_id(request, "channel_id"))
    user_id = caller.id if request.match_info["user_id"] == "me" else path_id(request, "user_id")
    member = state.channel_members.get((channel.id, user_id))
    if member is None:
        raise not_found("app.channel.get_member.missing.app_error")
    return json_response(member.to_json())


@routes.delete("/api/v4/channels/{channel_id}/members/{user_id}")
async def remove_channel_member(request: web.Request) -> web.Response:
    """Leave (self) or remove (a member, or admin) someone."""
    caller = require_user(request)
    state = get_context(request).state
    channel = state.channel(path_id(request, "channel_id"))
    user = state.user(path_id(request, "user_id"))
    if channel.type == "D":
        raise AppError(
            400,
            "api.channel.remove_user_from_channel.direct.app_error",
            "Unable to remove a user from a direct message channel.",
        )
    if channel.name == "town-square" and channel.type == "O":
        raise AppError(400, "api.channel.remove.default.app_error", "Unable to leave the default channel.")
    if user.id != caller.id and not can_read_channel(state, caller, channel.id):
        raise forbidden()
    if not state.is_channel_member(channel.id, user.id):
        raise not_found("app.channel.get_member.missing.app_error")
    state.remove_channel_member(channel, user, caller.id)
    return status_ok()


@routes.put("/api/v4/channels/{channel_id}/patch")
async def patch_channel(request: web.Request) -> web.Response:
    """Patch name, display_name, header and purpose (members or admins)."""
    caller = require_user(request)
    state = get_context(request).state
    channel = state.channel(path_id(request, "channel_id"))
    if not can_read_channel(state, caller, channel.id):
        raise forbidden()
    if channel.delete_at:
        raise AppError(400, "api.channel.patch_update_channel.forbidden.app_error", "Channel is archived.")
    body = await read_object(request, "channel")
    name = get_str(body, "name", "channel")
    display_name = get_str(body, "display_name", "channel")
    header = get_str(body, "header", "channel")
    purpose = get_str(body, "purpose", "channel")
    check_channel_fields(display_name, header, purpose)
    if name is not None and name != channel.name:
        if channel.type in ("D", "G"):
            raise invalid_body("channel")
        check_channel_name(name, channel.type)
    posts = CHANGE_POSTS if channel.type != "D" else frozenset({"header"})
    state.change_channel(
        channel,
        caller,
        name=name,
        display_name=display_name,
        header=header,
        purpose=purpose,
        change_posts=posts,
    )
    return json_response(channel.to_json())


@routes.delete("/api/v4/channels/{channel_id}")
async def delete_channel(request: web.Request) -> web.Response:
    """Soft-delete (archive) a channel."""
    caller = require_user(request)
    state = get_context(request).state
    channel = state.channel(path_id(request, "channel_id"))
    if channel.type in ("D", "G"):
        raise AppError(
            400,
            "api.channel.delete_channel.type.invalid",
            "Unable to delete direct or group message channels.",
        )
    if channel.name == "town-square":
        raise AppError(
            400, "api.channel.delete_channel.cannot.app_error", "Unable to delete the default channel."
        )
    if not can_read_channel(state, caller, channel.id):
        raise forbidden()
    if channel.delete_at:
        raise AppError(400, "api.channel.delete_channel.deleted.app_error", "The channel has been archived.")
    state.archive_channel(channel, caller)
    return status_ok()


# --- helpers of the operations below -----------------------------------------------------------


def _require_team_access(state: State, caller: User, team_id: str) -> None:
    """``list_team_channels`` / ``view_team``: members of the team, or system admins."""
    if not caller.is_admin and not state.is_team_member(team_id, caller.id):
        raise forbidden()


def _require_read(state: State, caller: User, channel: Channel) -> None:
    """``read_channel`` on the channel: its members, or system admins."""
    if not can_read_channel(state, caller, channel.id):
        raise forbidden()


def _by_display_name(channels: list[Channel]) -> list[Channel]:
    return sorted(channels, key=lambda c: (c.display_name.lower(), c.name))


def _paged(request: web.Request, items: list[Any]) -> list[Any]:
    page, per_page = paging(request)
    return items[page * per_page : (page + 1) * per_page]


def _with_team_data(state: State, channel: Channel) -> dict[str, Any]:
    """``model.ChannelWithTeamData``."""
    data = channel.to_json()
    team = state.teams.get(channel.team_id)
    data["team_display_name"] = team.display_name if team else ""
    data["team_name"] = team.name if team else ""
    data["team_update_at"] = team.update_at if team else 0
    return data


def _is_channel_admin(state: State, caller: User, channel: Channel) -> bool:
    """``manage_channel_roles``: channel admins, team admins and system admins."""
    member = state.channel_members.get((channel.id, caller.id))
    if member is not None and member.scheme_admin:
        return True
    return is_team_admin(state, caller, channel.team_id)


def _matches(channel: Channel, term: str) -> bool:
    """Whether the name, the display name or a word of it starts with ``term``."""
    term = term.lower()
    words = [channel.name.lower(), channel.display_name.lower(), *channel.display_name.lower().split()]
    return any(w.startswith(term) for w in words)


def _member_of(state: State, user_id: str, channel_id: str) -> ChannelMember:
    member = state.channel_members.get((channel_id, user_id))
    if member is None:
        raise not_found("app.channel.get_member.missing.app_error")
    return member


# --- lists ---------------------------------------------------------------------------------------


@routes.get("/api/v4/channels")
async def get_all_channels(request: web.Request) -> web.Response:
    """Every open and private channel of every team, with team data (system console)."""
    caller = require_user(request)
    state = get_context(request).state
    require_admin(caller)
    include_deleted = query_bool(request, "include_deleted", False)
    exclude_default = query_bool(request, "exclude_default_channels", False)
    found = [
        c
        for c in state.channels.values()
        if c.type in ("O", "P")
        and (include_deleted or not c.delete_at)
        and not (exclude_default and c.name in DEFAULT_CHANNEL_NAMES)
    ]
    channels = [_with_team_data(state, c) for c in _paged(request, _by_display_name(found))]
    if query_bool(request, "include_total_count", False):
        return json_response({"channels": channels, "total_count": len(found)})
    return json_response(channels)


def _search_all(state: State, body: ChannelSearchBody) -> list[Channel]:
    term = body.term.lower()
    found = []
    for channel in state.channels.values():
        if channel.type not in ("O", "P") or (body.team_ids and channel.team_id not in body.team_ids):
            continue
        if body.deleted and not channel.delete_at:
            continue
        if channel.delete_at and not (body.deleted or body.include_deleted):
            continue
        if body.public != body.private and channel.type != ("O" if body.public else "P"):
            continue
        if body.exclude_default_channels and channel.name in DEFAULT_CHANNEL_NAMES:
            continue
        if term and term not in channel.name.lower() and term not in channel.display_name.lower():
            continue
        found.append(channel)
    return _by_display_name(found)


@routes.post("/api/v4/channels/search")
async def search_all_channels(request: web.Request) -> web.Response:
    """Search the channels of every team (system console), or the caller's (``system_console=false``)."""
    caller = require_user(request)
    state = get_context(request).state
    body = await read_model(request, ChannelSearchBody, "channel_search")
    if not query_bool(request, "system_console", True):
        if len(body.team_ids) == 1 and is_valid_id(body.team_ids[0]):
            _require_team_access(state, caller, body.team_ids[0])
        teams = body.team_ids[:1] or None
        found = [
            c
            for c in state.channels.values()
            if (c.type == "O" or state.is_channel_member(c.id, caller.id))
            and c.type in ("O", "P")
            and not c.delete_at
            and (teams is None or c.team_id in teams)
            and state.is_team_member(c.team_id, caller.id)
            and _matches(c, body.term)
        ]
        return json_response([c.to_json() for c in _by_display_name(found)[:50]])
    require_admin(caller)
    found = _search_all(state, body)
    if body.page is not None and body.per_page is not None:
        start = max(body.page, 0) * body.per_page
        page = [_with_team_data(state, c) for c in found[start : start + body.per_page]]
        return json_response({"channels": page, "total_count": len(found)})
    return json_response([_with_team_data(state, c) for c in found])


@routes.post("/api/v4/channels/group/search")
async def search_group_channels(request: web.Request) -> web.Response:
    """The caller's group messages with a member whose username or name starts with ``term``."""
    caller = require_user(request)
    state = get_context(request).state
    body = await read_model(request, ChannelSearchBody, "channel_search")
    term = body.term.lower()
    found = []
    for channel in state.channels_of_user(caller.id, None, include_deleted=False):
        if channel.type != "G":
            continue
        members = [state.user(u) for u in state.channel_member_ids(channel.id)]
        names = [n.lower() for u in members for n in (u.username, u.first_name, u.last_name, u.nickname)]
        if any(n.startswith(term) for n in names if n):
            found.append(channel.to_json())
    return json_response(found)


@routes.get("/api/v4/teams/{team_id}/channels")
async def get_public_channels(request: web.Request) -> web.Response:
    """The open channels of a team, by display name, paged."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    _require_team_access(state, caller, team_id)
    found = [c for c in state.channels.values() if c.team_id == team_id and c.type == "O" and not c.delete_at]
    return json_response([c.to_json() for c in _paged(request, _by_display_name(found))])


@routes.get("/api/v4/teams/{team_id}/channels/private")
async def get_private_channels(request: web.Request) -> web.Response:
    """The private channels of a team (``manage_system``), paged."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    require_admin(caller)
    found = [c for c in state.channels.values() if c.team_id == team_id and c.type == "P" and not c.delete_at]
    return json_response([c.to_json() for c in _paged(request, _by_display_name(found))])


@routes.get("/api/v4/teams/{team_id}/channels/deleted")
async def get_deleted_channels(request: web.Request) -> web.Response:
    """Archived channels of a team: open ones, and private ones the caller is in (admins: all)."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    _require_team_access(state, caller, team_id)
    found = [
        c
        for c in state.channels.values()
        if c.team_id == team_id
        and c.delete_at
        and (
            c.type == "O" or (c.type == "P" and (caller.is_admin or state.is_channel_member(c.id, caller.id)))
        )
    ]
    return json_response([c.to_json() for c in _paged(request, _by_display_name(found))])


@routes.get("/api/v4/teams/{team_id}/channels/autocomplete")
async def autocomplete_channels(request: web.Request) -> web.Response:
    """Open (and the caller's private) channels of a team whose name starts with ``name``."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    _require_team_access(state, caller, team_id)
    term = request.query.get("name", "")
    found = [
        c
        for c in state.channels.values()
        if c.team_id == team_id
        and not c.delete_at
        and (c.type == "O" or (c.type == "P" and state.is_channel_member(c.id, caller.id)))
        and _matches(c, term)
    ]
    return json_response([c.to_json() for c in _by_display_name(found)[:50]])


@routes.get("/api/v4/teams/{team_id}/channels/search_autocomplete")
async def autocomplete_channels_for_search(request: web.Request) -> web.Response:
    """The caller's channels of a team whose name starts with ``name`` (for ``in:`` searches)."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    term = request.query.get("name", "")
    found = [
        c
        for c in state.channels_of_user(caller.id, team_id, include_deleted=False)
        if c.team_id == team_id and _matches(c, term)
    ]
    return json_response([c.to_json() for c in _by_display_name(found)[:50]])


@routes.post("/api/v4/teams/{team_id}/channels/ids")
async def get_public_channels_by_ids(request: web.Request) -> web.Response:
    """The open channels of a team among the given ids."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    ids = sorted(set(await read_id_list(request, "channel_ids")))
    if not ids:
        raise invalid_body("channel_ids")
    if not all(is_valid_id(i) for i in ids):
        raise invalid_body("channel_id")
    _require_team_access(state, caller, team_id)
    found = [
        c
        for i in ids
        if (c := state.channels.get(i)) is not None
        and c.team_id == team_id
        and c.type == "O"
        and not c.delete_at
    ]
    if not found:
        raise not_found("app.channel.get_channels_by_ids.not_found.app_error")
    return json_response([c.to_json() for c in found])


@routes.get("/api/v4/teams/name/{team_name}/channels/name/{channel_name}")
async def get_channel_by_names(request: web.Request) -> web.Response:
    """A channel by team name and channel name (deleted ones with ``include_deleted=true``)."""
    caller = require_user(request)
    state = get_context(request).state
    team = state.team_by_name(request.match_info["team_name"])
    if team is None:
        raise not_found("app.team.get_by_name.missing.app_error")
    channel = state.channel_by_name(team.id, request.match_info["channel_name"])
    if channel is None or (channel.delete_at and not query_bool(request, "include_deleted", False)):
        raise not_found("app.channel.get_by_name.missing.app_error")
    if channel.type == "O":
        if not can_view_channel(state, caller, channel.id):
            raise forbidden()
    elif not can_read_channel(state, caller, channel.id) and not is_team_admin(state, caller, team.id):
        raise not_found("app.channel.get_by_name.missing.app_error")
    return json_response(channel.to_json())


@routes.get("/api/v4/users/{user_id}/teams/{team_id}/channels")
async def get_channels_for_team_for_user(request: web.Request) -> web.Response:
    """The channels of a team a user is in, with their DMs and GMs."""
    caller = require_user(request)
    state = get_context(request).state
    user_id = path_user_id(request)
    team_id = path_id(request, "team_id")
    require_self_or_admin(caller, user_id)
    _require_team_access(state, caller, team_id)
    # The store orders this list by display name (the all-teams one pages by id).
    channels = _by_display_name(_channels_since(request, state, user_id, team_id))
    return json_response([c.to_json() for c in channels])


def _channels_since(request: web.Request, state: State, user_id: str, team_id: str | None) -> list[Channel]:
    """The user's channels with ``include_deleted`` and ``last_delete_at`` as the server reads them."""
    try:
        last_delete_at = int(request.query.get("last_delete_at", "0"))
    except ValueError:
        last_delete_at = 0
    if last_delete_at < 0:
        raise invalid_url("last_delete_at")
    include_deleted = query_bool(request, "include_deleted", False)
    channels = state.channels_of_user(user_id, team_id, include_deleted=include_deleted)
    return [c for c in channels if not c.delete_at or c.delete_at >= last_delete_at]


@routes.get("/api/v4/users/{user_id}/channels")
async def get_channels_for_user(request: web.Request) -> web.Response:
    """Every channel a user is in, on every team."""
    caller = require_user(request)
    state = get_context(request).state
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    return json_response([c.to_json() for c in _channels_since(request, state, user_id, None)])


@routes.get("/api/v4/users/{user_id}/teams/{team_id}/channels/members")
async def get_channel_members_for_user(request: web.Request) -> web.Response:
    """A user's memberships in the channels of a team (and its DMs and GMs)."""
    caller = require_user(request)
    state = get_context(request).state
    user_id = path_user_id(request)
    team_id = path_id(request, "team_id")
    _require_team_access(state, caller, team_id)
    require_self_or_admin(caller, user_id)
    channels = state.channels_of_user(user_id, team_id, include_deleted=True)
    return json_response([state.channel_members[(c.id, user_id)].to_json() for c in channels])


@routes.get("/api/v4/users/{user_id}/channels/{channel_id}/unread")
async def get_channel_unread(request: web.Request) -> web.Response:
    """How many messages and mentions of a channel a user has not read."""
    caller = require_user(request)
    state = get_context(request).state
    user_id = path_user_id(request)
    channel = state.channel(path_id(request, "channel_id"))
    require_self_or_admin(caller, user_id)
    _require_read(state, caller, channel)
    member = _member_of(state, user_id, channel.id)
    unread = max(0, channel.total_msg_count - member.msg_count)
    if member.notify_props.get("mark_unread") == "mention":
        unread = 0
    return json_response(
        {
            "team_id": channel.team_id,
            "channel_id": channel.id,
            "msg_count": unread,
            "mention_count": member.mention_count,
            "mention_count_root": member.mention_count_root,
            "urgent_mention_count": member.urgent_mention_count,
            "msg_count_root": max(0, channel.total_msg_count_root - member.msg_count_root),
            "notify_props": dict(member.notify_props),
        }
    )


# --- channel changes -----------------------------------------------------------------------------


def _require_properties_permission(state: State, caller: User, channel: Channel) -> None:
    """``manage_{public,private}_channel_properties`` (members, team and system admins); DMs and
    GMs need membership (403 ``patch_update_channel.forbidden``)."""
    if channel.type in ("D", "G"):
        if not state.is_channel_member(channel.id, caller.id):
            raise AppError(403, "api.channel.patch_update_channel.forbidden.app_error", "Forbidden.")
        return
    if not can_read_channel(state, caller, channel.id) and not is_team_admin(state, caller, channel.team_id):
        raise forbidden()


@routes.put("/api/v4/channels/{channel_id}")
async def update_channel(request: web.Request) -> web.Response:
    """Replace name, display name, header and purpose (an empty header or purpose clears it)."""
    caller = require_user(request)
    state = get_context(request).state
    channel_id = path_id(request, "channel_id")
    body = await read_model(request, ChannelUpdateBody, "channel")
    if body.id != channel_id:
        raise invalid_body("channel_id")
    channel = state.channel(channel_id)
    _require_properties_permission(state, caller, channel)
    if channel.type in ("D", "G") and (
        (body.name and body.name != channel.name)
        or (body.display_name and body.display_name != channel.display_name)
        or body.purpose != channel.purpose
    ):
        raise AppError(
            400,
            "api.channel.update_channel.update_direct_or_group_messages_not_allowed.app_error",
            "You cannot update the name, display name or purpose of a direct or group message.",
        )
    if channel.delete_at:
        raise AppError(
            400, "api.channel.update_channel.deleted.app_error", "The channel has been archived or deleted."
        )
    if body.type and body.type != channel.type:
        raise AppError(
            400, "api.channel.update_channel.typechange.app_error", "Channel type cannot be updated."
        )
    if channel.name == "town-square" and body.name and body.name != channel.name:
        raise AppError(400, "api.channel.update_channel.tried.app_error", "Tried to rename town-square.")
    check_channel_fields(body.display_name or None, body.header, body.purpose)
    if body.name and body.name != channel.name:
        check_channel_name(body.name, channel.type)
    state.change_channel(
        channel,
        caller,
        name=body.name or None,
        display_name=body.display_name or None,
        header=body.header,
        purpose=body.purpose,
        change_posts=frozenset({"displayname"}),
    )
    return json_response(channel.to_json())


@routes.put("/api/v4/channels/{channel_id}/privacy")
async def update_channel_privacy(request: web.Request) -> web.Response:
    """Convert an open channel to private (channel/team admins) or back (team admins)."""
    caller = require_user(request)
    state = get_context(request).state
    channel_id = path_id(request, "channel_id")
    body = await read_json(request, "privacy")
    privacy = body.get("privacy") if isinstance(body, dict) else None
    if privacy not in ("O", "P"):
        raise invalid_body("privacy")
    channel = state.channel(channel_id)
    allowed = (
        _is_channel_admin(state, caller, channel)
        if privacy == "P"
        else is_team_admin(state, caller, channel.team_id)
    )
    if not allowed or channel.type not in ("O", "P"):
        raise forbidden()
    if channel.name == "town-square" and privacy == "P":
        raise AppError(
            400,
            "api.channel.update_channel_privacy.default_channel_error",
            "The default channel cannot be made private.",
        )
    if privacy != channel.type:
        state.convert_channel(channel, privacy, caller)
    return json_response(channel.to_json())


@routes.post("/api/v4/channels/{channel_id}/restore")
async def restore_channel(request: web.Request) -> web.Response:
    """Unarchive a channel (``manage_team``)."""
    caller = require_user(request)
    state = get_context(request).state
    channel = state.channel(path_id(request, "channel_id"))
    if not is_team_admin(state, caller, channel.team_id):
        raise forbidden()
    if not channel.delete_at:
        raise AppError(400, "api.channel.restore_channel.restored.app_error", "Unable to unarchive channel.")
    state.restore_channel(channel, caller)
    return json_response(channel.to_json())


@routes.post("/api/v4/channels/{channel_id}/move")
async def move_channel(request: web.Request) -> web.Response:
    """Move an open or private channel to another team (``manage_system``)."""
    caller = require_user(request)
    state = get_context(request).state
    channel = state.channel(path_id(request, "channel_id"))
    body = await read_json(request, "team_id")
    body = body if isinstance(body, dict) else {}
    team_id, force = body.get("team_id"), body.get("force")
    if not isinstance(team_id, str):
        raise invalid_body("team_id")
    if not isinstance(force, bool):
        raise invalid_body("force")
    team = state.team(team_id)
    if channel.type in ("D", "G"):
        raise AppError(
            403, "api.channel.move_channel.type.invalid", "Unable to move direct or group message channels"
        )
    require_admin(caller)
    if channel.team_id != team.id:
        state.move_channel(channel, team, caller, force=force)
    return json_response(channel.to_json())


@routes.get("/api/v4/channels/{channel_id}/stats")
async def get_channel_stats(request: web.Request) -> web.Response:
    """Member, guest, pinned-post and file counts of a channel."""
    caller = require_user(request)
    state = get_context(request).state
    channel = state.channel(path_id(request, "channel_id"))
    _require_read(state, caller, channel)
    files = -1
    if not query_bool(request, "exclude_files_count", False):
        files = sum(
            1 for f in state.files.values() if f.channel_id == channel.id and f.post_id and not f.delete_at
        )
    pinned = sum(
        1 for p in state.posts.values() if p.channel_id == channel.id and p.is_pinned and not p.delete_at
    )
    return json_response(
        {
            "channel_id": channel.id,
            "member_count": len(state.active_member_ids(channel.id)),
            "guest_count": 0,
            "pinnedpost_count": pinned,
            "files_count": files,
        }
    )


@routes.get("/api/v4/channels/{channel_id}/pinned")
async def get_pinned_posts(request: web.Request) -> web.Response:
    """The pinned posts of a channel as a post list, newest first."""
    caller = require_user(request)
    state = get_context(request).state
    channel = state.channel(path_id(request, "channel_id"))
    if not can_view_channel(state, caller, channel.id):
        raise forbidden()
    pinned = [
        p for p in state.posts.values() if p.channel_id == channel.id and p.is_pinned and not p.delete_at
    ]
    return json_response(state.post_list_json(pinned))


@routes.get("/api/v4/channels/{channel_id}/timezones")
async def get_channel_timezones(request: web.Request) -> web.Response:
    """The distinct time zones of a channel's members."""
    caller = require_user(request)
    state = get_context(request).state
    channel = state.channel(path_id(request, "channel_id"))
    _require_read(state, caller, channel)
    zones: dict[str, None] = {}
    for user_id in state.active_member_ids(channel.id):
        tz = state.user(user_id).timezone
        zone = tz.get("automaticTimezone" if tz.get("useAutomaticTimezone") == "true" else "manualTimezone")
        if zone:
            zones[zone] = None
    return json_response(list(zones))


@routes.get("/api/v4/channels/{channel_id}/common_teams")
async def get_common_teams(request: web.Request) -> web.Response:
    """The teams every member of a DM or GM is on."""
    caller = require_user(request)
    state = get_context(request).state
    channel = state.channel(path_id(request, "channel_id"))
    _require_read(state, caller, channel)
    members = state.channel_member_ids(channel.id)
    teams = [
        t
        for t in sorted(state.teams.values(), key=lambda t: t.display_name.lower())
        if not t.delete_at and all(state.is_team_member(t.id, u) for u in members)
    ]
    return json_response(
        [state.team_view(t, full=caller.is_admin, with_invite_id=caller.is_admin) for t in teams]
    )


# --- members -------------------------------------------------------------------------------------

_NOTIFY_VALUES: dict[str, tuple[tuple[str, ...], str]] = {
    "desktop": (("default", "all", "mention", "none"), "notify_level"),
    "push": (("default", "all", "mention", "none"), "push_level"),
    "mark_unread": (("all", "mention"), "unread_level"),
    "email": (("default", "true", "false"), "email_value"),
    "ignore_channel_mentions": (("default", "off", "on"), "ignore_channel_mentions_value"),
}
#: The notify props ``UpdateChannelMemberNotifyProps`` copies from the body (others are ignored).
_NOTIFY_KEYS = (*_NOTIFY_VALUES, "desktop_threads", "push_threads")


@routes.post("/api/v4/channels/{channel_id}/members/ids")
async def get_channel_members_by_ids(request: web.Request) -> web.Response:
    """The memberships of the given users in a channel (non-members are left out)."""
    caller = require_user(request)
    state = get_context(request).state
    channel_id = path_id(request, "channel_id")
    ids = sorted(set(await read_id_list(request, "user_ids")))
    if not ids:
        raise invalid_body("user_ids")
    channel = state.channel(channel_id)
    _require_read(state, caller, channel)
    members = [
        state.channel_members[(channel.id, u)] for u in ids if (channel.id, u) in state.channel_members
    ]
    return json_response([m.to_json() for m in members])


def _role_flags(roles: str) -> tuple[bool, bool]:
    """(scheme_user, scheme_admin) from a ``roles`` string; 400 for roles a member cannot have."""
    user = admin = False
    for role in roles.split():
        if role == "channel_user":
            user = True
        elif role == "channel_admin":
            admin = True
        elif role in BUILT_IN_ROLES:
            raise AppError(
                400,
                "api.channel.update_channel_member_roles.scheme_role.app_error",
                "The provided role is managed by a Scheme and therefore cannot be applied directly.",
            )
        else:
            raise AppError(400, "app.role.get_by_name.app_error", "Unable to get role.")
    return user, admin


@routes.put("/api/v4/channels/{channel_id}/members/{user_id}/roles")
async def update_channel_member_roles(request: web.Request) -> web.Response:
    """Set a member's roles (``channel_user``, ``channel_admin``); ``manage_channel_roles``."""
    caller = require_user(request)
    state = get_context(request).state
    channel_id = path_id(request, "channel_id")
    user_id = path_user_id(request)
    body = await read_json(request, "roles")
    roles = body.get("roles") if isinstance(body, dict) else None
    if not isinstance(roles, str) or not roles.strip():
        raise invalid_body("roles")
    channel = state.channel(channel_id)
    if not _is_channel_admin(state, caller, channel):
        raise forbidden()
    member = _member_of(state, user_id, channel.id)
    scheme_user, scheme_admin = _role_flags(roles)
    state.set_member_roles(member, scheme_user=scheme_user, scheme_admin=scheme_admin)
    return status_ok()


@routes.put("/api/v4/channels/{channel_id}/members/{user_id}/schemeRoles")
async def update_channel_member_scheme_roles(request: web.Request) -> web.Response:
    """Set a member's scheme flags (user, admin; guest only without user)."""
    caller = require_user(request)
    state = get_context(request).state
    channel_id = path_id(request, "channel_id")
    user_id = path_user_id(request)
    body = await read_model(request, ChannelSchemeRolesBody, "scheme_roles")
    channel = state.channel(channel_id)
    if not _is_channel_admin(state, caller, channel):
        raise forbidden()
    member = _member_of(state, user_id, channel.id)
    if body.scheme_user and body.scheme_guest:
        raise AppError(
            400,
            "api.channel.update_channel_member_roles.guest_and_user.app_error",
            "Invalid channel member update: A user must be a guest or a user but not both.",
        )
    state.set_member_roles(
        member,
        scheme_user=body.scheme_user,
        scheme_admin=body.scheme_admin,
        explicit_roles=member.explicit_roles,
    )
    return status_ok()


@routes.put("/api/v4/channels/{channel_id}/members/{user_id}/notify_props")
async def update_channel_member_notify_props(request: web.Request) -> web.Response:
    """Merge notify props into a member's (the user themself, or an admin)."""
    caller = require_user(request)
    state = get_context(request).state
    channel_id = path_id(request, "channel_id")
    user_id = path_user_id(request)
    body = await read_json(request, "notify_props")
    # model.MapFromJSON: anything but an object of strings reads as an empty map.
    props = body if isinstance(body, dict) and all(isinstance(v, str) for v in body.values()) else {}
    require_self_or_admin(caller, user_id)
    member = _member_of(state, user_id, state.channel(channel_id).id)
    changes = {k: props[k] for k in _NOTIFY_KEYS if k in props}
    for key, value in changes.items():
        allowed, what = _NOTIFY_VALUES.get(key, ((), ""))
        if what and value not in allowed:
            raise AppError(
                400, f"model.channel_member.is_valid.{what}.app_error", "Invalid notify props.", name=key
            )
    state.set_member_notify_props(member, changes)
    return status_ok()


@routes.post("/api/v4/channels/members/{user_id}/view")
async def view_channel(request: web.Request) -> web.Response:
    """Mark a channel (and the previous one) read for a user; the new view times by channel."""
    caller = require_user(request)
    state = get_context(request).state
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    view = await read_model(request, ChannelViewBody, "channel_view")
    if view.channel_id and not is_valid_id(view.channel_id):
        raise invalid_body("channel_view.channel_id")
    if view.prev_channel_id and not is_valid_id(view.prev_channel_id):
        raise invalid_body("channel_view.prev_channel_id")
    ids = [i for i in (view.channel_id, view.prev_channel_id) if i]
    times = state.view_channels(user_id, ids) if ids else {}
    return json_response({"status": "OK", "last_viewed_at_times": times})


# --- licensed features (the emulated server has no licence) -------------------------------------


def _unlicensed(error_id: str) -> AppError:
    return AppError(403, error_id, "Your license does not support this feature.")


@routes.put("/api/v4/channels/{channel_id}/scheme")
async def update_channel_scheme(request: web.Request) -> web.Response:
    """Set a channel's scheme: 403 without a licence (after checking ``scheme_id``)."""
    require_user(request)
    path_id(request, "channel_id")
    body = await read_json(request, "scheme_id")
    scheme_id = body.get("scheme_id") if isinstance(body, dict) else None
    if not isinstance(scheme_id, str) or not is_valid_id(scheme_id):
        raise invalid_body("scheme_id")
    raise _unlicensed("api.channel.update_channel_scheme.license.error")


@routes.get("/api/v4/channels/{channel_id}/members_minus_group_members")
async def channel_members_minus_group_members(request: web.Request) -> web.Response:
    """Channel members outside the given groups; the emulator has no groups, so every member."""
    caller = require_user(request)
    state = get_context(request).state
    channel_id = path_id(request, "channel_id")
    group_ids = request.query.get("group_ids", "")
    if len(group_ids.replace(",", "")) < 26 or not all(is_valid_id(g) for g in group_ids.split(",")):
        raise invalid_body("group_ids")
    require_admin(caller)
    members = [state.user(u) for u in state.active_member_ids(channel_id)]
    users = []
    for user in _paged(request, sorted(members, key=lambda u: u.username)):
        member = state.channel_members[(channel_id, user.id)]
        data = user.to_json()
        data.update(
            {
                "group_ids": None,
                "scheme_guest": member.scheme_guest,
                "scheme_user": member.scheme_user,
                "scheme_admin": member.scheme_admin,
            }
        )
        users.append(data)
    return json_response({"users": users, "total_count": len(members)})


@routes.get("/api/v4/channels/{channel_id}/member_counts_by_group")
async def channel_member_counts_by_group(request: web.Request) -> web.Response:
    """Member counts per group: 403 without a licence."""
    require_user(request)
    raise _unlicensed("api.channel.channel_member_counts_by_group.license.error")


@routes.get("/api/v4/channels/{channel_id}/moderations")
async def get_channel_moderations(request: web.Request) -> web.Response:
    """Channel moderation settings: 403 without a licence."""
    require_user(request)
    raise _unlicensed("api.channel.get_channel_moderations.license.error")


@routes.put("/api/v4/channels/{channel_id}/moderations/patch")
async def patch_channel_moderations(request: web.Request) -> web.Response:
    """Change channel moderation settings: 403 without a licence."""
    require_user(request)
    raise _unlicensed("api.channel.patch_channel_moderations.license.error")
