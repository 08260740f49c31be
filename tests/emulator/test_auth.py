"""Authentication, errors and permissions."""

from __future__ import annotations

from aiohttp import ClientSession

from mmbridge.testing.emulator import Emulator

from .conftest import ClientFactory


async def test_missing_and_bad_tokens_are_401(emulator: Emulator, client: ClientFactory) -> None:
    for http in (client(None), client("nottoken")):
        async with http.get("/api/v4/users/me") as resp:
            assert resp.status == 401
            body = await resp.json()
            assert body["id"] == "api.context.session_expired.app_error"
            assert body["status_code"] == 401
            assert body["detailed_error"] == ""
            assert body["request_id"] == resp.headers["X-Request-Id"]


async def test_token_prefixes_and_cookie(emulator: Emulator) -> None:
    token = emulator.seed.bot_token
    for headers, cookies in (
        ({"Authorization": f"bearer {token}"}, None),
        ({"Authorization": f"Token {token}"}, None),
        ({}, {"MMAUTHTOKEN": token}),
    ):
        async with (
            ClientSession(base_url=emulator.url, headers=headers, cookies=cookies) as http,
            http.get("/api/v4/users/me") as resp,
        ):
            assert resp.status == 200
            assert (await resp.json())["id"] == emulator.seed.bot_user_id


async def test_login_returns_token_header(emulator: Emulator, client: ClientFactory) -> None:
    http = client(None)
    body = {"login_id": "alice", "password": emulator.seed.password}
    async with http.post("/api/v4/users/login", json=body) as resp:
        assert resp.status == 200
        token = resp.headers["Token"]
    async with client(token).get("/api/v4/users/me") as resp:
        assert (await resp.json())["username"] == "alice"
    bad = {"login_id": "alice", "password": "wrong-password"}
    async with http.post("/api/v4/users/login", json=bad) as resp:
        assert resp.status == 401


async def test_invalid_body_and_url_params(emulator: Emulator, client: ClientFactory) -> None:
    http = client(emulator.seed.admin_token)
    async with http.post("/api/v4/posts", data=b"{not json") as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == "api.context.invalid_body_param.app_error"
    async with http.get("/api/v4/posts/short") as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == "api.context.invalid_url_param.app_error"
    async with http.get("/api/v4/users/" + "a" * 26) as resp:
        assert resp.status == 404
        assert (await resp.json())["id"] == "app.user.missing_account.const"
    big = {"channel_id": emulator.seed.channel_id, "message": "x" * 300600}
    async with http.post("/api/v4/posts", json=big) as resp:
        assert resp.status == 413
        assert (await resp.json())["id"] == "api.context.request_body_too_large.app_error"


async def test_non_member_cannot_read_or_post(emulator: Emulator, client: ClientFactory) -> None:
    _, token = emulator.create_user("mallory")
    http = client(token)
    channel = emulator.seed.channel_id
    async with http.get(f"/api/v4/channels/{channel}/posts") as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == "api.context.permissions.app_error"
    async with http.post("/api/v4/posts", json={"channel_id": channel, "message": "x"}) as resp:
        assert resp.status == 403
    _, admin_token = emulator.create_user("root2", admin=True)
    async with client(admin_token).get(f"/api/v4/channels/{channel}/posts") as resp:
        assert resp.status == 200


async def test_create_user_validation_and_duplicates(emulator: Emulator, client: ClientFactory) -> None:
    http = client(None)
    user = {"username": "Bob.Smith", "email": "bob@example.com", "password": "longenough"}
    async with http.post("/api/v4/users", json=user) as resp:
        assert resp.status == 201
        created = await resp.json()
        assert created["username"] == "bob.smith"
        assert created["roles"] == "system_user"
    async with http.post("/api/v4/users", json={**user, "email": "b2@example.com"}) as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == "app.user.save.username_exists.app_error"
    for bad in ("all", "bad name", "x" * 65, ""):
        body = {**user, "username": bad, "email": "other@example.com"}
        async with http.post("/api/v4/users", json=body) as resp:
            assert resp.status == 400, bad
    async with http.post("/api/v4/users", json={**user, "username": "n", "email": ""}) as resp:
        assert resp.status == 400


async def test_deactivation_kills_tokens(emulator: Emulator, client: ClientFactory) -> None:
    user_id, token = emulator.create_user("carol")
    admin = client(emulator.seed.admin_token)
    async with admin.put(f"/api/v4/users/{user_id}/active", json={"active": False}) as resp:
        assert resp.status == 200
    async with client(token).get("/api/v4/users/me") as resp:
        assert resp.status == 401
        assert (await resp.json())["id"] == "app.user_access_token.invalid_or_missing"


async def test_patch_user_and_image(emulator: Emulator, client: ClientFactory) -> None:
    http = client(emulator.seed.token)
    uid = emulator.seed.user_id
    async with http.put(f"/api/v4/users/{uid}/patch", json={"nickname": "Al"}) as resp:
        assert (await resp.json())["nickname"] == "Al"
    async with http.put(f"/api/v4/users/{emulator.seed.admin_user_id}/patch", json={}) as resp:
        assert resp.status == 403
    async with http.get(f"/api/v4/users/{uid}/image") as resp:
        assert resp.status == 200
        assert (await resp.read()).startswith(b"\x89PNG")
    from aiohttp import FormData

    form = FormData()
    form.add_field("image", b"GIF89a-fake", filename="a.gif", content_type="image/gif")
    async with http.post(f"/api/v4/users/{uid}/image", data=form) as resp:
        assert resp.status == 200
    async with http.get(f"/api/v4/users/{uid}/image") as resp:
        assert await resp.read() == b"GIF89a-fake"
    async with http.get(f"/api/v4/users/{uid}") as resp:
        assert (await resp.json())["last_picture_update"] > 0
    async with http.post("/api/v4/users/ids", json=[uid, emulator.seed.bot_user_id]) as resp:
        assert len(await resp.json()) == 2
    async with http.get("/api/v4/users/username/bridgebot") as resp:
        assert (await resp.json())["is_bot"] is True
    search = {"term": "ali", "team_id": emulator.seed.team_id}
    async with http.post("/api/v4/users/search", json=search) as resp:
        assert [u["username"] for u in await resp.json()] == ["alice"]
