"""Posts: create (with ``pending_post_id`` dedupe), read, edit, delete, threads, channel lists."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
from aiohttp import web

from ..auth import can_read_channel, require_self_or_admin, require_user
from ..context import PROCESSING_DELAY, get_context
from ..dedupe import IN_FLIGHT
from ..errors import AppError, forbidden, invalid_body, invalid_param, invalid_url, not_found
from ..ids import is_valid_id, now_ms
from ..models import Channel, Post, User, dumps, generate_action_ids
from ..state import State
from ..state.preferences import FLAGGED_POST
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
    site_url,
    status_ok,
)

routes = web.RouteTableDef()


@attrs.define
class SearchRequest:
    """``model.SearchParameter``: the body of a post search."""

    terms: str = ""
    is_or_search: bool = False
    time_zone_offset: int = 0
    include_deleted_channels: bool = False
    page: int = 0
    per_page: int = 60


@attrs.define
class ReminderRequest:
    """``model.PostReminder``: when to remind (seconds since the epoch)."""

    target_time: int = 0


@attrs.define
class RewriteRequest:
    """``model.RewriteRequest``."""

    agent_id: str = ""
    message: str = ""
    action: str = ""
    custom_prompt: str = ""


_STRIPPED_PROPS = ("add_channel_member", "force_notification")
MAX_FILE_IDS = 10


def _readable_channel(state: State, caller: User, channel_id: str) -> Channel:
    channel = state.channels.get(channel_id)
    if channel is None:
        if caller.is_admin:
            raise not_found("app.channel.get.existing.app_error")
        raise forbidden()
    if not can_read_channel(state, caller, channel.id):
        raise forbidden()
    return channel


def _readable_post(state: State, caller: User, post_id: str) -> Post:
    post = state.post(post_id)
    if not can_read_channel(state, caller, post.channel_id):
        raise forbidden()
    return post


def _check_message(request: web.Request, message: str) -> None:
    if len(message) > get_context(request).settings.max_post_size:
        raise AppError(400, "model.post.is_valid.message_length.app_error", "Invalid Message property.")


def _file_ids(state: State, body: dict[str, Any], user: User, channel_id: str) -> list[str]:
    """The ids of the files this post may attach (duplicates and foreign files dropped)."""
    raw = body.get("file_ids") or []
    if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw):
        raise invalid_body("post")
    ids = list(dict.fromkeys(raw))
    if len(ids) > MAX_FILE_IDS:
        raise AppError(400, "model.post.is_valid.file_ids.app_error", "Invalid file ids.")
    usable = []
    for file_id in ids:
        info = state.files.get(file_id)
        if (
            info is not None
            and not info.delete_at
            and info.user_id == user.id
            and info.channel_id == channel_id
        ):
            usable.append(file_id)
    return usable


def _props(body: dict[str, Any], author: User) -> dict[str, Any]:
    props = body.get("props") or {}
    if not isinstance(props, dict):
        raise invalid_body("post")
    props = {k: v for k, v in props.items() if k not in _STRIPPED_PROPS}
    if author.is_bot:
        props["from_bot"] = "true"
    generate_action_ids(props)
    return props


def _check_root(state: State, root_id: str, channel_id: str) -> None:
    root = state.posts.get(root_id) if is_valid_id(root_id) else None
    if root is None or root.delete_at or root.root_id:
        raise AppError(400, "api.post.create_post.root_id.app_error", "Invalid RootId parameter.")
    if root.channel_id != channel_id:
        raise AppError(
            400,
            "api.post.create_post.channel_root_id.app_error",
            "Invalid ChannelId for RootId parameter.",
        )


def _pinned(body: dict[str, Any]) -> bool:
    """``is_pinned`` as Go decodes it into a bool: absent or null is false, another type is 400."""
    value = body.get("is_pinned")
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid_body("post")
    return value


def _build_post(
    request: web.Request, state: State, caller: User, channel: Channel, body: dict[str, Any]
) -> Post:
    message = get_str(body, "message", "post") or ""
    _check_message(request, message)
    root_id = get_str(body, "root_id", "post") or ""
    if root_id:
        _check_root(state, root_id, channel.id)
    now = now_ms()
    create_at = body.get("create_at")
    if not (caller.is_admin and isinstance(create_at, int) and create_at > 0):
        create_at = now
    metadata = body.get("metadata")
    priority = metadata.get("priority") if isinstance(metadata, dict) else None
    return state.new_post(
        channel.id,
        caller.id,
        message,
        post_type=get_str(body, "type", "post") or "",
        root_id=root_id,
        props=_props(body, caller),
        file_ids=_file_ids(state, body, caller, channel.id),
        create_at=create_at,
        is_pinned=_pinned(body),
        priority=priority if isinstance(priority, dict) else None,
    )


@routes.post("/api/v4/posts")
async def create_post(request: web.Request) -> web.Response:
    """Create a post (201); repeats of a ``pending_post_id`` are deduplicated for 30 s."""
    caller = require_user(request)
    ctx = get_context(request)
    state = ctx.state
    body = await read_object(request, "post")
    channel_id = get_str(body, "channel_id", "post") or ""
    if not is_valid_id(channel_id):
        raise invalid_body("channel_id")
    channel = _readable_channel(state, caller, channel_id)
    if channel.delete_at:
        raise AppError(
            400,
            "api.post.create_post.can_not_post_to_deleted.error",
            "Can not post to deleted channel.",
        )
    post_type = get_str(body, "type", "post") or ""
    if post_type.startswith("system_"):
        raise invalid_param("post.type")
    pending = get_str(body, "pending_post_id", "post") or ""
    if pending:
        seen = ctx.pending_posts.get(pending)
        if seen == IN_FLIGHT:
            raise AppError(
                500,
                "api.post.deduplicate_create_post.pending",
                "Rejected post since another one with the same pending ID is being processed.",
            )
        if seen:
            # ``GetPostIfAuthorized``: read the post first (a deleted one is a 404, which
            # becomes this 500 and leaves the entry cached), then the permission (a 403 drops
            # the dedupe and a new post is created).
            existing = state.posts.get(seen)
            if existing is None or existing.delete_at:
                raise AppError(
                    500,
                    "api.post.deduplicate_create_post.failed_to_get",
                    "Error fetching original post after deduplication.",
                )
            if can_read_channel(state, caller, existing.channel_id):
                return json_response(state.post_json(existing), status=201)
        ctx.pending_posts.set(pending, IN_FLIGHT)
    try:
        delay: float = request.get(PROCESSING_DELAY, 0.0)
        if delay:
            await asyncio.sleep(delay)
        post = _build_post(request, state, caller, channel, body)
        state.save_post(
            post,
            sender=caller,
            pending_post_id=pending,
            set_online=query_bool(request, "set_online", True),
        )
    except BaseException:
        if pending:
            ctx.pending_posts.delete(pending)
        raise
    if pending:
        ctx.pending_posts.set(pending, post.id)
    # As the real server (``CreatePostFlags.TriggerWebhooks``): in the background, after the answer.
    ctx.integrations.trigger_outgoing_webhooks(post, channel, caller)
    return json_response(state.post_json(post, pending_post_id=pending), status=201)


@routes.get("/api/v4/posts/{post_id}")
async def get_post(request: web.Request) -> web.Response:
    """A post by id (404 when missing or deleted)."""
    caller = require_user(request)
    state = get_context(request).state
    return json_response(state.post_json(_readable_post(state, caller, path_id(request, "post_id"))))


def _editable_post(request: web.Request, caller: User) -> Post:
    state = get_context(request).state
    post = _readable_post(state, caller, path_id(request, "post_id"))
    if post.user_id != caller.id and not caller.is_admin:
        raise forbidden()
    if post.type.startswith("system_"):
        raise AppError(
            400,
            "api.post.update_post.system_message.app_error",
            "Unable to update system message.",
        )
    return post


def _apply_edit(request: web.Request, post: Post, caller: User, body: dict[str, Any], *, full: bool) -> None:
    """Read an edit (``full``: a PUT, where a missing message or props clears them) and make it."""
    state = get_context(request).state
    author = state.user(post.user_id)
    message = None
    if "message" in body or full:
        message = get_str(body, "message", "post") or ""
        _check_message(request, message)
    file_ids = None
    if "file_ids" in body:
        attachable = set(_file_ids(state, body, author, post.channel_id))
        requested = dict.fromkeys(body.get("file_ids") or [])
        file_ids = [f for f in requested if f in post.file_ids or f in attachable]
    props = _props(body, author) if "props" in body or full else None
    pinned = _pinned(body) if body.get("is_pinned") is not None else None
    state.edit_post(post, message=message, file_ids=file_ids, props=props, is_pinned=pinned)


@routes.put("/api/v4/posts/{post_id}/patch")
async def patch_post(request: web.Request) -> web.Response:
    """Partial edit: message, is_pinned, props (replaced), file_ids."""
    caller = require_user(request)
    post = _editable_post(request, caller)
    body = await read_object(request, "post")
    _apply_edit(request, post, caller, body, full=False)
    return json_response(get_context(request).state.post_json(post))


@routes.put("/api/v4/posts/{post_id}")
async def update_post(request: web.Request) -> web.Response:
    """Full update; the body's ``id`` must match the URL."""
    caller = require_user(request)
    post = _editable_post(request, caller)
    body = await read_object(request, "post")
    if body.get("id") != post.id:
        raise invalid_param("id")
    _apply_edit(request, post, caller, body, full=True)
    return json_response(get_context(request).state.post_json(post))


@routes.delete("/api/v4/posts/{post_id}")
async def delete_post(request: web.Request) -> web.Response:
    """Soft delete; a root takes its replies along."""
    caller = require_user(request)
    state = get_context(request).state
    post = _readable_post(state, caller, path_id(request, "post_id"))
    if post.user_id != caller.id and not caller.is_admin:
        raise forbidden()
    state.delete_post(post, caller.id)
    return status_ok()


@routes.get("/api/v4/posts/{post_id}/thread")
async def get_thread(request: web.Request) -> web.Response:
    """The root and every reply, newest first."""
    caller = require_user(request)
    state = get_context(request).state
    post = _readable_post(state, caller, path_id(request, "post_id"))
    root_id = post.root_id or post.id
    thread = [
        p for p in state.posts.values() if (p.id == root_id or p.root_id == root_id) and not p.delete_at
    ]
    return json_response(state.post_list_json(thread))


#: ``GetPostsSince``'s ``LIMIT 1000``.
MAX_POSTS_SINCE = 1000


def _posts_since(state: State, channel_id: str, since: int) -> dict[str, Any]:
    """``GetPostsSince``: every row of the channel with ``update_at > since``, at most 1000.

    As the server's query: deleted posts and edit-history rows (``original_id`` set) are
    included; the roots of the rows found are added to ``posts``; ``order`` lists the rows
    with ``update_at > since`` (so a root pulled in only as a root is not in it), newest
    ``create_at`` first; there is no cursor. The server's ``LIMIT 1000`` has no ORDER BY, so
    past 1000 changed rows it returns an arbitrary 1000; this one takes the 1000 updated
    longest ago (lowest ``update_at``).
    """
    rows = [
        p
        for p in (*state.posts.values(), *state.post_history.values())
        if p.channel_id == channel_id and p.update_at > since
    ]
    if len(rows) > MAX_POSTS_SINCE:
        rows = sorted(rows, key=lambda p: (p.update_at, p.seq))[:MAX_POSTS_SINCE]
    found = {p.id: p for p in rows}
    for post in rows:
        root = state.posts.get(post.root_id) if post.root_id else None
        if root is not None and root.channel_id == channel_id:
            found.setdefault(root.id, root)
    ordered = sorted(found.values(), key=lambda p: (p.create_at, p.seq), reverse=True)
    return {
        "order": [p.id for p in ordered if p.update_at > since],
        "posts": {p.id: state.post_json(p) for p in ordered},
        "next_post_id": "",
        "prev_post_id": "",
        "has_next": False,
    }


def _int_query(request: web.Request, name: str) -> int:
    try:
        return int(request.query.get(name, "0"))
    except ValueError:
        raise AppError(400, "api.context.invalid_url_param.app_error", name=name) from None


@routes.get("/api/v4/channels/{channel_id}/posts")
async def get_channel_posts(request: web.Request) -> web.Response:
    """A page of posts, newest first (``page``/``per_page``, ``since``, ``before``, ``after``)."""
    caller = require_user(request)
    state = get_context(request).state
    channel = _readable_channel(state, caller, path_id(request, "channel_id"))
    page, per_page = paging(request)
    since = _int_query(request, "since")
    in_channel = sorted(
        (p for p in state.posts.values() if p.channel_id == channel.id),
        key=lambda p: (p.create_at, p.seq),
        reverse=True,
    )
    if since > 0:
        return json_response(_posts_since(state, channel.id, since))
    live = [p for p in in_channel if not p.delete_at]
    before = request.query.get("before", "")
    after = request.query.get("after", "")
    if before or after:
        anchor_id = before or after
        if not is_valid_id(anchor_id):
            raise AppError(400, "api.context.invalid_url_param.app_error", name="before")
        index = next((i for i, p in enumerate(live) if p.id == anchor_id), None)
        if index is None:
            return json_response(state.post_list_json([]))
        if before:
            older = live[index + 1 :]
            window = older[page * per_page : (page + 1) * per_page]
        else:
            newer = list(reversed(live[:index]))
            window = list(reversed(newer[page * per_page : (page + 1) * per_page]))
    else:
        window = live[page * per_page : (page + 1) * per_page]
    if not window:
        return json_response(state.post_list_json([]))
    newest = live.index(window[0])
    oldest = live.index(window[-1])
    next_id = live[newest - 1].id if newest > 0 else ""
    prev_id = live[oldest + 1].id if oldest + 1 < len(live) else ""
    return json_response(state.post_list_json(window, next_post_id=next_id, prev_post_id=prev_id))


@routes.post("/api/v4/posts/ephemeral")
async def create_ephemeral_post(request: web.Request) -> web.Response:
    """Send an ephemeral post to one user (``create_post_ephemeral``: system admins); nothing stored."""
    caller = require_user(request)
    state = get_context(request).state
    body = await read_object(request, "body")
    user_id = get_str(body, "user_id", "body") or ""
    raw = body.get("post")
    if not user_id:
        raise invalid_body("user_id")
    if not isinstance(raw, dict):
        if raw is None:
            raise invalid_body("post")
        raise invalid_body("body")
    if not caller.is_admin:
        raise forbidden()
    props = raw.get("props") or {}
    if not isinstance(props, dict):
        raise invalid_body("body")
    post = state.new_post(
        get_str(raw, "channel_id", "body") or "",
        caller.id,
        get_str(raw, "message", "body") or "",
        root_id=get_str(raw, "root_id", "body") or "",
        props=props,
    )
    # ``SendEphemeralPost`` keeps the id and update time the client sent (none: empty and 0).
    post.id = get_str(raw, "id", "body") or ""
    post.update_at = raw["update_at"] if isinstance(raw.get("update_at"), int) else 0
    state.send_ephemeral(user_id, post)
    return json_response(state.post_json(post), status=201)


MAX_POST_IDS = 1000


def _strip_action_integrations(data: dict[str, Any]) -> dict[str, Any]:
    """``Post.StripActionIntegrations``: attachment actions lose their ``integration``."""
    for attachment in data.get("props", {}).get("attachments") or []:
        for action in (attachment.get("actions") or []) if isinstance(attachment, dict) else []:
            if isinstance(action, dict):
                action.pop("integration", None)
    return data


@routes.post("/api/v4/posts/ids")
async def get_posts_by_ids(request: web.Request) -> web.Response:
    """Posts by id (deleted ones included), newest first, leaving out unreadable channels."""
    caller = require_user(request)
    state = get_context(request).state
    value = await read_json(request, "post_ids")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AppError(400, "api.payload.parse.error", "Unable to parse the payload.")
    ids = sorted(set(value))
    if not ids:
        raise invalid_body("post_ids")
    if len(ids) > MAX_POST_IDS:
        raise AppError(
            400,
            "api.post.posts_by_ids.invalid_body.request_error",
            f"The number of post ids cannot exceed {MAX_POST_IDS}.",
        )
    found = [state.posts[i] for i in ids if i in state.posts]
    if not found:
        raise not_found("app.post.get.app_error")
    found.sort(key=lambda p: (p.create_at, p.seq), reverse=True)
    readable = [
        p for p in found if p.channel_id in state.channels and can_read_channel(state, caller, p.channel_id)
    ]
    return web.Response(
        body=dumps([_strip_action_integrations(state.post_json(p)) for p in readable]).encode(),
        content_type="application/json",
        headers={"First-Inaccessible-Post-Time": "0"},
    )


def _post_readable_by_id(state: State, caller: User, post_id: str) -> Post:
    """``SessionHasPermissionToChannelByPost``: a post that does not exist is a 403 as well."""
    post = state.posts.get(post_id)
    if post is None or not can_read_channel(state, caller, post.channel_id):
        raise forbidden()
    return post


@routes.get("/api/v4/posts/{post_id}/files/info")
async def get_post_file_infos(request: web.Request) -> web.Response:
    """The file infos attached to a post (``include_deleted`` for system admins)."""
    caller = require_user(request)
    state = get_context(request).state
    post = _post_readable_by_id(state, caller, path_id(request, "post_id"))
    include_deleted = query_bool(request, "include_deleted", False)
    if include_deleted and not caller.is_admin:
        raise forbidden()
    infos = sorted(
        (f for f in state.files.values() if f.post_id == post.id and (include_deleted or not f.delete_at)),
        key=lambda f: f.create_at,
    )
    return json_response([f.to_json() for f in infos])


async def _set_pinned(request: web.Request, pinned: bool) -> web.Response:
    caller = require_user(request)
    state = get_context(request).state
    post_id = path_id(request, "post_id")
    post = state.posts.get(post_id)
    if post is None or post.delete_at:
        raise forbidden()
    state.channel(post.channel_id)
    if not can_read_channel(state, caller, post.channel_id):
        raise forbidden()
    state.set_pinned(post, pinned)
    return status_ok()


@routes.post("/api/v4/posts/{post_id}/pin")
async def pin_post(request: web.Request) -> web.Response:
    """Pin a post to its channel (a patch of ``is_pinned``: ``post_edited``)."""
    return await _set_pinned(request, True)


@routes.post("/api/v4/posts/{post_id}/unpin")
async def unpin_post(request: web.Request) -> web.Response:
    """Unpin a post (a patch of ``is_pinned``: ``post_edited``)."""
    return await _set_pinned(request, False)


#: ``SqlPostStore.search``'s ``LIMIT 100``.
MAX_SEARCH_RESULTS = 100


def _search_results(state: State, posts: list[Post]) -> dict[str, Any]:
    # The database search fills no matches: ``MakePostSearchResults(list, nil)``.
    return {**state.post_list_json(posts), "matches": None}


@routes.post("/api/v4/teams/{team_id}/posts/search")
async def search_team_posts(request: web.Request) -> web.Response:
    """Search the posts of the caller's channels in a team (and DMs/GMs), newest first."""
    caller = require_user(request)
    state = get_context(request).state
    team_id = path_id(request, "team_id")
    if not (caller.is_admin or state.is_team_member(team_id, caller.id)):
        raise forbidden()
    try:
        params = await read_model(request, SearchRequest, "params")
    except AppError as error:
        if error.status == 413:
            raise
        raise AppError(
            400, "api.post.search_posts.invalid_body.app_error", "Unable to parse the search body."
        ) from None
    if not params.terms:
        raise invalid_body("terms")
    found = state.search_posts(
        caller,
        team_id,
        params.terms,
        is_or_search=params.is_or_search,
        include_deleted_channels=params.include_deleted_channels,
        time_zone_offset=params.time_zone_offset,
    )
    # The database search ignores per_page (it has its own LIMIT) and answers later pages empty.
    window = [] if params.page > 0 else found[:MAX_SEARCH_RESULTS]
    response = json_response(_search_results(state, window))
    response.headers["Cache-Control"] = "no-cache, no-store, must-revalidate"
    return response


@routes.get("/api/v4/users/{user_id}/posts/flagged")
async def get_flagged_posts(request: web.Request) -> web.Response:
    """The posts a user flagged (``channel_id`` or ``team_id`` to narrow), newest first."""
    caller = require_user(request)
    state = get_context(request).state
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    channel_id = request.query.get("channel_id", "")
    team_id = request.query.get("team_id", "")
    page, per_page = paging(request)
    flagged = []
    for pref in state.preferences_of(user_id, FLAGGED_POST):
        post = state.posts.get(pref.name)
        channel = state.channels.get(post.channel_id) if post is not None else None
        if post is None or channel is None or post.delete_at or pref.value != "true":
            continue
        if channel_id and post.channel_id != channel_id:
            continue
        if not channel_id and team_id and channel.team_id not in (team_id, ""):
            continue
        flagged.append(post)
    flagged.sort(key=lambda p: (p.create_at, p.seq), reverse=True)
    window = flagged[page * per_page : (page + 1) * per_page]
    readable = [p for p in window if can_read_channel(state, caller, p.channel_id)]
    return json_response(state.post_list_json(readable))


@routes.post("/api/v4/users/{user_id}/posts/{post_id}/set_unread")
async def set_post_unread(request: web.Request) -> web.Response:
    """Mark the channel unread from a post for a user (``post_unread``); the ChannelUnreadAt."""
    caller = require_user(request)
    state = get_context(request).state
    user_id = path_user_id(request)
    post_id = path_id(request, "post_id")
    require_self_or_admin(caller, user_id)
    _post_readable_by_id(state, caller, post_id)
    post = state.post(post_id)
    return json_response(state.mark_unread_from_post(post, state.user(user_id)))


def _limit(request: web.Request, name: str) -> int:
    """``limit_before``/``limit_after``: 60 when absent, bad or negative; at most 200."""
    try:
        value = int(request.query.get(name, "60"))
    except ValueError:
        return 60
    return 60 if value < 0 else min(value, 200)


@routes.get("/api/v4/users/{user_id}/channels/{channel_id}/posts/unread")
async def get_posts_around_last_unread(request: web.Request) -> web.Response:
    """The oldest unread post of the channel for the user, with the posts around it."""
    caller = require_user(request)
    state = get_context(request).state
    user_id = path_user_id(request)
    channel_id = path_id(request, "channel_id")
    require_self_or_admin(caller, user_id)
    channel = state.channel(channel_id)
    if not can_read_channel(state, caller, channel.id):
        raise forbidden()
    limit_before, limit_after = _limit(request, "limit_before"), _limit(request, "limit_after")
    if limit_after == 0:
        raise invalid_url("limit_after")
    member = state.channel_members.get((channel.id, user_id))
    if member is None:
        raise not_found("app.channel.get_member.missing.app_error")
    live = sorted(
        (p for p in state.posts.values() if p.channel_id == channel.id and not p.delete_at),
        key=lambda p: (p.create_at, p.seq),
        reverse=True,
    )
    unread = [p for p in live if p.create_at > member.last_viewed_at]
    read = [p for p in live if p.create_at <= member.last_viewed_at]
    window = (unread[-limit_after:] if unread else []) + read[:limit_before]
    if not window:
        window = live[:limit_before]
    if not window:
        return json_response(state.post_list_json([]))
    newest, oldest = live.index(window[0]), live.index(window[-1])
    next_id = live[newest - 1].id if newest > 0 else ""
    prev_id = live[oldest + 1].id if oldest + 1 < len(live) else ""
    return json_response(state.post_list_json(window, next_post_id=next_id, prev_post_id=prev_id))


@routes.post("/api/v4/users/{user_id}/posts/{post_id}/reminder")
async def set_post_reminder(request: web.Request) -> web.Response:
    """Remind the user of a post at ``target_time`` (seconds); an ephemeral post confirms it."""
    caller = require_user(request)
    state = get_context(request).state
    user_id = path_user_id(request)
    post_id = path_id(request, "post_id")
    require_self_or_admin(caller, user_id)
    _post_readable_by_id(state, caller, post_id)
    body = await read_model(request, ReminderRequest, "target_time")
    state.set_post_reminder(state.post(post_id), state.user(user_id), body.target_time, site_url(request))
    return status_ok()


def _license_required(error_id: str) -> AppError:
    # ``MinimumProfessionalLicense`` fails on an unlicensed server, before any other check.
    return AppError(501, error_id, "feature is not available for the current license")


@routes.post("/api/v4/users/{user_id}/posts/{post_id}/ack")
async def acknowledge_post(request: web.Request) -> web.Response:
    """Acknowledge a post: needs a Professional license, so 501 here."""
    require_user(request)
    raise _license_required("<untranslated>")


@routes.delete("/api/v4/users/{user_id}/posts/{post_id}/ack")
async def unacknowledge_post(request: web.Request) -> web.Response:
    """Remove an acknowledgement: needs a Professional license, so 501 here."""
    require_user(request)
    raise _license_required("license_error.feature_unavailable")


@routes.post("/api/v4/posts/{post_id}/move")
async def move_thread(request: web.Request) -> web.Response:
    """Move a thread: needs the ``MoveThreadsEnabled`` flag and a license, so 501 here."""
    require_user(request)
    path_id(request, "post_id")
    raise AppError(501, "api.post.move_thread.disabled.app_error", "Moving threads is disabled.")


@routes.post("/api/v4/posts/{post_id}/restore/{restore_version_id}")
async def restore_post_version(request: web.Request) -> web.Response:
    """Restore an own post's message and files from one of its edit-history versions."""
    caller = require_user(request)
    state = get_context(request).state
    post_id = path_id(request, "post_id")
    version_id = request.match_info["restore_version_id"]
    version = state.post_history.get(version_id) or state.posts.get(version_id)
    if version is None or version.user_id != caller.id:
        raise forbidden()
    post = state.posts.get(post_id)
    if post is None or post.delete_at or not can_read_channel(state, caller, post.channel_id):
        raise forbidden()
    if post.user_id != caller.id and not caller.is_admin:
        raise forbidden()
    if version.original_id != post.id:
        raise AppError(
            400,
            "app.post.restore_post_version.not_an_history_item.app_error",
            "The provided post history item is not a history item of the provided post.",
        )
    if not version.delete_at:
        raise AppError(
            400,
            "app.post.restore_post_version.not_valid_post_history_item.app_error",
            "The provided post history item is not a valid history item.",
        )
    _apply_edit(
        request, post, caller, {"message": version.message, "file_ids": list(version.file_ids)}, full=False
    )
    return json_response(state.post_json(post))


_REWRITE_ACTIONS = frozenset(
    {"custom", "shorten", "elaborate", "improve_writing", "fix_spelling", "simplify", "summarize"}
)


@routes.post("/api/v4/posts/rewrite")
async def rewrite_message(request: web.Request) -> web.Response:
    """Rewrite a message with an AI agent: with no AI plugin the agent call fails (500)."""
    require_user(request)
    body = await read_model(request, RewriteRequest, "request_body")
    if not is_valid_id(body.agent_id):
        raise invalid_body("agent_id")
    if body.action not in _REWRITE_ACTIONS:
        raise AppError(400, "app.ai.rewrite.invalid_action", f"invalid action: {body.action}")
    raise AppError(500, "app.ai.rewrite.agent_call_failed", "Failed to call the AI agent.")
