"""Posts: creation rules, pending_post_id dedupe, threads, edits, deletes, lists."""

from __future__ import annotations

import asyncio
import json

from mmbridge.testing.emulator import Emulator

from .conftest import ClientFactory


async def _post(http: object, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    async with http.post("/api/v4/posts", json=body) as resp:  # type: ignore[attr-defined]
        return resp.status, await resp.json()


async def test_create_post_fields(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    status, post = await _post(
        client(seed.bot_token),
        {"channel_id": seed.channel_id, "message": "hi #tag", "user_id": seed.user_id},
    )
    assert status == 201
    assert post["user_id"] == seed.bot_user_id
    assert post["props"] == {"from_bot": "true"}
    assert post["hashtags"] == "#tag"
    assert post["edit_at"] == 0
    assert post["create_at"] == post["update_at"] > 0
    event = emulator.events.of_type("posted")[-1]
    assert json.loads(event.data["post"])["id"] == post["id"]
    assert event.data["channel_name"] == "bridge-test"
    assert event.data["team_id"] == seed.team_id
    assert event.broadcast.channel_id == seed.channel_id


async def test_post_validation(emulator: Emulator, client: ClientFactory) -> None:
    http = client(emulator.seed.token)
    channel = emulator.seed.channel_id
    status, body = await _post(http, {"channel_id": channel, "message": "x", "type": "system_x"})
    assert (status, body["id"]) == (400, "api.context.invalid_param.app_error")
    status, body = await _post(http, {"channel_id": channel, "message": "é" * 16384})
    assert (status, body["id"]) == (400, "model.post.is_valid.message_length.app_error")
    status, _ = await _post(http, {"channel_id": channel, "message": "é" * 16383})
    assert status == 201
    status, _ = await _post(
        http, {"channel_id": channel, "file_ids": ["a" * 26] * 3 + [str(i) * 26 for i in range(10)]}
    )
    assert status == 400


async def test_dedupe_sequential(emulator: Emulator, client: ClientFactory) -> None:
    http = client(emulator.seed.token)
    body = {"channel_id": emulator.seed.channel_id, "message": "once", "pending_post_id": "p:1"}
    status1, first = await _post(http, body)
    status2, second = await _post(http, body)
    assert status1 == status2 == 201
    assert first["id"] == second["id"]
    assert first["pending_post_id"] == "p:1"
    assert sum(1 for p in emulator.state.posts.values() if p.message == "once") == 1
    assert len([e for e in emulator.events.of_type("posted") if "once" in e.data["post"]]) == 1


async def test_dedupe_concurrent_in_flight(emulator: Emulator, client: ClientFactory) -> None:
    http = client(emulator.seed.token)
    body = {"channel_id": emulator.seed.channel_id, "message": "slow", "pending_post_id": "p:2"}
    emulator.faults.delay_next(1, 0.3, while_processing=True, path_contains="/posts")
    first = asyncio.create_task(_post(http, body))
    await asyncio.sleep(0.1)
    status, error = await _post(http, body)
    assert (status, error["id"]) == (500, "api.post.deduplicate_create_post.pending")
    status, post = await first
    assert status == 201
    status, again = await _post(http, body)
    assert (status, again["id"]) == (201, post["id"])


async def test_dedupe_forgets_failures(emulator: Emulator, client: ClientFactory) -> None:
    http = client(emulator.seed.token)
    body = {"channel_id": emulator.seed.channel_id, "root_id": "z" * 26, "pending_post_id": "p:3"}
    status, _ = await _post(http, body)
    assert status == 400
    status, _ = await _post(http, {**body, "root_id": ""})
    assert status == 201


async def test_threads(emulator: Emulator, client: ClientFactory) -> None:
    http = client(emulator.seed.token)
    channel = emulator.seed.channel_id
    _, root = await _post(http, {"channel_id": channel, "message": "root"})
    status, reply = await _post(http, {"channel_id": channel, "message": "r", "root_id": root["id"]})
    assert status == 201
    status, err = await _post(http, {"channel_id": channel, "message": "rr", "root_id": reply["id"]})
    assert (status, err["id"]) == (400, "api.post.create_post.root_id.app_error")
    status, err = await _post(http, {"channel_id": channel, "root_id": "q" * 26})
    assert (status, err["id"]) == (400, "api.post.create_post.root_id.app_error")
    town = emulator.state.channel_by_name(emulator.seed.team_id, "town-square")
    assert town is not None
    status, err = await _post(http, {"channel_id": town.id, "root_id": root["id"]})
    assert (status, err["id"]) == (400, "api.post.create_post.channel_root_id.app_error")
    async with http.get(f"/api/v4/posts/{reply['id']}/thread") as resp:
        thread = await resp.json()
        assert thread["order"] == [reply["id"], root["id"]]
        assert thread["posts"][root["id"]]["reply_count"] == 1


async def test_edit_and_delete(emulator: Emulator, client: ClientFactory) -> None:
    http = client(emulator.seed.token)
    channel = emulator.seed.channel_id
    _, post = await _post(http, {"channel_id": channel, "message": "v1", "props": {"a": 1}})
    pid = post["id"]
    async with http.put(f"/api/v4/posts/{pid}/patch", json={"props": {"b": 2}}) as resp:
        patched = await resp.json()
        assert patched["edit_at"] == 0
        assert patched["props"] == {"b": 2}
        assert patched["update_at"] > post["update_at"]
    async with http.put(f"/api/v4/posts/{pid}/patch", json={"message": "v2"}) as resp:
        patched = await resp.json()
        assert patched["edit_at"] > 0
        assert patched["message"] == "v2"
    async with http.put(f"/api/v4/posts/{pid}", json={"id": pid, "message": "v3"}) as resp:
        assert (await resp.json())["message"] == "v3"
    async with http.put(f"/api/v4/posts/{pid}", json={"id": "x" * 26, "message": "v3"}) as resp:
        assert resp.status == 400
    async with client(emulator.seed.bot_token).put(
        f"/api/v4/posts/{pid}/patch", json={"message": "no"}
    ) as resp:
        assert resp.status == 403
    _, reply = await _post(http, {"channel_id": channel, "message": "re", "root_id": pid})
    async with http.delete(f"/api/v4/posts/{pid}") as resp:
        assert await resp.json() == {"status": "OK"}
    for gone in (pid, reply["id"]):
        async with http.get(f"/api/v4/posts/{gone}") as resp:
            assert resp.status == 404
            assert (await resp.json())["id"] == "app.post.get.app_error"
    assert emulator.state.posts[reply["id"]].delete_at > 0
    assert emulator.events.of_type("post_deleted")


async def test_channel_posts_paging(emulator: Emulator, client: ClientFactory) -> None:
    http = client(emulator.seed.token)
    channel = emulator.seed.channel_id
    emulator.state.posts.clear()
    ids = [(await _post(http, {"channel_id": channel, "message": str(i)}))[1]["id"] for i in range(5)]
    async with http.get(f"/api/v4/channels/{channel}/posts", params={"per_page": "2"}) as resp:
        page = await resp.json()
        assert page["order"] == [ids[4], ids[3]]
        assert page["prev_post_id"] == ids[2]
        assert page["next_post_id"] == ""
    params = {"per_page": "2", "page": "1"}
    async with http.get(f"/api/v4/channels/{channel}/posts", params=params) as resp:
        assert (await resp.json())["order"] == [ids[2], ids[1]]
    params = {"before": ids[2], "per_page": "5"}
    async with http.get(f"/api/v4/channels/{channel}/posts", params=params) as resp:
        assert (await resp.json())["order"] == [ids[1], ids[0]]
    params = {"after": ids[2]}
    async with http.get(f"/api/v4/channels/{channel}/posts", params=params) as resp:
        assert (await resp.json())["order"] == [ids[4], ids[3]]
    since = emulator.state.posts[ids[3]].create_at - 1
    async with http.get(f"/api/v4/channels/{channel}/posts", params={"since": str(since)}) as resp:
        assert set((await resp.json())["order"]) >= {ids[3], ids[4]}
    async with http.get(f"/api/v4/channels/{channel}/posts", params={"per_page": "999"}) as resp:
        assert len((await resp.json())["order"]) == 5


async def test_reactions(emulator: Emulator, client: ClientFactory) -> None:
    http = client(emulator.seed.token)
    seed = emulator.seed
    _, post = await _post(http, {"channel_id": seed.channel_id, "message": "react"})
    body = {"user_id": seed.user_id, "post_id": post["id"], "emoji_name": "smile"}
    async with http.post("/api/v4/reactions", json=body) as resp:
        assert resp.status == 200
    async with http.post("/api/v4/reactions", json={**body, "user_id": seed.bot_user_id}) as resp:
        assert resp.status == 403
    async with http.get(f"/api/v4/posts/{post['id']}") as resp:
        assert (await resp.json())["has_reactions"] is True
    async with http.get(f"/api/v4/posts/{post['id']}/reactions") as resp:
        assert [r["emoji_name"] for r in await resp.json()] == ["smile"]
    url = f"/api/v4/users/{seed.user_id}/posts/{post['id']}/reactions/smile"
    async with http.delete(url) as resp:
        assert resp.status == 200
    async with http.get(f"/api/v4/posts/{post['id']}") as resp:
        assert "has_reactions" not in await resp.json()
    for i in range(50):
        emulator.state.add_reaction(emulator.state.posts[post["id"]], seed.user_id, f"e{i}")
    async with http.post("/api/v4/reactions", json={**body, "emoji_name": "heart"}) as resp:
        assert resp.status == 400
