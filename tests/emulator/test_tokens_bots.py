"""Personal access tokens and bots."""

from __future__ import annotations

from mmbridge.testing.emulator import Emulator, EmulatorSettings

from .conftest import ClientFactory


async def test_token_rules(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    admin = client(seed.admin_token)
    async with alice.post(f"/api/v4/users/{seed.admin_user_id}/tokens", json={"description": "x"}) as resp:
        assert resp.status == 403
    async with alice.post(f"/api/v4/users/{seed.user_id}/tokens", json={}) as resp:
        assert resp.status == 400
    puppet_id, _ = emulator.create_user("puppet")
    async with admin.post(f"/api/v4/users/{puppet_id}/tokens", json={"description": "p"}) as resp:
        assert resp.status == 200
        created = await resp.json()
        assert created["token"]
        assert created["user_id"] == puppet_id
    async with client(created["token"]).get("/api/v4/users/me") as resp:
        assert (await resp.json())["id"] == puppet_id
    async with admin.get(f"/api/v4/users/{puppet_id}/tokens") as resp:
        listed = await resp.json()
        assert created["id"] in [t["id"] for t in listed]
        assert all("token" not in t for t in listed)
    async with admin.post("/api/v4/users/tokens/revoke", json={"token_id": created["id"]}) as resp:
        assert resp.status == 200
    async with client(created["token"]).get("/api/v4/users/me") as resp:
        assert resp.status == 401


async def test_tokens_disabled_except_for_bots(emulator: Emulator, client: ClientFactory) -> None:
    emulator.settings.enable_user_access_tokens = False
    admin = client(emulator.seed.admin_token)
    async with admin.post(f"/api/v4/users/{emulator.seed.user_id}/tokens", json={"description": "d"}) as resp:
        assert resp.status == 501
        assert (await resp.json())["id"] == "app.user_access_token.disabled"
    async with admin.post(
        f"/api/v4/users/{emulator.seed.bot_user_id}/tokens", json={"description": "d"}
    ) as resp:
        assert resp.status == 200


async def test_bots(emulator: Emulator, client: ClientFactory) -> None:
    alice = client(emulator.seed.token)
    body = {"username": "alicebot", "display_name": "Alice Bot", "description": "d"}
    async with alice.post("/api/v4/bots", json=body) as resp:
        assert resp.status == 201
        bot = await resp.json()
        assert bot["owner_id"] == emulator.seed.user_id
    async with alice.get(f"/api/v4/users/{bot['user_id']}") as resp:
        user = await resp.json()
        assert user["is_bot"] is True
        assert user["email"] == "alicebot@localhost"
    # The owner may mint tokens for the bot, once given the role that allows tokens at all.
    async with alice.post(f"/api/v4/users/{bot['user_id']}/tokens", json={"description": "t"}) as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == "api.context.permissions.app_error"
    emulator.state.user(emulator.seed.user_id).roles = "system_user system_user_access_token"
    async with alice.post(f"/api/v4/users/{bot['user_id']}/tokens", json={"description": "t"}) as resp:
        assert resp.status == 200
    async with alice.put(f"/api/v4/bots/{bot['user_id']}", json={"display_name": "New"}) as resp:
        assert (await resp.json())["display_name"] == "New"
    async with alice.get(f"/api/v4/bots/{bot['user_id']}") as resp:
        assert resp.status == 200
    async with alice.get("/api/v4/bots", params={"per_page": "10"}) as resp:
        assert [b["user_id"] for b in await resp.json()] == [bot["user_id"]]
    async with alice.get("/api/v4/bots/" + "b" * 26) as resp:
        assert resp.status == 404
        assert (await resp.json())["id"] == "store.sql_bot.get.missing.app_error"
    emulator.settings.enable_bot_account_creation = False
    async with alice.post("/api/v4/bots", json={**body, "username": "other"}) as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == "api.bot.create_disabled"


def test_settings_defaults() -> None:
    settings = EmulatorSettings()
    assert settings.enable_user_access_tokens is True
    assert settings.enable_bot_account_creation is True
    assert settings.max_users_per_team == 50
    assert settings.max_post_size == 16383
    assert settings.rate_limit is None
