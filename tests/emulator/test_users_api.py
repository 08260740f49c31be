"""The account operations of the users API: listing and lookups, updates, roles, passwords,
email, and the per-user reads, as the real server answers them."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientSession, FormData

from mmbridge.testing.emulator import Emulator
from mmbridge.testing.emulator.images import default_png

from .conftest import ClientFactory

FORBIDDEN = "api.context.permissions.app_error"


async def _json(http: ClientSession, method: str, path: str, status: int, **kwargs: Any) -> Any:
    async with http.request(method, path, **kwargs) as resp:
        body = await resp.json()
        assert resp.status == status, body
        return body


async def _error(http: ClientSession, method: str, path: str, status: int, **kwargs: Any) -> str:
    body = await _json(http, method, path, status, **kwargs)
    return str(body["id"])


def _outsider(emulator: Emulator, name: str = "outsider") -> tuple[str, str]:
    """A user on no team and in no channel, with a token."""
    user = emulator.state.add_user(name, f"{name}@example.com", password=emulator.seed.password)
    return user.id, emulator.state.add_token(user.id, "test").token


async def _login(http: ClientSession, login_id: str, password: str) -> str:
    async with http.post("/api/v4/users/login", json={"login_id": login_id, "password": password}) as resp:
        assert resp.status == 200, await resp.text()
        return resp.headers["Token"]


def _names(users: list[dict[str, Any]]) -> list[str]:
    return [u["username"] for u in users]


# --------------------------------------------------------------------------- GET /users


async def test_list_users_sorted_by_username_and_paged(emulator: Emulator, client: ClientFactory) -> None:
    http = client(emulator.seed.token)
    users = await _json(http, "GET", "/api/v4/users", 200)
    assert _names(users) == ["alice", "bridgebot", "sysadmin"]
    page = await _json(http, "GET", "/api/v4/users?page=1&per_page=1", 200)
    assert _names(page) == ["bridgebot"]


async def test_list_users_team_filters_and_their_permissions(
    emulator: Emulator, client: ClientFactory
) -> None:
    seed = emulator.seed
    outsider_id, outsider_token = _outsider(emulator)
    alice = client(seed.token)
    in_team = await _json(alice, "GET", f"/api/v4/users?in_team={seed.team_id}", 200)
    assert "outsider" not in _names(in_team)
    assert "alice" in _names(in_team)
    not_in_team = await _json(alice, "GET", f"/api/v4/users?not_in_team={seed.team_id}", 200)
    assert _names(not_in_team) == ["outsider"]
    # Listing a team's users needs view_team: the outsider is no member.
    outsider = client(outsider_token)
    assert await _error(outsider, "GET", f"/api/v4/users?in_team={seed.team_id}", 403) == FORBIDDEN
    assert await _error(outsider, "GET", f"/api/v4/users?not_in_team={seed.team_id}", 403) == FORBIDDEN
    # without_team needs list_users_without_team (admins).
    assert await _error(alice, "GET", "/api/v4/users?without_team=true", 403) == FORBIDDEN
    admin = client(seed.admin_token)
    without = await _json(admin, "GET", "/api/v4/users?without_team=true", 200)
    assert [u["id"] for u in without] == [outsider_id]


async def test_list_users_channel_filters(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    carol_id, _ = emulator.create_user("carol")
    alice = client(seed.token)
    in_channel = await _json(alice, "GET", f"/api/v4/users?in_channel={seed.channel_id}", 200)
    assert _names(in_channel) == ["alice", "bridgebot", "sysadmin"]
    path = f"/api/v4/users?in_team={seed.team_id}&not_in_channel={seed.channel_id}"
    assert [u["id"] for u in await _json(alice, "GET", path, 200)] == [carol_id]
    # not_in_channel needs in_team.
    path = f"/api/v4/users?not_in_channel={seed.channel_id}"
    assert await _error(alice, "GET", path, 400) == "api.context.invalid_url_param.app_error"
    # The channel creator is its admin.
    path = f"/api/v4/users?in_channel={seed.channel_id}&channel_roles=channel_admin"
    assert _names(await _json(alice, "GET", path, 200)) == ["sysadmin"]
    # Reading a channel's users needs read_channel.
    _, carol_token = emulator.create_user("carol2")
    path = f"/api/v4/users?in_channel={seed.channel_id}"
    assert await _error(client(carol_token), "GET", path, 403) == FORBIDDEN


async def test_list_users_sorts(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    emulator.state.set_status(seed.bot_user_id, "online")
    emulator.state.set_status(seed.admin_user_id, "away")
    alice = client(seed.token)
    path = f"/api/v4/users?in_channel={seed.channel_id}&sort=status"
    assert _names(await _json(alice, "GET", path, 200)) == ["bridgebot", "sysadmin", "alice"]
    emulator.create_user("newest")
    path = f"/api/v4/users?in_team={seed.team_id}&sort=create_at"
    assert _names(await _json(alice, "GET", path, 200))[0] == "newest"
    # Each sort only with its filter; unknown sorts are refused.
    for query in ("sort=status", f"in_team={seed.team_id}&sort=status", "sort=create_at", "sort=name"):
        path = f"/api/v4/users?{query}"
        assert await _error(alice, "GET", path, 400) == "api.context.invalid_url_param.app_error"


async def test_list_users_roles_and_activity(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    gone_id, _ = emulator.create_user("gone")
    emulator.state.set_active(emulator.state.user(gone_id), False)
    alice = client(seed.token)
    assert _names(await _json(alice, "GET", "/api/v4/users?roles=system_admin", 200)) == ["sysadmin"]
    only_users = _names(await _json(alice, "GET", "/api/v4/users?roles=system_user", 200))
    assert "sysadmin" not in only_users
    assert "alice" in only_users
    assert _names(await _json(alice, "GET", "/api/v4/users?role=system_admin", 200)) == ["sysadmin"]
    assert _names(await _json(alice, "GET", "/api/v4/users?inactive=true", 200)) == ["gone"]
    assert "gone" not in _names(await _json(alice, "GET", "/api/v4/users?active=true", 200))
    path = "/api/v4/users?active=true&inactive=true"
    assert await _error(alice, "GET", path, 400) == "api.context.invalid_url_param.app_error"
    path = "/api/v4/users?roles=Not-A-Role"
    assert await _error(alice, "GET", path, 400) == "api.context.invalid_body_param.app_error"
    # No groups exist on the emulated server.
    path = f"/api/v4/users?in_group={seed.team_id}"
    assert await _error(alice, "GET", path, 404) == "app.group.no_rows"


# --------------------------------------------------------------------------- Lookups


async def test_users_by_usernames(emulator: Emulator, client: ClientFactory) -> None:
    alice = client(emulator.seed.token)
    users = await _json(alice, "POST", "/api/v4/users/usernames", 200, json=["sysadmin", "nobody", "alice"])
    assert _names(users) == ["alice", "sysadmin"]
    body = await _json(alice, "POST", "/api/v4/users/usernames", 400, json=[])
    assert body["id"] == "api.context.invalid_body_param.app_error"
    assert await _error(alice, "POST", "/api/v4/users/usernames", 400, json={"a": 1}) == body["id"]


async def test_users_by_group_channels(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    ids = [seed.user_id, seed.bot_user_id, seed.admin_user_id]
    group = await _json(alice, "POST", "/api/v4/channels/group", 201, json=ids)
    result = await _json(
        alice, "POST", "/api/v4/users/group_channels", 200, json=[group["id"], seed.channel_id]
    )
    assert list(result) == [group["id"]]
    assert sorted(u["id"] for u in result[group["id"]]) == sorted(ids[1:])
    # A group message the caller is not in gives nothing.
    _, outsider_token = _outsider(emulator)
    other = await _json(
        client(outsider_token), "POST", "/api/v4/users/group_channels", 200, json=[group["id"]]
    )
    assert other == {}
    code = await _error(alice, "POST", "/api/v4/users/group_channels", 400, json=[])
    assert code == "api.context.invalid_body_param.app_error"


async def test_user_by_email(emulator: Emulator, client: ClientFactory) -> None:
    alice = client(emulator.seed.token)
    user = await _json(alice, "GET", "/api/v4/users/email/sysadmin@example.com", 200)
    assert user["id"] == emulator.seed.admin_user_id
    code = await _error(alice, "GET", "/api/v4/users/email/nobody@example.com", 404)
    assert code == "app.user.missing_account.const"
    code = await _error(alice, "GET", "/api/v4/users/email/not-an-email", 400)
    assert code == "api.context.invalid_url_param.app_error"


async def test_autocomplete(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    emulator.create_user("alicia")
    alice = client(seed.token)
    path = f"/api/v4/users/autocomplete?in_team={seed.team_id}&in_channel={seed.channel_id}&name=ali"
    result = await _json(alice, "GET", path, 200)
    assert _names(result["users"]) == ["alice"]
    assert _names(result["out_of_channel"]) == ["alicia"]
    # First names match too, emails never.
    path = f"/api/v4/users/autocomplete?in_team={seed.team_id}&name=system"
    assert _names((await _json(alice, "GET", path, 200))["users"]) == ["sysadmin"]
    path = "/api/v4/users/autocomplete?name=example.com"
    assert await _json(alice, "GET", path, 200) == {"users": []}
    path = "/api/v4/users/autocomplete?name=a&limit=1"
    assert len((await _json(alice, "GET", path, 200))["users"]) == 1
    _, outsider_token = _outsider(emulator)
    path = f"/api/v4/users/autocomplete?in_team={seed.team_id}&name=a"
    assert await _error(client(outsider_token), "GET", path, 403) == FORBIDDEN


async def test_known_users(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    known = await _json(client(seed.token), "GET", "/api/v4/users/known", 200)
    assert sorted(known) == sorted([seed.admin_user_id, seed.bot_user_id])
    _, outsider_token = _outsider(emulator)
    assert await _json(client(outsider_token), "GET", "/api/v4/users/known", 200) == []


async def test_user_stats(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    assert await _json(alice, "GET", "/api/v4/users/stats", 200) == {"total_users_count": 3}
    gone_id, _ = emulator.create_user("gone")
    emulator.state.set_active(emulator.state.user(gone_id), False)
    assert await _json(alice, "GET", "/api/v4/users/stats", 200) == {"total_users_count": 3}
    admin = client(seed.admin_token)
    path = "/api/v4/users/stats/filtered"
    assert await _json(admin, "GET", path, 200) == {"total_users_count": 2}
    assert await _json(admin, "GET", path + "?include_bots=true&include_deleted=true", 200) == {
        "total_users_count": 4
    }
    assert await _json(admin, "GET", path + "?roles=system_admin", 200) == {"total_users_count": 1}
    assert await _error(alice, "GET", path, 403) == FORBIDDEN
    assert await _error(admin, "GET", path + "?roles=BAD", 400) == "api.context.invalid_body_param.app_error"


async def test_invalid_emails(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    # No RestrictCreationToDomains: every active email account is listed, bots never.
    users = await _json(client(seed.admin_token), "GET", "/api/v4/users/invalid_emails", 200)
    assert _names(users) == ["sysadmin", "alice"]
    assert await _error(client(seed.token), "GET", "/api/v4/users/invalid_emails", 403) == FORBIDDEN


async def test_server_limits(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    limits = await _json(client(seed.admin_token), "GET", "/api/v4/limits/server", 200)
    assert (limits["maxUsersLimit"], limits["maxUsersHardLimit"], limits["activeUserCount"]) == (
        2500,
        5000,
        2,
    )
    limits = await _json(client(seed.token), "GET", "/api/v4/limits/server", 200)
    assert (limits["maxUsersLimit"], limits["activeUserCount"]) == (0, 0)


# --------------------------------------------------------------------------- PUT /users/{user_id}


async def test_update_user_replaces_the_profile(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    emulator.state.user(seed.user_id).notify_props["mention_keys"] = "alice,@alice"
    user = await _json(alice, "GET", "/api/v4/users/me", 200)
    emulator.events.clear()
    update = {**user, "username": "alice2", "nickname": "Al", "position": ""}
    del update["first_name"]  # a full replace: a field left out is cleared
    updated = await _json(alice, "PUT", f"/api/v4/users/{seed.user_id}", 200, json=update)
    assert (updated["username"], updated["nickname"], updated["first_name"]) == ("alice2", "Al", "")
    assert updated["roles"] == "system_user"
    assert updated["create_at"] == user["create_at"]
    assert emulator.state.user(seed.user_id).notify_props["mention_keys"] == "alice2,@alice"
    admins, others, own = emulator.events.of_type("user_updated")
    assert {e.data["user"]["username"] for e in (admins, others, own)} == {"alice2"}
    assert own.broadcast.user_id == seed.user_id


async def test_update_user_refusals_change_nothing(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    user = await _json(alice, "GET", "/api/v4/users/me", 200)
    path = f"/api/v4/users/{seed.user_id}"
    invalid_body = "api.context.invalid_body_param.app_error"
    assert await _error(alice, "PUT", path, 400, json={**user, "id": seed.admin_user_id}) == invalid_body
    assert await _error(alice, "PUT", path, 400, json={**user, "nickname": 5}) == invalid_body
    code = await _error(alice, "PUT", path, 400, json={**user, "username": "Bad Name"})
    assert code == "model.user.is_valid.username.app_error"
    code = await _error(alice, "PUT", path, 400, json={**user, "username": "sysadmin"})
    assert code == "app.user.save.username_exists.app_error"
    # A new address of one's own needs the password.
    assert await _error(alice, "PUT", path, 400, json={**user, "email": "a@example.org"}) == invalid_body
    # Nobody makes themselves an admin, and others' profiles are the admins'.
    assert (
        await _error(alice, "PUT", path, 403, json={**user, "roles": "system_admin system_user"}) == FORBIDDEN
    )
    admin_user = await _json(alice, "GET", f"/api/v4/users/{seed.admin_user_id}", 200)
    assert (
        await _error(alice, "PUT", f"/api/v4/users/{seed.admin_user_id}", 403, json=admin_user) == FORBIDDEN
    )
    # Only the wrong (empty) password counted, as DoubleCheckPassword counts it.
    assert await _json(alice, "GET", "/api/v4/users/me", 200) == {**user, "failed_attempts": 1}
    assert not emulator.events.of_type("user_updated")


async def test_update_own_email_with_password(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    user = await _json(alice, "GET", "/api/v4/users/me", 200)
    body = {**user, "email": "alice@example.org", "password": seed.password}
    updated = await _json(alice, "PUT", f"/api/v4/users/{seed.user_id}", 200, json=body)
    assert (updated["email"], updated["email_verified"]) == ("alice@example.org", False)


# --------------------------------------------------------------------------- Deactivation


async def test_delete_user_deactivates(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin, alice = client(seed.admin_token), client(seed.token)
    path = f"/api/v4/users/{seed.user_id}"
    # Self-deactivation is off by default; permanent deletion too; admins are the admins'.
    code = await _error(alice, "DELETE", path, 401)
    assert code == "api.user.update_active.not_enable.app_error"
    assert await _error(alice, "DELETE", f"/api/v4/users/{seed.admin_user_id}", 403) == FORBIDDEN
    code = await _error(admin, "DELETE", path + "?permanent=true", 401)
    assert code == "api.user.delete_user.not_enabled.app_error"
    assert not emulator.state.user(seed.user_id).delete_at
    assert await _json(admin, "DELETE", path, 200) == {"status": "OK"}
    assert emulator.state.user(seed.user_id).delete_at
    async with alice.get("/api/v4/users/me") as resp:
        assert resp.status == 401


async def test_permanent_delete_all_users_is_local_mode_only(
    emulator: Emulator, client: ClientFactory
) -> None:
    code = await _error(client(emulator.seed.admin_token), "DELETE", "/api/v4/users", 404)
    assert code == "api.context.404.app_error"
    assert len(emulator.state.users) == 3


# --------------------------------------------------------------------------- Roles and guests


async def test_update_user_roles(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    path = f"/api/v4/users/{seed.user_id}/roles"
    assert await _json(admin, "PUT", path, 200, json={"roles": "system_user system_admin"}) == {
        "status": "OK"
    }
    assert emulator.state.user(seed.user_id).is_admin
    (event,) = emulator.events.of_type("user_role_updated")
    assert event.data == {"user_id": seed.user_id, "roles": "system_user system_admin"}
    assert event.broadcast.user_id == seed.user_id


async def test_update_user_roles_refusals(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin, alice = client(seed.admin_token), client(seed.token)
    path = f"/api/v4/users/{seed.user_id}/roles"
    assert await _error(alice, "PUT", path, 403, json={"roles": "system_user system_admin"}) == FORBIDDEN
    cases = {
        "system_admin": "api.context.invalid_body_param.app_error",
        "system_user Bad!": "api.context.invalid_body_param.app_error",
        "system_user system_manager": "api.user.update_user_roles.license.app_error",
        "system_user made_up_role": "app.role.check_roles_exist.role_not_found",
    }
    for roles, error_id in cases.items():
        assert await _error(admin, "PUT", path, 400, json={"roles": roles}) == error_id, roles
    assert (
        await _error(admin, "PUT", path, 400, json={"roles": 1}) == "api.context.invalid_body_param.app_error"
    )
    # The last system admin keeps the role.
    own = f"/api/v4/users/{seed.admin_user_id}/roles"
    code = await _error(admin, "PUT", own, 400, json={"roles": "system_user"})
    assert code == "app.user.update.lastAdmin.app_error"
    assert emulator.state.user(seed.user_id).roles == "system_user"
    assert not emulator.events.of_type("user_role_updated")


async def test_guest_promotion_needs_a_license(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin, alice = client(seed.admin_token), client(seed.token)
    code = await _error(admin, "POST", f"/api/v4/users/{seed.user_id}/promote", 501)
    assert code == "api.user.promote_guest_to_user.no_guest.app_error"
    assert await _error(alice, "POST", f"/api/v4/users/{seed.user_id}/promote", 403) == FORBIDDEN
    code = await _error(admin, "POST", f"/api/v4/users/{seed.user_id}/demote", 501)
    assert code == "api.team.demote_user_to_guest.license.error"
    assert emulator.state.user(seed.user_id).roles == "system_user"


# --------------------------------------------------------------------------- Profile image


async def test_reset_profile_image(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    form = FormData()
    form.add_field("image", b"\x89PNG custom", filename="me.png", content_type="image/png")
    async with alice.post(f"/api/v4/users/{seed.user_id}/image", data=form) as resp:
        assert resp.status == 200
    assert emulator.state.user(seed.user_id).last_picture_update > 0
    assert await _error(alice, "DELETE", f"/api/v4/users/{seed.admin_user_id}/image", 403) == FORBIDDEN
    assert await _json(alice, "DELETE", f"/api/v4/users/{seed.user_id}/image", 200) == {"status": "OK"}
    assert emulator.state.user(seed.user_id).last_picture_update == 0
    async with alice.get(f"/api/v4/users/{seed.user_id}/image") as resp:
        assert await resp.read() == default_png()
    assert "last_picture_update" not in emulator.events.of_type("user_updated")[-1].data["user"]  # 0: omitted


async def test_default_profile_image(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    emulator.state.user(seed.admin_user_id).image = b"custom"
    async with alice.get(f"/api/v4/users/{seed.admin_user_id}/image/default") as resp:
        assert resp.status == 200
        assert resp.content_type == "image/png"
        assert await resp.read() == default_png()
    code = await _error(alice, "GET", f"/api/v4/users/{'x' * 26}/image/default", 404)
    assert code == "app.user.missing_account.const"


# --------------------------------------------------------------------------- Passwords


async def test_update_own_password_revokes_other_sessions(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    other_session = await _login(client(None), "alice", seed.password)
    current = await _login(client(None), "alice", seed.password)
    http = client(current)
    body = {"current_password": seed.password, "new_password": "NewPassword2"}
    assert await _json(http, "PUT", "/api/v4/users/me/password", 200, json=body) == {"status": "OK"}
    async with client(other_session).get("/api/v4/users/me") as resp:
        assert resp.status == 401
    async with http.get("/api/v4/users/me") as resp:
        assert resp.status == 200
    async with client(seed.token).get("/api/v4/users/me") as resp:  # access tokens stay valid
        assert resp.status == 200
    await _login(client(None), "alice", "NewPassword2")


async def test_update_password_refusals(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    path = "/api/v4/users/me/password"
    code = await _error(
        alice, "PUT", path, 400, json={"current_password": "wrong", "new_password": "NewPassword2"}
    )
    assert code == "api.user.update_password.incorrect.app_error"
    assert emulator.state.user(seed.user_id).failed_attempts == 1
    code = await _error(alice, "PUT", path, 400, json={"new_password": "NewPassword2"})
    assert code == "api.context.invalid_body_param.app_error"
    code = await _error(
        alice, "PUT", path, 400, json={"current_password": seed.password, "new_password": "short"}
    )
    assert code == "model.user.is_valid.pwd.app_error"
    other = f"/api/v4/users/{seed.admin_user_id}/password"
    code = await _error(alice, "PUT", other, 403, json={"new_password": "NewPassword2"})
    assert code == "api.user.update_password.context.app_error"
    assert emulator.state.user(seed.user_id).password == seed.password
    assert emulator.state.user(seed.admin_user_id).password == seed.password


async def test_admin_sets_another_users_password(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    session = await _login(client(None), "alice", seed.password)
    path = f"/api/v4/users/{seed.user_id}/password"
    await _json(client(seed.admin_token), "PUT", path, 200, json={"new_password": "AdminChose1"})
    async with client(session).get("/api/v4/users/me") as resp:
        assert resp.status == 401
    await _login(client(None), "alice", "AdminChose1")


async def test_password_reset_flow(emulator: Emulator, client: ClientFactory) -> None:
    http = client(None)
    send = "/api/v4/users/password/reset/send"
    assert await _json(http, "POST", send, 200, json={"email": "alice@example.com"}) == {"status": "OK"}
    assert await _json(http, "POST", send, 200, json={"email": "nobody@example.com"}) == {"status": "OK"}
    assert await _error(http, "POST", send, 400, json={}) == "api.context.invalid_body_param.app_error"
    (token,) = emulator.state.email_tokens.values()
    reset = "/api/v4/users/password/reset"
    code = await _error(http, "POST", reset, 400, json={"token": "short", "new_password": "Reset1234"})
    assert code == "api.context.invalid_body_param.app_error"
    code = await _error(http, "POST", reset, 400, json={"token": "x" * 64, "new_password": "Reset1234"})
    assert code == "api.user.reset_password.invalid_link.app_error"
    code = await _error(http, "POST", reset, 400, json={"token": token.token, "new_password": "x"})
    assert code == "model.user.is_valid.pwd.app_error"
    assert emulator.state.user(emulator.seed.user_id).password == emulator.seed.password
    ok = await _json(http, "POST", reset, 200, json={"token": token.token, "new_password": "Reset1234"})
    assert ok == {"status": "OK"}
    await _login(http, "alice", "Reset1234")
    assert not emulator.state.email_tokens  # a token works once


async def test_failed_attempts_lock_and_reset(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(None)
    for _ in range(10):
        async with http.post("/api/v4/users/login", json={"login_id": "alice", "password": "nope"}) as resp:
            assert resp.status == 401
    login = {"login_id": "alice", "password": seed.password}
    code = await _error(http, "POST", "/api/v4/users/login", 401, json=login)
    assert code == "api.user.check_user_login_attempts.too_many.app_error"
    path = f"/api/v4/users/{seed.user_id}/reset_failed_attempts"
    assert await _error(client(seed.token), "POST", path, 403) == FORBIDDEN
    assert await _json(client(seed.admin_token), "POST", path, 200) == {"status": "OK"}
    await _login(http, "alice", seed.password)


# --------------------------------------------------------------------------- Email verification


async def test_email_verification(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    http = client(None)
    emulator.state.user(seed.user_id).email_verified = False
    send = "/api/v4/users/email/verify/send"
    assert await _json(http, "POST", send, 200, json={"email": "nobody@example.com"}) == {"status": "OK"}
    assert await _json(http, "POST", send, 200, json={"email": "alice@example.com"}) == {"status": "OK"}
    assert (
        await _error(http, "POST", send, 400, json={"email": ""})
        == "api.context.invalid_body_param.app_error"
    )
    (token,) = emulator.state.email_tokens.values()
    verify = "/api/v4/users/email/verify"
    code = await _error(http, "POST", verify, 400, json={"token": "x" * 64})
    assert code == "api.user.verify_email.bad_link.app_error"
    assert (
        await _error(http, "POST", verify, 400, json={"token": 7})
        == "api.context.invalid_body_param.app_error"
    )
    assert not emulator.state.user(seed.user_id).email_verified
    assert await _json(http, "POST", verify, 200, json={"token": token.token}) == {"status": "OK"}
    assert emulator.state.user(seed.user_id).email_verified


async def test_verify_member_email(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    emulator.state.user(seed.user_id).email_verified = False
    path = f"/api/v4/users/{seed.user_id}/email/verify/member"
    assert await _error(client(seed.token), "POST", path, 403) == FORBIDDEN
    assert not emulator.state.user(seed.user_id).email_verified
    user = await _json(client(seed.admin_token), "POST", path, 200)
    assert user["id"] == seed.user_id
    assert emulator.state.user(seed.user_id).email_verified
    *profiles, own = (e.data["user"] for e in emulator.events.of_type("user_updated")[-3:])
    assert own["id"] == seed.user_id
    assert own["email_verified"] is True  # her own copy is whole...
    assert all("email_verified" not in p for p in profiles)  # ...the others' are profiles


# --------------------------------------------------------------------------- Other per-user reads


async def test_audits(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    assert await _json(alice, "GET", f"/api/v4/users/{seed.user_id}/audits", 200) == []
    assert await _error(alice, "GET", f"/api/v4/users/{seed.admin_user_id}/audits", 403) == FORBIDDEN


async def test_terms_of_service_are_off(emulator: Emulator, client: ClientFactory) -> None:
    alice = client(emulator.seed.token)
    path = "/api/v4/users/me/terms_of_service"
    code = await _error(alice, "POST", path, 404, json={"termsOfServiceId": "x" * 26, "accepted": True})
    assert code == "app.terms_of_service.get.no_rows.app_error"
    code = await _error(alice, "POST", path, 400, json={"accepted": True})
    assert code == "api.context.invalid_body_param.app_error"
    code = await _error(alice, "POST", path, 400, json={"termsOfServiceId": "x", "accepted": "yes"})
    assert code == "api.context.invalid_body_param.app_error"
    code = await _error(alice, "GET", path, 404)
    assert code == "app.user_terms_of_service.get_by_user.no_rows.app_error"


async def test_uploads(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    assert await _json(alice, "GET", f"/api/v4/users/{seed.user_id}/uploads", 200) == []
    code = await _error(client(seed.admin_token), "GET", f"/api/v4/users/{seed.user_id}/uploads", 403)
    assert code == "api.user.get_uploads_for_user.forbidden.app_error"


async def test_channel_members_for_user(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    members = await _json(alice, "GET", f"/api/v4/users/{seed.user_id}/channel_members", 200)
    assert seed.channel_id in {m["channel_id"] for m in members}
    assert {m["team_name"] for m in members} == {seed.team_name}
    assert all(m["user_id"] == seed.user_id for m in members)
    page = await _json(alice, "GET", "/api/v4/users/me/channel_members?page=1&per_page=1", 200)
    assert page == members[1:2]
    code = await _error(alice, "GET", f"/api/v4/users/{seed.admin_user_id}/channel_members", 403)
    assert code == FORBIDDEN


async def test_set_active(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin, alice = client(seed.admin_token), client(seed.token)
    path = f"/api/v4/users/{seed.user_id}/active"
    code = await _error(alice, "PUT", path, 401, json={"active": False})
    assert code == "api.user.update_active.not_enable.app_error"
    code = await _error(alice, "PUT", f"/api/v4/users/{seed.bot_user_id}/active", 403, json={"active": False})
    assert code == "api.user.update_active.permissions.app_error"
    assert (
        await _error(admin, "PUT", path, 400, json={"active": "no"})
        == "api.context.invalid_body_param.app_error"
    )
    assert not emulator.state.user(seed.user_id).delete_at
    assert await _json(admin, "PUT", path, 200, json={"active": False}) == {"status": "OK"}
    assert emulator.state.user(seed.user_id).delete_at
    (event,) = emulator.events.of_type("user_activation_status_change")
    assert event.data == {}
    assert await _json(admin, "PUT", path, 200, json={"active": True}) == {"status": "OK"}
    assert not emulator.state.user(seed.user_id).delete_at


# --------------------------------------------------------------------------- what others see


async def test_another_users_profile_leaves_out_what_is_only_theirs(
    emulator: Emulator, client: ClientFactory
) -> None:
    """As ``getUser`` and the lists answer: a user sees all of their own account, others see a
    profile (``SanitizeProfile``): no notification settings, no verification or password-update
    state, and the sign-in method only when they are system admins. Lists are profiles throughout,
    the caller's own entry too."""
    seed = emulator.seed
    emulator.state.user(seed.user_id).auth_service = "gitlab"
    alice, admin = client(seed.token), client(seed.admin_token)
    own = await _json(alice, "GET", "/api/v4/users/me", 200)
    assert own["notify_props"]["desktop"] == "mention"
    assert own["email_verified"] is True
    assert own["last_password_update"] > 0
    assert own["auth_service"] == "gitlab"
    private = {"notify_props", "email_verified", "last_password_update", "failed_attempts"}
    for path in (f"/api/v4/users/{seed.admin_user_id}", "/api/v4/users/username/sysadmin"):
        other = await _json(alice, "GET", path, 200)
        assert other["username"] == "sysadmin"
        assert not private & other.keys(), path
        assert other["email"] == "sysadmin@example.com"  # (ShowEmailAddress is on by default)
    as_admin = await _json(admin, "GET", f"/api/v4/users/{seed.user_id}", 200)
    assert not private & as_admin.keys()
    assert as_admin["auth_service"] == "gitlab"
    listed = await _json(alice, "POST", "/api/v4/users/ids", 200, json=[seed.user_id, seed.admin_user_id])
    assert [u["username"] for u in listed] == ["alice", "sysadmin"]
    assert all(not private & u.keys() for u in listed)
    assert listed[0]["auth_service"] == ""  # her own entry in a list is a profile too
    for user in await _json(alice, "GET", "/api/v4/users", 200):
        assert not private & user.keys()


async def test_a_user_update_reaches_admins_and_others_each_with_their_copy(
    emulator: Emulator, client: ClientFactory
) -> None:
    """As ``sendUpdatedUserEvent``: the user gets their whole account, admins a profile with the
    sign-in method, everyone else a profile without it; each socket one copy, never two."""
    seed = emulator.seed
    emulator.state.user(seed.user_id).auth_service = "gitlab"
    _, bob_token = emulator.create_user("bob")
    sockets = {}
    for name, token in (("alice", seed.token), ("bob", bob_token), ("admin", seed.admin_token)):
        ws = await client(token).ws_connect("/api/v4/websocket")
        assert (await ws.receive_json(timeout=5))["event"] == "hello"
        sockets[name] = ws
    await _json(
        client(seed.token), "PUT", f"/api/v4/users/{seed.user_id}/patch", 200, json={"nickname": "Al"}
    )
    for name, auth_service, whole in (
        ("alice", "gitlab", True),
        ("bob", "", False),
        ("admin", "gitlab", False),
    ):
        frames = []
        while True:
            try:
                frame = await sockets[name].receive_json(timeout=0.5)
            except TimeoutError:
                break
            if frame.get("event") == "user_updated":
                frames.append(frame["data"]["user"])
        assert len(frames) == 1, name  # one copy each, never two
        assert frames[0]["nickname"] == "Al"
        assert frames[0]["auth_service"] == auth_service, name
        assert ("notify_props" in frames[0]) is whole, name
    for ws in sockets.values():
        await ws.close()
