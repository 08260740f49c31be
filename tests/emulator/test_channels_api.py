"""Channel operations: lists, searches, updates, privacy, restore, move, stats, members, views."""

from __future__ import annotations

from typing import Any

from mmbridge.testing.emulator import Emulator

from .conftest import ClientFactory

PERMISSION = "api.context.permissions.app_error"
BAD_BODY = "api.context.invalid_body_param.app_error"


async def _call(http: Any, method: str, path: str, body: Any = None, *, status: int = 200) -> Any:
    async with http.request(method, path, json=body) as resp:
        data = await resp.json()
        assert resp.status == status, data
        return data


async def _new_channel(emulator: Emulator, client: ClientFactory, name: str, kind: str = "O") -> str:
    seed = emulator.seed
    body = {"team_id": seed.team_id, "name": name, "display_name": name.title(), "type": kind}
    return str((await _call(client(seed.token), "POST", "/api/v4/channels", body, status=201))["id"])


def _last_post(emulator: Emulator, channel_id: str) -> Any:
    posts = [p for p in emulator.state.posts.values() if p.channel_id == channel_id]
    return max(posts, key=lambda p: p.seq)


async def test_all_channels_and_search_need_system_admin(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    await _new_channel(emulator, client, "secret-room", "P")
    admin = client(seed.admin_token)
    listed = await _call(admin, "GET", "/api/v4/channels?exclude_default_channels=true")
    names = {c["name"] for c in listed}
    assert {"bridge-test", "secret-room"} <= names
    assert "town-square" not in names
    assert all(c["team_name"] == seed.team_name for c in listed)
    counted = await _call(admin, "GET", "/api/v4/channels?include_total_count=true&per_page=1")
    assert len(counted["channels"]) == 1
    assert counted["total_count"] >= 4
    found = await _call(admin, "POST", "/api/v4/channels/search", {"term": "secret", "private": True})
    assert [c["name"] for c in found] == ["secret-room"]
    paged = await _call(admin, "POST", "/api/v4/channels/search", {"term": "", "page": 0, "per_page": 2})
    assert len(paged["channels"]) == 2
    assert paged["total_count"] >= 4
    alice = client(seed.token)
    assert (await _call(alice, "GET", "/api/v4/channels", status=403))["id"] == PERMISSION
    assert (await _call(alice, "POST", "/api/v4/channels/search", {"term": "x"}, status=403))[
        "id"
    ] == PERMISSION
    bad = await _call(admin, "POST", "/api/v4/channels/search", {"term": 3}, status=400)
    assert bad["id"] == BAD_BODY
    # Outside the system console a user searches the channels they may see.
    mine = await _call(alice, "POST", "/api/v4/channels/search?system_console=false", {"term": "bridge"})
    assert [c["name"] for c in mine] == ["bridge-test"]


async def test_group_search(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    carol, _ = emulator.create_user("carol")
    alice = client(seed.token)
    gm = await _call(alice, "POST", "/api/v4/channels/group", [seed.bot_user_id, carol], status=201)
    found = await _call(alice, "POST", "/api/v4/channels/group/search", {"term": "car"})
    assert [c["id"] for c in found] == [gm["id"]]
    assert await _call(alice, "POST", "/api/v4/channels/group/search", {"term": "zed"}) == []
    assert (await _call(alice, "POST", "/api/v4/channels/group/search", [], status=400))["id"] == BAD_BODY


async def test_team_channel_lists(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    private = await _new_channel(emulator, client, "hidden", "P")
    alice, admin = client(seed.token), client(seed.admin_token)
    public = await _call(alice, "GET", f"/api/v4/teams/{seed.team_id}/channels")
    assert [c["name"] for c in public] == ["bridge-test", "off-topic", "town-square"]
    assert len(await _call(alice, "GET", f"/api/v4/teams/{seed.team_id}/channels?per_page=1&page=1")) == 1
    assert (await _call(alice, "GET", f"/api/v4/teams/{seed.team_id}/channels/private", status=403))[
        "id"
    ] == PERMISSION
    privates = await _call(admin, "GET", f"/api/v4/teams/{seed.team_id}/channels/private")
    assert [c["id"] for c in privates] == [private]
    outsider_id, outsider_token = emulator.create_user("outsider")
    await _call(admin, "DELETE", f"/api/v4/teams/{seed.team_id}/members/{outsider_id}")
    denied = await _call(client(outsider_token), "GET", f"/api/v4/teams/{seed.team_id}/channels", status=403)
    assert denied["id"] == PERMISSION


async def test_deleted_channels_and_restore(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    channel_id = await _new_channel(emulator, client, "old-news")
    alice, admin = client(seed.token), client(seed.admin_token)
    await _call(alice, "DELETE", f"/api/v4/channels/{channel_id}")
    deleted = await _call(alice, "GET", f"/api/v4/teams/{seed.team_id}/channels/deleted")
    assert [c["id"] for c in deleted] == [channel_id]
    # Restoring needs manage_team: alice is no team admin.
    assert (await _call(alice, "POST", f"/api/v4/channels/{channel_id}/restore", status=403))[
        "id"
    ] == PERMISSION
    emulator.events.clear()
    restored = await _call(admin, "POST", f"/api/v4/channels/{channel_id}/restore")
    assert restored["delete_at"] == 0
    (event,) = emulator.events.of_type("channel_restored")
    assert event.data == {"channel_id": channel_id}
    assert event.broadcast.team_id == seed.team_id
    post = _last_post(emulator, channel_id)
    assert post.type == "system_channel_restored"
    assert post.props == {"username": seed.admin_username}
    again = await _call(admin, "POST", f"/api/v4/channels/{channel_id}/restore", status=400)
    assert again["id"] == "api.channel.restore_channel.restored.app_error"
    assert await _call(alice, "GET", f"/api/v4/teams/{seed.team_id}/channels/deleted") == []


async def test_autocomplete_ids_and_names(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    private = await _new_channel(emulator, client, "bridge-private", "P")
    alice, bot = client(seed.token), client(seed.bot_token)
    found = await _call(alice, "GET", f"/api/v4/teams/{seed.team_id}/channels/autocomplete?name=bri")
    assert {c["name"] for c in found} == {"bridge-test", "bridge-private"}
    # The bot is not in the private channel, so it does not see it.
    found = await _call(bot, "GET", f"/api/v4/teams/{seed.team_id}/channels/autocomplete?name=bri")
    assert [c["name"] for c in found] == ["bridge-test"]
    mine = await _call(bot, "GET", f"/api/v4/teams/{seed.team_id}/channels/search_autocomplete?name=off")
    assert [c["name"] for c in mine] == ["off-topic"]
    ids = [seed.channel_id, private]
    by_ids = await _call(alice, "POST", f"/api/v4/teams/{seed.team_id}/channels/ids", ids)
    assert [c["id"] for c in by_ids] == [seed.channel_id]
    assert (await _call(alice, "POST", f"/api/v4/teams/{seed.team_id}/channels/ids", [], status=400))[
        "id"
    ] == BAD_BODY
    assert (await _call(alice, "POST", f"/api/v4/teams/{seed.team_id}/channels/ids", ["x"], status=400))[
        "id"
    ] == BAD_BODY
    named = await _call(alice, "GET", f"/api/v4/teams/name/{seed.team_name}/channels/name/bridge-test")
    assert named["id"] == seed.channel_id
    missing = await _call(
        bot, "GET", f"/api/v4/teams/name/{seed.team_name}/channels/name/bridge-private", status=404
    )
    assert missing["id"] == "app.channel.get_by_name.missing.app_error"
    no_team = await _call(alice, "GET", "/api/v4/teams/name/nope/channels/name/bridge-test", status=404)
    assert no_team["id"] == "app.team.get_by_name.missing.app_error"


async def test_channels_of_a_user(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice, bot = client(seed.token), client(seed.bot_token)
    dm = await _call(alice, "POST", "/api/v4/channels/direct", [seed.user_id, seed.bot_user_id], status=201)
    team_channels = await _call(alice, "GET", f"/api/v4/users/me/teams/{seed.team_id}/channels")
    assert {c["name"] for c in team_channels} >= {"town-square", "off-topic", "bridge-test", dm["name"]}
    everywhere = await _call(alice, "GET", f"/api/v4/users/{seed.user_id}/channels")
    assert {c["id"] for c in everywhere} == {c["id"] for c in team_channels}
    members = await _call(alice, "GET", f"/api/v4/users/{seed.user_id}/teams/{seed.team_id}/channels/members")
    assert {m["channel_id"] for m in members} == {c["id"] for c in team_channels}
    assert all(m["user_id"] == seed.user_id for m in members)
    for path in (
        f"/api/v4/users/{seed.user_id}/teams/{seed.team_id}/channels",
        f"/api/v4/users/{seed.user_id}/channels",
        f"/api/v4/users/{seed.user_id}/teams/{seed.team_id}/channels/members",
    ):
        assert (await _call(bot, "GET", path, status=403))["id"] == PERMISSION
    bad = await _call(alice, "GET", "/api/v4/users/me/channels?last_delete_at=-1", status=400)
    assert bad["id"] == "api.context.invalid_url_param.app_error"


async def test_unread_and_view(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice, bot = client(seed.token), client(seed.bot_token)
    await _call(alice, "POST", "/api/v4/channels/members/me/view", {"channel_id": seed.channel_id})
    for text in ("one", "two"):
        await _call(
            bot, "POST", "/api/v4/posts", {"channel_id": seed.channel_id, "message": text}, status=201
        )
    unread = await _call(alice, "GET", f"/api/v4/users/me/channels/{seed.channel_id}/unread")
    assert unread["msg_count"] == 2
    assert unread["channel_id"] == seed.channel_id
    assert unread["team_id"] == seed.team_id
    emulator.events.clear()
    viewed = await _call(
        alice, "POST", f"/api/v4/channels/members/{seed.user_id}/view", {"channel_id": seed.channel_id}
    )
    channel = emulator.state.channel(seed.channel_id)
    assert viewed == {"status": "OK", "last_viewed_at_times": {seed.channel_id: channel.last_post_at}}
    (event,) = emulator.events.of_type("channel_viewed")
    assert event.broadcast.user_id == seed.user_id
    assert event.data == {"channel_id": seed.channel_id}
    member = emulator.state.channel_members[(seed.channel_id, seed.user_id)]
    assert member.msg_count == channel.total_msg_count
    assert member.mention_count == 0
    unread = await _call(alice, "GET", f"/api/v4/users/me/channels/{seed.channel_id}/unread")
    assert unread["msg_count"] == 0
    # Someone else's read state is theirs (edit_other_users).
    denied = await _call(
        bot,
        "POST",
        f"/api/v4/channels/members/{seed.user_id}/view",
        {"channel_id": seed.channel_id},
        status=403,
    )
    assert denied["id"] == PERMISSION
    assert (
        await _call(bot, "GET", f"/api/v4/users/{seed.user_id}/channels/{seed.channel_id}/unread", status=403)
    )["id"] == PERMISSION
    emulator.events.clear()
    bad = await _call(alice, "POST", "/api/v4/channels/members/me/view", {"channel_id": "nope"}, status=400)
    assert bad["id"] == BAD_BODY
    assert not emulator.events.of_type("channel_viewed")
    assert (await _call(alice, "POST", "/api/v4/channels/members/me/view", {"channel_id": 1}, status=400))[
        "id"
    ] == BAD_BODY


async def test_view_edge_cases(emulator: Emulator, client: ClientFactory) -> None:
    alice = client(emulator.seed.token)
    emulator.events.clear()
    # No channel (the client lost focus): nothing to mark, nothing sent.
    nothing = await _call(alice, "POST", "/api/v4/channels/members/me/view", {})
    assert nothing == {"status": "OK", "last_viewed_at_times": {}}
    unknown = await _call(
        alice, "POST", "/api/v4/channels/members/me/view", {"channel_id": "c" * 26}, status=400
    )
    assert unknown["id"] == "app.channel.update_last_viewed_at.app_error"
    assert not emulator.events.of_type("channel_viewed")


async def test_update_channel(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    channel_id = await _new_channel(emulator, client, "renamed")
    alice = client(seed.token)
    body = {
        "id": channel_id,
        "name": "renamed-2",
        "display_name": "Renamed Two",
        "header": "hi",
        "purpose": "",
    }
    emulator.events.clear()
    updated = await _call(alice, "PUT", f"/api/v4/channels/{channel_id}", body)
    assert (updated["name"], updated["display_name"], updated["header"]) == ("renamed-2", "Renamed Two", "hi")
    post = _last_post(emulator, channel_id)
    assert post.type == "system_displayname_change"
    assert post.props["new_displayname"] == "Renamed Two"
    assert post.props["old_displayname"] == "Renamed"
    (event,) = emulator.events.of_type("channel_updated")
    assert event.broadcast.channel_id == channel_id
    mismatch = await _call(
        alice, "PUT", f"/api/v4/channels/{channel_id}", {**body, "id": seed.channel_id}, status=400
    )
    assert mismatch["id"] == BAD_BODY
    retype = await _call(alice, "PUT", f"/api/v4/channels/{channel_id}", {**body, "type": "P"}, status=400)
    assert retype["id"] == "api.channel.update_channel.typechange.app_error"
    assert emulator.state.channel(channel_id).type == "O"
    outsider = client(seed.bot_token)
    assert (await _call(outsider, "PUT", f"/api/v4/channels/{channel_id}", body, status=403))[
        "id"
    ] == PERMISSION


async def test_privacy(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    channel_id = await _new_channel(emulator, client, "going-dark")
    alice, admin = client(seed.token), client(seed.admin_token)
    emulator.events.clear()
    converted = await _call(alice, "PUT", f"/api/v4/channels/{channel_id}/privacy", {"privacy": "P"})
    assert converted["type"] == "P"
    assert _last_post(emulator, channel_id).type == "system_change_chan_privacy"
    (event,) = emulator.events.of_type("channel_converted")
    assert event.data == {"channel_id": channel_id}
    assert event.broadcast.team_id == seed.team_id
    # Back to public needs a team admin; alice is only the channel admin.
    assert (
        await _call(alice, "PUT", f"/api/v4/channels/{channel_id}/privacy", {"privacy": "O"}, status=403)
    )["id"] == PERMISSION
    assert (await _call(admin, "PUT", f"/api/v4/channels/{channel_id}/privacy", {"privacy": "O"}))[
        "type"
    ] == "O"
    bad = await _call(admin, "PUT", f"/api/v4/channels/{channel_id}/privacy", {"privacy": "D"}, status=400)
    assert bad["id"] == BAD_BODY
    assert emulator.state.channel(channel_id).type == "O"
    town = emulator.state.channel_by_name(seed.team_id, "town-square")
    assert town is not None
    default = await _call(admin, "PUT", f"/api/v4/channels/{town.id}/privacy", {"privacy": "P"}, status=400)
    assert default["id"] == "api.channel.update_channel_privacy.default_channel_error"


async def test_move_channel(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    other = await _call(
        admin,
        "POST",
        "/api/v4/teams",
        {"name": "other-team", "display_name": "Other", "type": "O"},
        status=201,
    )
    channel_id = await _new_channel(emulator, client, "wanderer")
    body = {"team_id": other["id"], "force": False}
    denied = await _call(client(seed.token), "POST", f"/api/v4/channels/{channel_id}/move", body, status=403)
    assert denied["id"] == PERMISSION
    # Alice is not on the other team: without force the move is refused.
    refused = await _call(admin, "POST", f"/api/v4/channels/{channel_id}/move", body, status=400)
    assert refused["id"] == "app.channel.move_channel.members_do_not_match.error"
    assert emulator.state.channel(channel_id).team_id == seed.team_id
    assert (
        await _call(
            admin, "POST", f"/api/v4/channels/{channel_id}/move", {"team_id": other["id"]}, status=400
        )
    )["id"] == BAD_BODY
    moved = await _call(admin, "POST", f"/api/v4/channels/{channel_id}/move", {**body, "force": True})
    assert moved["team_id"] == other["id"]
    assert not emulator.state.is_channel_member(channel_id, seed.user_id)
    assert _last_post(emulator, channel_id).type == "system_move_channel"


async def test_stats_pinned_timezones_common_teams(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice, outsider = client(seed.token), client(emulator.create_user("nosy")[1])
    post = await _call(
        alice, "POST", "/api/v4/posts", {"channel_id": seed.channel_id, "message": "pin me"}, status=201
    )
    emulator.state.posts[post["id"]].is_pinned = True
    stats = await _call(alice, "GET", f"/api/v4/channels/{seed.channel_id}/stats")
    assert stats["member_count"] == 3
    assert stats["pinnedpost_count"] == 1
    assert stats["files_count"] == 0
    assert (await _call(alice, "GET", f"/api/v4/channels/{seed.channel_id}/stats?exclude_files_count=true"))[
        "files_count"
    ] == -1
    pinned = await _call(alice, "GET", f"/api/v4/channels/{seed.channel_id}/pinned")
    assert pinned["order"] == [post["id"]]
    assert pinned["posts"][post["id"]]["is_pinned"] is True
    emulator.state.user(seed.user_id).timezone = {
        "useAutomaticTimezone": "false",
        "manualTimezone": "Europe/Paris",
        "automaticTimezone": "",
    }
    assert await _call(alice, "GET", f"/api/v4/channels/{seed.channel_id}/timezones") == ["Europe/Paris"]
    for path in ("stats", "timezones"):
        assert (await _call(outsider, "GET", f"/api/v4/channels/{seed.channel_id}/{path}", status=403))[
            "id"
        ] == PERMISSION
    dm = await _call(alice, "POST", "/api/v4/channels/direct", [seed.user_id, seed.bot_user_id], status=201)
    teams = await _call(alice, "GET", f"/api/v4/channels/{dm['id']}/common_teams")
    assert [t["id"] for t in teams] == [seed.team_id]
    assert (await _call(outsider, "GET", f"/api/v4/channels/{dm['id']}/common_teams", status=403))[
        "id"
    ] == PERMISSION


async def test_members_by_ids(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    carol, carol_token = emulator.create_user("carol")
    found = await _call(
        alice, "POST", f"/api/v4/channels/{seed.channel_id}/members/ids", [seed.bot_user_id, carol]
    )
    assert [m["user_id"] for m in found] == [seed.bot_user_id]
    assert (await _call(alice, "POST", f"/api/v4/channels/{seed.channel_id}/members/ids", [], status=400))[
        "id"
    ] == BAD_BODY
    denied = await _call(
        client(carol_token), "POST", f"/api/v4/channels/{seed.channel_id}/members/ids", [carol], status=403
    )
    assert denied["id"] == PERMISSION


async def test_member_roles(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    channel_id = await _new_channel(emulator, client, "roles-room")
    alice, bot = client(seed.token), client(seed.bot_token)
    await _call(
        alice, "POST", f"/api/v4/channels/{channel_id}/members", {"user_id": seed.bot_user_id}, status=201
    )
    path = f"/api/v4/channels/{channel_id}/members/{seed.bot_user_id}"
    emulator.events.clear()
    await _call(alice, "PUT", f"{path}/roles", {"roles": "channel_user channel_admin"})
    member = emulator.state.channel_members[(channel_id, seed.bot_user_id)]
    assert member.scheme_admin
    assert member.scheme_user
    (event,) = emulator.events.of_type("channel_member_updated")
    assert event.broadcast.user_id == seed.bot_user_id
    await _call(alice, "PUT", f"{path}/schemeRoles", {"scheme_user": True, "scheme_admin": False})
    assert not member.scheme_admin
    # The bot is no channel admin now: it may not change alice's roles.
    denied = await _call(
        bot,
        "PUT",
        f"/api/v4/channels/{channel_id}/members/{seed.user_id}/roles",
        {"roles": "channel_user"},
        status=403,
    )
    assert denied["id"] == PERMISSION
    bad = await _call(alice, "PUT", f"{path}/roles", {"roles": "team_admin"}, status=400)
    assert bad["id"] == "api.channel.update_channel_member_roles.scheme_role.app_error"
    both = await _call(
        alice, "PUT", f"{path}/schemeRoles", {"scheme_user": True, "scheme_guest": True}, status=400
    )
    assert both["id"] == "api.channel.update_channel_member_roles.guest_and_user.app_error"
    assert (await _call(alice, "PUT", f"{path}/schemeRoles", {"scheme_user": "yes"}, status=400))[
        "id"
    ] == BAD_BODY
    assert member.scheme_user
    assert not member.scheme_admin
    assert not member.scheme_guest


async def test_member_notify_props(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice, bot = client(seed.token), client(seed.bot_token)
    path = f"/api/v4/channels/{seed.channel_id}/members/{seed.user_id}/notify_props"
    emulator.events.clear()
    await _call(alice, "PUT", path, {"mark_unread": "mention", "desktop": "none", "unknown": "x"})
    member = emulator.state.channel_members[(seed.channel_id, seed.user_id)]
    assert member.notify_props["mark_unread"] == "mention"
    assert member.notify_props["desktop"] == "none"
    assert "unknown" not in member.notify_props
    assert member.notify_props["push"] == "default"
    (event,) = emulator.events.of_type("channel_member_updated")
    assert event.broadcast.user_id == seed.user_id
    assert '"mark_unread":"mention"' in event.data["channelMember"]
    fetched = await _call(alice, "GET", f"/api/v4/channels/{seed.channel_id}/members/me")
    assert fetched["notify_props"]["desktop"] == "none"
    assert (await _call(bot, "PUT", path, {"desktop": "all"}, status=403))["id"] == PERMISSION
    bad = await _call(alice, "PUT", path, {"desktop": "loud"}, status=400)
    assert bad["id"] == "model.channel_member.is_valid.notify_level.app_error"
    assert member.notify_props["desktop"] == "none"


async def test_unlicensed_operations(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    base = f"/api/v4/channels/{seed.channel_id}"
    scheme = await _call(admin, "PUT", f"{base}/scheme", {"scheme_id": seed.team_id}, status=403)
    assert scheme["id"] == "api.channel.update_channel_scheme.license.error"
    assert (await _call(admin, "PUT", f"{base}/scheme", {"scheme_id": "x"}, status=400))["id"] == BAD_BODY
    counts = await _call(admin, "GET", f"{base}/member_counts_by_group", status=403)
    assert counts["id"] == "api.channel.channel_member_counts_by_group.license.error"
    moderations = await _call(admin, "GET", f"{base}/moderations", status=403)
    assert moderations["id"] == "api.channel.get_channel_moderations.license.error"
    patched = await _call(admin, "PUT", f"{base}/moderations/patch", [], status=403)
    assert patched["id"] == "api.channel.patch_channel_moderations.license.error"
    minus = await _call(admin, "GET", f"{base}/members_minus_group_members?group_ids={seed.team_id}")
    assert minus["total_count"] == 3
    assert {u["id"] for u in minus["users"]} >= {seed.user_id}
    assert (await _call(admin, "GET", f"{base}/members_minus_group_members?group_ids=x", status=400))[
        "id"
    ] == BAD_BODY
    denied = await _call(
        client(seed.token), "GET", f"{base}/members_minus_group_members?group_ids={seed.team_id}", status=403
    )
    assert denied["id"] == PERMISSION
