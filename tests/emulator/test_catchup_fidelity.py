"""What a bridge's REST catch-up relies on, as the real server does it.

Reactions and their events, ``post_deleted`` and its two copies, ``GET
/channels/{id}/posts?since=`` (strict bound, deleted posts, edit history, roots, the 1000 cap),
``pending_post_id`` after a deletion, and what bumps a post's ``update_at``
(MATTERMOST_FACTS.md section 8b).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from mmbridge.testing.emulator import Emulator
from mmbridge.testing.emulator.models import Post

from .conftest import ClientFactory
from .test_websocket_server import hello, nothing, recv


async def _post(http: Any, body: dict[str, Any]) -> dict[str, Any]:
    async with http.post("/api/v4/posts", json=body) as resp:
        assert resp.status == 201, await resp.text()
        post: dict[str, Any] = await resp.json()
        return post


async def _since(http: Any, channel_id: str, since: int) -> dict[str, Any]:
    async with http.get(f"/api/v4/channels/{channel_id}/posts", params={"since": str(since)}) as resp:
        assert resp.status == 200
        page: dict[str, Any] = await resp.json()
        return page


def _events(emulator: Emulator, name: str) -> list[dict[str, Any]]:
    return [e.data for e in emulator.events.of_type(name)]


async def _tick() -> None:
    """Let the millisecond clock move on, so that later changes get a later ``update_at``."""
    await asyncio.sleep(0.005)


async def test_reaction_events_and_update_at(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    post = await _post(http, {"channel_id": seed.channel_id, "message": "react to me"})
    stored = emulator.state.posts[post["id"]]
    body = {"user_id": seed.user_id, "post_id": post["id"], "emoji_name": "smile"}
    url = f"/api/v4/users/{seed.user_id}/posts/{post['id']}/reactions/smile"

    async with http.post("/api/v4/reactions", json=body) as resp:
        assert resp.status == 200
    after_first = stored.update_at
    assert after_first > post["update_at"]

    # A repeated add is an upsert: no error, the event again, the post bumped again.
    await _tick()
    async with http.post("/api/v4/reactions", json=body) as resp:
        assert resp.status == 200
    added = [json.loads(d["reaction"]) for d in _events(emulator, "reaction_added")]
    assert [(r["post_id"], r["emoji_name"]) for r in added] == [(post["id"], "smile")] * 2
    assert added[1]["create_at"] > added[0]["create_at"]
    assert stored.update_at > after_first
    async with http.get(f"/api/v4/posts/{post['id']}/reactions") as resp:
        assert len(await resp.json()) == 1

    # The removed reaction is built from the URL: create_at 0, no channel id.
    await _tick()
    before_remove = stored.update_at
    async with http.delete(url) as resp:
        assert (resp.status, await resp.json()) == (200, {"status": "OK"})
    removed = json.loads(_events(emulator, "reaction_removed")[-1]["reaction"])
    assert (removed["user_id"], removed["post_id"], removed["emoji_name"]) == (
        seed.user_id,
        post["id"],
        "smile",
    )
    assert removed["create_at"] == 0
    assert removed["channel_id"] == ""
    assert stored.update_at > before_remove
    assert not stored.has_reactions

    # Removing a reaction that is not there: still 200, still an event, still a bump.
    await _tick()
    before_missing = stored.update_at
    async with http.delete(url) as resp:
        assert (resp.status, await resp.json()) == (200, {"status": "OK"})
    assert len(_events(emulator, "reaction_removed")) == 2
    assert stored.update_at > before_missing

    # Reacting to (or un-reacting on) a deleted post is a 404.
    async with http.delete(f"/api/v4/posts/{post['id']}") as resp:
        assert resp.status == 200
    async with http.post("/api/v4/reactions", json=body) as resp:
        assert (resp.status, (await resp.json())["id"]) == (404, "app.post.get.app_error")
    async with http.delete(url) as resp:
        assert resp.status == 404


async def test_post_deleted_payload_and_admin_copy(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    root = await _post(http, {"channel_id": seed.channel_id, "message": "root"})
    reply = await _post(http, {"channel_id": seed.channel_id, "message": "re", "root_id": root["id"]})
    alice_ws, _ = await hello(client, seed.token)
    admin_ws, _ = await hello(client, seed.admin_token)
    emulator.events.clear()

    async with http.delete(f"/api/v4/posts/{root['id']}") as resp:
        assert resp.status == 200
    assert emulator.state.posts[reply["id"]].delete_at > 0

    # One deletion, for the root only: a sanitised copy and an admin copy with delete_by.
    events = emulator.events.of_type("post_deleted")
    assert len(events) == 2
    for event in events:
        payload = json.loads(event.data["post"])
        assert payload["id"] == root["id"]
        assert payload["delete_at"] == 0
        assert payload["message"] == "root"
        assert "deleteBy" not in payload["props"]
    sanitised, sensitive = events
    assert "delete_by" not in sanitised.data
    assert sensitive.data["delete_by"] == seed.user_id
    assert sanitised.broadcast.to_dict() == sensitive.broadcast.to_dict()

    # Over the socket each user gets exactly one of them.
    to_alice = await recv(alice_ws)
    assert to_alice["event"] == "post_deleted"
    assert "delete_by" not in to_alice["data"]
    await nothing(alice_ws)
    to_admin = await recv(admin_ws)
    assert to_admin["event"] == "post_deleted"
    assert to_admin["data"]["delete_by"] == seed.user_id
    assert json.loads(to_admin["data"]["post"])["id"] == root["id"]
    await nothing(admin_ws)
    await alice_ws.close()
    await admin_ws.close()


async def test_posts_since(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    channel = seed.channel_id
    http = client(seed.token)
    quiet = await _post(http, {"channel_id": channel, "message": "untouched"})
    edited = await _post(http, {"channel_id": channel, "message": "v1"})
    doomed = await _post(http, {"channel_id": channel, "message": "doomed"})
    root = await _post(http, {"channel_id": channel, "message": "root"})
    reply = await _post(http, {"channel_id": channel, "message": "reply", "root_id": root["id"]})
    since = max(p.update_at for p in emulator.state.posts.values() if p.channel_id == channel)
    await _tick()

    async with http.put(f"/api/v4/posts/{edited['id']}/patch", json={"message": "v2"}) as resp:
        assert resp.status == 200
    async with http.delete(f"/api/v4/posts/{doomed['id']}") as resp:
        assert resp.status == 200
    # A reaction on the reply bumps the reply, not its root.
    body = {"user_id": seed.user_id, "post_id": reply["id"], "emoji_name": "tada"}
    async with http.post("/api/v4/reactions", json=body) as resp:
        assert resp.status == 200
    assert emulator.state.posts[root["id"]].update_at <= since

    page = await _since(http, channel, since)
    posts, order = page["posts"], page["order"]
    history = [p for p in posts.values() if p["original_id"]]
    assert len(history) == 1
    old = history[0]
    assert old["original_id"] == edited["id"]
    assert old["id"] != edited["id"]
    assert old["message"] == "v1"
    assert old["delete_at"] > 0
    assert old["update_at"] == posts[edited["id"]]["update_at"]
    assert posts[edited["id"]]["message"] == "v2"
    assert posts[doomed["id"]]["delete_at"] > 0
    assert posts[doomed["id"]]["message"] == "doomed"
    # The root of a changed reply comes along, outside ``order``.
    assert root["id"] in posts
    assert root["id"] not in order
    assert set(order) == {edited["id"], old["id"], doomed["id"], reply["id"]}
    assert quiet["id"] not in posts
    create_ats = [posts[i]["create_at"] for i in order]
    assert create_ats == sorted(create_ats, reverse=True)
    assert (page["next_post_id"], page["prev_post_id"]) == ("", "")

    # Strictly greater: a post whose update_at equals ``since`` is not returned.
    latest = max(p["update_at"] for p in posts.values())
    assert (await _since(http, channel, latest))["order"] == []

    # The history row is nowhere else: not a post, not in pages or threads.
    async with http.get(f"/api/v4/posts/{old['id']}") as resp:
        assert resp.status == 404
    async with http.get(f"/api/v4/channels/{channel}/posts", params={"per_page": "200"}) as resp:
        listed = await resp.json()
    assert old["id"] not in listed["posts"]
    assert all(not p["original_id"] for p in listed["posts"].values())
    async with http.get(f"/api/v4/channels/{channel}/posts", params={"before": reply["id"]}) as resp:
        assert old["id"] not in (await resp.json())["posts"]
    async with http.get(f"/api/v4/posts/{edited['id']}/thread") as resp:
        assert list((await resp.json())["posts"]) == [edited["id"]]


async def test_every_update_keeps_a_history_row(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    post = await _post(http, {"channel_id": seed.channel_id, "message": "pin me"})
    since = post["update_at"]
    await _tick()
    async with http.put(f"/api/v4/posts/{post['id']}/patch", json={"is_pinned": True}) as resp:
        assert (await resp.json())["edit_at"] == 0
    async with http.put(f"/api/v4/posts/{post['id']}/patch", json={"message": "edited"}) as resp:
        assert resp.status == 200
    page = await _since(http, seed.channel_id, since)
    history = sorted(
        (p for p in page["posts"].values() if p["original_id"] == post["id"]),
        key=lambda p: p["update_at"],
    )
    assert [(p["message"], p["is_pinned"]) for p in history] == [("pin me", False), ("pin me", True)]


async def test_posts_since_caps_at_1000(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    state = emulator.state
    base = max(p.update_at for p in state.posts.values())
    for i in range(1010):
        at = base + 1 + i
        state.save_post(
            Post(
                id=state.ids.new_id(),
                channel_id=seed.channel_id,
                user_id=seed.user_id,
                create_at=at,
                update_at=at,
                message=f"bulk {i}",
            ),
            sender=None,
        )
    page = await _since(client(seed.token), seed.channel_id, base)
    assert len(page["order"]) == len(page["posts"]) == 1000
    assert (page["next_post_id"], page["prev_post_id"]) == ("", "")
    # Which 1000 is the server's choice (no ORDER BY); the emulator keeps those updated first.
    messages = {p["message"] for p in page["posts"].values()}
    assert messages == {f"bulk {i}" for i in range(1000)}
    create_ats = [page["posts"][i]["create_at"] for i in page["order"]]
    assert create_ats == sorted(create_ats, reverse=True)


async def test_pending_post_id_of_a_deleted_post(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    body = {"channel_id": seed.channel_id, "message": "once", "pending_post_id": "p:gone"}
    post = await _post(http, body)
    async with http.delete(f"/api/v4/posts/{post['id']}") as resp:
        assert resp.status == 200
    for _ in range(2):  # the cache entry stays: the retry fails the same way
        async with http.post("/api/v4/posts", json=body) as resp:
            assert resp.status == 500
            assert (await resp.json())["id"] == "api.post.deduplicate_create_post.failed_to_get"
    assert [p.id for p in emulator.state.posts.values() if p.message == "once"] == [post["id"]]


async def test_editing_a_reply_bumps_its_root(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    root = await _post(http, {"channel_id": seed.channel_id, "message": "root"})
    reply = await _post(http, {"channel_id": seed.channel_id, "message": "re", "root_id": root["id"]})
    async with http.get(f"/api/v4/posts/{root['id']}") as resp:
        root_before = (await resp.json())["update_at"]
    await _tick()
    async with http.put(f"/api/v4/posts/{reply['id']}/patch", json={"message": "re2"}) as resp:
        edited = await resp.json()
    async with http.get(f"/api/v4/posts/{root['id']}") as resp:
        root_after = (await resp.json())["update_at"]
    assert root_after > root_before
    assert root_after >= edited["update_at"]
    page = await _since(http, seed.channel_id, root_before)
    assert root["id"] in page["order"]
