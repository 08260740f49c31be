"""Fault injection hooks and the rate limiter."""

from __future__ import annotations

import time

import aiohttp
import pytest

from mmbridge.testing.emulator import Emulator, EmulatorSettings, RateLimitSettings

from .conftest import ClientFactory


async def test_fail_next(emulator: Emulator, client: ClientFactory) -> None:
    http = client(emulator.seed.token)
    emulator.faults.fail_next(1, status=503, method="GET", path_contains="/users/me")
    async with http.get("/api/v4/system/ping") as resp:
        assert resp.status == 200
    async with http.get("/api/v4/users/me") as resp:
        assert resp.status == 503
        assert (await resp.json())["status_code"] == 503
    async with http.get("/api/v4/users/me") as resp:
        assert resp.status == 200


@pytest.mark.no_spec_check  # the gateway page is HTML
async def test_fail_next_gateway(emulator: Emulator, client: ClientFactory) -> None:
    emulator.faults.fail_next(1, status=502, gateway=True)
    async with client(None).get("/api/v4/system/ping") as resp:
        assert resp.status == 502
        assert resp.content_type == "text/html"
        assert "X-Version-Id" not in resp.headers


async def test_drop_next_before_and_after(emulator: Emulator, client: ClientFactory) -> None:
    http = client(emulator.seed.token)
    body = {"channel_id": emulator.seed.channel_id, "message": "dropped", "pending_post_id": "d1"}
    emulator.faults.drop_next(1, method="POST", path_contains="/api/v4/posts")
    with pytest.raises(aiohttp.ClientError):
        async with http.post("/api/v4/posts", json=body):
            pass
    assert not [p for p in emulator.state.posts.values() if p.message == "dropped"]
    emulator.faults.drop_next(1, after_processing=True, method="POST", path_contains="/posts")
    with pytest.raises(aiohttp.ClientError):
        async with http.post("/api/v4/posts", json=body):
            pass
    created = [p for p in emulator.state.posts.values() if p.message == "dropped"]
    assert len(created) == 1
    assert [r.status for r in emulator.requests if r.route == "/api/v4/posts"] == [0, 0]
    # The retry with the same pending_post_id gets the already created post.
    async with http.post("/api/v4/posts", json=body) as resp:
        assert resp.status == 201
        assert (await resp.json())["id"] == created[0].id


async def test_delay_next(emulator: Emulator, client: ClientFactory) -> None:
    emulator.faults.delay_next(1, 0.2)
    started = time.monotonic()
    async with client(None).get("/api/v4/system/ping") as resp:
        assert resp.status == 200
    assert time.monotonic() - started >= 0.2


async def test_rate_limit_next(emulator: Emulator, client: ClientFactory) -> None:
    emulator.faults.rate_limit_next(1, retry_after=2)
    async with client(None).get("/api/v4/system/ping") as resp:
        assert resp.status == 429
        assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert await resp.read() == b"limit exceeded\n"
        assert resp.headers["Retry-After"] == "2"
        assert resp.headers["X-RateLimit-Remaining"] == "0"


async def test_rate_limiter_headers_and_429() -> None:
    emu = Emulator(EmulatorSettings(rate_limit=RateLimitSettings(per_sec=1, max_burst=2)))
    await emu.start()
    try:
        async with aiohttp.ClientSession(base_url=emu.url) as http:
            seen = []
            for _ in range(4):
                async with http.get("/api/v4/system/ping") as resp:
                    seen.append((resp.status, resp.headers.get("X-RateLimit-Remaining")))
                    assert resp.headers["X-RateLimit-Limit"] == "3"
                    assert int(resp.headers["X-RateLimit-Reset"]) >= 1
                    if resp.status == 429:
                        assert resp.headers["Retry-After"] == "1"
                        assert await resp.read() == b"limit exceeded\n"
            assert seen == [(200, "2"), (200, "1"), (200, "0"), (429, "0")]
    finally:
        await emu.stop()


async def test_rate_limit_vary_by_user() -> None:
    settings = RateLimitSettings(per_sec=1, max_burst=0, vary_by_user=True)
    emu = Emulator(EmulatorSettings(rate_limit=settings))
    await emu.start()
    try:
        for token in (emu.seed.token, emu.seed.bot_token):
            headers = {"Authorization": f"Bearer {token}"}
            async with (
                aiohttp.ClientSession(base_url=emu.url, headers=headers) as http,
                http.get("/api/v4/users/me") as resp,
            ):
                assert resp.status == 200
    finally:
        await emu.stop()
