"""An opt-in admin HTTP API that arms the :class:`~.faults.FaultInjector` from outside the process.

Off by default: the routes exist only on an ``Emulator(faults_api=True)`` (``--faults-api`` on the
command line); otherwise their prefix is an unknown path (404). With a token, every request must
carry ``Authorization: Bearer <token>`` (401 otherwise). It is a test tool: never expose it
publicly.

Routes, under :data:`FAULTS_API_PREFIX` (a prefix outside ``/api/v4`` and every path the real
server serves):

* ``GET /__emulator__/faults``: the armed HTTP faults and the WebSocket connections, as JSON.
* ``DELETE /__emulator__/faults``: disarm everything (:meth:`~.faults.FaultInjector.clear`).
* ``POST /__emulator__/faults/http``: arm an HTTP fault, ``{"kind": "fail" | "drop" | "delay" |
  "rate_limit" | "headers", "count": 1, "method": null, "path_contains": null, ...}``.
* ``POST /__emulator__/faults/websocket``: a WebSocket fault, ``{"kind": "drop" | "drop_after" |
  "stall" | "lose_replay" | "send_raw", "user_id": null, ...}``.

Each kind maps onto the :class:`~.faults.FaultInjector` method of the same name. Bodies are
validated strictly: an unknown kind or field, a wrong type or an out-of-range value is a 400 whose
AppError-shaped body has a ``message`` saying what is wrong, and nothing is armed. The admin
requests themselves are never subject to the armed faults, the rate limiter or the request log.
"""

from __future__ import annotations

import hmac
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler

from .context import REQUEST_ID, get_context
from .errors import AppError
from .faults import Fault, FaultInjector
from .ids import is_valid_id
from .websocket import HUB_KEY

#: Where the admin API lives; nothing the real server serves starts with it.
FAULTS_API_PREFIX: Final = "/__emulator__/faults"
#: The environment variable ``python -m mmbridge.testing.emulator`` reads the token from.
TOKEN_ENV: Final = "MMBRIDGE_EMULATOR_FAULTS_TOKEN"  # noqa: S105 - a variable name, not a secret
#: The longest delay or stall the API arms, in seconds.
MAX_SECONDS: Final = 3600.0

_INVALID_BODY = "api.emulator.faults_api.invalid_body.app_error"
_UNAUTHORIZED = "api.emulator.faults_api.unauthorized.app_error"

_METHOD_RE = re.compile(r"[A-Za-z]{1,20}")
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_ERROR_ID_RE = re.compile(r"[A-Za-z0-9_.\-]{1,200}")

_FILTERS = frozenset({"kind", "count", "method", "path_contains"})
_HTTP_FIELDS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "fail": frozenset({"status", "gateway", "error_id"}),
        "drop": frozenset({"after_processing"}),
        "delay": frozenset({"seconds", "while_processing"}),
        "rate_limit": frozenset({"retry_after"}),
        "headers": frozenset({"headers"}),
    }
)
_WS_FIELDS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "drop": frozenset(),
        "drop_after": frozenset({"count"}),
        "stall": frozenset({"seconds"}),
        "lose_replay": frozenset(),
        "send_raw": frozenset({"text"}),
    }
)


@dataclass(frozen=True)
class FaultsAPIConfig:
    """Settings of the admin API, attached to the app under :data:`FAULTS_API_KEY`."""

    #: The shared secret of ``Authorization: Bearer``; ``None``: no authentication.
    token: str | None = field(default=None, repr=False)


FAULTS_API_KEY = web.AppKey("mmbridge_emulator_faults_api", FaultsAPIConfig)


def is_admin_request(request: web.Request) -> bool:
    """Whether ``request`` is addressed to the admin API of an app that serves it."""
    if FAULTS_API_KEY not in request.app:
        return False
    path = request.path
    return path == FAULTS_API_PREFIX or path.startswith(FAULTS_API_PREFIX + "/")


def add_faults_api_routes(app: web.Application, token: str | None = None) -> None:
    """Serve the admin API on ``app``; with ``token``, only to ``Authorization: Bearer <token>``."""
    if token is not None and not token:
        raise ValueError("the faults API token must not be empty (None: no token)")
    app[FAULTS_API_KEY] = FaultsAPIConfig(token)
    app.router.add_get(FAULTS_API_PREFIX, _admin(_get_faults), allow_head=False)
    app.router.add_delete(FAULTS_API_PREFIX, _admin(_clear_faults))
    app.router.add_post(f"{FAULTS_API_PREFIX}/http", _admin(_arm_http))
    app.router.add_post(f"{FAULTS_API_PREFIX}/websocket", _admin(_arm_websocket))


# ------------------------------------------------------------------ handlers
def _error(request: web.Request, status: int, error_id: str, message: str) -> web.Response:
    return AppError(status, error_id, message).to_response(request[REQUEST_ID])


def _authorized(request: web.Request) -> bool:
    token = request.app[FAULTS_API_KEY].token
    if token is None:
        return True
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.strip().encode(), token.encode())


def _admin(handler: Handler) -> Handler:
    """Wrap a handler: the token check first, then a bad body becomes a 400."""

    async def admin(request: web.Request) -> web.StreamResponse:
        if not _authorized(request):
            response = _error(
                request, 401, _UNAUTHORIZED, "the faults API needs 'Authorization: Bearer <token>'"
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="mmbridge-emulator-faults"'
            return response
        try:
            return await handler(request)
        except InvalidFaultBody as exc:
            return _error(request, 400, _INVALID_BODY, str(exc))

    return admin


def _state(request: web.Request) -> dict[str, Any]:
    faults = get_context(request).faults
    return {
        "http": [describe_fault(fault) for fault in faults.armed],
        "websocket_connections": [
            {
                "connection_id": info.connection_id,
                "user_id": info.user_id,
                "active": info.active,
                "next_seq": info.next_seq,
                "queued": info.queued,
            }
            for info in request.app[HUB_KEY].connections()
        ],
    }


async def _get_faults(request: web.Request) -> web.StreamResponse:
    return web.json_response(_state(request))


async def _clear_faults(request: web.Request) -> web.StreamResponse:
    get_context(request).faults.clear()
    return web.json_response(_state(request))


async def _arm_http(request: web.Request) -> web.StreamResponse:
    armed = arm_http_fault(get_context(request).faults, await _json_object(request))
    return web.json_response({"armed": armed})


async def _arm_websocket(request: web.Request) -> web.StreamResponse:
    armed = arm_websocket_fault(get_context(request).faults, await _json_object(request))
    return web.json_response({"armed": armed})


# ---------------------------------------------------------------- validation
class InvalidFaultBody(ValueError):
    """A request body the admin API refuses (answered with a 400 and this message)."""


def _refuse_constant(name: str) -> Any:
    raise InvalidFaultBody(f"the body is not valid JSON: {name} is not a number")


async def _json_object(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except InvalidFaultBody:
        raise
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an over-long integer
        raise InvalidFaultBody(f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidFaultBody("the body must be a JSON object")
    return value


def _kind(value: Mapping[str, Any], kinds: Mapping[str, frozenset[str]]) -> str:
    kind = value.get("kind")
    if not isinstance(kind, str) or kind not in kinds:
        got = "missing" if kind is None else json.dumps(kind)
        raise InvalidFaultBody(f"'kind' must be one of {', '.join(kinds)} (got {got})")
    return kind


class _Fields:
    """The fields of a JSON object, read with strict types; unknown fields are refused."""

    def __init__(self, value: Mapping[str, Any], kind: str, allowed: frozenset[str]) -> None:
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise InvalidFaultBody(
                f"unknown field(s) {', '.join(unknown)} for kind {kind!r} "
                f"(allowed: {', '.join(sorted(allowed))})"
            )
        self._value = value

    def _get(self, name: str, default: Any) -> Any:
        value = self._value.get(name, default)
        if value is None and default is not None:
            raise InvalidFaultBody(f"'{name}' must not be null")
        return value

    def integer(self, name: str, default: int | None, minimum: int, maximum: int | None = None) -> int:
        value = self._get(name, default)
        if value is None:
            raise InvalidFaultBody(f"'{name}' is required")
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidFaultBody(f"'{name}' must be an integer (got {json.dumps(value)})")
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise InvalidFaultBody(f"'{name}' must be {bounds} (got {value})")
        return value

    def seconds(self, name: str, default: float | None) -> float:
        value = self._get(name, default)
        if value is None:
            raise InvalidFaultBody(f"'{name}' is required")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidFaultBody(f"'{name}' must be a number of seconds (got {json.dumps(value)})")
        if not math.isfinite(value) or not 0 <= value <= MAX_SECONDS:
            raise InvalidFaultBody(f"'{name}' must be between 0 and {MAX_SECONDS:g} (got {value})")
        return float(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name, default)
        if not isinstance(value, bool):
            raise InvalidFaultBody(f"'{name}' must be true or false (got {json.dumps(value)})")
        return value

    def text(self, name: str) -> str:
        value = self._value.get(name)
        if not isinstance(value, str):
            raise InvalidFaultBody(f"'{name}' must be a string")
        return value

    def optional(self, name: str, valid: Callable[[str], bool], expected: str) -> str | None:
        value = self._value.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not valid(value):
            raise InvalidFaultBody(f"'{name}' must be {expected} or null (got {json.dumps(value)})")
        return value

    def headers(self, name: str) -> dict[str, str]:
        value = self._value.get(name)
        if not isinstance(value, dict) or not value:
            raise InvalidFaultBody(f"'{name}' must be a non-empty object of header names to values")
        for key, item in value.items():
            if not _HEADER_NAME_RE.fullmatch(key):
                raise InvalidFaultBody(f"'{name}': {json.dumps(key)} is not a valid header name")
            if not isinstance(item, str) or any(c in item for c in "\r\n\0"):
                raise InvalidFaultBody(f"'{name}': the value of {key} must be a single-line string")
        return dict(value)


def _is_method(value: str) -> bool:
    return _METHOD_RE.fullmatch(value) is not None


def _is_error_id(value: str) -> bool:
    return _ERROR_ID_RE.fullmatch(value) is not None


def _non_empty(value: str) -> bool:
    return bool(value)


def arm_http_fault(faults: FaultInjector, value: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a ``POST /__emulator__/faults/http`` body and arm it; returns it normalised.

    Raises :class:`InvalidFaultBody` (and arms nothing) when the body is not acceptable.
    """
    kind = _kind(value, _HTTP_FIELDS)
    fields = _Fields(value, kind, _FILTERS | _HTTP_FIELDS[kind])
    n = fields.integer("count", 1, minimum=1)
    method = fields.optional("method", _is_method, "an HTTP method such as GET")
    path = fields.optional("path_contains", _non_empty, "a non-empty string")
    armed: dict[str, Any] = {"kind": kind, "count": n, "method": method, "path_contains": path}
    if kind == "fail":
        status = fields.integer("status", 503, minimum=400, maximum=599)
        gateway = fields.boolean("gateway", False)
        error_id = fields.optional("error_id", _is_error_id, "an AppError id such as app.post.get.app_error")
        if gateway and error_id is not None:
            raise InvalidFaultBody("'error_id' has no effect with 'gateway': true (the answer is HTML)")
        faults.fail_next(n, status, gateway=gateway, error_id=error_id, method=method, path_contains=path)
        armed |= {"status": status, "gateway": gateway, "error_id": error_id}
    elif kind == "drop":
        after_processing = fields.boolean("after_processing", False)
        faults.drop_next(n, after_processing, method=method, path_contains=path)
        armed |= {"after_processing": after_processing}
    elif kind == "delay":
        seconds = fields.seconds("seconds", 1.0)
        while_processing = fields.boolean("while_processing", False)
        faults.delay_next(n, seconds, while_processing=while_processing, method=method, path_contains=path)
        armed |= {"seconds": seconds, "while_processing": while_processing}
    elif kind == "rate_limit":
        retry_after = fields.integer("retry_after", 1, minimum=0)
        faults.rate_limit_next(n, retry_after, method=method, path_contains=path)
        armed |= {"retry_after": retry_after}
    else:
        headers = fields.headers("headers")
        faults.headers_next(headers, n, method=method, path_contains=path)
        armed |= {"headers": headers}
    return armed


def arm_websocket_fault(faults: FaultInjector, value: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a ``POST /__emulator__/faults/websocket`` body and apply it; returns it normalised.

    Raises :class:`InvalidFaultBody` (and does nothing) when the body is not acceptable.
    """
    kind = _kind(value, _WS_FIELDS)
    fields = _Fields(value, kind, frozenset({"kind", "user_id"}) | _WS_FIELDS[kind])
    user_id = fields.optional("user_id", is_valid_id, "a 26-character user id")
    armed: dict[str, Any] = {"kind": kind, "user_id": user_id}
    if kind == "drop":
        faults.ws_drop(user_id)
    elif kind == "drop_after":
        n = fields.integer("count", None, minimum=1)
        faults.ws_drop_after(n, user_id)
        armed |= {"count": n}
    elif kind == "stall":
        seconds = fields.seconds("seconds", None)
        faults.ws_stall(seconds, user_id)
        armed |= {"seconds": seconds}
    elif kind == "lose_replay":
        faults.ws_lose_replay(user_id)
    else:
        text = fields.text("text")
        faults.ws_send_raw(text, user_id)
        armed |= {"text": text}
    return armed


def describe_fault(fault: Fault) -> dict[str, Any]:
    """An armed HTTP fault as ``GET /__emulator__/faults`` lists it."""
    described: dict[str, Any] = {
        "kind": fault.kind,
        "remaining": fault.remaining,
        "method": fault.method,
        "path_contains": fault.path_contains,
    }
    if fault.kind == "fail":
        described |= {"status": fault.status, "gateway": fault.gateway, "error_id": fault.error_id}
    elif fault.kind == "drop":
        described |= {"after_processing": fault.after_processing}
    elif fault.kind == "delay":
        described |= {"seconds": fault.seconds, "while_processing": fault.while_processing}
    elif fault.kind == "rate_limit":
        described |= {"retry_after": fault.retry_after}
    else:
        described |= {"headers": dict(fault.headers or {})}
    return described
