"""Collapsed reply threads of a user: lists, counts, read state and following."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..auth import can_read_channel, require_self_or_admin, require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body, invalid_url
from ..models import Post, ThreadMembership, User
from ..state import State
from .common import json_response, paging, path_id, path_user_id, query_bool, status_ok

routes = web.RouteTableDef()

_BASE = "/api/v4/users/{user_id}/teams/{team_id}/threads"


def _target(request: web.Request) -> tuple[State, User, str]:
    """The state, the user whose threads these are (self or, for admins, anyone) and the team."""
    caller = require_user(request)
    user_id = path_user_id(request)
    team_id = path_id(request, "team_id")
    require_self_or_admin(caller, user_id)
    state = get_context(request).state
    return state, state.user(user_id), team_id


def _readable_root(request: web.Request, state: State, name: str = "thread_id") -> Post:
    """``SessionHasPermissionToChannelByPost(read_channel)``: a missing post is a 403 too."""
    caller = require_user(request)
    root = state.posts.get(path_id(request, name))
    if root is None or not can_read_channel(state, caller, root.channel_id):
        raise forbidden()
    return root


def _thread_row_exists(root: Post | None) -> bool:
    # The server has a Threads row once a thread got its first reply.
    return root is not None and root.last_reply_at > 0


def _filter_threads(
    request: web.Request, state: State, memberships: list[ThreadMembership]
) -> list[ThreadMembership]:
    since_raw = request.query.get("since", "")
    if since_raw:
        if not since_raw.isdigit():
            raise invalid_body("since")
        since = int(since_raw)
        memberships = [
            m
            for m in memberships
            if m.last_update_at >= since or state.posts[m.post_id].last_reply_at >= since
        ]
    if query_bool(request, "unread", False):
        memberships = [m for m in memberships if state.thread_unread_replies(m) > 0]
    before, after = request.query.get("before", ""), request.query.get("after", "")
    cursor_id = before or after
    if cursor_id:
        pivot = state.last_reply_key(cursor_id)
        if before:
            memberships = [m for m in memberships if state.last_reply_key(m.post_id) < pivot]
        else:
            memberships = [m for m in memberships if state.last_reply_key(m.post_id) > pivot]
    _, per_page = paging(request)
    return memberships[-per_page:] if after else memberships[:per_page]


@routes.get(_BASE)
async def get_user_threads(request: web.Request) -> web.Response:
    """The threads the user follows in the team (and DMs/GMs), last reply first, with totals."""
    state, user, team_id = _target(request)
    if request.query.get("before") and request.query.get("after"):
        raise AppError(400, "api.getThreadsForUser.bad_params", "Before and After are mutually exclusive.")
    totals_only = query_bool(request, "totalsOnly", False)
    threads_only = query_bool(request, "threadsOnly", False)
    if totals_only and threads_only:
        raise AppError(
            400, "api.getThreadsForUser.bad_only_params", "totalsOnly and threadsOnly are mutually exclusive."
        )
    deleted = query_bool(request, "deleted", False)
    followed = [
        m
        for m in state.user_threads(user.id, team_id, deleted=deleted)
        if _thread_row_exists(state.posts.get(m.post_id))
    ]
    result: dict[str, Any] = {
        "total": 0,
        "total_unread_threads": 0,
        "total_unread_mentions": 0,
        "total_unread_urgent_mentions": 0,
        "threads": None,
    }
    if not threads_only:
        result["total"] = len(followed)
        result["total_unread_threads"] = sum(1 for m in followed if state.thread_unread_replies(m) > 0)
        result["total_unread_mentions"] = sum(m.unread_mentions for m in followed)
    if not totals_only:
        extended = query_bool(request, "extended", False)
        page = _filter_threads(request, state, followed)
        result["threads"] = [state.thread_json(m, extended=extended) for m in page]
    if query_bool(request, "unread", False):
        result["total"] = result["total_unread_threads"]
    return json_response(result)


@routes.get(_BASE + "/mention_counts")
async def get_thread_mention_counts(request: web.Request) -> web.Response:
    """Unread mentions in followed threads, per channel id."""
    state, user, team_id = _target(request)
    counts: dict[str, int] = {}
    for membership in state.user_threads(user.id, team_id):
        channel_id = state.posts[membership.post_id].channel_id
        counts[channel_id] = counts.get(channel_id, 0) + membership.unread_mentions
    return json_response(counts)


@routes.put(_BASE + "/read")
async def mark_all_threads_read(request: web.Request) -> web.Response:
    """Mark every followed thread of the team read now (``thread_read_changed``)."""
    state, user, team_id = _target(request)
    state.mark_all_threads_read(user.id, team_id)
    return status_ok()


@routes.put(_BASE + "/{thread_id}/read/{timestamp}")
async def mark_thread_read(request: web.Request) -> web.Response:
    """Set the thread's last view to ``timestamp``; returns the thread."""
    state, user, team_id = _target(request)
    thread_id = path_id(request, "thread_id")
    raw = request.match_info["timestamp"]
    try:
        timestamp = int(raw)
    except ValueError:
        raise invalid_url("timestamp") from None
    state.thread_membership(user.id, thread_id)
    root = state.post(thread_id)
    return json_response(state.mark_thread_read(user, team_id, root, timestamp))


@routes.post(_BASE + "/{thread_id}/set_unread/{post_id}")
async def set_thread_unread(request: web.Request) -> web.Response:
    """Mark the thread unread from one of its posts (last view = that post's time - 1)."""
    state, user, team_id = _target(request)
    root = _readable_root(request, state)
    post = state.post(path_id(request, "post_id"))
    if post.root_id != root.id and post.id != root.id:
        raise AppError(
            400,
            "app.user.update_thread_read_for_user_by_post.app_error",
            "Unable to update the thread read state: the post is not in the thread.",
        )
    state.thread_membership(user.id, root.id)
    return json_response(state.mark_thread_read(user, team_id, state.post(root.id), post.create_at - 1))


@routes.put(_BASE + "/{thread_id}/following")
async def follow_thread(request: web.Request) -> web.Response:
    """Start following a thread (``thread_follow_changed``)."""
    state, user, team_id = _target(request)
    root = _readable_root(request, state)
    state.set_thread_following(user.id, team_id, root.id, True)
    return status_ok()


@routes.delete(_BASE + "/{thread_id}/following")
async def unfollow_thread(request: web.Request) -> web.Response:
    """Stop following a thread (``thread_follow_changed``)."""
    state, user, team_id = _target(request)
    state.set_thread_following(user.id, team_id, path_id(request, "thread_id"), False)
    return status_ok()


@routes.get(_BASE + "/{thread_id}")
async def get_user_thread(request: web.Request) -> web.Response:
    """One thread of the user (404 without a membership)."""
    state, user, _ = _target(request)
    thread_id = path_id(request, "thread_id")
    membership = state.thread_membership(user.id, thread_id)
    if not _thread_row_exists(state.posts.get(thread_id)):
        raise AppError(404, "app.user.get_threads_for_user.not_found", "thread not found/followed")
    return json_response(state.thread_json(membership, extended=query_bool(request, "extended", False)))
