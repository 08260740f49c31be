"""Channels: the lists (all, of a team, of a user, deleted, private), search, autocomplete, unreads."""

from __future__ import annotations

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
from ..errors import forbidden, invalid_body, invalid_url, not_found
from ..ids import is_valid_id
from ..models import Channel
from ..models.channels import (
    ChannelSearchBody,
)
from ..state import State
from .channel_access import (
    DEFAULT_CHANNEL_NAMES,
    by_display_name,
    matches,
    member_of,
    paged,
    require_read,
    require_team_access,
    with_team_data,
)
from .common import (
    json_response,
    path_id,
    path_user_id,
    query_bool,
    read_id_list,
    read_model,
)

routes = web.RouteTableDef()


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
    channels = [with_team_data(state, c) for c in paged(request, by_display_name(found))]
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
    return by_display_name(found)


@routes.post("/api/v4/channels/search")
async def search_all_channels(request: web.Request) -> web.Response:
    """Search the channels of every team (system console), or the caller's (``system_console=false``)."""
    caller = require_user(request)
    state = get_context(request).state
    body = await read_model(request, ChannelSearchBody, "channel_search")
    if not query_bool(request, "system_console", True):
        if len(body.team_ids) == 1 and is_valid_id(body.team_ids[0]):
            require_team_access(state, caller, body.team_ids[0])
        teams = body.team_ids[:1] or None
        found = [
            c
            for c in state.channels.values()
            if (c.type == "O" or state.is_channel_member(c.id, caller.id))
            and c.type in ("O", "P")
            and not c.delete_at
            and (teams is None or c.team_id in teams)
            and state.is_team_member(c.team_id, caller.id)
            and matches(c, body.term)
        ]
        return json_response([c.to_json() for c in by_display_name(found)[:50]])
    require_admin(caller)
    found = _search_all(state, body)
    if body.page is not None and body.per_page is not None:
        start = max(body.page, 0) * body.per_page
        page = [with_team_data(state, c) for c in found[start : start + body.per_page]]
        return json_response({"channels": page, "total_count": len(found)})
    return json_response([with_team_data(state, c) for c in found])


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
    require_team_access(state, caller, team_id)
    found = [c for c in state.channels.values() if c.team_id == team_id and c.type == "O" and not c.delete_at]
    return json_response([c.to_json() for c in paged(request, by_display_name(found))])


@routes.get("/api/v4/teams/{team_id}/channels/private")
async def get_private_channels(request: web.Request) -> web.Response:
    """The private channels of a team (``manage_system``), paged."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    require_admin(caller)
    found = [c for c in state.channels.values() if c.team_id == team_id and c.type == "P" and not c.delete_at]
    return json_response([c.to_json() for c in paged(request, by_display_name(found))])


@routes.get("/api/v4/teams/{team_id}/channels/deleted")
async def get_deleted_channels(request: web.Request) -> web.Response:
    """Archived channels of a team: open ones, and private ones the caller is in (admins: all)."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    require_team_access(state, caller, team_id)
    found = [
        c
        for c in state.channels.values()
        if c.team_id == team_id
        and c.delete_at
        and (
            c.type == "O" or (c.type == "P" and (caller.is_admin or state.is_channel_member(c.id, caller.id)))
        )
    ]
    return json_response([c.to_json() for c in paged(request, by_display_name(found))])


@routes.get("/api/v4/teams/{team_id}/channels/autocomplete")
async def autocomplete_channels(request: web.Request) -> web.Response:
    """Open (and the caller's private) channels of a team whose name starts with ``name``."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    require_team_access(state, caller, team_id)
    term = request.query.get("name", "")
    found = [
        c
        for c in state.channels.values()
        if c.team_id == team_id
        and not c.delete_at
        and (c.type == "O" or (c.type == "P" and state.is_channel_member(c.id, caller.id)))
        and matches(c, term)
    ]
    return json_response([c.to_json() for c in by_display_name(found)[:50]])


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
        if c.team_id == team_id and matches(c, term)
    ]
    return json_response([c.to_json() for c in by_display_name(found)[:50]])


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
    require_team_access(state, caller, team_id)
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
    require_team_access(state, caller, team_id)
    # The store orders this list by display name (the all-teams one pages by id).
    channels = by_display_name(_channels_since(request, state, user_id, team_id))
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
    require_team_access(state, caller, team_id)
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
    require_read(state, caller, channel)
    member = member_of(state, user_id, channel.id)
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
