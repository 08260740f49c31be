"""Bot operations: (de)activation, owners, icons, conversion to and from users."""

from __future__ import annotations

from typing import Any

import aiohttp

from mmbridge.testing.emulator import Emulator

from .conftest import ClientFactory

PERMISSIONS = "api.context.permissions.app_error"
BOT_MISSING = "store.sql_bot.get.missing.app_error"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"></svg>'


async def _alice_bot(client: ClientFactory, token: str) -> dict[str, Any]:
    body = {"username": "alicebot", "display_name": "Alice Bot"}
    async with client(token).post("/api/v4/bots", json=body) as resp:
        assert resp.status == 201
        bot: dict[str, Any] = await resp.json()
        return bot


async def _me_status(client: ClientFactory, token: str) -> int:
    async with client(token).get("/api/v4/users/me") as resp:
        return resp.status


def _icon_form(data: bytes, name: str = "image") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field(name, data, filename="icon.svg", content_type="image/svg+xml")
    return form


async def test_disable_and_enable_bot(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    async with admin.post(f"/api/v4/bots/{seed.bot_user_id}/disable") as resp:
        assert resp.status == 200
        bot = await resp.json()
        assert bot["user_id"] == seed.bot_user_id
        assert bot["delete_at"] > 0
    assert await _me_status(client, seed.bot_token) == 401
    async with admin.get(f"/api/v4/users/{seed.bot_user_id}") as resp:
        assert (await resp.json())["delete_at"] > 0
    async with admin.post(f"/api/v4/bots/{seed.bot_user_id}/enable") as resp:
        assert resp.status == 200
        assert (await resp.json())["delete_at"] == 0
    assert await _me_status(client, seed.bot_token) == 200


async def test_disable_bot_refusals(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    # A user who may not read others' bots is told the bot does not exist.
    async with alice.post(f"/api/v4/bots/{seed.bot_user_id}/disable") as resp:
        assert resp.status == 404
        assert (await resp.json())["id"] == BOT_MISSING
    async with alice.post("/api/v4/bots/bad/enable") as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == "api.context.invalid_url_param.app_error"
    assert await _me_status(client, seed.bot_token) == 200
    # The owner manages its own bot.
    bot = await _alice_bot(client, seed.token)
    async with alice.post(f"/api/v4/bots/{bot['user_id']}/disable") as resp:
        assert resp.status == 200


async def test_assign_bot(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    async with admin.post(f"/api/v4/bots/{seed.bot_user_id}/assign/{seed.user_id}") as resp:
        assert resp.status == 200
        assert (await resp.json())["owner_id"] == seed.user_id
    # Alice owns it now, so she may manage it.
    async with client(seed.token).post(
        f"/api/v4/bots/{seed.bot_user_id}/assign/{seed.admin_user_id}"
    ) as resp:
        assert resp.status == 200
        assert (await resp.json())["owner_id"] == seed.admin_user_id
    other_bot = await _alice_bot(client, seed.token)
    async with admin.post(f"/api/v4/bots/{seed.bot_user_id}/assign/{other_bot['user_id']}") as resp:
        assert resp.status == 403  # a bot cannot own a bot
        assert (await resp.json())["id"] == PERMISSIONS
    async with client(seed.token).post(f"/api/v4/bots/{seed.bot_user_id}/assign/{seed.user_id}") as resp:
        assert resp.status == 404
        assert (await resp.json())["id"] == BOT_MISSING
    async with admin.get(f"/api/v4/bots/{seed.bot_user_id}") as resp:
        assert (await resp.json())["owner_id"] == seed.admin_user_id


async def test_bot_icon(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    url = f"/api/v4/bots/{seed.bot_user_id}/icon"
    async with admin.get(url) as resp:
        assert resp.status == 404
        assert (await resp.json())["id"] == "api.bot.get_bot_icon_image.read.app_error"
    emulator.events.clear()
    async with admin.post(url, data=_icon_form(SVG)) as resp:
        assert resp.status == 200
    async with admin.get(url) as resp:
        assert resp.status == 200
        assert resp.content_type == "image/svg+xml"
        assert await resp.read() == SVG
    async with admin.get(f"/api/v4/bots/{seed.bot_user_id}") as resp:
        assert (await resp.json())["last_icon_update"] > 0
    # one change, announced three times: the admins' copy, everyone else's, the user's own
    assert [
        (e.data["user"]["id"], e.broadcast.contains_sensitive_data)
        for e in emulator.events.of_type("user_updated")
    ] == [
        (seed.bot_user_id, True),
        (seed.bot_user_id, False),
        (seed.bot_user_id, False),
    ]
    async with admin.delete(url) as resp:
        assert resp.status == 200
    async with admin.get(url) as resp:
        assert resp.status == 404
    async with admin.get(f"/api/v4/bots/{seed.bot_user_id}") as resp:
        assert "last_icon_update" not in await resp.json()


async def test_bot_icon_refusals(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    url = f"/api/v4/bots/{seed.bot_user_id}/icon"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    async with admin.post(url, data=_icon_form(png)) as resp:
        assert resp.status == 400  # only SVG
        assert (await resp.json())["id"] == "api.bot.set_bot_icon_image.parse.app_error"
    async with admin.post(url, data=_icon_form(SVG, name="file")) as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == "api.bot.set_bot_icon_image.no_file.app_error"
    async with client(seed.token).post(url, data=_icon_form(SVG)) as resp:
        assert resp.status == 404
        assert (await resp.json())["id"] == BOT_MISSING
    async with client(seed.token).delete(url) as resp:
        assert resp.status == 404
    async with admin.get(url) as resp:
        assert resp.status == 404  # nothing was stored
    emulator.events.clear()
    async with admin.delete(url) as resp:
        assert resp.status == 200  # no icon to delete: fine, as with the S3 file driver
    assert len(emulator.events.of_type("user_updated")) == 3  # (admins', others', the user's own)
