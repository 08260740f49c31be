"""Teams, channels, DMs/GMs and membership system posts."""

from __future__ import annotations

import hashlib

from mmbridge.testing.emulator import Emulator

from .conftest import ClientFactory


def _last_post_type(emulator: Emulator, channel_id: str) -> tuple[str, dict[str, object]]:
    posts = [p for p in emulator.state.posts.values() if p.channel_id == channel_id]
    last = max(posts, key=lambda p: p.seq)
    return last.type, last.props


async def test_direct_channel_naming_and_idempotence(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    pair = [seed.user_id, seed.bot_user_id]
    async with http.post("/api/v4/channels/direct", json=pair) as resp:
        assert resp.status == 201
        first = await resp.json()
    assert first["name"] == "__".join(sorted(pair))
    assert first["type"] == "D"
    async with http.post("/api/v4/channels/direct", json=list(reversed(pair))) as resp:
        assert resp.status == 201
        assert (await resp.json())["id"] == first["id"]
    assert len(emulator.events.of_type("direct_added")) == 1


async def test_group_channel(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    ids = [seed.user_id, seed.bot_user_id, seed.admin_user_id]
    async with http.post("/api/v4/channels/group", json=ids) as resp:
        assert resp.status == 201
        channel = await resp.json()
    assert channel["name"] == hashlib.sha1("".join(sorted(ids)).encode(), usedforsecurity=False).hexdigest()
    async with http.post("/api/v4/channels/group", json=ids[:2]) as resp:
        assert resp.status == 400
    async with http.post(f"/api/v4/channels/{channel['id']}/members", json={"user_id": seed.user_id}) as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == "api.channel.add_user_to_channel.type.app_error"


async def test_create_channel_and_membership_posts(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    body = {"team_id": seed.team_id, "name": "new-room", "display_name": "New", "type": "O"}
    async with alice.post("/api/v4/channels", json=body) as resp:
        assert resp.status == 201
        channel = await resp.json()
    async with alice.post("/api/v4/channels", json=body) as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == "store.sql_channel.save_channel.exists.app_error"
    async with alice.post("/api/v4/channels", json={**body, "name": "Bad Name"}) as resp:
        assert resp.status == 400
    cid = channel["id"]
    async with alice.get(f"/api/v4/channels/{cid}/members/{seed.user_id}") as resp:
        assert resp.status == 200
    # Self-join of an open channel -> system_join_channel.
    async with client(seed.bot_token).post(
        f"/api/v4/channels/{cid}/members", json={"user_id": seed.bot_user_id}
    ) as resp:
        assert resp.status == 201
    assert _last_post_type(emulator, cid) == ("system_join_channel", {"username": "bridgebot"})
    # Added by someone else -> system_add_to_channel.
    async with alice.post(f"/api/v4/channels/{cid}/members", json={"user_id": seed.admin_user_id}) as resp:
        assert resp.status == 201
    kind, props = _last_post_type(emulator, cid)
    assert kind == "system_add_to_channel"
    assert props["addedUserId"] == seed.admin_user_id
    # Adding an existing member is fine and writes nothing.
    count = len(emulator.state.posts)
    async with alice.post(f"/api/v4/channels/{cid}/members", json={"user_ids": [seed.admin_user_id]}) as resp:
        assert resp.status == 201
        assert isinstance(await resp.json(), list)
    assert len(emulator.state.posts) == count
    # Not on the team -> refused.
    outsider = emulator.state.add_user("outsider", "o@example.com")
    async with alice.post(f"/api/v4/channels/{cid}/members", json={"user_id": outsider.id}) as resp:
        assert resp.status == 403
    async with alice.delete(f"/api/v4/channels/{cid}/members/{seed.bot_user_id}") as resp:
        assert resp.status == 200
    assert _last_post_type(emulator, cid)[0] == "system_remove_from_channel"
    async with alice.delete(f"/api/v4/channels/{cid}/members/{seed.user_id}") as resp:
        assert resp.status == 200
    assert _last_post_type(emulator, cid)[0] == "system_leave_channel"
    async with alice.get(f"/api/v4/channels/{cid}/members", params={"per_page": "1"}) as resp:
        assert len(await resp.json()) == 1


async def test_patch_search_and_delete_channel(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(seed.token)
    cid = seed.channel_id
    async with http.put(f"/api/v4/channels/{cid}/patch", json={"header": "hello"}) as resp:
        assert (await resp.json())["header"] == "hello"
    kind, props = _last_post_type(emulator, cid)
    assert kind == "system_header_change"
    assert props["new_header"] == "hello"
    search = {"term": "bridge"}
    async with http.post(f"/api/v4/teams/{seed.team_id}/channels/search", json=search) as resp:
        assert [c["id"] for c in await resp.json()] == [cid]
    async with http.get(f"/api/v4/teams/{seed.team_id}/channels/name/bridge-test") as resp:
        assert (await resp.json())["id"] == cid
    async with http.delete(f"/api/v4/channels/{cid}") as resp:
        assert resp.status == 200
    async with http.get(f"/api/v4/channels/{cid}") as resp:
        assert (await resp.json())["delete_at"] > 0
    async with http.post("/api/v4/posts", json={"channel_id": cid, "message": "x"}) as resp:
        assert resp.status == 400
    async with http.get("/api/v4/channels/" + "c" * 26) as resp:
        assert resp.status == 404
        assert (await resp.json())["id"] == "app.channel.get.existing.app_error"


async def test_teams(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    async with admin.post("/api/v4/teams", json={"name": "t2", "display_name": "T2", "type": "I"}) as resp:
        assert resp.status == 201
        team = await resp.json()
    town = emulator.state.channel_by_name(team["id"], "town-square")
    assert town is not None
    assert emulator.state.channel_by_name(team["id"], "off-topic")
    body = {"team_id": team["id"], "user_id": seed.user_id}
    async with client(seed.token).post(f"/api/v4/teams/{team['id']}/members", json=body) as resp:
        assert resp.status == 403  # invite-only team, not a team admin
    async with admin.post(f"/api/v4/teams/{team['id']}/members", json=body) as resp:
        assert resp.status == 201
        assert (await resp.json())["user_id"] == seed.user_id
    assert _last_post_type(emulator, town.id)[0] == "system_add_to_team"
    assert emulator.state.is_channel_member(town.id, seed.user_id)
    async with admin.get(f"/api/v4/teams/{team['id']}/members") as resp:
        assert len(await resp.json()) == 2
    async with admin.get(f"/api/v4/teams/{team['id']}/members/{seed.user_id}") as resp:
        assert resp.status == 200
    async with admin.get("/api/v4/teams/name/t2") as resp:
        assert (await resp.json())["id"] == team["id"]
    async with admin.delete(f"/api/v4/teams/{team['id']}/members/{seed.user_id}") as resp:
        assert resp.status == 200
    assert not emulator.state.is_channel_member(town.id, seed.user_id)
    async with admin.get("/api/v4/teams/" + "t" * 26) as resp:
        assert (await resp.json())["id"] == "app.team.get.find.app_error"


async def test_max_users_per_team(emulator: Emulator, client: ClientFactory) -> None:
    emulator.settings.max_users_per_team = 3
    user = emulator.state.add_user("extra", "extra@example.com")
    body = {"team_id": emulator.seed.team_id, "user_id": user.id}
    async with client(emulator.seed.admin_token).post(
        f"/api/v4/teams/{emulator.seed.team_id}/members", json=body
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == "app.team.join_user_to_team.max_accounts.app_error"
