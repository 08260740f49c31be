"""Post operations beyond create/read/edit: ephemeral, by ids, files, pins, search, flagged,
unread state, reminders, and the unlicensed/unconfigured answers (ack, move, rewrite)."""

from __future__ import annotations

import json
from typing import Any

from mmbridge.testing.emulator import Emulator

from .conftest import ClientFactory

PERM = "api.context.permissions.app_error"


async def _post(http: Any, channel_id: str, message: str, **extra: Any) -> dict[str, Any]:
    async with http.post(
        "/api/v4/posts", json={"channel_id": channel_id, "message": message, **extra}
    ) as resp:
        assert resp.status == 201, await resp.text()
        data: dict[str, Any] = await resp.json()
        return data


async def _call(http: Any, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with http.request(method, path, **kwargs) as resp:
        return resp.status, await resp.json()


# -- ephemeral -------------------------------------------------------------------------------


async def test_ephemeral_post_goes_to_one_user_and_is_not_stored(
    emulator: Emulator, client: ClientFactory
) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    before = len(emulator.state.posts)
    body = {"user_id": seed.user_id, "post": {"channel_id": seed.channel_id, "message": "only you"}}
    status, post = await _call(admin, "POST", "/api/v4/posts/ephemeral", json=body)
    assert status == 201
    assert post["type"] == "system_ephemeral"
    assert post["message"] == "only you"
    assert post["user_id"] == seed.admin_user_id
    assert len(emulator.state.posts) == before
    event = emulator.events.of_type("ephemeral_message")[-1]
    assert event.broadcast.user_id == seed.user_id
    assert json.loads(event.data["post"])["message"] == "only you"


async def test_ephemeral_post_needs_admin_and_a_user(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    body = {"user_id": seed.admin_user_id, "post": {"channel_id": seed.channel_id, "message": "x"}}
    status, error = await _call(client(seed.token), "POST", "/api/v4/posts/ephemeral", json=body)
    assert (status, error["id"]) == (403, PERM)
    status, error = await _call(
        client(seed.admin_token), "POST", "/api/v4/posts/ephemeral", json={"post": body["post"]}
    )
    assert (status, error["id"]) == (400, "api.context.invalid_body_param.app_error")
    assert not emulator.events.of_type("ephemeral_message")


# -- by ids, files -----------------------------------------------------------------------------


async def test_posts_by_ids_skips_unreadable_and_missing(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    first = await _post(alice, seed.channel_id, "one")
    second = await _post(alice, seed.channel_id, "two")
    admin = client(seed.admin_token)
    async with admin.post(
        "/api/v4/channels",
        json={"team_id": seed.team_id, "name": "secret", "display_name": "Secret", "type": "P"},
    ) as resp:
        secret = (await resp.json())["id"]
    hidden = await _post(admin, secret, "hidden")
    ids = [first["id"], hidden["id"], second["id"], "x" * 26]
    status, posts = await _call(alice, "POST", "/api/v4/posts/ids", json=ids)
    assert status == 200
    assert [p["id"] for p in posts] == [second["id"], first["id"]]
    status, error = await _call(alice, "POST", "/api/v4/posts/ids", json=["y" * 26])
    assert (status, error["id"]) == (404, "app.post.get.app_error")


async def test_posts_by_ids_bad_bodies(emulator: Emulator, client: ClientFactory) -> None:
    alice = client(emulator.seed.token)
    status, error = await _call(alice, "POST", "/api/v4/posts/ids", json=[])
    assert (status, error["id"]) == (400, "api.context.invalid_body_param.app_error")
    status, error = await _call(alice, "POST", "/api/v4/posts/ids", json={"a": 1})
    assert (status, error["id"]) == (400, "api.payload.parse.error")
    status, error = await _call(alice, "POST", "/api/v4/posts/ids", json=[f"{i:026d}" for i in range(1001)])
    assert (status, error["id"]) == (400, "api.post.posts_by_ids.invalid_body.request_error")


async def test_file_infos_for_post(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    async with alice.post(
        "/api/v4/files", params={"channel_id": seed.channel_id, "filename": "a.txt"}, data=b"hello"
    ) as resp:
        assert resp.status == 201, await resp.text()
        file_id = (await resp.json())["file_infos"][0]["id"]
    post = await _post(alice, seed.channel_id, "with file", file_ids=[file_id])
    status, infos = await _call(alice, "GET", f"/api/v4/posts/{post['id']}/files/info")
    assert status == 200
    assert [(i["id"], i["post_id"], i["size"]) for i in infos] == [(file_id, post["id"], 5)]
    outsider = client(emulator.create_user("outsider")[1])
    status, error = await _call(outsider, "GET", f"/api/v4/posts/{post['id']}/files/info")
    assert (status, error["id"]) == (403, PERM)
    status, error = await _call(alice, "GET", f"/api/v4/posts/{post['id']}/files/info?include_deleted=true")
    assert (status, error["id"]) == (403, PERM)
    status, error = await _call(alice, "GET", "/api/v4/posts/nope/files/info")
    assert (status, error["id"]) == (400, "api.context.invalid_url_param.app_error")


# -- pin -------------------------------------------------------------------------------------


async def test_pin_and_unpin(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    post = await _post(alice, seed.channel_id, "pin me")
    status, body = await _call(client(seed.admin_token), "POST", f"/api/v4/posts/{post['id']}/pin")
    assert (status, body) == (200, {"status": "OK"})
    assert emulator.state.posts[post["id"]].is_pinned
    event = emulator.events.of_type("post_edited")[-1]
    edited = json.loads(event.data["post"])
    assert (edited["id"], edited["is_pinned"], edited["edit_at"]) == (post["id"], True, 0)
    assert edited["update_at"] > post["update_at"]
    assert event.broadcast.channel_id == seed.channel_id
    status, pinned = await _call(alice, "GET", f"/api/v4/channels/{seed.channel_id}/pinned")
    assert (status, pinned["order"]) == (200, [post["id"]])
    status, _ = await _call(alice, "POST", f"/api/v4/posts/{post['id']}/unpin")
    assert status == 200
    assert not emulator.state.posts[post["id"]].is_pinned


async def test_pin_refused(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    post = await _post(client(seed.token), seed.channel_id, "mine")
    outsider = client(emulator.create_user("outsider")[1])
    status, error = await _call(outsider, "POST", f"/api/v4/posts/{post['id']}/pin")
    assert (status, error["id"]) == (403, PERM)
    status, error = await _call(outsider, "POST", f"/api/v4/posts/{'z' * 26}/pin")
    assert (status, error["id"]) == (403, PERM)
    status, error = await _call(outsider, "POST", "/api/v4/posts/bad/pin")
    assert (status, error["id"]) == (400, "api.context.invalid_url_param.app_error")
    assert not emulator.state.posts[post["id"]].is_pinned


# -- search ----------------------------------------------------------------------------------


async def _search(http: Any, team_id: str, terms: str, **extra: Any) -> tuple[int, Any]:
    body = {"terms": terms, "is_or_search": False, **extra}
    return await _call(http, "POST", f"/api/v4/teams/{team_id}/posts/search", json=body)


async def test_search_terms_phrases_and_flags(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    admin = client(seed.admin_token)
    apple = await _post(alice, seed.channel_id, "Apple pie recipe")
    banana = await _post(admin, seed.channel_id, "banana bread and apple juice")
    cherry = await _post(alice, seed.channel_id, "cherry #fruit tart")

    async def hits(terms: str, **extra: Any) -> list[str]:
        status, result = await _search(alice, seed.team_id, terms, **extra)
        assert status == 200, result
        assert set(result["posts"]) == set(result["order"])
        return list(result["order"])

    assert await hits("apple") == [banana["id"], apple["id"]]
    assert await hits("app*") == [banana["id"], apple["id"]]
    assert await hits("apple pie") == [apple["id"]]
    assert await hits("apple cherry", is_or_search=True) == [cherry["id"], banana["id"], apple["id"]]
    assert await hits('"bread and apple"') == [banana["id"]]
    assert await hits("apple -pie") == [banana["id"]]
    assert await hits("apple from:alice") == [apple["id"]]
    assert await hits("apple -from:alice") == [banana["id"]]
    assert await hits(f"in:{seed.channel_name} #fruit") == [cherry["id"]]
    assert await hits("apple in:off-topic") == []
    assert await hits("apple before:2000-01-01") == []
    assert await hits("apple after:2000-01-01", per_page=1) == [banana["id"], apple["id"]]
    assert await hits("apple", page=1) == []


async def test_search_only_member_channels(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    await _post(client(seed.token), seed.channel_id, "needle")
    _, token = emulator.create_user("outsider")
    status, result = await _search(client(token), seed.team_id, "needle")
    assert (status, result["order"], result["matches"]) == (200, [], None)


async def test_search_refused_and_bad_input(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    admin = client(seed.admin_token)
    async with admin.post(
        "/api/v4/teams", json={"name": "other-team", "display_name": "Other", "type": "O"}
    ) as resp:
        other = (await resp.json())["id"]
    status, error = await _search(alice, other, "x")
    assert (status, error["id"]) == (403, PERM)
    status, error = await _search(alice, seed.team_id, "")
    assert (status, error["id"]) == (400, "api.context.invalid_body_param.app_error")
    status, error = await _call(
        alice, "POST", f"/api/v4/teams/{seed.team_id}/posts/search", json={"terms": 5}
    )
    assert (status, error["id"]) == (400, "api.post.search_posts.invalid_body.app_error")


# -- flagged ---------------------------------------------------------------------------------


async def test_flagged_posts(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    first = await _post(alice, seed.channel_id, "flag one")
    second = await _post(alice, seed.channel_id, "flag two")
    await _post(alice, seed.channel_id, "not flagged")
    prefs = [
        {"user_id": seed.user_id, "category": "flagged_post", "name": p["id"], "value": "true"}
        for p in (first, second)
    ]
    async with alice.put(f"/api/v4/users/{seed.user_id}/preferences", json=prefs) as resp:
        assert resp.status == 200, await resp.text()
    status, result = await _call(alice, "GET", "/api/v4/users/me/posts/flagged")
    assert status == 200
    assert result["order"] == [second["id"], first["id"]]
    status, result = await _call(
        alice, "GET", f"/api/v4/users/me/posts/flagged?channel_id={seed.channel_id}&per_page=1"
    )
    assert result["order"] == [second["id"]]
    status, result = await _call(alice, "GET", f"/api/v4/users/me/posts/flagged?team_id={'q' * 26}")
    assert result["order"] == []
    status, error = await _call(client(seed.bot_token), "GET", f"/api/v4/users/{seed.user_id}/posts/flagged")
    assert (status, error["id"]) == (403, PERM)


# -- unread ----------------------------------------------------------------------------------


async def test_set_unread_moves_the_member_and_tells_the_user(
    emulator: Emulator, client: ClientFactory
) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    base = emulator.state.channels[seed.channel_id].last_post_at + 1
    first = await _post(admin, seed.channel_id, "first", create_at=base)
    await _post(admin, seed.channel_id, "hi @alice", create_at=base + 1)
    member = emulator.state.channel_members[(seed.channel_id, seed.user_id)]
    total = emulator.state.channels[seed.channel_id].total_msg_count
    alice = client(seed.token)
    status, unread = await _call(
        alice, "POST", f"/api/v4/users/{seed.user_id}/posts/{first['id']}/set_unread"
    )
    assert status == 200
    assert unread["last_viewed_at"] == first["create_at"] - 1 == member.last_viewed_at
    assert unread["msg_count"] == total - 2 == member.msg_count
    assert unread["mention_count"] == 1
    event = emulator.events.of_type("post_unread")[-1]
    assert event.broadcast.user_id == seed.user_id
    assert (event.data["post_id"], event.data["mention_count"]) == (first["id"], 1)


async def test_set_unread_refused(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    post = await _post(client(seed.admin_token), seed.channel_id, "x")
    status, error = await _call(
        client(seed.bot_token), "POST", f"/api/v4/users/{seed.user_id}/posts/{post['id']}/set_unread"
    )
    assert (status, error["id"]) == (403, PERM)
    status, error = await _call(client(seed.token), "POST", f"/api/v4/users/me/posts/{'z' * 26}/set_unread")
    assert (status, error["id"]) == (403, PERM)
    assert not emulator.events.of_type("post_unread")


async def test_posts_around_last_unread(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    # Backdated a millisecond apart (a sysadmin may set create_at), so the order is exact.
    base = emulator.state.channels[seed.channel_id].last_post_at + 1
    posts = [await _post(admin, seed.channel_id, f"m{i}", create_at=base + i) for i in range(5)]
    alice = client(seed.token)
    await _call(alice, "POST", f"/api/v4/users/me/posts/{posts[2]['id']}/set_unread")
    status, result = await _call(
        alice,
        "GET",
        f"/api/v4/users/me/channels/{seed.channel_id}/posts/unread?limit_before=1&limit_after=2",
    )
    assert status == 200
    assert result["order"] == [posts[3]["id"], posts[2]["id"], posts[1]["id"]]
    assert result["next_post_id"] == posts[4]["id"]
    assert result["prev_post_id"] == posts[0]["id"]
    status, error = await _call(
        alice, "GET", f"/api/v4/users/me/channels/{seed.channel_id}/posts/unread?limit_after=0"
    )
    assert (status, error["id"]) == (400, "api.context.invalid_url_param.app_error")
    status, error = await _call(
        client(seed.bot_token), "GET", f"/api/v4/users/{seed.user_id}/channels/{seed.channel_id}/posts/unread"
    )
    assert (status, error["id"]) == (403, PERM)


# -- reminder, ack, move, restore, rewrite ---------------------------------------------------


async def test_post_reminder(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    post = await _post(client(seed.admin_token), seed.channel_id, "remind")
    alice = client(seed.token)
    path = f"/api/v4/users/me/posts/{post['id']}/reminder"
    status, body = await _call(alice, "POST", path, json={"target_time": 1_900_000_000})
    assert (status, body) == (200, {"status": "OK"})
    assert emulator.state.post_reminders[(seed.user_id, post["id"])] == 1_900_000_000
    event = emulator.events.of_type("ephemeral_message")[-1]
    assert event.broadcast.user_id == seed.user_id
    notice = json.loads(event.data["post"])
    assert notice["root_id"] == post["id"]
    assert notice["message"].endswith(
        f"/{seed.team_name}/pl/{post['id']} by @sysadmin at 17 Mar 30 17:46 UTC"
    )
    status, error = await _call(alice, "POST", path, json={"target_time": "soon"})
    assert (status, error["id"]) == (400, "api.context.invalid_body_param.app_error")
    outsider = client(emulator.create_user("outsider")[1])
    status, error = await _call(outsider, "POST", f"/api/v4/users/me/posts/{post['id']}/reminder", json={})
    assert (status, error["id"]) == (403, PERM)
    assert len(emulator.state.post_reminders) == 1


async def test_acknowledgements_need_a_license(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    post = await _post(client(seed.admin_token), seed.channel_id, "ack?")
    alice = client(seed.token)
    status, error = await _call(alice, "POST", f"/api/v4/users/me/posts/{post['id']}/ack")
    assert (status, error["id"]) == (501, "<untranslated>")
    status, error = await _call(alice, "DELETE", f"/api/v4/users/me/posts/{post['id']}/ack")
    assert (status, error["id"]) == (501, "license_error.feature_unavailable")
    assert not emulator.events.of_type("post_acknowledgement_added")


async def test_move_thread_is_disabled(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    post = await _post(client(seed.token), seed.channel_id, "move me")
    status, error = await _call(
        client(seed.admin_token),
        "POST",
        f"/api/v4/posts/{post['id']}/move",
        json={"channel_id": seed.channel_id},
    )
    assert (status, error["id"]) == (501, "api.post.move_thread.disabled.app_error")
    assert emulator.state.posts[post["id"]].channel_id == seed.channel_id


async def test_restore_post_version(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    post = await _post(alice, seed.channel_id, "version one")
    async with alice.put(f"/api/v4/posts/{post['id']}/patch", json={"message": "version two"}) as resp:
        assert resp.status == 200
    (old_id,) = [v.id for v in emulator.state.post_history.values() if v.original_id == post["id"]]
    status, error = await _call(
        client(seed.admin_token), "POST", f"/api/v4/posts/{post['id']}/restore/{old_id}"
    )
    assert (status, error["id"]) == (403, PERM)
    other = await _post(alice, seed.channel_id, "other")
    status, error = await _call(alice, "POST", f"/api/v4/posts/{other['id']}/restore/{old_id}")
    assert (status, error["id"]) == (400, "app.post.restore_post_version.not_an_history_item.app_error")
    assert emulator.state.posts[post["id"]].message == "version two"
    status, restored = await _call(alice, "POST", f"/api/v4/posts/{post['id']}/restore/{old_id}")
    assert status == 200
    assert (restored["id"], restored["message"]) == (post["id"], "version one")
    assert restored["edit_at"] > 0
    event = emulator.events.of_type("post_edited")[-1]
    assert json.loads(event.data["post"])["message"] == "version one"


async def test_rewrite_without_ai_plugin(emulator: Emulator, client: ClientFactory) -> None:
    alice = client(emulator.seed.token)
    body = {"agent_id": "a" * 26, "message": "hello", "action": "shorten"}
    status, error = await _call(alice, "POST", "/api/v4/posts/rewrite", json=body)
    assert (status, error["id"]) == (500, "app.ai.rewrite.agent_call_failed")
    status, error = await _call(alice, "POST", "/api/v4/posts/rewrite", json={**body, "action": "rhyme"})
    assert (status, error["id"]) == (400, "app.ai.rewrite.invalid_action")
    status, error = await _call(alice, "POST", "/api/v4/posts/rewrite", json={**body, "agent_id": "x"})
    assert (status, error["id"]) == (400, "api.context.invalid_body_param.app_error")
