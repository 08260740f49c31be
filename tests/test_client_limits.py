"""The client's bounds on what a server sends: body size (after decompression), time, nesting.

Each test runs a small misbehaving aiohttp server on loopback, which counts what it sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from conftest import FAST_RETRY
from yarl import URL

from mmbridge.api import HTTPAPI, NO_RETRY, ClientAPI
from mmbridge.api.http import DEFAULT_MAX_RESPONSE_SIZE, ERROR_BODY_LIMIT
from mmbridge.errors import (
    BadRequestError,
    MalformedResponseError,
    MattermostConnectionError,
    NotFoundError,
    ResponseTooLargeError,
    ServerError,
)

MiB = 1024 * 1024
CHUNK = b"0" * (64 * 1024)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Misbehaving:
    """A loopback server whose one route is ``handler``; counts requests and body bytes sent."""

    def __init__(self) -> None:
        self.requests = 0
        self.sent = 0
        self.stop = asyncio.Event()

    async def stream(
        self,
        request: web.Request,
        *,
        total: int | None = None,
        status: int = 200,
        pause: float = 0.0,
        chunk: bytes = CHUNK,
        headers: dict[str, str] | None = None,
    ) -> web.StreamResponse:
        """Send ``chunk`` after ``chunk`` (``total`` bytes, or until the client goes away)."""
        response = web.StreamResponse(status=status, headers=headers or {"Content-Type": "application/json"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            while (total is None or self.sent < total) and not self.stop.is_set():
                await response.write(chunk)
                self.sent += len(chunk)
                if pause:
                    await asyncio.sleep(pause)
        return response


@contextlib.asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[URL]:
    app = web.Application()

    async def route(request: web.Request) -> web.StreamResponse:
        return await handler(request)

    app.router.add_route("*", "/{tail:.*}", route)
    # handler_cancellation: a handler still writing when the client leaves is cancelled.
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield URL.build(scheme="http", host="127.0.0.1", port=runner.addresses[0][1])
    finally:
        await runner.cleanup()


async def test_an_endless_body_is_refused_at_the_default_limit_and_not_retried() -> None:
    """The measured defect: a 300 MB body took 326 MB of memory. Now the read stops at 64 MiB."""
    server = Misbehaving()

    async def endless(request: web.Request) -> web.StreamResponse:
        server.requests += 1
        return await server.stream(request, total=300 * MiB)

    async with serving(endless) as url, HTTPAPI(url, "t" * 26, retry=FAST_RETRY) as http:
        started = time.monotonic()
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError) as caught:
                await http.request("GET", ("users", "me"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        elapsed = time.monotonic() - started
        server.stop.set()
    error = caught.value
    assert isinstance(error, MalformedResponseError)
    assert (error.limit, error.status, error.method, error.path) == (
        DEFAULT_MAX_RESPONSE_SIZE,
        200,
        "GET",
        "/api/v4/users/me",
    )
    assert str(DEFAULT_MAX_RESPONSE_SIZE) in str(error)
    assert server.requests == 1  # not retried: the same request would get the same answer
    assert server.sent < DEFAULT_MAX_RESPONSE_SIZE + 32 * MiB  # only socket buffers past the limit
    assert peak < DEFAULT_MAX_RESPONSE_SIZE + 32 * MiB  # 300 MiB and more before the fix
    assert elapsed < 30


async def test_a_chunked_body_past_a_small_limit_stops_early() -> None:
    server = Misbehaving()

    async def endless(request: web.Request) -> web.StreamResponse:
        return await server.stream(request)  # chunked, no Content-Length, never ends

    async with serving(endless) as url, HTTPAPI(url, max_response_size=MiB, retry=NO_RETRY) as http:
        with pytest.raises(ResponseTooLargeError) as caught:
            await http.request("GET", ("posts", "x"))
        server.stop.set()
    assert caught.value.limit == MiB
    assert server.sent < 16 * MiB


def gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzip-compressed (about 1000 times smaller)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MiB)
    parts = [compressor.compress(block) for _ in range(size // MiB)]
    parts.append(compressor.flush())
    return b"".join(parts)


async def test_a_gzip_bomb_is_refused_at_the_limit_counted_after_decompression() -> None:
    bomb = gzip_bomb(512 * MiB)
    assert len(bomb) < 2 * MiB

    async def explode(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=bomb, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )

    async with serving(explode) as url, HTTPAPI(url, max_response_size=4 * MiB, retry=NO_RETRY) as http:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError) as caught:
                await http.request("GET", ("users", "me"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert caught.value.limit == 4 * MiB
    assert "body went on past it" in str(caught.value)
    assert peak < 32 * MiB  # 512 MiB unpacked before the fix


async def test_a_content_length_over_the_limit_is_refused_before_reading() -> None:
    server = Misbehaving()

    async def promise(request: web.Request) -> web.StreamResponse:
        server.requests += 1
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 10 * 1024 * MiB
        await response.prepare(request)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.stop.wait(), 30)  # and then send nothing at all
        return response

    async with serving(promise) as url, HTTPAPI(url, max_response_size=MiB, retry=FAST_RETRY) as http:
        started = time.monotonic()
        with pytest.raises(ResponseTooLargeError) as caught:
            await http.request("GET", ("users", "me"))
        elapsed = time.monotonic() - started
        server.stop.set()
    assert "Content-Length says 10737418240" in str(caught.value)
    assert elapsed < 5  # not waiting for a body that never comes (the timeout is 30 s)
    assert server.requests == 1


async def test_files_have_their_own_larger_limit() -> None:
    payload = b"[" + b"0," * (100 * 1024) + b"0]"

    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(body=payload, content_type="application/json")

    async with (
        serving(answer) as url,
        HTTPAPI(url, max_response_size=64 * 1024, max_download_size=MiB, retry=NO_RETRY) as http,
    ):
        client = ClientAPI(http)
        assert await client.files.download("f" * 26) == payload  # raw: max_download_size
        with pytest.raises(ResponseTooLargeError) as caught:  # JSON: max_response_size
            await http.request("GET", ("users", "me"))
        assert caught.value.limit == 64 * 1024
        with pytest.raises(ResponseTooLargeError):
            await http.request_raw("GET", ("files", "f" * 26), max_size=1000)


async def test_an_error_with_an_endless_body_is_still_that_error() -> None:
    server = Misbehaving()

    async def not_found(request: web.Request) -> web.StreamResponse:
        return await server.stream(request, status=404, chunk=b"<html>" + b"x" * 8186)

    async with serving(not_found) as url, HTTPAPI(url, retry=NO_RETRY) as http:
        with pytest.raises(NotFoundError) as caught:
            await http.request("GET", ("users", "x"))
        server.stop.set()
    assert caught.value.message.startswith("<html>xxx")
    assert server.sent < ERROR_BODY_LIMIT + 32 * MiB


async def test_a_503_with_a_gzip_bomb_is_retried_as_a_503() -> None:
    bomb = gzip_bomb(256 * MiB)
    server = Misbehaving()

    async def unavailable(request: web.Request) -> web.StreamResponse:
        server.requests += 1
        return web.Response(status=503, body=bomb, headers={"Content-Encoding": "gzip"})

    async with serving(unavailable) as url, HTTPAPI(url, retry=FAST_RETRY) as http:
        with pytest.raises(ServerError) as caught:
            await http.request("GET", ("users", "me"))
    assert caught.value.status == 503
    assert server.requests == FAST_RETRY.max_attempts


async def test_a_deeply_nested_error_body_is_the_error_not_a_recursion_error() -> None:
    async def nested(request: web.Request) -> web.StreamResponse:
        return web.Response(status=400, body=b"[" * 50_000 + b"]" * 50_000, content_type="application/json")

    async with serving(nested) as url, HTTPAPI(url, retry=NO_RETRY) as http:
        with pytest.raises(BadRequestError) as caught:
            await http.request("GET", ("users", "me"))
    assert caught.value.message.startswith("[[[")


async def test_a_deeply_nested_answer_is_malformed_not_a_recursion_error() -> None:
    async def nested(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"[" * 100_000 + b"]" * 100_000, content_type="application/json")

    async with serving(nested) as url, HTTPAPI(url, retry=NO_RETRY) as http:
        with pytest.raises(MalformedResponseError):
            await http.request("GET", ("users", "me"))


async def test_a_body_that_trickles_forever_ends_at_the_timeout() -> None:
    """The measured defect: an endless slow body was read for 155 s (5 tries of 30 s). ``timeout``
    bounds each whole try, body included."""
    server = Misbehaving()

    async def trickle(request: web.Request) -> web.StreamResponse:
        server.requests += 1
        return await server.stream(request, chunk=b" ", pause=0.05)

    async with serving(trickle) as url:
        async with HTTPAPI(url, timeout=0.5, retry=NO_RETRY) as http:
            started = time.monotonic()
            with pytest.raises(MattermostConnectionError, match="timed out"):
                await http.request("GET", ("users", "me"))
            assert time.monotonic() - started < 3
        retry = FAST_RETRY.__class__(max_attempts=2, base_delay=0.01, max_delay=0.01)
        async with HTTPAPI(url, timeout=0.5, retry=retry) as http:
            started = time.monotonic()
            with pytest.raises(MattermostConnectionError, match="timed out"):
                await http.request("GET", ("users", "me"))
            assert time.monotonic() - started < 2 * 0.5 + 3  # max_attempts * timeout, and a little
        server.stop.set()
    assert server.requests == 3


def test_limits_must_be_positive() -> None:
    for option in ("max_response_size", "max_download_size", "max_ws_message_size"):
        with pytest.raises(ValueError, match=option):
            HTTPAPI("http://127.0.0.1:1", **{option: 0})  # type: ignore[arg-type]
