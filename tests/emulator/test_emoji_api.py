"""Custom emoji: create, list, get, delete, image, search, autocomplete, names."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import FormData

from mmbridge.testing.emulator import Emulator
from mmbridge.testing.emulator.images import default_png

from .conftest import ClientFactory


def _form(name: str, creator_id: str, image: bytes | None = None) -> FormData:
    form = FormData(default_to_multipart=True)
    if image is not None:
        form.add_field("image", image, filename="e.png", content_type="image/png")
    form.add_field("emoji", json.dumps({"name": name, "creator_id": creator_id}))
    return form


async def _create(emulator: Emulator, client: ClientFactory, name: str) -> dict[str, Any]:
    http = client(emulator.seed.token)
    async with http.post("/api/v4/emoji", data=_form(name, emulator.seed.user_id, default_png())) as resp:
        assert resp.status == 200, await resp.text()
        created: dict[str, Any] = await resp.json()
    return created


async def test_create_emoji_sends_emoji_added_to_everyone(emulator: Emulator, client: ClientFactory) -> None:
    emoji = await _create(emulator, client, "party_parrot")
    assert (emoji["name"], emoji["creator_id"], emoji["delete_at"]) == (
        "party_parrot",
        emulator.seed.user_id,
        0,
    )
    (event,) = emulator.events.of_type("emoji_added")
    assert json.loads(event.data["emoji"])["id"] == emoji["id"]
    assert (event.broadcast.user_id, event.broadcast.channel_id, event.broadcast.team_id) == ("", "", "")
    http = client(emulator.seed.admin_token)
    async with http.get(f"/api/v4/emoji/{emoji['id']}") as resp:
        assert (await resp.json())["name"] == "party_parrot"
    async with http.get("/api/v4/emoji/name/party_parrot") as resp:
        assert (await resp.json())["id"] == emoji["id"]
    async with http.get(f"/api/v4/emoji/{emoji['id']}/image") as resp:
        assert resp.headers["Content-Type"] == "image/png"
        assert await resp.read() == default_png()


async def test_create_emoji_bad_input(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    cases = [
        (_form("thumbsup", seed.user_id, default_png()), 400, "model.emoji.system_emoji_name.app_error"),
        (_form("bad name!", seed.user_id, default_png()), 400, "model.emoji.name.app_error"),
        (_form("ok_name", seed.user_id, None), 400, "api.context.invalid_body_param.app_error"),
        (_form("ok_name", seed.user_id, b"not an image"), 400, "api.emoji.upload.image.app_error"),
        (_form("ok_name", seed.admin_user_id, default_png()), 403, "api.emoji.create.other_user.app_error"),
    ]
    for form, status, error_id in cases:
        async with http.post("/api/v4/emoji", data=form) as resp:
            assert resp.status == status
            assert (await resp.json())["id"] == error_id
    async with http.post("/api/v4/emoji", json={"name": "x"}) as resp:
        assert (await resp.json())["id"] == "api.emoji.create.parse.app_error"
    big = FormData(default_to_multipart=True)
    big.add_field("image", b"\0" * (600 * 1024), filename="e.png", content_type="image/png")
    async with http.post("/api/v4/emoji", data=big) as resp:
        assert resp.status == 413
        assert (await resp.json())["id"] == "api.emoji.create.too_large.app_error"
    await _create(emulator, client, "dup")
    async with http.post("/api/v4/emoji", data=_form("dup", seed.user_id, default_png())) as resp:
        assert (await resp.json())["id"] == "api.emoji.create.duplicate.app_error"
    async with http.get("/api/v4/emoji") as resp:
        assert [e["name"] for e in await resp.json()] == ["dup"]
    assert len(emulator.events.of_type("emoji_added")) == 1


async def test_list_search_autocomplete_names(emulator: Emulator, client: ClientFactory) -> None:
    for name in ("zeta_cat", "alpha_cat", "cat_alpha"):
        await _create(emulator, client, name)
    http = client(emulator.seed.token)
    async with http.get("/api/v4/emoji") as resp:
        assert [e["name"] for e in await resp.json()] == ["zeta_cat", "alpha_cat", "cat_alpha"]
    async with http.get("/api/v4/emoji", params={"sort": "name", "page": "0", "per_page": "2"}) as resp:
        assert [e["name"] for e in await resp.json()] == ["alpha_cat", "cat_alpha"]
    async with http.get("/api/v4/emoji", params={"sort": "create_at"}) as resp:
        assert (await resp.json())["id"] == "api.context.invalid_url_param.app_error"
    async with http.post("/api/v4/emoji/search", json={"term": "cat"}) as resp:
        assert [e["name"] for e in await resp.json()] == ["alpha_cat", "cat_alpha", "zeta_cat"]
    async with http.post("/api/v4/emoji/search", json={"term": "cat", "prefix_only": True}) as resp:
        assert [e["name"] for e in await resp.json()] == ["cat_alpha"]
    async with http.post("/api/v4/emoji/search", json={"term": ""}) as resp:
        assert (resp.status, (await resp.json())["id"]) == (400, "api.context.invalid_param.app_error")
    async with http.get("/api/v4/emoji/autocomplete", params={"name": "al"}) as resp:
        assert [e["name"] for e in await resp.json()] == ["alpha_cat"]
    async with http.get("/api/v4/emoji/autocomplete") as resp:
        assert resp.status == 400
    async with http.post("/api/v4/emoji/names", json=["zeta_cat", "nope", "alpha_cat"]) as resp:
        assert sorted(e["name"] for e in await resp.json()) == ["alpha_cat", "zeta_cat"]
    async with http.post("/api/v4/emoji/names", json=[]) as resp:
        assert (await resp.json())["id"] == "api.context.invalid_param.app_error"
    async with http.post("/api/v4/emoji/names", json=[f"n{i}" for i in range(201)]) as resp:
        assert (await resp.json())["id"] == "api.emoji.get_multiple_by_name_too_many.request_error"
    async with http.post("/api/v4/emoji/names", json={"names": 1}) as resp:
        assert (await resp.json())["id"] == "api.payload.parse.error"


async def test_delete_emoji_removes_its_reactions(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    emoji = await _create(emulator, client, "shipit")
    http = client(seed.token)
    async with http.post("/api/v4/posts", json={"channel_id": seed.channel_id, "message": "hi"}) as resp:
        post = await resp.json()
    reaction = {"user_id": seed.user_id, "post_id": post["id"], "emoji_name": "shipit"}
    async with http.post("/api/v4/reactions", json=reaction) as resp:
        assert resp.status == 200
    other_id, other_token = emulator.create_user("mallory")
    async with client(other_token).delete(f"/api/v4/emoji/{emoji['id']}") as resp:
        assert (resp.status, (await resp.json())["id"]) == (403, "api.context.permissions.app_error")
    async with http.delete(f"/api/v4/emoji/{emoji['id']}") as resp:
        assert (await resp.json())["status"] == "OK"
    async with http.get(f"/api/v4/emoji/{emoji['id']}") as resp:
        assert (resp.status, (await resp.json())["id"]) == (404, "app.emoji.get.no_result")
    async with http.get("/api/v4/emoji/name/shipit") as resp:
        assert (await resp.json())["id"] == "app.emoji.get_by_name.no_result"
    async with http.get(f"/api/v4/posts/{post['id']}/reactions") as resp:
        assert await resp.json() == []
    async with http.get(f"/api/v4/posts/{post['id']}") as resp:
        assert "has_reactions" not in await resp.json()
    async with http.get("/api/v4/emoji/notanid") as resp:
        assert (await resp.json())["id"] == "api.context.invalid_url_param.app_error"
    assert other_id
