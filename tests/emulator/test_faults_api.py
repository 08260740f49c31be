"""The opt-in fault-injection admin API (``--faults-api``), over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import ClientSession, ClientWebSocketResponse, WSMsgType
from openapi_spec import OpenAPISpec, assert_responses_match_spec

from mmbridge.testing.emulator import Broadcast, Emulator, EmulatorSettings, RateLimitSettings
from mmbridge.testing.emulator.__main__ import main
from mmbridge.testing.emulator.faults_api import FAULTS_API_PREFIX, TOKEN_ENV
from mmbridge.testing.faults_client import FaultsAPIClient, FaultsAPIError

PREFIX = "/__emulator__/faults"
WS = "/api/v4/websocket"
TIMEOUT = aiohttp.ClientTimeout(total=10)
QUICK = 2.0
REPO = Path(__file__).resolve().parents[2]

StartEmulator = Callable[..., Awaitable[Emulator]]


@pytest_asyncio.fixture
async def start(
    request: pytest.FixtureRequest, openapi_spec: OpenAPISpec | None
) -> AsyncIterator[StartEmulator]:
    """``await start(token=None, settings=None)``: an emulator with the faults API on loopback.

    After the test, its Mattermost responses are checked against the spec as the ``emulator``
    fixture's are (admin calls are not in the request log).
    """
    started: list[Emulator] = []

    async def make(*, token: str | None = None, settings: EmulatorSettings | None = None) -> Emulator:
        emu = Emulator(settings, faults_api=True, faults_api_token=token)
        await emu.start("127.0.0.1", 0)
        started.append(emu)
        return emu

    yield make
    for emu in started:
        await emu.stop()
    if openapi_spec is None or request.node.get_closest_marker("no_spec_check") is not None:
        return
    for emu in started:
        assert_responses_match_spec([r for r in emu.requests if not r.dropped], openapi_spec)


@pytest_asyncio.fixture
async def emu(start: StartEmulator) -> Emulator:
    """A started emulator serving the faults API without a token."""
    return await start()


@pytest_asyncio.fixture
async def http(emu: Emulator) -> AsyncIterator[ClientSession]:
    """A plain session on ``emu`` (no default Authorization header)."""
    async with ClientSession(base_url=emu.url, timeout=TIMEOUT) as session:
        yield session


@pytest_asyncio.fixture
async def faults(emu: Emulator) -> AsyncIterator[FaultsAPIClient]:
    """The typed client of ``emu``'s faults API."""
    async with FaultsAPIClient(emu.url) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def arm(http: ClientSession, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a fault body; asserts the 200 and returns the normalised fault."""
    async with http.post(f"{PREFIX}/{kind}", json=body) as resp:
        answer = await resp.json()
        assert resp.status == 200, answer
    armed: dict[str, Any] = answer["armed"]
    return armed


async def ping_status(http: ClientSession) -> int:
    async with http.get("/api/v4/system/ping") as resp:
        await resp.read()
        return resp.status


# ------------------------------------------------------------------ WebSocket
async def recv(ws: ClientWebSocketResponse, wait: float = QUICK) -> dict[str, Any]:
    msg = await ws.receive(wait)
    assert msg.type == WSMsgType.TEXT, msg
    value = json.loads(msg.data)
    assert isinstance(value, dict)
    return value


async def closed(ws: ClientWebSocketResponse, wait: float = QUICK) -> None:
    """The server ends the socket (with or without a close frame)."""
    msg = await ws.receive(wait)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR), msg


async def nothing(ws: ClientWebSocketResponse, wait: float = 0.15) -> None:
    with pytest.raises(TimeoutError):
        await ws.receive(wait)


async def hello(
    http: ClientSession, token: str, **params: str
) -> tuple[ClientWebSocketResponse, dict[str, Any]]:
    ws = await http.ws_connect(WS, headers=bearer(token), params=params)
    frame = await recv(ws)
    assert frame["event"] == "hello"
    return ws, frame


def poke(emu: Emulator, user_id: str, n: int) -> None:
    for i in range(n):
        emu.events.publish("custom_poke", {"n": i}, Broadcast(user_id=user_id))


# ---------------------------------------------------------------- HTTP faults
async def test_a_503_burst_fails_the_next_three_matching_requests(emu: Emulator, http: ClientSession) -> None:
    armed = await arm(
        http,
        "http",
        {"kind": "fail", "status": 503, "count": 3, "method": "GET", "path_contains": "/users/me"},
    )
    assert armed == {
        "kind": "fail",
        "count": 3,
        "method": "GET",
        "path_contains": "/users/me",
        "status": 503,
        "gateway": False,
        "error_id": None,
    }
    me = bearer(emu.seed.token)
    assert await ping_status(http) == 200  # does not match the filter
    for _ in range(3):
        async with http.get("/api/v4/users/me", headers=me) as resp:
            assert resp.status == 503
            body = await resp.json()
            assert (body["id"], body["status_code"]) == ("api.emulator.injected_fault.app_error", 503)
    async with http.get("/api/v4/users/me", headers=me) as resp:
        assert resp.status == 200
        assert (await resp.json())["id"] == emu.seed.user_id


async def test_a_fail_can_carry_an_error_id(
    emu: Emulator, faults: FaultsAPIClient, http: ClientSession
) -> None:
    await faults.fail_next(1, 401, error_id="api.context.session_expired.app_error")
    async with http.get("/api/v4/users/me", headers=bearer(emu.seed.token)) as resp:
        assert resp.status == 401
        body = await resp.json()
    assert body["id"] == "api.context.session_expired.app_error"
    assert body["message"] == "Invalid or expired session, please login again."


@pytest.mark.no_spec_check  # the gateway page is HTML
async def test_a_gateway_fail_is_a_proxy_page(faults: FaultsAPIClient, http: ClientSession) -> None:
    await faults.fail_next(1, 502, gateway=True)
    async with http.get("/api/v4/system/ping") as resp:
        assert resp.status == 502
        assert resp.content_type == "text/html"
        assert "X-Version-Id" not in resp.headers


async def test_a_429_with_retry_after(http: ClientSession) -> None:
    armed = await arm(http, "http", {"kind": "rate_limit", "retry_after": 7, "count": 1})
    assert armed["retry_after"] == 7
    async with http.get("/api/v4/system/ping") as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "7"
        assert resp.headers["X-RateLimit-Remaining"] == "0"
        assert await resp.read() == b"limit exceeded\n"
    assert await ping_status(http) == 200


async def test_a_delay(faults: FaultsAPIClient, http: ClientSession) -> None:
    await faults.delay_next(1, 0.3, path_contains="/system/ping")
    started = time.monotonic()
    assert await ping_status(http) == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert await ping_status(http) == 200
    assert time.monotonic() - started < 0.3


async def test_a_dropped_connection(emu: Emulator, faults: FaultsAPIClient, http: ClientSession) -> None:
    # A POST: aiohttp's client retries an idempotent request once on a dropped connection.
    await faults.drop_next(1, method="POST", path_contains="/api/v4/posts")
    post = {"channel_id": emu.seed.channel_id, "message": "dropped"}
    with pytest.raises(aiohttp.ClientError):
        async with http.post("/api/v4/posts", json=post, headers=bearer(emu.seed.bot_token)):
            pass
    assert [r.status for r in emu.requests] == [0]
    assert not [p for p in emu.state.posts.values() if p.message == "dropped"]
    async with http.post("/api/v4/posts", json=post, headers=bearer(emu.seed.bot_token)) as resp:
        assert resp.status == 201


async def test_headers_on_a_normal_answer(faults: FaultsAPIClient, http: ClientSession) -> None:
    await faults.headers_next({"X-RateLimit-Reset": "3600"}, 1)
    async with http.get("/api/v4/system/ping") as resp:
        assert resp.status == 200
        assert resp.headers["X-RateLimit-Reset"] == "3600"


# ----------------------------------------------------------- WebSocket faults
async def test_ws_drop_closes_a_connected_socket(emu: Emulator, http: ClientSession) -> None:
    ws, _ = await hello(http, emu.seed.bot_token)
    other, _ = await hello(http, emu.seed.token)
    armed = await arm(http, "websocket", {"kind": "drop", "user_id": emu.seed.bot_user_id})
    assert armed == {"kind": "drop", "user_id": emu.seed.bot_user_id}
    await closed(ws)
    await nothing(other)  # another user's socket stays
    assert not other.closed
    await arm(http, "websocket", {"kind": "drop"})
    await closed(other)


async def test_ws_lose_replay_makes_a_reconnect_get_a_reset(emu: Emulator, http: ClientSession) -> None:
    user = emu.seed.bot_user_id
    ws, first = await hello(http, emu.seed.bot_token)
    conn_id = first["data"]["connection_id"]
    await arm(http, "websocket", {"kind": "lose_replay", "user_id": user})
    await arm(http, "websocket", {"kind": "drop", "user_id": user})
    await closed(ws)
    ws2 = await http.ws_connect(
        WS, headers=bearer(emu.seed.bot_token), params={"connection_id": conn_id, "sequence_number": "1"}
    )
    frame = await recv(ws2)
    assert (frame["event"], frame["seq"]) == ("hello", 0)
    assert frame["data"]["connection_id"] != conn_id


async def test_ws_stall_drop_after_and_raw_frames(
    emu: Emulator, faults: FaultsAPIClient, http: ClientSession
) -> None:
    user = emu.seed.bot_user_id
    ws, first = await hello(http, emu.seed.bot_token)
    await faults.ws_stall(0.3, user_id=user)
    poke(emu, user, 2)
    await nothing(ws)
    assert [(await recv(ws))["seq"] for _ in range(2)] == [1, 2]
    await faults.ws_send_raw("{not json")
    msg = await ws.receive(QUICK)
    assert msg.data == "{not json"
    assert await faults.ws_drop_after(2) == {"kind": "drop_after", "user_id": None, "count": 2}
    poke(emu, user, 3)
    assert [(await recv(ws))["seq"] for _ in range(2)] == [3, 4]
    await closed(ws)
    ws2 = await http.ws_connect(
        WS,
        headers=bearer(emu.seed.bot_token),
        params={"connection_id": first["data"]["connection_id"], "sequence_number": "5"},
    )
    assert (await recv(ws2))["seq"] == 5  # kept for the resume


# ------------------------------------------------------------- listing, clear
async def test_get_lists_the_armed_faults(
    emu: Emulator, faults: FaultsAPIClient, http: ClientSession
) -> None:
    assert await faults.armed() == {"http": [], "websocket_connections": []}
    await faults.fail_next(3, 503, path_contains="/users/me")
    await faults.delay_next(2, 0.01, while_processing=True, method="POST")
    await faults.rate_limit_next(1, retry_after=4, path_contains="/channels")
    await faults.drop_next(1, after_processing=True, path_contains="/posts")
    await faults.headers_next({"X-Test": "1"}, 1, path_contains="/teams")
    async with http.get("/api/v4/users/me", headers=bearer(emu.seed.token)) as resp:
        assert resp.status == 503
    ws, first = await hello(http, emu.seed.bot_token)
    state = await faults.armed()
    assert state["http"] == [
        {
            "kind": "fail",
            "remaining": 2,
            "method": None,
            "path_contains": "/users/me",
            "status": 503,
            "gateway": False,
            "error_id": None,
        },
        {
            "kind": "delay",
            "remaining": 2,
            "method": "POST",
            "path_contains": None,
            "seconds": 0.01,
            "while_processing": True,
        },
        {
            "kind": "rate_limit",
            "remaining": 1,
            "method": None,
            "path_contains": "/channels",
            "retry_after": 4,
        },
        {"kind": "drop", "remaining": 1, "method": None, "path_contains": "/posts", "after_processing": True},
        {
            "kind": "headers",
            "remaining": 1,
            "method": None,
            "path_contains": "/teams",
            "headers": {"X-Test": "1"},
        },
    ]
    [conn] = state["websocket_connections"]
    assert conn["connection_id"] == first["data"]["connection_id"]
    assert (conn["user_id"], conn["active"]) == (emu.seed.bot_user_id, True)
    await ws.close()
    await faults.clear()


async def test_clear_disarms_everything(emu: Emulator, faults: FaultsAPIClient, http: ClientSession) -> None:
    await faults.fail_next(5, 500)
    await faults.rate_limit_next(5)
    await faults.delay_next(5, 2.0)
    await faults.ws_drop_after(1)  # no live socket: waits for the next one
    async with http.delete(PREFIX) as resp:
        assert resp.status == 200
        assert (await resp.json())["http"] == []
    assert (await faults.armed())["http"] == []
    started = time.monotonic()
    assert [await ping_status(http) for _ in range(3)] == [200, 200, 200]
    assert time.monotonic() - started < 1.0
    ws, _ = await hello(http, emu.seed.bot_token)
    poke(emu, emu.seed.bot_user_id, 2)
    assert [(await recv(ws))["seq"] for _ in range(2)] == [1, 2]  # the pending drop_after is gone


# ------------------------------------------------------------------ validation
BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("http", b"", "not valid JSON"),
    ("http", b"{kind: fail}", "not valid JSON"),
    ("http", b'{"kind": "delay", "seconds": NaN}', "NaN is not a number"),
    ("http", b'{"kind": "delay", "seconds": 1e999}', "'seconds' must be between 0 and 3600"),
    ("http", b'["fail"]', "must be a JSON object"),
    ("http", b"{}", "'kind' must be one of fail, drop, delay, rate_limit, headers (got missing)"),
    ("http", b'{"kind": "explode"}', 'got "explode"'),
    ("http", b'{"kind": "fail", "count": -1}', "'count' must be >= 1 (got -1)"),
    ("http", b'{"kind": "fail", "count": 0}', "'count' must be >= 1 (got 0)"),
    ("http", b'{"kind": "fail", "count": "3"}', "'count' must be an integer"),
    ("http", b'{"kind": "fail", "count": true}', "'count' must be an integer"),
    ("http", b'{"kind": "fail", "count": 1.5}', "'count' must be an integer"),
    ("http", b'{"kind": "fail", "count": null}', "'count' must not be null"),
    ("http", b'{"kind": "fail", "status": 200}', "'status' must be between 400 and 599"),
    ("http", b'{"kind": "fail", "gateway": "yes"}', "'gateway' must be true or false"),
    ("http", b'{"kind": "fail", "error_id": "no spaces"}', "'error_id' must be an AppError id"),
    ("http", b'{"kind": "fail", "gateway": true, "error_id": "a.b"}', "no effect"),
    ("http", b'{"kind": "fail", "seconds": 1}', "unknown field(s) seconds for kind 'fail'"),
    ("http", b'{"kind": "fail", "method": "GET POST"}', "'method' must be an HTTP method"),
    ("http", b'{"kind": "fail", "path_contains": ""}', "'path_contains' must be a non-empty string"),
    ("http", b'{"kind": "fail", "path_contains": 5}', "'path_contains' must be a non-empty string"),
    ("http", b'{"kind": "delay", "seconds": -1}', "'seconds' must be between 0 and 3600 (got -1)"),
    ("http", b'{"kind": "delay", "seconds": "1"}', "'seconds' must be a number"),
    ("http", b'{"kind": "rate_limit", "retry_after": -2}', "'retry_after' must be >= 0"),
    ("http", b'{"kind": "headers"}', "'headers' must be a non-empty object"),
    ("http", b'{"kind": "headers", "headers": {"X-A": "1\\r\\nX-B: 2"}}', "single-line"),
    ("http", b'{"kind": "headers", "headers": {"bad name": "1"}}', "not a valid header name"),
    ("http", b'{"kind": "headers", "headers": {"X-A": 1}}', "single-line string"),
    ("websocket", b'{"kind": "fail"}', "'kind' must be one of drop, drop_after, stall, lose_replay"),
    ("websocket", b'{"kind": "drop", "user_id": "nobody"}', "'user_id' must be a 26-character user id"),
    ("websocket", b'{"kind": "drop", "count": 1}', "unknown field(s) count for kind 'drop'"),
    ("websocket", b'{"kind": "drop_after"}', "'count' is required"),
    ("websocket", b'{"kind": "drop_after", "count": -3}', "'count' must be >= 1"),
    ("websocket", b'{"kind": "stall"}', "'seconds' is required"),
    ("websocket", b'{"kind": "stall", "seconds": -0.5}', "'seconds' must be between 0 and 3600"),
    ("websocket", b'{"kind": "send_raw"}', "'text' must be a string"),
]


@pytest.mark.parametrize(("kind", "raw", "message"), BAD_BODIES)
async def test_bad_bodies_are_400_with_a_message(
    http: ClientSession, kind: str, raw: bytes, message: str
) -> None:
    async with http.post(f"{PREFIX}/{kind}", data=raw, headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 400
        body = await resp.json()
    assert body["id"] == "api.emulator.faults_api.invalid_body.app_error"
    assert body["status_code"] == 400
    assert message in body["message"]
    async with http.get(PREFIX) as resp:
        assert (await resp.json())["http"] == []  # nothing was armed


async def test_the_client_raises_on_a_refused_call(faults: FaultsAPIClient) -> None:
    with pytest.raises(FaultsAPIError) as caught:
        await faults.delay_next(1, -1.0)
    assert caught.value.status == 400
    assert "'seconds' must be between 0 and 3600" in caught.value.message


# ------------------------------------------------------------- access control
async def test_a_token_is_required_when_set(start: StartEmulator) -> None:
    token = secrets.token_urlsafe(16)
    emu = await start(token=token)
    body = {"kind": "fail", "count": 1}
    async with ClientSession(base_url=emu.url, timeout=TIMEOUT) as http:
        for headers in ({}, bearer("wrong"), bearer(token + "x"), {"Authorization": f"Basic {token}"}):
            async with http.post(f"{PREFIX}/http", json=body, headers=headers) as resp:
                assert resp.status == 401
                answer = await resp.json()
                assert answer["id"] == "api.emulator.faults_api.unauthorized.app_error"
                assert resp.headers["WWW-Authenticate"].startswith("Bearer")
                assert token not in json.dumps(answer)
            async with http.get(PREFIX, headers=headers) as resp:
                assert resp.status == 401
        assert emu.faults.armed == []
        async with http.post(f"{PREFIX}/http", json=body, headers=bearer(token)) as resp:
            assert resp.status == 200
        async with http.get(PREFIX, headers=bearer(token)) as resp:
            assert resp.status == 200
            assert len((await resp.json())["http"]) == 1
    async with FaultsAPIClient(emu.url, token) as faults:
        assert (await faults.clear())["http"] == []
    async with FaultsAPIClient(emu.url) as faults:
        with pytest.raises(FaultsAPIError) as caught:
            await faults.armed()
        assert caught.value.status == 401


async def test_the_routes_are_404_when_the_option_is_off(emulator: Emulator) -> None:
    assert not emulator.faults_api
    async with ClientSession(base_url=emulator.url, timeout=TIMEOUT) as http:
        async with http.get("/api/v4/no_such_route") as resp:
            unknown = (resp.status, (await resp.json())["id"])
        assert unknown == (404, "api.context.404.app_error")
        for method, path in [("GET", PREFIX), ("DELETE", PREFIX), ("POST", f"{PREFIX}/http")]:
            async with http.request(method, path, json={"kind": "fail"}) as resp:
                assert (resp.status, (await resp.json())["id"]) == unknown
        async with http.post(f"{PREFIX}/websocket", json={"kind": "drop"}) as resp:
            assert resp.status == 404
    assert emulator.faults.armed == []


def test_a_token_without_the_api_is_refused() -> None:
    with pytest.raises(ValueError, match="faults_api=True"):
        Emulator(faults_api_token="secret")
    with pytest.raises(ValueError, match="must not be empty"):
        Emulator(faults_api=True, faults_api_token="")


@pytest.mark.parametrize("argv", [["--faults-api-token", "abc"], ["--faults-api", "--faults-api-token", ""]])
def test_the_cli_refuses_a_token_without_the_api_or_an_empty_one(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "--faults-api-token" in capsys.readouterr().err


async def test_admin_calls_are_not_affected_by_armed_faults(
    emu: Emulator, faults: FaultsAPIClient, http: ClientSession
) -> None:
    # Every one of these would match an admin call if admin calls were not exempt.
    await faults.fail_next(3, 503)
    await faults.rate_limit_next(3)
    await faults.drop_next(3)
    await faults.delay_next(1, 5.0, method="GET")
    started = time.monotonic()
    async with ClientSession(base_url=emu.url, timeout=aiohttp.ClientTimeout(total=2)) as quick:
        for _ in range(4):
            async with quick.get(PREFIX) as resp:
                assert resp.status == 200
                state = await resp.json()
        async with quick.post(f"{PREFIX}/http", data=b"not json") as resp:
            assert resp.status == 400  # a refused admin call consumes nothing either
    assert time.monotonic() - started < 2.0
    assert [(f["kind"], f["remaining"]) for f in state["http"]] == [
        ("fail", 3),
        ("rate_limit", 3),
        ("drop", 3),
        ("delay", 1),
    ]
    assert emu.requests == []  # admin calls are not Mattermost traffic
    await faults.clear()
    assert await ping_status(http) == 200
    assert [r.path for r in emu.requests] == ["/api/v4/system/ping"]


async def test_admin_calls_are_not_rate_limited(start: StartEmulator) -> None:
    emu = await start(settings=EmulatorSettings(rate_limit=RateLimitSettings(per_sec=1, max_burst=1)))
    async with ClientSession(base_url=emu.url, timeout=TIMEOUT) as http:
        statuses = []
        for _ in range(10):
            async with http.get(PREFIX) as resp:
                statuses.append(resp.status)
        assert statuses == [200] * 10
        assert 429 in [await ping_status(http) for _ in range(5)]  # the limiter is on


# --------------------------------------------------------- as its own process
async def _read_url(stdout: asyncio.StreamReader) -> str:
    marker = "Mattermost emulator listening on "
    while True:
        line = (await stdout.readline()).decode()
        if not line:
            raise AssertionError("the emulator exited before listening")
        if line.startswith(marker):
            return line[len(marker) :].strip()


async def test_the_emulator_process_serves_the_faults_api() -> None:
    token = secrets.token_urlsafe(16)
    env = {**os.environ, TOKEN_ENV: token}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mmbridge.testing.emulator",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--random",
        "--faults-api",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        url = await asyncio.wait_for(_read_url(proc.stdout), 20)
        async with FaultsAPIClient(url) as anonymous:
            with pytest.raises(FaultsAPIError) as caught:
                await anonymous.fail_next(2, 503)
            assert caught.value.status == 401
        async with FaultsAPIClient(url, token) as faults:
            await faults.fail_next(2, 503, path_contains="/system/ping")
            assert [f["remaining"] for f in (await faults.armed())["http"]] == [2]
        async with ClientSession(base_url=url, timeout=TIMEOUT) as http:
            assert [await ping_status(http) for _ in range(3)] == [503, 503, 200]
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 10)
        assert proc.returncode == 0, err.decode()
        output = out.decode() + err.decode()
        assert (
            f"faults  {url}{FAULTS_API_PREFIX} (fault-injection admin API, Bearer token required)" in output
        )
        assert token not in output  # never printed
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
