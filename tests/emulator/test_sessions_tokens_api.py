"""Sessions (logout, list, revoke, device ids) and the access-token operations."""

from __future__ import annotations

from typing import Any

from mmbridge.testing.emulator import Emulator

from .conftest import ClientFactory

PERMISSIONS = "api.context.permissions.app_error"
INVALID_BODY = "api.context.invalid_body_param.app_error"
TOKEN_MISSING = "app.user_access_token.get_by_user.app_error"


async def _login(emulator: Emulator, client: ClientFactory, username: str = "alice") -> str:
    async with client(None).post(
        "/api/v4/users/login", json={"login_id": username, "password": emulator.seed.password}
    ) as resp:
        assert resp.status == 200
        return resp.headers["Token"]


async def _me_status(client: ClientFactory, token: str) -> int:
    async with client(token).get("/api/v4/users/me") as resp:
        return resp.status


async def _sessions(client: ClientFactory, token: str, user_id: str = "me") -> list[dict[str, Any]]:
    async with client(token).get(f"/api/v4/users/{user_id}/sessions") as resp:
        assert resp.status == 200
        sessions: list[dict[str, Any]] = await resp.json()
        return sessions


async def test_sessions_are_listed_sanitised(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    login = await _login(emulator, client)
    sessions = await _sessions(client, login)
    assert len(sessions) == 2  # the login and the seed access token
    assert all(s["token"] == "" for s in sessions)
    assert all(s["user_id"] == seed.user_id and len(s["id"]) == 26 for s in sessions)
    assert all(s["expires_at"] > s["create_at"] > 0 for s in sessions)
    assert all([m["team_id"] for m in s["team_members"]] == [seed.team_id] for s in sessions)
    kinds = sorted(s["props"].get("type", "login") for s in sessions)
    assert kinds == ["UserAccessToken", "login"]
    assert next(s for s in sessions if "csrf" in s["props"])["roles"] == "system_user"
    async with client(login).get(f"/api/v4/users/{seed.admin_user_id}/sessions") as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == PERMISSIONS
    # An admin reads anyone's.
    assert len(await _sessions(client, seed.admin_token, seed.user_id)) == 2


async def test_revoke_one_session(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    login = await _login(emulator, client)
    other = await _login(emulator, client)
    sessions = await _sessions(client, seed.token)
    login_ids = [s["id"] for s in sessions if "csrf" in s["props"]]
    assert len(login_ids) == 2
    alice = client(seed.token)
    async with alice.post(f"/api/v4/users/{seed.user_id}/sessions/revoke", json={}) as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == INVALID_BODY
    async with alice.post(
        f"/api/v4/users/{seed.admin_user_id}/sessions/revoke", json={"session_id": login_ids[0]}
    ) as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == PERMISSIONS
    admin_session = (await _sessions(client, seed.admin_token))[0]["id"]
    async with alice.post(
        f"/api/v4/users/{seed.user_id}/sessions/revoke", json={"session_id": admin_session}
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == "api.context.invalid_url_param.app_error"
    async with alice.post(
        f"/api/v4/users/{seed.user_id}/sessions/revoke", json={"session_id": "x" * 26}
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == "app.session.get.app_error"
    assert len(await _sessions(client, seed.token)) == 3  # nothing was revoked so far
    target = login_ids[0]
    async with alice.post(
        f"/api/v4/users/{seed.user_id}/sessions/revoke", json={"session_id": target}
    ) as resp:
        assert resp.status == 200
    statuses = sorted([await _me_status(client, login), await _me_status(client, other)])
    assert statuses == [200, 401]
    assert await _me_status(client, seed.token) == 200


async def test_revoke_all_sessions_of_a_user(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    first = await _login(emulator, client)
    second = await _login(emulator, client)
    async with client(first).post(f"/api/v4/users/{seed.admin_user_id}/sessions/revoke/all") as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == PERMISSIONS
    assert await _me_status(client, seed.admin_token) == 200
    async with client(first).post("/api/v4/users/me/sessions/revoke/all") as resp:
        assert resp.status == 200
    assert await _me_status(client, first) == 401
    assert await _me_status(client, second) == 401
    # An access token outlives its session: the server makes a new one on its next use.
    assert await _me_status(client, seed.token) == 200
    assert [s["props"]["type"] for s in await _sessions(client, seed.token)] == ["UserAccessToken"]


async def test_revoke_sessions_of_all_users(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice_login = await _login(emulator, client)
    admin_login = await _login(emulator, client, seed.admin_username)
    async with client(alice_login).post("/api/v4/users/sessions/revoke/all") as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == PERMISSIONS
    assert await _me_status(client, admin_login) == 200
    async with client(seed.admin_token).post("/api/v4/users/sessions/revoke/all") as resp:
        assert resp.status == 200
    assert await _me_status(client, alice_login) == 401
    assert await _me_status(client, admin_login) == 401
    assert await _me_status(client, seed.bot_token) == 200


async def test_attach_device_id(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    phone = await _login(emulator, client)
    old_phone = await _login(emulator, client)
    async with client(old_phone).put(
        "/api/v4/users/sessions/device", json={"device_id": "android:d1"}
    ) as resp:
        assert resp.status == 200
    async with client(phone).put("/api/v4/users/sessions/device", json={}) as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == INVALID_BODY
    assert sorted(s["device_id"] for s in await _sessions(client, seed.token)) == ["", "", "android:d1"]
    async with client(phone).put("/api/v4/users/sessions/device", json={"device_id": "android:d1"}) as resp:
        assert resp.status == 200
        assert resp.cookies["MMAUTHTOKEN"].value == phone
    # The other session on the same device is logged out.
    assert await _me_status(client, old_phone) == 401
    devices = sorted(s["device_id"] for s in await _sessions(client, seed.token))
    assert devices == ["", "android:d1"]


async def test_logout(emulator: Emulator, client: ClientFactory) -> None:
    login = await _login(emulator, client)
    async with client(login).post("/api/v4/users/logout") as resp:
        assert resp.status == 200
        assert (await resp.json()) == {"status": "OK"}
        assert resp.cookies["MMAUTHTOKEN"].value == ""
    assert await _me_status(client, login) == 401
    assert len(await _sessions(client, emulator.seed.token)) == 1
    async with client(None).post("/api/v4/users/logout") as resp:
        assert resp.status == 200  # no session needed


async def test_list_all_tokens(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    async with client(seed.admin_token).get("/api/v4/users/tokens") as resp:
        assert resp.status == 200
        tokens = await resp.json()
    assert sorted(t["user_id"] for t in tokens) == sorted(
        [seed.admin_user_id, seed.bot_user_id, seed.user_id]
    )
    assert all("token" not in t and t["is_active"] for t in tokens)
    async with client(seed.admin_token).get(
        "/api/v4/users/tokens", params={"per_page": "1", "page": "1"}
    ) as resp:
        assert [t["id"] for t in await resp.json()] == [tokens[1]["id"]]
    async with client(seed.token).get("/api/v4/users/tokens") as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == PERMISSIONS


TOKEN_ROLES = "system_user system_user_access_token"


async def _token_ids(client: ClientFactory, token: str, user_id: str) -> list[str]:
    async with client(token).get(f"/api/v4/users/{user_id}/tokens") as resp:
        return [t["id"] for t in await resp.json()]


async def test_get_one_token(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    emulator.state.user(seed.user_id).roles = TOKEN_ROLES
    (alice_token_id,) = await _token_ids(client, seed.token, seed.user_id)
    (admin_token_id,) = await _token_ids(client, seed.admin_token, seed.admin_user_id)
    alice = client(seed.token)
    async with alice.get(f"/api/v4/users/tokens/{alice_token_id}") as resp:
        assert resp.status == 200
        body = await resp.json()
        assert body["user_id"] == seed.user_id
        assert body["description"] == "seed user token"
        assert "token" not in body
    async with alice.get(f"/api/v4/users/tokens/{admin_token_id}") as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == PERMISSIONS
    async with alice.get("/api/v4/users/tokens/" + "z" * 26) as resp:
        assert resp.status == 404
        assert (await resp.json())["id"] == TOKEN_MISSING
    async with alice.get("/api/v4/users/tokens/bad") as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == "api.context.invalid_url_param.app_error"


async def test_disable_and_enable_token(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    emulator.state.user(seed.user_id).roles = TOKEN_ROLES
    alice = client(seed.token)
    async with alice.post(f"/api/v4/users/{seed.user_id}/tokens", json={"description": "second"}) as resp:
        created = await resp.json()
    assert await _me_status(client, created["token"]) == 200
    async with alice.post("/api/v4/users/tokens/disable", json={"token_id": created["id"]}) as resp:
        assert resp.status == 200
    assert await _me_status(client, created["token"]) == 401
    assert await _me_status(client, seed.token) == 200
    async with alice.get(f"/api/v4/users/tokens/{created['id']}") as resp:
        assert (await resp.json())["is_active"] is False
    async with alice.post("/api/v4/users/tokens/enable", json={"token_id": created["id"]}) as resp:
        assert resp.status == 200
    assert await _me_status(client, created["token"]) == 200
    async with alice.get(f"/api/v4/users/tokens/{created['id']}") as resp:
        assert (await resp.json())["is_active"] is True


async def test_disable_token_refusals(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    emulator.state.user(seed.user_id).roles = TOKEN_ROLES
    (admin_token_id,) = await _token_ids(client, seed.admin_token, seed.admin_user_id)
    alice = client(seed.token)
    for action in ("disable", "enable"):
        async with alice.post(f"/api/v4/users/tokens/{action}", json={"token_id": admin_token_id}) as resp:
            assert resp.status == 403
            assert (await resp.json())["id"] == PERMISSIONS
        # The server goes on after its invalid-param check: an empty id is then not found.
        async with alice.post(f"/api/v4/users/tokens/{action}", json={}) as resp:
            assert resp.status == 404
            assert (await resp.json())["id"] == TOKEN_MISSING
    assert await _me_status(client, seed.admin_token) == 200


async def test_search_tokens(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    async with admin.post("/api/v4/users/tokens/search", json={"term": "ali"}) as resp:
        assert resp.status == 200
        found = await resp.json()
    assert [t["user_id"] for t in found] == [seed.user_id]
    assert "token" not in found[0]
    async with admin.post("/api/v4/users/tokens/search", json={"term": found[0]["id"][:10]}) as resp:
        assert [t["id"] for t in await resp.json()] == [found[0]["id"]]
    async with admin.post("/api/v4/users/tokens/search", json={"term": ""}) as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == INVALID_BODY
    async with admin.post("/api/v4/users/tokens/search", json={"term": 5}) as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == INVALID_BODY
    async with client(seed.token).post("/api/v4/users/tokens/search", json={"term": "ali"}) as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == PERMISSIONS


async def test_tokens_of_ones_own_need_the_token_role(emulator: Emulator, client: ClientFactory) -> None:
    """``create_user_access_token``, ``read_…`` and ``revoke_…`` belong to system admins and to the
    ``system_user_access_token`` role, and are checked before anything else is looked at: a plain
    user cannot make, list, read, disable or revoke even their own tokens."""
    seed = emulator.seed
    alice = client(seed.token)
    (own,) = await _token_ids(client, seed.admin_token, seed.user_id)  # (an admin may list them)
    refused = [
        ("POST", f"/api/v4/users/{seed.user_id}/tokens", {"description": "mine"}),
        ("GET", f"/api/v4/users/{seed.user_id}/tokens", None),
        ("GET", f"/api/v4/users/tokens/{own}", None),
        ("POST", "/api/v4/users/tokens/disable", {"token_id": own}),
        ("POST", "/api/v4/users/tokens/enable", {"token_id": own}),
        ("POST", "/api/v4/users/tokens/revoke", {"token_id": own}),
        ("POST", "/api/v4/users/tokens/revoke", {"token_id": "z" * 26}),  # (not looked up)
    ]
    for method, path, body in refused:
        async with alice.request(method, path, json=body) as resp:
            assert resp.status == 403, (method, path)
            assert (await resp.json())["id"] == PERMISSIONS
    assert await _me_status(client, seed.token) == 200  # nothing was revoked
    emulator.state.user(seed.user_id).roles = TOKEN_ROLES
    async with alice.post(f"/api/v4/users/{seed.user_id}/tokens", json={"description": "mine"}) as resp:
        assert resp.status == 200
    assert len(await _token_ids(client, seed.token, seed.user_id)) == 2
