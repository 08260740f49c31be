"""Helpers shared by the route modules: bodies, URL parameters, paging, responses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from aiohttp import web

from ..auth import require_user
from ..context import BODY_LIMIT, get_context
from ..errors import AppError, invalid_body, invalid_url
from ..ids import is_valid_id
from ..models import User, dumps, loads
from ..models.requests import BodyTypeError, decode_body

T = TypeVar("T")


async def read_body(request: web.Request) -> bytes:
    """The raw body, 413 when it is over the route's limit."""
    limit = request.get(BODY_LIMIT, 300512)
    body = await request.read()
    if len(body) > limit:
        raise AppError(413, "api.context.request_body_too_large.app_error")
    return body


async def read_json(request: web.Request, name: str) -> Any:
    """The JSON body; 400 ``invalid_body_param`` naming ``name`` when it is not JSON."""
    body = await read_body(request)
    try:
        return loads(body)
    except (ValueError, UnicodeDecodeError):
        raise invalid_body(name) from None


async def read_object(request: web.Request, name: str) -> dict[str, Any]:
    """A JSON object body."""
    value = await read_json(request, name)
    if not isinstance(value, dict):
        raise invalid_body(name)
    return value


async def read_id_list(request: web.Request, name: str) -> list[str]:
    """A JSON array of ids."""
    value = await read_json(request, name)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid_body(name)
    return value


async def read_model(request: web.Request, cls: type[T], name: str) -> T:
    """The JSON body read into the request model ``cls`` (see :mod:`..models.requests`); 400
    ``invalid_body_param`` naming ``name`` when it is not JSON or a field has the wrong type."""
    value = await read_json(request, name)
    try:
        return decode_body(value, cls)
    except BodyTypeError:
        raise invalid_body(name) from None


def get_str(body: dict[str, Any], key: str, name: str | None = None) -> str | None:
    """An optional string field; 400 when present with another type."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_body(name or key)
    return value


def path_id(request: web.Request, name: str) -> str:
    """A URL id parameter; 400 ``invalid_url_param`` when malformed."""
    value = request.match_info[name]
    if not is_valid_id(value):
        raise invalid_url(name)
    return value


def path_user_id(request: web.Request, name: str = "user_id") -> str:
    """A user id URL parameter where ``me`` means the session user."""
    if request.match_info[name] == "me":
        return require_user(request).id
    return path_id(request, name)


def paging(request: web.Request) -> tuple[int, int]:
    """``page`` (default 0) and ``per_page`` (default 60, clamped to 200), bad values ignored."""
    try:
        page = max(0, int(request.query.get("page", "0")))
    except ValueError:
        page = 0
    raw = request.query.get("per_page", request.query.get("pageSize", "60"))
    try:
        per_page = int(raw)
    except ValueError:
        per_page = 60
    if per_page < 0:
        per_page = 60
    return page, min(per_page, 200)


def query_bool(request: web.Request, name: str, default: bool) -> bool:
    """A boolean query parameter."""
    raw = request.query.get(name)
    if raw is None:
        return default
    return raw.lower() in ("1", "true", "t", "yes")


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON response with a bytes body."""
    return web.Response(status=status, body=dumps(data).encode(), content_type="application/json")


def status_ok() -> web.Response:
    """``{"status":"OK"}``."""
    return json_response({"status": "OK"})


def site_url(request: web.Request) -> str:
    """The configured site URL, or the URL the emulator listens on."""
    ctx = get_context(request)
    return ctx.settings.site_url or ctx.site_url


def user_view(request: web.Request, user: User) -> dict[str, Any]:
    """One user as the caller may see them: whole for themselves (``Sanitize``), else a profile
    (``SanitizeProfile``), as ``getUser`` answers."""
    caller = require_user(request)
    return user.to_json() if caller.id == user.id else user.profile_json(as_admin=caller.is_admin)


def profiles(request: web.Request, users: Iterable[User]) -> list[dict[str, Any]]:
    """A list of users as profiles, the caller's own included (``sanitizeProfiles``)."""
    as_admin = require_user(request).is_admin
    return [user.profile_json(as_admin=as_admin) for user in users]
