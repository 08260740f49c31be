"""Posts: create (with ``pending_post_id`` dedupe), read, edit, delete, threads, channel lists."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from ..auth import can_read_channel, require_user
from ..context import PROCESSING_DELAY, get_context
from ..dedupe import IN_FLIGHT
from ..errors import AppError, forbidden, invalid_body, invalid_param, not_found
from ..ids import is_valid_id, now_ms
from ..models import Channel, Post, User, generate_action_ids, hashtags_of
from ..state import State
from .common import get_str, json_response, paging, path_id, query_bool, read_object, status_ok

routes = web.RouteTableDef()

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
        is_pinned=bool(body.get("is_pinned", False)),
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
    state = get_context(request).state
    author = state.user(post.user_id)
    previous = post.clone()
    changed = False
    if "message" in body or full:
        message = get_str(body, "message", "post") or ""
        _check_message(request, message)
        if message != post.message:
            post.message = message
            post.hashtags = hashtags_of(message)
            changed = True
    if "file_ids" in body:
        attachable = set(_file_ids(state, body, author, post.channel_id))
        requested = dict.fromkeys(body.get("file_ids") or [])
        ids = [f for f in requested if f in post.file_ids or f in attachable]
        if ids != post.file_ids:
            for file_id in ids:
                state.files[file_id].post_id = post.id
            post.file_ids = ids
            changed = True
    if "props" in body or full:
        props = _props(body, author)
        post.props = props
    if "is_pinned" in body:
        post.is_pinned = bool(body["is_pinned"])
    now = max(now_ms(), post.update_at + 1)
    post.update_at = now
    if changed:
        post.edit_at = now
    state.post_edited(post, previous)


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


def _post_list(
    state: State, posts: list[Post], *, next_post_id: str = "", prev_post_id: str = ""
) -> dict[str, Any]:
    ordered = sorted(posts, key=lambda p: (p.create_at, p.seq), reverse=True)
    return {
        "order": [p.id for p in ordered],
        "posts": {p.id: state.post_json(p) for p in ordered},
        "next_post_id": next_post_id,
        "prev_post_id": prev_post_id,
        "has_next": bool(next_post_id),
    }


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
    return json_response(_post_list(state, thread))


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
            return json_response(_post_list(state, []))
        if before:
            older = live[index + 1 :]
            window = older[page * per_page : (page + 1) * per_page]
        else:
            newer = list(reversed(live[:index]))
            window = list(reversed(newer[page * per_page : (page + 1) * per_page]))
    else:
        window = live[page * per_page : (page + 1) * per_page]
    if not window:
        return json_response(_post_list(state, []))
    newest = live.index(window[0])
    oldest = live.index(window[-1])
    next_id = live[newest - 1].id if newest > 0 else ""
    prev_id = live[oldest + 1].id if oldest + 1 < len(live) else ""
    return json_response(_post_list(state, window, next_post_id=next_id, prev_post_id=prev_id))
