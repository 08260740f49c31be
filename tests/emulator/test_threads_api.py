"""Collapsed reply threads: auto-follow on replies and mentions, the thread lists and counts,
read state, following, and their events."""

from __future__ import annotations

import json
from typing import Any

from mmbridge.testing.emulator import Emulator

from .conftest import ClientFactory

PERM = "api.context.permissions.app_error"


async def _post(http: Any, channel_id: str, message: str, root_id: str = "") -> dict[str, Any]:
    body = {"channel_id": channel_id, "message": message, "root_id": root_id}
    async with http.post("/api/v4/posts", json=body) as resp:
        assert resp.status == 201, await resp.text()
        data: dict[str, Any] = await resp.json()
        return data


async def _call(http: Any, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with http.request(method, path, **kwargs) as resp:
        return resp.status, await resp.json()


def _threads_path(user: str, team_id: str) -> str:
    return f"/api/v4/users/{user}/teams/{team_id}/threads"


async def test_reply_makes_root_author_replier_and_mentioned_follow(
    emulator: Emulator, client: ClientFactory
) -> None:
    seed = emulator.seed
    alice, admin, bot = client(seed.token), client(seed.admin_token), client(seed.bot_token)
    root = await _post(alice, seed.channel_id, "a question")
    assert not emulator.state.thread_memberships
    emulator.events.clear()
    reply = await _post(admin, seed.channel_id, "answer for @bridgebot", root["id"])
    memberships = emulator.state.thread_memberships
    assert set(memberships) == {(u, root["id"]) for u in (seed.user_id, seed.admin_user_id, seed.bot_user_id)}
    assert memberships[(seed.bot_user_id, root["id"])].unread_mentions == 1
    assert memberships[(seed.admin_user_id, root["id"])].last_view_at == reply["create_at"]
    updated = {e.broadcast.user_id: e for e in emulator.events.of_type("thread_updated")}
    assert set(updated) == {seed.user_id, seed.admin_user_id, seed.bot_user_id}
    thread = json.loads(updated[seed.user_id].data["thread"])
    assert (thread["id"], thread["reply_count"], thread["unread_replies"]) == (root["id"], 1, 1)
    assert [p["username"] for p in thread["participants"]] == ["sysadmin"]
    assert updated[seed.user_id].broadcast.team_id == seed.team_id
    assert json.loads(updated[seed.bot_user_id].data["thread"])["unread_mentions"] == 1

    status, result = await _call(bot, "GET", _threads_path("me", seed.team_id))
    assert status == 200
    assert (result["total"], result["total_unread_threads"], result["total_unread_mentions"]) == (1, 1, 1)
    (listed,) = result["threads"]
    assert (listed["id"], listed["unread_replies"], listed["post"]["message"]) == (
        root["id"],
        1,
        "a question",
    )
    assert listed["participants"] == [{**listed["participants"][0], "id": seed.admin_user_id, "username": ""}]
    status, counts = await _call(bot, "GET", _threads_path("me", seed.team_id) + "/mention_counts")
    assert (status, counts) == (200, {seed.channel_id: 1})


async def test_thread_list_options(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice, admin = client(seed.token), client(seed.admin_token)
    roots = [await _post(alice, seed.channel_id, f"root {i}") for i in range(3)]
    for root in roots:
        await _post(admin, seed.channel_id, "reply", root["id"])
    path = _threads_path(seed.user_id, seed.team_id)

    async def ids(query: str) -> list[str]:
        status, result = await _call(alice, "GET", path + query)
        assert status == 200, result
        return [t["id"] for t in result["threads"]]

    newest_first = [r["id"] for r in reversed(roots)]
    assert await ids("") == newest_first
    assert await ids("?per_page=2") == newest_first[:2]
    assert await ids(f"?before={newest_first[0]}") == newest_first[1:]
    assert await ids(f"?after={newest_first[2]}") == newest_first[:2]
    status, result = await _call(alice, "GET", path + "?extended=true")
    assert result["threads"][0]["participants"][0]["username"] == "sysadmin"
    status, result = await _call(alice, "GET", path + "?totalsOnly=true")
    assert (result["total"], result["total_unread_threads"], result["threads"]) == (3, 3, None)
    status, result = await _call(alice, "GET", path + "?threadsOnly=true")
    assert (result["total"], len(result["threads"])) == (0, 3)
    status, error = await _call(alice, "GET", path + "?totalsOnly=true&threadsOnly=true")
    assert (status, error["id"]) == (400, "api.getThreadsForUser.bad_only_params")
    status, error = await _call(alice, "GET", path + f"?before={roots[0]['id']}&after={roots[1]['id']}")
    assert (status, error["id"]) == (400, "api.getThreadsForUser.bad_params")
    status, error = await _call(alice, "GET", path + "?since=yesterday")
    assert (status, error["id"]) == (400, "api.context.invalid_body_param.app_error")
    status, error = await _call(client(seed.bot_token), "GET", path)
    assert (status, error["id"]) == (403, PERM)


async def test_read_unread_and_read_all(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice, admin = client(seed.token), client(seed.admin_token)
    root = await _post(alice, seed.channel_id, "root")
    first = await _post(admin, seed.channel_id, "hey @alice", root["id"])
    second = await _post(admin, seed.channel_id, "more", root["id"])
    base = _threads_path("me", seed.team_id) + f"/{root['id']}"

    status, thread = await _call(alice, "PUT", f"{base}/read/{second['create_at']}")
    assert status == 200
    assert (thread["unread_replies"], thread["unread_mentions"]) == (0, 0)
    event = emulator.events.of_type("thread_read_changed")[-1]
    assert event.broadcast.user_id == seed.user_id
    assert (event.data["previous_unread_replies"], event.data["previous_unread_mentions"]) == (2, 1)
    assert event.data["channel_id"] == seed.channel_id

    status, thread = await _call(alice, "POST", f"{base}/set_unread/{first['id']}")
    assert status == 200
    assert (thread["unread_replies"], thread["unread_mentions"]) == (2, 1)
    assert thread["last_viewed_at"] == first["create_at"] - 1
    status, error = await _call(alice, "POST", f"{base}/set_unread/{'z' * 26}")
    assert (status, error["id"]) == (404, "app.post.get.app_error")
    other = await _post(alice, seed.channel_id, "elsewhere")
    status, error = await _call(alice, "POST", f"{base}/set_unread/{other['id']}")
    assert (status, error["id"]) == (400, "app.user.update_thread_read_for_user_by_post.app_error")
    status, error = await _call(alice, "PUT", f"{base}/read/soon")
    assert (status, error["id"]) == (400, "api.context.invalid_url_param.app_error")

    status, body = await _call(alice, "PUT", _threads_path("me", seed.team_id) + "/read")
    assert (status, body) == (200, {"status": "OK"})
    assert emulator.events.of_type("thread_read_changed")[-1].data == {}
    status, result = await _call(alice, "GET", _threads_path("me", seed.team_id) + "?unread=true")
    assert (result["total"], result["threads"]) == (0, [])


async def test_follow_and_unfollow(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice, admin = client(seed.token), client(seed.admin_token)
    root = await _post(admin, seed.channel_id, "root")
    await _post(admin, seed.channel_id, "reply", root["id"])
    path = _threads_path(seed.user_id, seed.team_id) + f"/{root['id']}"
    status, error = await _call(alice, "GET", path)
    assert (status, error["id"]) == (404, "app.user.get_thread_membership_for_user.not_found")

    status, body = await _call(alice, "PUT", path + "/following")
    assert (status, body) == (200, {"status": "OK"})
    event = emulator.events.of_type("thread_follow_changed")[-1]
    assert event.data == {"thread_id": root["id"], "state": True, "reply_count": 1}
    assert event.broadcast.user_id == seed.user_id
    status, thread = await _call(alice, "GET", path)
    assert (status, thread["id"], thread["unread_replies"]) == (200, root["id"], 0)

    status, _ = await _call(alice, "DELETE", path + "/following")
    assert status == 200
    assert emulator.events.of_type("thread_follow_changed")[-1].data["state"] is False
    status, result = await _call(alice, "GET", _threads_path("me", seed.team_id))
    assert result["threads"] == []
    # An unfollowed thread stays unfollowed on new replies, unless the user is mentioned.
    await _post(admin, seed.channel_id, "again", root["id"])
    assert not emulator.state.thread_memberships[(seed.user_id, root["id"])].following
    await _post(admin, seed.channel_id, "@alice look", root["id"])
    assert emulator.state.thread_memberships[(seed.user_id, root["id"])].following

    outsider = client(emulator.create_user("outsider")[1])
    status, error = await _call(
        outsider, "PUT", _threads_path("me", seed.team_id) + f"/{root['id']}/following"
    )
    assert (status, error["id"]) == (403, PERM)
    status, error = await _call(outsider, "PUT", path + "/following")
    assert (status, error["id"]) == (403, PERM)
    status, error = await _call(alice, "PUT", _threads_path("me", seed.team_id) + "/bad/following")
    assert (status, error["id"]) == (400, "api.context.invalid_url_param.app_error")


async def test_dm_reply_is_a_mention_and_root_mentions_follow(
    emulator: Emulator, client: ClientFactory
) -> None:
    seed = emulator.seed
    alice, admin = client(seed.token), client(seed.admin_token)
    async with alice.post("/api/v4/channels/direct", json=[seed.user_id, seed.admin_user_id]) as resp:
        assert resp.status == 201, await resp.text()
        dm = (await resp.json())["id"]
    root = await _post(alice, dm, "private question")
    await _post(alice, dm, "bump", root["id"])
    admin_thread = emulator.state.thread_memberships[(seed.admin_user_id, root["id"])]
    assert (admin_thread.following, admin_thread.unread_mentions) == (True, 1)
    status, result = await _call(admin, "GET", _threads_path("me", seed.team_id))
    assert (status, [t["id"] for t in result["threads"]]) == (200, [root["id"]])

    asked = await _post(alice, seed.channel_id, "@bridgebot what do you think?")
    await _post(admin, seed.channel_id, "a reply", asked["id"])
    bot_thread = emulator.state.thread_memberships[(seed.bot_user_id, asked["id"])]
    assert (bot_thread.following, bot_thread.unread_mentions) == (True, 0)
