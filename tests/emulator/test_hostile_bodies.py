"""Malformed requests get the server's answer (a 400 for a bad body, never a 500) and change nothing."""

from __future__ import annotations

import pytest

from mmbridge.testing.emulator import Emulator

from .conftest import ClientFactory

_DEEP = b"[" * 50_000 + b"]" * 50_000


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v4/posts"),
        ("POST", "/api/v4/users/status/ids"),
        ("POST", "/api/v4/users/tokens/search"),
        ("PUT", "/api/v4/users/me/preferences"),
        ("POST", "/api/v4/actions/dialogs/submit"),
    ],
)
async def test_json_nested_too_deeply_is_a_400(
    emulator: Emulator, client: ClientFactory, method: str, path: str
) -> None:
    posts = len(emulator.state.posts)
    http = client(emulator.seed.admin_token)
    headers = {"Content-Type": "application/json"}
    async with http.request(method, path, data=_DEEP, headers=headers) as resp:
        assert resp.status == 400, await resp.text()
    assert len(emulator.state.posts) == posts


async def test_multipart_without_boundary_or_body_is_a_400(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.admin_token)
    async with http.post("/api/v4/hooks/incoming", json={"channel_id": seed.channel_id}) as resp:
        hook_id = (await resp.json())["id"]
    targets = [
        ("/api/v4/files", "api.file.upload_file.read_request.app_error"),
        (f"/api/v4/users/{seed.user_id}/image", "api.user.upload_profile_user.parse.app_error"),
        (f"/api/v4/bots/{seed.bot_user_id}/icon", "api.bot.set_bot_icon_image.parse.app_error"),
        (f"/hooks/{hook_id}", "api.webhook.incoming.error"),
    ]
    for content_type in ("multipart/form-data", "multipart/form-data; boundary=xyz"):
        for path, error_id in targets:
            async with http.post(path, data=b"", headers={"Content-Type": content_type}) as resp:
                assert resp.status == 400, (path, await resp.text())
                assert (await resp.json())["id"] == error_id
    assert not emulator.state.files
    assert not [p for p in emulator.state.posts.values() if p.props.get("from_webhook")]


async def test_a_wrong_method_is_the_servers_404_under_the_api_and_405_elsewhere(
    emulator: Emulator, client: ClientFactory
) -> None:
    http = client(emulator.seed.admin_token)
    async with http.patch(f"/api/v4/users/{emulator.seed.user_id}") as resp:
        assert resp.status == 404
        assert (await resp.json())["id"] == "api.context.404.app_error"
    async with http.get("/hooks/" + "x" * 26) as resp:
        assert resp.status == 405
        assert "POST" in resp.headers["Allow"]
