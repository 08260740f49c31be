"""The team operations of the emulator, as the real server answers them (``api4/team.go``)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from aiohttp import ClientSession, FormData

from mmbridge.testing.emulator import Emulator
from mmbridge.testing.emulator.images import default_png

from .conftest import ClientFactory

PERMISSIONS = "api.context.permissions.app_error"
INVALID_BODY = "api.context.invalid_body_param.app_error"


async def _call(http: ClientSession, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with http.request(method, path, **kwargs) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None


async def _new_team(
    emulator: Emulator, client: ClientFactory, name: str, team_type: str = "O"
) -> dict[str, Any]:
    body = {"name": name, "display_name": name.title(), "type": team_type}
    status, team = await _call(client(emulator.seed.admin_token), "POST", "/api/v4/teams", json=body)
    assert status == 201
    return dict(team)


def _outsider(emulator: Emulator, name: str) -> tuple[str, str]:
    """A user on no team, and their token."""
    user = emulator.state.add_user(name, f"{name}@example.com")
    return user.id, emulator.state.add_token(user.id, "test").token


def _events(emulator: Emulator, name: str) -> list[Any]:
    return emulator.events.of_type(name)


# ------------------------------------------------------------------------------ listing


async def test_list_teams_admin_sees_all_with_count(emulator: Emulator, client: ClientFactory) -> None:
    await _new_team(emulator, client, "zeta", "I")
    await _new_team(emulator, client, "alpha")
    admin = client(emulator.seed.admin_token)
    status, body = await _call(admin, "GET", "/api/v4/teams?include_total_count=true&per_page=2")
    assert status == 200
    assert body["total_count"] == 3
    assert [t["display_name"] for t in body["teams"]] == ["Alpha", "Test Team"]
    assert body["teams"][0]["email"] == "sysadmin@example.com"


async def test_list_teams_user_sees_open_teams_sanitized(emulator: Emulator, client: ClientFactory) -> None:
    await _new_team(emulator, client, "secret", "I")
    status, teams = await _call(client(emulator.seed.token), "GET", "/api/v4/teams")
    assert status == 200
    assert [t["name"] for t in teams] == ["test-team"]
    # alice is a member (invite_user): she sees the invite id, never the email.
    assert teams[0]["email"] == ""
    assert teams[0]["invite_id"] == emulator.state.teams[emulator.seed.team_id].invite_id
    status, error = await _call(
        client(emulator.seed.token), "GET", "/api/v4/teams?exclude_policy_constrained=true"
    )
    assert (status, error["id"]) == (403, PERMISSIONS)


async def test_teams_and_members_for_user(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    status, teams = await _call(alice, "GET", "/api/v4/users/me/teams")
    assert status == 200
    assert [t["id"] for t in teams] == [seed.team_id]
    status, members = await _call(alice, "GET", f"/api/v4/users/{seed.user_id}/teams/members")
    assert status == 200
    assert [(m["team_id"], m["roles"]) for m in members] == [(seed.team_id, "team_user")]
    for path in ("teams", "teams/members", "teams/unread"):
        status, error = await _call(alice, "GET", f"/api/v4/users/{seed.admin_user_id}/{path}")
        assert (status, error["id"]) == (403, PERMISSIONS), path
    status, _ = await _call(client(seed.admin_token), "GET", f"/api/v4/users/{seed.user_id}/teams")
    assert status == 200


async def test_unread_counts(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    for message in ("one", f"@{seed.username} two"):
        status, _ = await _call(
            admin, "POST", "/api/v4/posts", json={"channel_id": seed.channel_id, "message": message}
        )
        assert status == 201
    alice = client(seed.token)
    status, unreads = await _call(alice, "GET", "/api/v4/users/me/teams/unread")
    assert status == 200
    state = emulator.state
    mine = [
        (state.channels[c], m)
        for (c, u), m in state.channel_members.items()
        if u == seed.user_id and state.channels[c].team_id == seed.team_id
    ]
    assert unreads == [
        {
            "team_id": seed.team_id,
            "msg_count": sum(c.total_msg_count - m.msg_count for c, m in mine),
            "mention_count": sum(m.mention_count for _, m in mine),
            "mention_count_root": sum(m.mention_count_root for _, m in mine),
            "msg_count_root": sum(c.total_msg_count_root - m.msg_count_root for c, m in mine),
            "thread_count": 0,
            "thread_mention_count": 0,
            "thread_urgent_mention_count": 0,
        }
    ]
    assert unreads[0]["msg_count"] >= 2
    status, excluded = await _call(alice, "GET", f"/api/v4/users/me/teams/unread?exclude_team={seed.team_id}")
    assert (status, excluded) == (200, [])
    status, one = await _call(alice, "GET", f"/api/v4/users/me/teams/{seed.team_id}/unread")
    assert status == 200
    assert one["msg_count"] == unreads[0]["msg_count"]
    status, error = await _call(
        alice, "GET", f"/api/v4/users/{seed.admin_user_id}/teams/{seed.team_id}/unread"
    )
    assert (status, error["id"]) == (403, PERMISSIONS)


async def test_stats_exists_and_search(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    await _new_team(emulator, client, "private-one", "I")
    alice = client(seed.token)
    status, stats = await _call(alice, "GET", f"/api/v4/teams/{seed.team_id}/stats")
    assert (status, stats) == (
        200,
        {"team_id": seed.team_id, "total_member_count": 3, "active_member_count": 3},
    )
    private = emulator.state.team_by_name("private-one")
    assert private is not None
    status, error = await _call(alice, "GET", f"/api/v4/teams/{private.id}/stats")
    assert (status, error["id"]) == (403, PERMISSIONS)
    assert (await _call(alice, "GET", "/api/v4/teams/name/test-team/exists"))[1] == {"exists": True}
    assert (await _call(alice, "GET", "/api/v4/teams/name/private-one/exists"))[1] == {"exists": False}
    assert (await _call(client(seed.admin_token), "GET", "/api/v4/teams/name/private-one/exists"))[1] == {
        "exists": True
    }
    # Prefix match on name or display name, any case; alice only finds open teams.
    status, found = await _call(alice, "POST", "/api/v4/teams/search", json={"term": "PRIV"})
    assert (status, found) == (200, [])
    status, found = await _call(alice, "POST", "/api/v4/teams/search", json={"term": "test"})
    assert [t["id"] for t in found] == [seed.team_id]
    status, error = await _call(
        alice, "POST", "/api/v4/teams/search", json={"term": "t", "page": 0, "per_page": 5}
    )
    assert (status, error["id"]) == (
        501,
        "api.team.search_teams.pagination_not_implemented.public_team_search",
    )
    admin = client(seed.admin_token)
    status, paged = await _call(
        admin, "POST", "/api/v4/teams/search", json={"term": "", "page": 0, "per_page": 1}
    )
    assert status == 200
    assert paged["total_count"] == 2
    assert [t["name"] for t in paged["teams"]] == ["private-one"]
    status, closed = await _call(admin, "POST", "/api/v4/teams/search", json={"allow_open_invite": False})
    assert [t["name"] for t in closed] == ["private-one"]
    status, error = await _call(admin, "POST", "/api/v4/teams/search", json={"term": 5})
    assert (status, error["id"]) == (400, INVALID_BODY)


# ------------------------------------------------------------------------------ changes


async def test_update_team(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    status, team = await _call(admin, "GET", f"/api/v4/teams/{seed.team_id}")
    team.update(display_name="Renamed", description="About us", name="ignored")
    emulator.events.clear()
    status, updated = await _call(admin, "PUT", f"/api/v4/teams/{seed.team_id}", json=team)
    assert status == 200
    assert (updated["display_name"], updated["description"], updated["name"]) == (
        "Renamed",
        "About us",
        "test-team",
    )
    assert updated["update_at"] > team["update_at"]
    (event,) = _events(emulator, "update_team")
    assert event.broadcast.team_id == seed.team_id
    sent = json.loads(event.data["team"])
    assert (sent["display_name"], sent["email"], sent["invite_id"]) == ("Renamed", "", "")
    status, error = await _call(client(seed.token), "PUT", f"/api/v4/teams/{seed.team_id}", json=team)
    assert (status, error["id"]) == (403, PERMISSIONS)
    status, error = await _call(admin, "PUT", f"/api/v4/teams/{seed.team_id}", json={**team, "id": "x" * 26})
    assert (status, error["id"]) == (400, INVALID_BODY)
    status, error = await _call(
        admin, "PUT", f"/api/v4/teams/{seed.team_id}", json={**team, "display_name": ""}
    )
    assert (status, error["id"]) == (400, "model.team.is_valid.name.app_error")
    assert emulator.state.teams[seed.team_id].display_name == "Renamed"


async def test_patch_and_privacy(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    old_invite = emulator.state.teams[seed.team_id].invite_id
    status, patched = await _call(
        admin, "PUT", f"/api/v4/teams/{seed.team_id}/patch", json={"company_name": "ACME"}
    )
    assert (status, patched["company_name"], patched["invite_id"]) == (200, "ACME", old_invite)
    status, patched = await _call(
        admin, "PUT", f"/api/v4/teams/{seed.team_id}/patch", json={"allow_open_invite": False}
    )
    assert (patched["allow_open_invite"], patched["type"]) == (False, "I")
    assert patched["invite_id"] != old_invite
    status, error = await _call(admin, "PUT", f"/api/v4/teams/{seed.team_id}/patch", json={"description": 3})
    assert (status, error["id"]) == (400, INVALID_BODY)
    status, error = await _call(client(seed.token), "PUT", f"/api/v4/teams/{seed.team_id}/patch", json={})
    assert (status, error["id"]) == (403, PERMISSIONS)
    emulator.events.clear()
    status, team = await _call(admin, "PUT", f"/api/v4/teams/{seed.team_id}/privacy", json={"privacy": "O"})
    assert (status, team["type"], team["allow_open_invite"]) == (200, "O", True)
    assert len(_events(emulator, "update_team")) == 1
    status, error = await _call(admin, "PUT", f"/api/v4/teams/{seed.team_id}/privacy", json={"privacy": "P"})
    assert (status, error["id"]) == (400, INVALID_BODY)
    assert emulator.state.teams[seed.team_id].type == "O"


async def test_delete_and_restore(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    alice = client(seed.token)
    status, error = await _call(alice, "DELETE", f"/api/v4/teams/{seed.team_id}")
    assert (status, error["id"]) == (403, PERMISSIONS)
    status, error = await _call(admin, "DELETE", f"/api/v4/teams/{seed.team_id}?permanent=true")
    assert (status, error["id"]) == (401, "api.user.delete_team.not_enabled.app_error")
    assert emulator.state.teams[seed.team_id].delete_at == 0
    emulator.events.clear()
    status, body = await _call(admin, "DELETE", f"/api/v4/teams/{seed.team_id}")
    assert (status, body) == (200, {"status": "OK"})
    (event,) = _events(emulator, "delete_team")
    assert event.broadcast.team_id == seed.team_id
    assert json.loads(event.data["team"])["delete_at"] > 0
    assert (await _call(alice, "GET", "/api/v4/users/me/teams"))[1] == []
    status, team = await _call(admin, "POST", f"/api/v4/teams/{seed.team_id}/restore")
    assert (status, team["delete_at"]) == (200, 0)
    assert len(_events(emulator, "restore_team")) == 1
    status, error = await _call(alice, "POST", f"/api/v4/teams/{seed.team_id}/restore")
    assert (status, error["id"]) == (403, PERMISSIONS)


# ------------------------------------------------------------------------------ members


async def test_add_members_batch(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    team = await _new_team(emulator, client, "batch", "I")
    bob, _ = emulator.create_user("bob")
    admin = client(seed.admin_token)
    body = [{"team_id": team["id"], "user_id": uid} for uid in (seed.user_id, bob)]
    emulator.events.clear()
    status, members = await _call(admin, "POST", f"/api/v4/teams/{team['id']}/members/batch", json=body)
    assert status == 201
    assert {m["user_id"] for m in members} == {seed.user_id, bob}
    assert {e.broadcast.user_id for e in _events(emulator, "added_to_team")} == {seed.user_id, bob}
    missing = [{"team_id": team["id"], "user_id": "u" * 26}]
    status, results = await _call(
        admin, "POST", f"/api/v4/teams/{team['id']}/members/batch?graceful=1", json=missing
    )
    assert status == 201
    assert results[0]["member"] is None
    assert results[0]["error"]["id"] == "app.user.missing_account.const"
    status, error = await _call(admin, "POST", f"/api/v4/teams/{team['id']}/members/batch", json=missing)
    assert (status, error["id"]) == (404, "app.user.missing_account.const")
    status, error = await _call(admin, "POST", f"/api/v4/teams/{team['id']}/members/batch", json=[])
    assert (status, error["id"]) == (400, INVALID_BODY)
    wrong_team = [{"team_id": seed.team_id, "user_id": bob}]
    status, error = await _call(admin, "POST", f"/api/v4/teams/{team['id']}/members/batch", json=wrong_team)
    assert (status, error["id"]) == (400, INVALID_BODY)
    carol, _ = emulator.create_user("carol")
    outsider = client(_outsider(emulator, "dave")[1])
    status, error = await _call(
        outsider,
        "POST",
        f"/api/v4/teams/{team['id']}/members/batch",
        json=[{"team_id": team["id"], "user_id": carol}],
    )
    assert (status, error["id"]) == (403, PERMISSIONS)
    assert not emulator.state.is_team_member(team["id"], carol)


async def test_members_by_ids(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    ids = [seed.user_id, seed.admin_user_id, "n" * 26]
    status, members = await _call(alice, "POST", f"/api/v4/teams/{seed.team_id}/members/ids", json=ids)
    assert status == 200
    assert [m["user_id"] for m in members] == [seed.user_id, seed.admin_user_id]
    assert members[1]["roles"] == "team_user team_admin"
    status, error = await _call(alice, "POST", f"/api/v4/teams/{seed.team_id}/members/ids", json=[])
    assert (status, error["id"]) == (400, INVALID_BODY)
    other = await _new_team(emulator, client, "elsewhere", "I")
    status, error = await _call(alice, "POST", f"/api/v4/teams/{other['id']}/members/ids", json=ids)
    assert (status, error["id"]) == (403, PERMISSIONS)


async def test_member_roles(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    path = f"/api/v4/teams/{seed.team_id}/members/{seed.user_id}"
    emulator.events.clear()
    status, body = await _call(admin, "PUT", path + "/roles", json={"roles": "team_user team_admin"})
    assert (status, body) == (200, {"status": "OK"})
    (event,) = _events(emulator, "memberrole_updated")
    assert event.broadcast.user_id == seed.user_id
    assert json.loads(event.data["member"])["roles"] == "team_user team_admin"
    assert emulator.state.team_members[(seed.team_id, seed.user_id)].scheme_admin
    status, error = await _call(admin, "PUT", path + "/roles", json={"roles": "channel_user"})
    assert (status, error["id"]) == (400, "api.channel.update_team_member_roles.scheme_role.app_error")
    status, error = await _call(admin, "PUT", path + "/roles", json={"roles": "no-such role!"})
    assert (status, error["id"]) == (400, INVALID_BODY)
    status, error = await _call(admin, "PUT", path + "/roles", json={"roles": "team_user made_up"})
    assert (status, error["id"]) == (400, "app.role.get_by_name.app_error")
    assert emulator.state.team_members[(seed.team_id, seed.user_id)].scheme_admin
    bob, bob_token = emulator.create_user("bob")
    # alice is a team admin now (manage_team_roles): she may change bob's roles.
    bob_path = f"/api/v4/teams/{seed.team_id}/members/{bob}/roles"
    status, _ = await _call(client(seed.token), "PUT", bob_path, json={"roles": "team_user team_admin"})
    assert status == 200
    assert emulator.state.team_members[(seed.team_id, bob)].scheme_admin
    outsider = _outsider(emulator, "frank")[0]
    status, error = await _call(
        admin, "PUT", f"/api/v4/teams/{seed.team_id}/members/{outsider}/roles", json={"roles": "team_user"}
    )
    assert (status, error["id"]) == (404, "app.team.get_member.missing.app_error")
    _, carol_token = emulator.create_user("carol")
    status, error = await _call(client(carol_token), "PUT", path + "/roles", json={"roles": "team_user"})
    assert (status, error["id"]) == (403, PERMISSIONS)
    assert bob_token


async def test_member_scheme_roles(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    path = f"/api/v4/teams/{seed.team_id}/members/{seed.user_id}/schemeRoles"
    emulator.events.clear()
    body = {"scheme_admin": True, "scheme_user": True, "scheme_guest": False}
    status, _ = await _call(admin, "PUT", path, json=body)
    assert status == 200
    (event,) = _events(emulator, "memberrole_updated")
    assert (event.broadcast.user_id, json.loads(event.data["member"])["scheme_admin"]) == (seed.user_id, True)
    status, error = await _call(admin, "PUT", path, json={**body, "scheme_guest": True})
    assert (status, error["id"]) == (400, "api.team.update_team_member_roles.guest_and_user.app_error")
    status, error = await _call(admin, "PUT", path, json={"scheme_admin": "yes"})
    assert (status, error["id"]) == (400, INVALID_BODY)
    member = emulator.state.team_members[(seed.team_id, seed.user_id)]
    assert (member.scheme_admin, member.scheme_guest) == (True, False)
    status, error = await _call(client(seed.bot_token), "PUT", path, json=body)
    assert (status, error["id"]) == (403, PERMISSIONS)
    status, error = await _call(
        admin, "PUT", f"/api/v4/teams/{seed.team_id}/members/{'q' * 26}/schemeRoles", json=body
    )
    assert (status, error["id"]) == (404, "app.team.get_member.missing.app_error")


# --------------------------------------------------------------------------- invitations


async def test_join_by_invite_id(emulator: Emulator, client: ClientFactory) -> None:
    team = await _new_team(emulator, client, "invited", "I")
    bob, bob_token = emulator.create_user("bob")
    bob_http = client(bob_token)
    invite_id = emulator.state.teams[team["id"]].invite_id
    emulator.events.clear()
    status, member = await _call(bob_http, "POST", f"/api/v4/teams/members/invite?invite_id={invite_id}")
    assert (status, member["team_id"], member["user_id"]) == (201, team["id"], bob)
    assert [e.broadcast.user_id for e in _events(emulator, "added_to_team")] == [bob]
    status, error = await _call(bob_http, "POST", "/api/v4/teams/members/invite?invite_id=" + "z" * 26)
    assert (status, error["id"]) == (404, "app.team.get_by_invite_id.finding.app_error")
    status, error = await _call(bob_http, "POST", "/api/v4/teams/members/invite?token=abc")
    assert (status, error["id"]) == (400, "api.user.create_user.signup_link_invalid.app_error")
    status, error = await _call(bob_http, "POST", "/api/v4/teams/members/invite")
    assert (status, error["id"]) == (400, "api.team.add_user_to_team.missing_parameter.app_error")


async def test_invite_info_and_regenerate(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    team = emulator.state.teams[seed.team_id]
    old = team.invite_id
    status, info = await _call(client(None), "GET", f"/api/v4/teams/invite/{old}")
    assert (status, info) == (
        200,
        {"display_name": "Test Team", "description": "", "name": "test-team", "id": team.id},
    )
    status, error = await _call(
        client(seed.token), "POST", f"/api/v4/teams/{seed.team_id}/regenerate_invite_id"
    )
    assert (status, error["id"]) == (403, PERMISSIONS)
    emulator.events.clear()
    status, updated = await _call(
        client(seed.admin_token), "POST", f"/api/v4/teams/{seed.team_id}/regenerate_invite_id"
    )
    assert status == 200
    assert updated["invite_id"] not in ("", old)
    assert len(_events(emulator, "update_team")) == 1
    status, error = await _call(client(None), "GET", f"/api/v4/teams/invite/{old}")
    assert (status, error["id"]) == (404, "app.team.get_by_invite_id.finding.app_error")
    private = await _new_team(emulator, client, "closed", "I")
    invite = emulator.state.teams[private["id"]].invite_id
    status, error = await _call(client(None), "GET", f"/api/v4/teams/invite/{invite}")
    assert (status, error["id"]) == (403, "api.team.get_invite_info.not_open_team")


async def test_email_invites_and_unlicensed(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    admin = client(seed.admin_token)
    status, error = await _call(
        alice, "POST", f"/api/v4/teams/{seed.team_id}/invite/email", json=["a@example.com"]
    )
    assert (status, error["id"]) == (501, "api.team.invite_members.disabled.app_error")
    status, error = await _call(alice, "POST", f"/api/v4/teams/{seed.team_id}/invite/email", json=[])
    assert (status, error["id"]) == (400, INVALID_BODY)
    outsider = client(_outsider(emulator, "erin")[1])
    status, error = await _call(
        outsider, "POST", f"/api/v4/teams/{seed.team_id}/invite/email", json=["a@example.com"]
    )
    assert (status, error["id"]) == (403, PERMISSIONS)
    guests = {"emails": ["g@example.com"], "channels": [seed.channel_id]}
    status, error = await _call(
        admin, "POST", f"/api/v4/teams/{seed.team_id}/invite-guests/email", json=guests
    )
    assert (status, error["id"]) == (501, "api.team.invite_guests_to_channels.license.error")
    status, error = await _call(alice, "DELETE", "/api/v4/teams/invites/email")
    assert (status, error["id"]) == (403, PERMISSIONS)
    assert (await _call(admin, "DELETE", "/api/v4/teams/invites/email"))[0] == 200
    status, error = await _call(
        admin, "PUT", f"/api/v4/teams/{seed.team_id}/scheme", json={"scheme_id": "s" * 26}
    )
    assert (status, error["id"]) == (501, "api.team.update_team_scheme.license.error")
    status, error = await _call(admin, "PUT", f"/api/v4/teams/{seed.team_id}/scheme", json={})
    assert (status, error["id"]) == (400, INVALID_BODY)


async def test_members_minus_group_members(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    path = f"/api/v4/teams/{seed.team_id}/members_minus_group_members?group_ids={'g' * 26}"
    status, body = await _call(client(seed.admin_token), "GET", path)
    assert status == 200
    assert body["total_count"] == 3
    assert {u["id"] for u in body["users"]} == {seed.user_id, seed.admin_user_id, seed.bot_user_id}
    status, error = await _call(client(seed.token), "GET", path)
    assert (status, error["id"]) == (403, PERMISSIONS)
    status, error = await _call(client(seed.admin_token), "GET", path.split("?")[0] + "?group_ids=short")
    assert (status, error["id"]) == (400, INVALID_BODY)


async def test_import(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed

    def form(import_from: str, data: bytes) -> FormData:
        result = FormData()
        result.add_field("importFrom", import_from)
        result.add_field("filesize", str(len(data)))
        result.add_field("file", io.BytesIO(data), filename="export.zip")
        return result

    path = f"/api/v4/teams/{seed.team_id}/import"
    status, error = await _call(client(seed.token), "POST", path, data=form("slack", b"x"))
    assert (status, error["id"]) == (403, PERMISSIONS)
    admin = client(seed.admin_token)
    status, error = await _call(admin, "POST", path, data=form("hipchat", b"x"))
    assert (status, error["id"]) == (400, "api.team.import_team.unknown_import_from.app_error")
    status, error = await _call(admin, "POST", path, data=form("slack", b"not a zip"))
    assert (status, error["id"]) == (400, "api.slackimport.slack_import.zip.app_error")
    missing = FormData()
    missing.add_field("filesize", "1")
    missing.add_field("file", io.BytesIO(b"x"), filename="export.zip")
    status, error = await _call(admin, "POST", path, data=missing)
    assert (status, error["id"]) == (400, "api.team.import_team.no_import_from.app_error")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("channels.json", "[]")
    status, error = await _call(admin, "POST", path, data=form("slack", archive.getvalue()))
    assert status == 501


# ---------------------------------------------------------------------------------- icon


async def test_team_icon(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    alice = client(seed.token)
    path = f"/api/v4/teams/{seed.team_id}/image"
    status, error = await _call(alice, "GET", path)
    assert (status, error["id"]) == (404, "api.team.get_team_icon.read_file.app_error")
    image = default_png(16)

    def upload(data: bytes, field: str = "image") -> FormData:
        result = FormData()
        result.add_field(field, io.BytesIO(data), filename="icon.png", content_type="image/png")
        return result

    status, error = await _call(alice, "POST", path, data=upload(image))
    assert (status, error["id"]) == (403, PERMISSIONS)
    status, error = await _call(admin, "POST", path, data=upload(b"plain text"))
    assert (status, error["id"]) == (400, "api.team.set_team_icon.check_image_limits.app_error")
    status, error = await _call(admin, "POST", path, data=upload(image, "file"))
    assert (status, error["id"]) == (400, "api.team.set_team_icon.no_file.app_error")
    assert emulator.state.teams[seed.team_id].last_team_icon_update == 0
    emulator.events.clear()
    status, _ = await _call(admin, "POST", path, data=upload(image))
    assert status == 200
    stamp = emulator.state.teams[seed.team_id].last_team_icon_update
    assert stamp > 0
    (event,) = _events(emulator, "update_team")
    assert json.loads(event.data["team"])["last_team_icon_update"] == stamp
    async with alice.get(path) as resp:
        assert (resp.status, resp.content_type, resp.headers["ETag"]) == (200, "image/png", str(stamp))
        assert await resp.read() == image
    async with alice.get(path, headers={"If-None-Match": str(stamp)}) as resp:
        assert resp.status == 304
    status, error = await _call(alice, "DELETE", path)
    assert (status, error["id"]) == (403, PERMISSIONS)
    status, _ = await _call(admin, "DELETE", path)
    assert status == 200
    assert emulator.state.teams[seed.team_id].last_team_icon_update == 0
    status, team = await _call(admin, "GET", f"/api/v4/teams/{seed.team_id}")
    assert "last_team_icon_update" not in team


async def test_get_team_permissions(emulator: Emulator, client: ClientFactory) -> None:
    private = await _new_team(emulator, client, "hidden", "I")
    alice = client(emulator.seed.token)
    status, error = await _call(alice, "GET", f"/api/v4/teams/{private['id']}")
    assert (status, error["id"]) == (403, PERMISSIONS)
    status, error = await _call(alice, "GET", "/api/v4/teams/name/hidden")
    assert (status, error["id"]) == (403, PERMISSIONS)
    _, bob_token = _outsider(emulator, "bob")
    status, team = await _call(client(bob_token), "GET", f"/api/v4/teams/{emulator.seed.team_id}")
    assert status == 200
    assert (team["invite_id"], team["email"]) == ("", "")
