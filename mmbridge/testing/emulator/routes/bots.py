"""Bot accounts."""

from __future__ import annotations

from aiohttp import web

from ..auth import can_manage_bot, require_user
from ..context import get_context
from ..errors import AppError, forbidden, not_found
from ..ids import now_ms
from ..models import Bot
from ..state import State
from ..validation import check_username
from .common import get_str, json_response, paging, path_id, read_object

routes = web.RouteTableDef()


def _bot(state: State, bot_user_id: str) -> Bot:
    bot = state.bots.get(bot_user_id)
    if bot is None:
        raise not_found("store.sql_bot.get.missing.app_error")
    return bot


@routes.post("/api/v4/bots")
async def create_bot(request: web.Request) -> web.Response:
    """Create a bot owned by the caller (403 when bot creation is disabled)."""
    caller = require_user(request)
    ctx = get_context(request)
    if not ctx.settings.enable_bot_account_creation:
        raise AppError(403, "api.bot.create_disabled")
    if caller.is_bot:
        raise forbidden()
    body = await read_object(request, "bot")
    username = check_username(get_str(body, "username", "bot") or "")
    display_name = get_str(body, "display_name", "bot") or ""
    description = get_str(body, "description", "bot") or ""
    bot = ctx.state.add_bot(username, display_name, description, caller.id)
    return json_response(bot.to_json(), status=201)


@routes.get("/api/v4/bots")
async def list_bots(request: web.Request) -> web.Response:
    """Bots, paged; non-admins see their own."""
    caller = require_user(request)
    state = get_context(request).state
    page, per_page = paging(request)
    include_deleted = request.query.get("include_deleted", "").lower() == "true"
    bots = [
        b
        for b in state.bots.values()
        if (caller.is_admin or b.owner_id == caller.id) and (include_deleted or not b.delete_at)
    ]
    chunk = bots[page * per_page : (page + 1) * per_page]
    return json_response([b.to_json() for b in chunk])


@routes.get("/api/v4/bots/{bot_user_id}")
async def get_bot(request: web.Request) -> web.Response:
    """A bot by its user id."""
    caller = require_user(request)
    state = get_context(request).state
    bot = _bot(state, path_id(request, "bot_user_id"))
    if not can_manage_bot(state, caller, bot.user_id):
        raise not_found("store.sql_bot.get.missing.app_error")
    return json_response(bot.to_json())


@routes.put("/api/v4/bots/{bot_user_id}")
async def patch_bot(request: web.Request) -> web.Response:
    """Patch username, display_name and description."""
    caller = require_user(request)
    state = get_context(request).state
    bot = _bot(state, path_id(request, "bot_user_id"))
    if not can_manage_bot(state, caller, bot.user_id):
        raise forbidden()
    body = await read_object(request, "bot")
    user = state.user(bot.user_id)
    if "username" in body:
        name = check_username(get_str(body, "username", "bot") or "")
        state.require_free_username(name, owner_id=user.id)
        bot.username = user.username = name
    if "display_name" in body:
        bot.display_name = user.first_name = get_str(body, "display_name", "bot") or ""
    if "description" in body:
        bot.description = user.bot_description = get_str(body, "description", "bot") or ""
    bot.update_at = now_ms()
    state.user_updated(user)
    return json_response(bot.to_json())
