"""Sidebar categories of a user on a team (``api4/channel_category.go``)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ..auth import require_self_or_admin, require_user
from ..context import get_context
from ..errors import forbidden, invalid_body, invalid_url
from ..models import SidebarCategory, User
from ..models.requests import BodyTypeError, decode_body
from ..state import State
from ..state.categories import CategoryUpdate, category_error
from .common import json_response, path_id, path_user_id, read_json, status_ok

routes = web.RouteTableDef()

_BASE = "/api/v4/users/{user_id}/teams/{team_id}/channels/categories"
#: The router's ``{category_id:[A-Za-z0-9_-]+}``.
_CATEGORY_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def _owner(request: web.Request) -> tuple[User, str, str]:
    """The session user and the (user id, team id) of the URL."""
    caller = require_user(request)
    return caller, path_user_id(request), path_id(request, "team_id")


def _category_id(request: web.Request) -> str:
    value = request.match_info["category_id"]
    if not _CATEGORY_ID.match(value):
        raise invalid_url("category_id")
    return value


def _may_use(state: State, caller: User, user_id: str, team_id: str, category_id: str) -> bool:
    """``SessionHasPermissionToCategory``: admins any; users their own category of that team."""
    if caller.is_admin:
        return True
    category = state.categories.get(category_id)
    return category is not None and category.user_id == caller.id == user_id and category.team_id == team_id


def _category_json(category: SidebarCategory) -> dict[str, Any]:
    return category.to_json()


def _update_from(value: Any) -> CategoryUpdate:
    """A ``SidebarCategoryWithChannels`` body as an update; :class:`BodyTypeError` if malformed."""
    return decode_body(value, CategoryUpdate)


async def _read_category(request: web.Request, user_id: str, team_id: str) -> CategoryUpdate:
    """The body of create / update one: its ``user_id`` and ``team_id`` must be the URL's."""
    body = await read_json(request, "category")
    try:
        update = _update_from({"id": "", **body} if isinstance(body, dict) else body)
    except BodyTypeError:
        raise invalid_body("category") from None
    if body.get("user_id") != user_id or body.get("team_id") != team_id:
        raise invalid_body("category")
    return update


def _members_only(state: State, user_id: str, team_id: str, channel_ids: list[str]) -> list[str]:
    """``validateSidebarCategoryChannels``: channels the user is not in are dropped silently."""
    mine = {c.id for c in state.channels_of_user(user_id, team_id, include_deleted=True)}
    return [c for c in channel_ids if c in mine]


@routes.get(_BASE)
async def get_categories(request: web.Request) -> web.Response:
    """A user's sidebar categories on a team, with their channels, in order."""
    caller, user_id, team_id = _owner(request)
    require_self_or_admin(caller, user_id)
    state = get_context(request).state
    categories = state.sidebar_categories(user_id, team_id)
    return json_response(
        {"categories": [_category_json(c) for c in categories], "order": [c.id for c in categories]}
    )


@routes.post(_BASE)
async def create_category(request: web.Request) -> web.Response:
    """Create a custom category (channels move into it from the others); 200, as the server."""
    caller, user_id, team_id = _owner(request)
    require_self_or_admin(caller, user_id)
    state = get_context(request).state
    update = await _read_category(request, user_id, team_id)
    category = state.create_category(
        user_id,
        team_id,
        update.display_name,
        sorting=update.sorting,
        muted=update.muted,
        channel_ids=_members_only(state, user_id, team_id, update.channel_ids),
    )
    return json_response(_category_json(category))


@routes.put(_BASE)
async def update_categories(request: web.Request) -> web.Response:
    """Update several categories at once (names of custom ones, channels, sorting, muting)."""
    caller, user_id, team_id = _owner(request)
    require_self_or_admin(caller, user_id)
    state = get_context(request).state
    body = await read_json(request, "category")
    if not isinstance(body, list):
        raise invalid_body("category")
    try:
        updates = [_update_from(item) for item in body]
    except BodyTypeError:
        raise invalid_body("category") from None
    if not all(_may_use(state, caller, user_id, team_id, u.id) for u in updates):
        raise invalid_body("category")
    for update in updates:
        update.channel_ids = _members_only(state, user_id, team_id, update.channel_ids)
    result = state.update_categories(user_id, team_id, updates)
    return json_response([_category_json(c) for c in result])


@routes.get(_BASE + "/order")
async def get_category_order(request: web.Request) -> web.Response:
    """The ids of a user's categories on a team, in sidebar order."""
    caller, user_id, team_id = _owner(request)
    require_self_or_admin(caller, user_id)
    return json_response(get_context(request).state.category_order(user_id, team_id))


@routes.put(_BASE + "/order")
async def update_category_order(request: web.Request) -> web.Response:
    """Reorder a user's categories on a team (every category, each once)."""
    caller, user_id, team_id = _owner(request)
    require_self_or_admin(caller, user_id)
    state = get_context(request).state
    body = await read_json(request, "order")
    # model.ArrayFromJSON: anything but an array of strings reads as an empty list.
    order = body if isinstance(body, list) and all(isinstance(i, str) for i in body) else []
    if not all(_may_use(state, caller, user_id, team_id, i) for i in order):
        raise invalid_body("category")
    state.update_category_order(user_id, team_id, order)
    return json_response(order)


@routes.get(_BASE + "/{category_id}")
async def get_category(request: web.Request) -> web.Response:
    """One category with its channels."""
    caller, user_id, team_id = _owner(request)
    category_id = _category_id(request)
    state = get_context(request).state
    if not _may_use(state, caller, user_id, team_id, category_id):
        raise forbidden()
    category = state.categories.get(category_id)
    if category is None:
        raise category_error(404)
    return json_response(_category_json(state.populated(category)))


@routes.put(_BASE + "/{category_id}")
async def update_category(request: web.Request) -> web.Response:
    """Update one category (the URL's id wins over the body's)."""
    caller, user_id, team_id = _owner(request)
    category_id = _category_id(request)
    state = get_context(request).state
    if not _may_use(state, caller, user_id, team_id, category_id):
        raise forbidden()
    update = await _read_category(request, user_id, team_id)
    update.id = category_id
    update.channel_ids = _members_only(state, user_id, team_id, update.channel_ids)
    (category,) = state.update_categories(user_id, team_id, [update])
    return json_response(_category_json(category))


@routes.delete(_BASE + "/{category_id}")
async def delete_category(request: web.Request) -> web.Response:
    """Delete a custom category; its channels go back to Channels and Direct Messages."""
    caller, user_id, team_id = _owner(request)
    category_id = _category_id(request)
    state = get_context(request).state
    if not _may_use(state, caller, user_id, team_id, category_id):
        raise forbidden()
    state.delete_category(user_id, team_id, category_id)
    return status_ok()
