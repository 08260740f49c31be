"""Channel members: add, list, get, remove, by ids, roles, notify props, mark read."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..auth import (
    can_read_channel,
    require_self_or_admin,
    require_user,
)
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body, not_found
from ..ids import is_valid_id
from ..models import Channel, User
from ..models.channels import (
    ChannelSchemeRolesBody,
    ChannelViewBody,
)
from ..roles import BUILT_IN_ROLES
from ..state import State
from .channel_access import (
    is_channel_admin,
    member_of,
    require_read,
    visible_channel,
)
from .common import (
    get_str,
    json_response,
    paging,
    path_id,
    path_user_id,
    read_id_list,
    read_json,
    read_model,
    read_object,
    status_ok,
)

routes = web.RouteTableDef()


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
    channel = visible_channel(state, caller, path_id(request, "channel_id"))
    page, per_page = paging(request)
    ids = state.channel_member_ids(channel.id)[page * per_page : (page + 1) * per_page]
    return json_response([state.channel_members[(channel.id, i)].to_json() for i in ids])


@routes.get("/api/v4/channels/{channel_id}/members/{user_id}")
async def get_channel_member(request: web.Request) -> web.Response:
    """One channel member."""
    caller = require_user(request)
    state = get_context(request).state
    channel = visible_channel(state, caller, path_id(request, "channel_id"))
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
    require_read(state, caller, channel)
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
    if not is_channel_admin(state, caller, channel):
        raise forbidden()
    member = member_of(state, user_id, channel.id)
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
    if not is_channel_admin(state, caller, channel):
        raise forbidden()
    member = member_of(state, user_id, channel.id)
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
    member = member_of(state, user_id, state.channel(channel_id).id)
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
