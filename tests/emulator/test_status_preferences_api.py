"""Statuses of several users, custom statuses and user preferences."""

from __future__ import annotations

import json
from typing import Any

from mmbridge.testing.emulator import Emulator

from .conftest import ClientFactory

PERMISSIONS = "api.context.permissions.app_error"
INVALID_BODY = "api.context.invalid_body_param.app_error"


def _pref(user_id: str, category: str, name: str, value: str = "v") -> dict[str, str]:
    return {"user_id": user_id, "category": category, "name": name, "value": value}


async def _user(client: ClientFactory, token: str, user_id: str) -> dict[str, Any]:
    async with client(token).get(f"/api/v4/users/{user_id}") as resp:
        user: dict[str, Any] = await resp.json()
        return user


async def _prefs(client: ClientFactory, token: str, user_id: str = "me") -> list[dict[str, Any]]:
    async with client(token).get(f"/api/v4/users/{user_id}/preferences") as resp:
        assert resp.status == 200
        prefs: list[dict[str, Any]] = await resp.json()
        return prefs


async def test_statuses_by_ids(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    async with alice.put(
        f"/api/v4/users/{seed.user_id}/status", json={"user_id": seed.user_id, "status": "dnd"}
    ) as resp:
        assert resp.status == 200
    async with alice.post("/api/v4/users/status/ids", json=[seed.user_id, seed.admin_user_id]) as resp:
        assert resp.status == 200
        statuses = {s["user_id"]: s["status"] for s in await resp.json()}
    assert statuses == {seed.user_id: "dnd", seed.admin_user_id: "offline"}
    for bad in ([], ["short"], {"ids": [seed.user_id]}):
        async with alice.post("/api/v4/users/status/ids", json=bad) as resp:
            assert resp.status == 400
            assert (await resp.json())["id"] == INVALID_BODY


async def test_set_and_clear_custom_status(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    emulator.events.clear()
    async with alice.put("/api/v4/users/me/status/custom", json={"text": "In a meeting"}) as resp:
        assert resp.status == 200
    props = (await _user(client, seed.token, seed.user_id))["props"]
    status = json.loads(props["customStatus"])
    assert status["text"] == "In a meeting"
    assert status["emoji"] == "speech_balloon"  # the server's default emoji
    updated = emulator.events.of_type("user_updated")
    assert [e.data["user"]["id"] for e in updated] == [seed.user_id] * 3  # (admins', others', own)
    changed = emulator.events.of_type("preferences_changed")
    assert [e.broadcast.user_id for e in changed] == [seed.user_id]
    (recent,) = json.loads(changed[0].data["preferences"])
    assert recent["category"] == "custom_status"
    assert json.loads(recent["value"])[0]["text"] == "In a meeting"
    async with alice.delete("/api/v4/users/me/status/custom") as resp:
        assert resp.status == 200
    assert (await _user(client, seed.token, seed.user_id))["props"]["customStatus"] == ""
    assert len(emulator.events.of_type("user_updated")) == 6


async def test_custom_status_refusals(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    bad_bodies: list[Any] = [
        {},
        {"emoji": "", "text": ""},
        {"text": "x", "duration": "one_hour"},  # a duration needs a future expiry
        {"text": "x", "duration": "forever", "expires_at": "2999-01-01T00:00:00Z"},
        {"text": "x", "expires_at": "tomorrow"},
        {"text": 5},
    ]
    for body in bad_bodies:
        async with alice.put("/api/v4/users/me/status/custom", json=body) as resp:
            assert resp.status == 400, body
            assert (await resp.json())["id"] == INVALID_BODY
    async with alice.put(f"/api/v4/users/{seed.admin_user_id}/status/custom", json={"text": "x"}) as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == PERMISSIONS
    async with alice.delete(f"/api/v4/users/{seed.admin_user_id}/status/custom") as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == PERMISSIONS
    # (no props at all: an empty map is left out, as Go's omitempty does)
    assert "customStatus" not in (await _user(client, seed.token, seed.user_id)).get("props", {})
    assert "customStatus" not in (await _user(client, seed.token, seed.admin_user_id)).get("props", {})
    # A duration with a future expiry is accepted.
    body = {"emoji": "calendar", "text": "x", "duration": "one_hour", "expires_at": "2999-01-01T00:00:00Z"}
    async with alice.put("/api/v4/users/me/status/custom", json=body) as resp:
        assert resp.status == 200


async def _recent(client: ClientFactory, token: str) -> list[dict[str, Any]]:
    async with client(token).get(
        "/api/v4/users/me/preferences/custom_status/name/recent_custom_statuses"
    ) as resp:
        assert resp.status == 200
        value: list[dict[str, Any]] = json.loads((await resp.json())["value"])
        return value


async def test_recent_custom_statuses(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    gone = {"emoji": "x", "text": "never set", "duration": "", "expires_at": "0001-01-01T00:00:00Z"}
    async with alice.post("/api/v4/users/me/status/custom/recent/delete", json=gone) as resp:
        assert resp.status == 400  # no recent statuses at all yet
        assert (await resp.json())["id"] == "app.preference.get.app_error"
    for text in ("one", "two", "one"):
        async with alice.put("/api/v4/users/me/status/custom", json={"emoji": "e", "text": text}) as resp:
            assert resp.status == 200
    recent = await _recent(client, seed.token)
    assert [s["text"] for s in recent] == ["one", "two"]  # newest first, no duplicates
    async with alice.post("/api/v4/users/me/status/custom/recent/delete", json=gone) as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == "api.custom_status.recent_custom_statuses.delete.app_error"
    async with alice.post(
        f"/api/v4/users/{seed.admin_user_id}/status/custom/recent/delete", json=recent[0]
    ) as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == PERMISSIONS
    async with alice.post("/api/v4/users/me/status/custom/recent/delete", json="nope") as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == INVALID_BODY
    assert len(await _recent(client, seed.token)) == 2
    async with alice.post("/api/v4/users/me/status/custom/recent/delete", json=recent[0]) as resp:
        assert resp.status == 200
    assert [s["text"] for s in await _recent(client, seed.token)] == ["two"]
    async with alice.delete("/api/v4/users/me/status/custom/recent", json=recent[1]) as resp:
        assert resp.status == 200
    assert await _recent(client, seed.token) == []


async def test_save_and_read_preferences(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    prefs = [
        _pref(seed.user_id, "display_settings", "use_military_time", "true"),
        _pref(seed.user_id, "tutorial_step", seed.user_id, "2"),
    ]
    emulator.events.clear()
    async with alice.put(f"/api/v4/users/{seed.user_id}/preferences", json=prefs) as resp:
        assert resp.status == 200
    assert sorted(p["category"] for p in await _prefs(client, seed.token)) == [
        "display_settings",
        "tutorial_step",
    ]
    (event,) = emulator.events.of_type("preferences_changed")
    assert event.broadcast.user_id == seed.user_id
    assert json.loads(event.data["preferences"]) == prefs
    async with alice.put("/api/v4/users/me/preferences", json=[{**prefs[0], "value": "false"}]) as resp:
        assert resp.status == 200
    async with alice.get("/api/v4/users/me/preferences/display_settings") as resp:
        assert resp.status == 200
        assert [p["value"] for p in await resp.json()] == ["false"]
    async with alice.get("/api/v4/users/me/preferences/display_settings/name/use_military_time") as resp:
        assert (await resp.json()) == {**prefs[0], "value": "false"}
    async with alice.get("/api/v4/users/me/preferences/nothing_here") as resp:
        assert resp.status == 404
        assert (await resp.json())["id"] == "api.preference.preferences_category.get.app_error"
    async with alice.get("/api/v4/users/me/preferences/display_settings/name/missing") as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == "app.preference.get.app_error"
    async with alice.get(f"/api/v4/users/{seed.admin_user_id}/preferences") as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == PERMISSIONS
    # An admin reads anyone's.
    assert len(await _prefs(client, seed.admin_token, seed.user_id)) == 2


async def test_save_preferences_refusals(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    refusals: list[tuple[str, Any, int, str]] = [
        ("me", {"category": "x"}, 400, INVALID_BODY),
        ("me", [{"category": 1}], 400, INVALID_BODY),
        ("me", [_pref(seed.admin_user_id, "c", "n")], 403, "api.preference.update_preferences.set.app_error"),
        (seed.admin_user_id, [_pref(seed.admin_user_id, "c", "n")], 403, PERMISSIONS),
        (
            "me",
            [_pref(seed.user_id, "c", "n"), _pref(seed.user_id, "c" * 33, "n")],
            400,
            "model.preference.is_valid.category.app_error",
        ),
        (
            "me",
            [_pref(seed.user_id, "theme", "", "not json")],
            400,
            "model.preference.is_valid.theme.app_error",
        ),
        ("me", [_pref(seed.user_id, "flagged_post", "p" * 26, "true")], 400, INVALID_BODY),
    ]
    for user_id, body, status, error_id in refusals:
        async with alice.put(f"/api/v4/users/{user_id}/preferences", json=body) as resp:
            assert resp.status == status, body
            assert (await resp.json())["id"] == error_id
    assert await _prefs(client, seed.token) == []  # all or nothing
    assert emulator.events.of_type("preferences_changed") == []


async def test_flag_a_post(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    body = {"team_id": seed.team_id, "name": "secret", "display_name": "Secret", "type": "P"}
    async with admin.post("/api/v4/channels", json=body) as resp:
        private = (await resp.json())["id"]
    post_ids = []
    for channel_id in (seed.channel_id, private):
        async with admin.post("/api/v4/posts", json={"channel_id": channel_id, "message": "m"}) as resp:
            post_ids.append((await resp.json())["id"])
    alice = client(seed.token)
    async with alice.put(
        "/api/v4/users/me/preferences", json=[_pref(seed.user_id, "flagged_post", post_ids[1], "true")]
    ) as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == PERMISSIONS
    async with alice.put(
        "/api/v4/users/me/preferences", json=[_pref(seed.user_id, "flagged_post", post_ids[0], "true")]
    ) as resp:
        assert resp.status == 200
    assert [(p["category"], p["name"]) for p in await _prefs(client, seed.token)] == [
        ("flagged_post", post_ids[0])
    ]


async def test_delete_preferences(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    prefs = [_pref(seed.user_id, "display_settings", "a"), _pref(seed.user_id, "display_settings", "b")]
    async with alice.put("/api/v4/users/me/preferences", json=prefs) as resp:
        assert resp.status == 200
    async with alice.post(
        "/api/v4/users/me/preferences/delete", json=[_pref(seed.admin_user_id, "display_settings", "a")]
    ) as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == "api.preference.delete_preferences.delete.app_error"
    async with alice.post(f"/api/v4/users/{seed.admin_user_id}/preferences/delete", json=[]) as resp:
        assert resp.status == 403
        assert (await resp.json())["id"] == PERMISSIONS
    async with alice.post("/api/v4/users/me/preferences/delete", json="a") as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == INVALID_BODY
    assert len(await _prefs(client, seed.token)) == 2
    emulator.events.clear()
    async with alice.post("/api/v4/users/me/preferences/delete", json=prefs[:1]) as resp:
        assert resp.status == 200
    assert [p["name"] for p in await _prefs(client, seed.token)] == ["b"]
    (event,) = emulator.events.of_type("preferences_deleted")
    assert event.broadcast.user_id == seed.user_id
    assert json.loads(event.data["preferences"]) == prefs[:1]
