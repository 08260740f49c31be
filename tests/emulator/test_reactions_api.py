"""Reactions: the emoji-name check of POST /reactions and POST /posts/ids/reactions."""

from __future__ import annotations

from typing import Any

from mmbridge.testing.emulator import Emulator

from .conftest import ClientFactory


async def _post(client: ClientFactory, token: str, channel_id: str) -> dict[str, Any]:
    async with client(token).post("/api/v4/posts", json={"channel_id": channel_id, "message": "m"}) as resp:
        post: dict[str, Any] = await resp.json()
    return post


async def test_reaction_needs_a_known_emoji(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    post = await _post(client, seed.token, seed.channel_id)
    body = {"user_id": seed.user_id, "post_id": post["id"], "emoji_name": "no_such_emoji"}
    async with http.post("/api/v4/reactions", json=body) as resp:
        assert (resp.status, (await resp.json())["id"]) == (404, "app.emoji.get_by_name.no_result")
    body["emoji_name"] = "x" * 65
    async with http.post("/api/v4/reactions", json=body) as resp:
        assert (await resp.json())["id"] == "api.reaction.save_reaction.invalid.app_error"
    assert emulator.events.of_type("reaction_added") == []
    for name in ("+1", "wave_medium_skin_tone", "white_check_mark"):
        body["emoji_name"] = name
        async with http.post("/api/v4/reactions", json=body) as resp:
            assert resp.status == 200, name
    assert [e.broadcast.channel_id for e in emulator.events.of_type("reaction_added")] == [
        seed.channel_id
    ] * 3


async def test_bulk_reactions(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    first = await _post(client, seed.token, seed.channel_id)
    second = await _post(client, seed.token, seed.channel_id)
    body = {"user_id": seed.user_id, "post_id": first["id"], "emoji_name": "smile"}
    async with http.post("/api/v4/reactions", json=body) as resp:
        assert resp.status == 200
    async with http.post(
        "/api/v4/posts/ids/reactions", json=[first["id"], second["id"], first["id"]]
    ) as resp:
        assert resp.status == 200
        result = await resp.json()
    assert result[second["id"]] == []
    assert [r["emoji_name"] for r in result[first["id"]]] == ["smile"]
    _, outsider = emulator.create_user("outsider")
    async with client(outsider).post("/api/v4/posts/ids/reactions", json=[first["id"]]) as resp:
        assert (resp.status, (await resp.json())["id"]) == (403, "api.context.permissions.app_error")
    async with http.post("/api/v4/posts/ids/reactions", json={"a": 1}) as resp:
        assert (resp.status, (await resp.json())["id"]) == (400, "api.payload.parse.error")
