"""Statuses of several users, and custom statuses (GET/PUT of one status are in users.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
from aiohttp import web

from ..auth import require_self_or_admin, require_user
from ..context import get_context
from ..errors import invalid_body
from ..models import loads
from ..models.requests import BodyTypeError, decode_body
from .common import json_response, path_user_id, read_body, status_ok

routes = web.RouteTableDef()

#: ``model.CustomStatusDuration`` values a client may send.
DURATIONS = frozenset({"thirty_minutes", "one_hour", "four_hours", "today", "this_week", "date_and_time"})
#: Go's zero ``time.Time`` as JSON.
ZERO_TIME = "0001-01-01T00:00:00Z"
DEFAULT_EMOJI = "speech_balloon"
TEXT_MAX_RUNES = 100


@attrs.define
class CustomStatusBody:
    """``model.CustomStatus`` as a request body."""

    emoji: str = ""
    text: str = ""
    duration: str = ""
    expires_at: str = ""


def _expiry(value: str) -> datetime | None:
    """``expires_at`` as Go decodes a ``time.Time`` (RFC 3339); None when it is not one."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


async def _custom_status(request: web.Request, name: str) -> tuple[CustomStatusBody, datetime | None]:
    """The body as a custom status; 400 ``invalid_body_param`` ``name`` when it does not decode."""
    try:
        body = decode_body(loads(await read_body(request)), CustomStatusBody)
    except (ValueError, UnicodeDecodeError, BodyTypeError):
        raise invalid_body(name) from None
    if not body.expires_at:
        return body, None
    expiry = _expiry(body.expires_at)
    if expiry is None:
        raise invalid_body(name)
    return body, expiry


def _is_valid_expiry(status: CustomStatusBody, expiry: datetime | None) -> bool:
    """``AreDurationAndExpirationTimeValid``."""
    in_future = expiry is not None and expiry >= datetime.now(UTC)
    if not status.duration:
        return expiry is None or expiry.year == 1 or in_future
    return status.duration in DURATIONS and in_future


def _stored(status: CustomStatusBody, expiry: datetime | None) -> dict[str, Any]:
    """The custom status after ``PreSave``, as the server stores it in the user's props."""
    duration = status.duration
    if not duration and expiry is not None and expiry >= datetime.now(UTC):
        duration = "date_and_time"
    return {
        "emoji": status.emoji or DEFAULT_EMOJI,
        "text": status.text[:TEXT_MAX_RUNES],
        "duration": duration,
        "expires_at": status.expires_at or ZERO_TIME,
    }


@routes.post("/api/v4/users/status/ids")
async def get_statuses_by_ids(request: web.Request) -> web.Response:
    """Statuses of the given users (``offline`` for those without one); no permission needed."""
    require_user(request)
    try:
        ids: Any = loads(await read_body(request))
    except (ValueError, UnicodeDecodeError):
        ids = []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        ids = []  # model.ArrayFromJSON reads anything else as empty
    if not ids or any(len(i) != 26 for i in ids):
        raise invalid_body("user_ids")
    state = get_context(request).state
    return json_response([state.status_of(i) for i in ids])


@routes.put("/api/v4/users/{user_id}/status/custom")
async def update_custom_status(request: web.Request) -> web.Response:
    """Set the user's custom status (in its props: ``user_updated``) and add it to the recent ones."""
    caller = require_user(request)
    user_id = path_user_id(request)
    status, expiry = await _custom_status(request, "custom_status")
    if (not status.emoji and not status.text) or not _is_valid_expiry(status, expiry):
        raise invalid_body("custom_status")
    require_self_or_admin(caller, user_id)
    state = get_context(request).state
    state.set_custom_status(state.user(user_id), _stored(status, expiry))
    return status_ok()


@routes.delete("/api/v4/users/{user_id}/status/custom")
async def remove_custom_status(request: web.Request) -> web.Response:
    """Clear the user's custom status (``user_updated``)."""
    caller = require_user(request)
    user_id = path_user_id(request)
    require_self_or_admin(caller, user_id)
    state = get_context(request).state
    state.clear_custom_status(state.user(user_id))
    return status_ok()


async def _remove_recent(request: web.Request) -> web.Response:
    caller = require_user(request)
    user_id = path_user_id(request)
    status, _ = await _custom_status(request, "recent_custom_status")
    require_self_or_admin(caller, user_id)
    state = get_context(request).state
    recent = {**attrs.asdict(status), "expires_at": status.expires_at or ZERO_TIME}
    state.remove_recent_custom_status(user_id, recent)
    return status_ok()


@routes.delete("/api/v4/users/{user_id}/status/custom/recent")
async def remove_recent_custom_status(request: web.Request) -> web.Response:
    """Remove one status (the body) from the user's recent custom statuses."""
    return await _remove_recent(request)


@routes.post("/api/v4/users/{user_id}/status/custom/recent/delete")
async def remove_recent_custom_status_post(request: web.Request) -> web.Response:
    """Remove one recent custom status: the POST form of the DELETE, for mobile clients."""
    return await _remove_recent(request)
