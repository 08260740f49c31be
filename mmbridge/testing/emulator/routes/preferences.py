"""User preferences: read, save and delete (self, or ``edit_other_users``)."""

from __future__ import annotations

import attrs
from aiohttp import web

from ..auth import can_read_channel, require_self_or_admin, require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body
from ..models import Preference, User, loads
from ..models.requests import BodyTypeError, decode_body
from ..state import State
from ..state.preferences import FLAGGED_POST
from .common import json_response, path_user_id, read_body, status_ok

routes = web.RouteTableDef()

#: ``model.Preference.IsValid`` limits.
CATEGORY_MAX = 32
NAME_MAX = 32
VALUE_MAX_RUNES = 2000
#: The path segments' pattern on the server (a name outside it matches no route: 404).
SEGMENT = "[A-Za-z0-9_]+"


@attrs.define
class PreferenceBody:
    """One ``model.Preference`` of a request body."""

    user_id: str = ""
    category: str = ""
    name: str = ""
    value: str = ""


async def _preferences_body(request: web.Request) -> list[Preference]:
    """A JSON array of preferences; 400 ``invalid_body_param`` ``preferences`` otherwise."""
    try:
        value = loads(await read_body(request))
    except (ValueError, UnicodeDecodeError):
        raise invalid_body("preferences") from None
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid_body("preferences")
    try:
        items = [decode_body(v, PreferenceBody) for v in value]
    except BodyTypeError:
        raise invalid_body("preferences") from None
    return [Preference(p.user_id, p.category, p.name, p.value) for p in items]


def _invalid(field: str) -> AppError:
    return AppError(400, f"model.preference.is_valid.{field}.app_error", f"Invalid {field}.")


def _check_valid(preference: Preference) -> None:
    """``Preference.IsValid`` (the store refuses the whole batch on the first bad one)."""
    if len(preference.category) > CATEGORY_MAX or not preference.category:
        raise _invalid("category")
    if len(preference.name) > NAME_MAX:
        raise _invalid("name")
    if len(preference.value) > VALUE_MAX_RUNES:
        raise _invalid("value")
    if preference.category == "theme":
        try:
            ok = isinstance(loads(preference.value), dict)
        except ValueError:
            ok = False
        if not ok:
            raise _invalid("theme")


def _check_flagged_post(state: State, caller: User, preference: Preference) -> None:
    """A flagged post must exist and be readable by the caller."""
    post = state.posts.get(preference.name)
    if post is None or post.delete_at:
        raise invalid_body("preference.name")
    if not can_read_channel(state, caller, post.channel_id):
        raise forbidden()


def _check_owner(user_id: str, preferences: list[Preference], error_id: str) -> None:
    if any(p.user_id != user_id for p in preferences):
        raise AppError(403, error_id, "Unable to change the preferences of another user.")


@routes.get("/api/v4/users/{user_id}/preferences")
async def get_preferences(request: web.Request) -> web.Response:
    """All the user's preferences."""
    caller = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    prefs = get_context(request).state.preferences_of(user_id)
    return json_response([p.to_json() for p in prefs])


@routes.put("/api/v4/users/{user_id}/preferences")
async def update_preferences(request: web.Request) -> web.Response:
    """Save preferences (all or none): ``preferences_changed`` to that user."""
    caller = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    preferences = await _preferences_body(request)
    state = get_context(request).state
    for preference in preferences:
        if preference.category == FLAGGED_POST:
            _check_flagged_post(state, caller, preference)
    _check_owner(user_id, preferences, "api.preference.update_preferences.set.app_error")
    for preference in preferences:
        _check_valid(preference)
    state.save_preferences(user_id, preferences)
    return status_ok()


@routes.post("/api/v4/users/{user_id}/preferences/delete")
async def delete_preferences(request: web.Request) -> web.Response:
    """Delete preferences: ``preferences_deleted`` to that user."""
    caller = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    preferences = await _preferences_body(request)
    _check_owner(user_id, preferences, "api.preference.delete_preferences.delete.app_error")
    get_context(request).state.delete_preferences(user_id, preferences)
    return status_ok()


@routes.get(f"/api/v4/users/{{user_id}}/preferences/{{category:{SEGMENT}}}")
async def get_preferences_by_category(request: web.Request) -> web.Response:
    """The user's preferences of one category (404 when there are none)."""
    caller = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    prefs = get_context(request).state.preferences_of(user_id, request.match_info["category"])
    if not prefs:
        raise AppError(
            404,
            "api.preference.preferences_category.get.app_error",
            "Unable to find preferences for this category.",
        )
    return json_response([p.to_json() for p in prefs])


@routes.get(
    f"/api/v4/users/{{user_id}}/preferences/{{category:{SEGMENT}}}/name/{{preference_name:{SEGMENT}}}"
)
async def get_preference_by_name(request: web.Request) -> web.Response:
    """One preference of the user (400 ``app.preference.get.app_error`` when missing, as the
    server wraps the store's not-found)."""
    caller = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    pref = get_context(request).state.preference(
        user_id, request.match_info["category"], request.match_info["preference_name"]
    )
    if pref is None:
        raise AppError(400, "app.preference.get.app_error", "Unable to get the preference.")
    return json_response(pref.to_json())
