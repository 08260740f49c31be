"""Ping, headers, auth."""

from __future__ import annotations

from mmbridge.testing.emulator import Emulator

from .conftest import ClientFactory


async def test_ping_and_headers(emulator: Emulator, client: ClientFactory) -> None:
    http = client(None)
    async with http.get("/api/v4/system/ping") as resp:
        assert resp.status == 200
        assert (await resp.json())["status"] == "OK"
        version = resp.headers["X-Version-Id"]
        assert version.count(".") >= 4
        assert version.endswith((".false", ".true"))
        assert len(resp.headers["X-Request-Id"]) == 26
