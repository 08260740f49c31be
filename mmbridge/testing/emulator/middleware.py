"""aiohttp middlewares: request log, server headers, faults, rate limit, errors, body size."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from .auth import resolve_session, token_from_request
from .context import (
    BODY_LIMIT,
    DROPPED,
    LOGGED,
    NO_SERVER_HEADERS,
    PROCESSING_DELAY,
    REQUEST_ID,
    SESSION,
    get_context,
)
from .errors import AppError
from .faults import Fault
from .faults_api import is_admin_request
from .ids import new_id
from .ratelimit import RateLimitResult
from .requestlog import RequestRecord
from .websocket import WEBSOCKET_ROUTES

FILE_ROUTES = ("/api/v4/files", "/api/v4/users/{user_id}/image", "/api/v4/emoji")


def _route_template(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    if resource is None or resource.canonical in WEBSOCKET_ROUTES:
        # The OpenAPI spec documents no path for the WebSocket: keep it out of the spec check.
        return None
    return resource.canonical


def _body_bytes(response: web.StreamResponse) -> bytes:
    if isinstance(response, web.Response) and isinstance(response.body, bytes | bytearray):
        return bytes(response.body)
    return b""


@web.middleware
async def log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Append a :class:`RequestRecord` for every request to ``emu.requests``.

    Calls to the faults admin API are not Mattermost traffic and are not logged.
    """
    response = await handler(request)
    if request.get(LOGGED) or is_admin_request(request):
        return response
    ctx = get_context(request)
    session = request.get(SESSION)
    if session is None:
        session, _ = resolve_session(ctx.state, token_from_request(request))
    dropped = bool(request.get(DROPPED))
    ctx.requests.append(
        RequestRecord(
            method=request.method,
            path=request.path,
            route=_route_template(request),
            status=0 if dropped else response.status,
            content_type="" if dropped else response.content_type,
            body=b"" if dropped else _body_bytes(response),
            user_id=session.user_id if session is not None else "",
            query=request.query_string,
        )
    )
    return response


@web.middleware
async def headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request an id and add ``X-Request-Id`` and ``X-Version-Id``."""
    request[REQUEST_ID] = new_id()
    response = await handler(request)
    if not request.get(NO_SERVER_HEADERS):
        response.headers["X-Request-Id"] = request[REQUEST_ID]
        response.headers["X-Version-Id"] = get_context(request).settings.version_header
    return response


def too_many_requests(result: RateLimitResult) -> web.Response:
    """The limiter's 429: plain text, as Go's ``http.Error`` writes it."""
    response = web.Response(status=429, body=b"limit exceeded\n")
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.update(result.headers())
    return response


def _drop(request: web.Request) -> web.Response:
    request[DROPPED] = True
    request[NO_SERVER_HEADERS] = True
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=499)


def _fail_response(request: web.Request, fault: Fault) -> web.Response:
    if fault.gateway:
        request[NO_SERVER_HEADERS] = True
        text = (
            f"<html>\r\n<head><title>{fault.status} Service Unavailable</title></head>\r\n"
            f"<body>\r\n<center><h1>{fault.status} Service Unavailable</h1></center>\r\n"
            "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        )
        return web.Response(status=fault.status, text=text, content_type="text/html")
    if fault.error_id is not None:
        error = AppError(fault.status, fault.error_id)
    else:
        error = AppError(fault.status, "api.emulator.injected_fault.app_error", "Injected failure.")
    return error.to_response(request[REQUEST_ID])


@web.middleware
async def faults_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply the faults armed through ``emu.faults`` (never to the faults admin API itself)."""
    if is_admin_request(request):
        return await handler(request)
    ctx = get_context(request)
    while (delay := ctx.faults.take(request, delays=True)) is not None:
        if delay.while_processing:
            request[PROCESSING_DELAY] = delay.seconds
        else:
            await asyncio.sleep(delay.seconds)
    fault = ctx.faults.take(request, delays=False)
    if fault is None:
        return await handler(request)
    if fault.kind == "headers":
        response = await handler(request)
        response.headers.update(fault.headers or {})
        return response
    if fault.kind == "fail":
        return _fail_response(request, fault)
    if fault.kind == "rate_limit":
        limit = ctx.limiter.limit if ctx.limiter is not None else 101
        result = RateLimitResult(True, limit, 0, fault.retry_after, fault.retry_after)
        return too_many_requests(result)
    if fault.after_processing:
        await handler(request)
    return _drop(request)


@web.middleware
async def ratelimit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """GCRA limiting with the real server's headers, when rate limiting is configured.

    The faults admin API is never limited.
    """
    ctx = get_context(request)
    limiter = ctx.limiter
    if limiter is None or is_admin_request(request):
        return await handler(request)
    key = ""
    if limiter.settings.vary_by_user:
        key = token_from_request(request)
    if not key:
        key = request.remote or ""
    result = limiter.check(key)
    if result.limited:
        return too_many_requests(result)
    response = await handler(request)
    response.headers.update(result.headers())
    return response


def _body_limit(request: web.Request, settings_payload: int, file_limit: int) -> int:
    template = _route_template(request)
    if template in FILE_ROUTES:
        return file_limit
    return settings_payload + 512


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn :class:`AppError` and routing errors into AppError JSON; enforce body limits."""
    ctx = get_context(request)
    request_id: str = request[REQUEST_ID]
    try:
        limit = _body_limit(request, ctx.settings.max_payload_size, ctx.settings.max_file_size)
        length = request.content_length
        if length is not None and length > limit:
            if limit == ctx.settings.max_file_size:
                raise AppError(
                    413,
                    "api.file.upload_file.too_large_detailed.app_error",
                    "Unable to upload file. File is too large.",
                )
            raise AppError(413, "api.context.request_body_too_large.app_error")
        request[BODY_LIMIT] = limit
        return await handler(request)
    except AppError as error:
        return error.to_response(request_id)
    except web.HTTPNotFound:
        return AppError(404, "api.context.404.app_error").to_response(request_id)
    except web.HTTPMethodNotAllowed as exc:
        # Under /api/v4 the server's catch-all route (any method) answers a wrong method with its
        # 404; elsewhere (``/hooks/{id}``...) its router answers 405.
        if request.path.startswith("/api/v4/"):
            return AppError(404, "api.context.404.app_error").to_response(request_id)
        return web.Response(status=405, headers={"Allow": ",".join(sorted(exc.allowed_methods))})


def all_middlewares() -> list[Any]:
    """The middlewares in order, outermost first."""
    return [
        log_middleware,
        headers_middleware,
        faults_middleware,
        ratelimit_middleware,
        error_middleware,
    ]
