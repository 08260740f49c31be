"""Channels (O, P, D, G): create, read, change, archive, restore, move, stats; licensed features."""

from __future__ import annotations

from aiohttp import web

from ..auth import (
    can_read_channel,
    can_view_channel,
    is_team_admin,
    require_admin,
    require_user,
)
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body, not_found
from ..ids import is_valid_id
from ..models import Channel, User
from ..models.channels import (
    ChannelUpdateBody,
)
from ..state import State
from ..state.channels import CHANGE_POSTS
from ..validation import check_channel_fields, check_channel_name
from .channel_access import (
    is_channel_admin,
    paged,
    require_read,
    visible_channel,
)
from .common import (
    get_str,
    json_response,
    path_id,
    query_bool,
    read_id_list,
    read_json,
    read_model,
    read_object,
    status_ok,
)

routes = web.RouteTableDef()


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
    return json_response(visible_channel(state, caller, path_id(request, "channel_id")).to_json())


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
        is_channel_admin(state, caller, channel)
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
    require_read(state, caller, channel)
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
    require_read(state, caller, channel)
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
    require_read(state, caller, channel)
    members = state.channel_member_ids(channel.id)
    teams = [
        t
        for t in sorted(state.teams.values(), key=lambda t: t.display_name.lower())
        if not t.delete_at and all(state.is_team_member(t.id, u) for u in members)
    ]
    return json_response(
        [state.team_view(t, full=caller.is_admin, with_invite_id=caller.is_admin) for t in teams]
    )


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
    for user in paged(request, sorted(members, key=lambda u: u.username)):
        member = state.channel_members[(channel_id, user.id)]
        data = user.profile_json(as_admin=True)  # (system admins only)
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
