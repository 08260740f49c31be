"""Channels (O, P, D, G), their members, patches and soft deletion."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..auth import can_read_channel, can_view_channel, require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body, not_found
from ..ids import is_valid_id
from ..models import Channel, User
from ..state import State
from ..validation import check_channel_fields, check_channel_name
from .common import (
    get_str,
    json_response,
    paging,
    path_id,
    read_id_list,
    read_object,
    status_ok,
)

routes = web.RouteTableDef()


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


def _change_post(state: State, channel: Channel, caller: User, kind: str, old: str, new: str) -> None:
    """The ``system_*_change`` post for a header, display name or purpose change."""
    labels = {"header": "channel header", "displayname": "display name", "purpose": "purpose"}
    label = labels[kind]
    if kind == "displayname":
        message = f"{caller.username} updated the channel display name from: {old} to: {new}"
    elif not new:
        message = f"{caller.username} removed the channel {label} (was: {old})"
    elif not old:
        message = f"{caller.username} updated the channel {label} to: {new}"
    else:
        message = f"{caller.username} updated the channel {label} from: {old} to: {new}"
    state.system_post(
        channel,
        caller.id,
        f"system_{kind}_change",
        message,
        {"username": caller.username, f"old_{kind}": old, f"new_{kind}": new},
    )


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
        if state.channel_by_name(channel.team_id, name) is not None:
            raise AppError(
                400,
                "store.sql_channel.update.exists.app_error",
                "A channel with that handle already exists.",
            )
        channel.name = name
    changes = (("displayname", display_name), ("header", header), ("purpose", purpose))
    for kind, new in changes:
        attr = "display_name" if kind == "displayname" else kind
        old = getattr(channel, attr)
        if new is None or new == old:
            continue
        setattr(channel, attr, new)
        if channel.type not in ("D",) or kind == "header":
            _change_post(state, channel, caller, kind, old, new)
    state.channel_updated(channel)
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
