"""Emoji reactions."""

from __future__ import annotations

from aiohttp import web

from ..auth import can_read_channel, require_user
from ..context import get_context
from ..errors import AppError, forbidden, not_found
from ..ids import is_valid_id
from ..models import Post
from ..models.emoji import is_system_emoji_name
from ..validation import is_valid_emoji_name
from .common import get_str, json_response, path_id, read_json, read_object, status_ok

routes = web.RouteTableDef()


def _reactable_post(request: web.Request, post_id: str) -> Post:
    """The post, after ``SessionHasPermissionToChannelByPost`` (403 when the post is unknown or
    its channel unreadable) and ``GetSinglePost`` (404 when it is deleted)."""
    state = get_context(request).state
    caller = require_user(request)
    post = state.posts.get(post_id)
    if post is None or not can_read_channel(state, caller, post.channel_id):
        raise forbidden()
    if post.delete_at:
        raise not_found("app.post.get.app_error")
    return post


@routes.post("/api/v4/reactions")
async def save_reaction(request: web.Request) -> web.Response:
    """Add a reaction as the session user (200)."""
    caller = require_user(request)
    state = get_context(request).state
    body = await read_object(request, "reaction")
    user_id = get_str(body, "user_id", "reaction") or ""
    post_id = get_str(body, "post_id", "reaction") or ""
    emoji_name = get_str(body, "emoji_name", "reaction") or ""
    if not is_valid_id(user_id) or not is_valid_id(post_id) or not 1 <= len(emoji_name) <= 64:
        raise AppError(400, "api.reaction.save_reaction.invalid.app_error", "Reaction is not valid.")
    if user_id != caller.id:
        raise AppError(
            403,
            "api.reaction.save_reaction.user_id.app_error",
            "You cannot save reaction for the other user.",
        )
    post = _reactable_post(request, post_id)
    # SaveReactionForPost: a system emoji name, or else a live custom emoji.
    if not is_system_emoji_name(emoji_name) and state.emoji_by_name(emoji_name) is None:
        raise AppError(404, "app.emoji.get_by_name.no_result", "Unable to find the emoji.")
    reaction = state.add_reaction(post, caller.id, emoji_name)
    return json_response(reaction.to_json())


@routes.delete("/api/v4/users/{user_id}/posts/{post_id}/reactions/{emoji_name}")
async def delete_reaction(request: web.Request) -> web.Response:
    """Remove a reaction; someone else's needs ``remove_others_reactions`` (admin)."""
    caller = require_user(request)
    state = get_context(request).state
    user_id = path_id(request, "user_id")
    post_id = path_id(request, "post_id")
    emoji_name = request.match_info["emoji_name"]
    if not is_valid_emoji_name(emoji_name):
        raise AppError(400, "api.context.invalid_url_param.app_error", name="emoji_name")
    if user_id != caller.id and not caller.is_admin:
        raise forbidden()
    post = _reactable_post(request, post_id)
    state.remove_reaction(post, user_id, emoji_name)
    return status_ok()


@routes.get("/api/v4/posts/{post_id}/reactions")
async def list_reactions(request: web.Request) -> web.Response:
    """The reactions on a post."""
    caller = require_user(request)
    state = get_context(request).state
    post = state.post(path_id(request, "post_id"))
    if not can_read_channel(state, caller, post.channel_id):
        raise forbidden()
    return json_response([r.to_json() for r in state.reactions.get(post.id, [])])


@routes.post("/api/v4/posts/ids/reactions")
async def bulk_reactions(request: web.Request) -> web.Response:
    """The reactions of each post of a JSON array of post ids, ``{post_id: [...]}`` (every post
    listed, ``[]`` when it has none); 403 unless the caller can read every post's channel."""
    caller = require_user(request)
    state = get_context(request).state
    try:
        body = await read_json(request, "post_ids")
    except AppError:
        body = None
    if not isinstance(body, list) or not all(isinstance(v, str) for v in body):
        raise AppError(400, "api.payload.parse.error", "Unable to parse the request payload.")
    post_ids = sorted(set(body))
    for post_id in post_ids:
        post = state.posts.get(post_id)
        if post is None or not can_read_channel(state, caller, post.channel_id):
            raise forbidden()
    return json_response({p: [r.to_json() for r in state.reactions.get(p, [])] for p in post_ids})
