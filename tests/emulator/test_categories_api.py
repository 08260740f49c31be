"""Sidebar categories: the defaults, custom ones, updates, order, deletion and their events."""

from __future__ import annotations

import json
from typing import Any

from mmbridge.testing.emulator import Emulator

from .conftest import ClientFactory

PERMISSION = "api.context.permissions.app_error"
BAD_BODY = "api.context.invalid_body_param.app_error"
CATEGORY_ERROR = "app.channel.sidebar_categories.app_error"


async def _call(http: Any, method: str, path: str, body: Any = None, *, status: int = 200) -> Any:
    async with http.request(method, path, json=body) as resp:
        data = await resp.json()
        assert resp.status == status, data
        return data


def _base(emulator: Emulator, user_id: str | None = None) -> str:
    seed = emulator.seed
    return f"/api/v4/users/{user_id or seed.user_id}/teams/{seed.team_id}/channels/categories"


async def test_default_categories(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    dm = await _call(alice, "POST", "/api/v4/channels/direct", [seed.user_id, seed.bot_user_id], status=201)
    result = await _call(alice, "GET", _base(emulator))
    suffix = f"{seed.user_id}_{seed.team_id}"
    assert result["order"] == [f"favorites_{suffix}", f"channels_{suffix}", f"direct_messages_{suffix}"]
    favorites, channels, dms = result["categories"]
    assert (favorites["type"], favorites["display_name"], favorites["channel_ids"]) == (
        "favorites",
        "Favorites",
        [],
    )
    assert channels["type"] == "channels"
    assert channels["display_name"] == "Channels"
    names = [emulator.state.channel(c).name for c in channels["channel_ids"]]
    assert names == ["bridge-test", "off-topic", "town-square"]  # by display name
    assert dms["channel_ids"] == [dm["id"]]
    assert dms["sorting"] == "recent"
    assert await _call(alice, "GET", f"{_base(emulator)}/order") == result["order"]
    one = await _call(alice, "GET", f"{_base(emulator)}/channels_{suffix}")
    assert one["channel_ids"] == channels["channel_ids"]
    # Another user's categories are theirs (edit_other_users).
    bot = client(seed.bot_token)
    assert (await _call(bot, "GET", _base(emulator), status=403))["id"] == PERMISSION
    assert (await _call(bot, "GET", f"{_base(emulator)}/order", status=403))["id"] == PERMISSION
    assert (await _call(bot, "GET", f"{_base(emulator)}/channels_{suffix}", status=403))["id"] == PERMISSION
    admin = client(seed.admin_token)
    assert (await _call(admin, "GET", _base(emulator)))["order"] == result["order"]
    missing = await _call(admin, "GET", f"{_base(emulator)}/custom_nothing", status=404)
    assert missing["id"] == CATEGORY_ERROR


async def test_create_category(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    base = _base(emulator)
    await _call(alice, "GET", base)
    emulator.events.clear()
    body = {
        "user_id": seed.user_id,
        "team_id": seed.team_id,
        "display_name": "Work",
        "channel_ids": [seed.channel_id, "cz" * 13],  # a channel alice is not in is dropped
    }
    created = await _call(alice, "POST", base, body)
    assert created["type"] == "custom"
    assert created["id"].startswith("custom_")
    assert created["display_name"] == "Work"
    assert created["channel_ids"] == [seed.channel_id]
    (event,) = emulator.events.of_type("sidebar_category_created")
    assert event.data == {"category_id": created["id"]}
    assert (event.broadcast.user_id, event.broadcast.team_id) == (seed.user_id, seed.team_id)
    result = await _call(alice, "GET", base)
    assert result["order"][1] == created["id"]  # right after Favorites
    channels = next(c for c in result["categories"] if c["type"] == "channels")
    assert seed.channel_id not in channels["channel_ids"]
    # The body must name the URL's user and team.
    count = len(emulator.state.categories)
    wrong = await _call(alice, "POST", base, {**body, "team_id": "x" * 26}, status=400)
    assert wrong["id"] == BAD_BODY
    assert (await _call(alice, "POST", base, {**body, "display_name": 7}, status=400))["id"] == BAD_BODY
    assert len(emulator.state.categories) == count
    denied = await _call(client(seed.bot_token), "POST", base, body, status=403)
    assert denied["id"] == PERMISSION


async def _custom(emulator: Emulator, http: Any, name: str, channel_ids: list[str]) -> dict[str, Any]:
    seed = emulator.seed
    body = {
        "user_id": seed.user_id,
        "team_id": seed.team_id,
        "display_name": name,
        "channel_ids": channel_ids,
    }
    result: dict[str, Any] = await _call(http, "POST", _base(emulator), body)
    return result


async def test_update_categories(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    base = _base(emulator)
    custom = await _custom(emulator, alice, "Later", [])
    favorites_id = f"favorites_{seed.user_id}_{seed.team_id}"
    emulator.events.clear()
    update = [
        {**custom, "display_name": "Soon", "muted": True, "channel_ids": [seed.channel_id]},
        {"id": favorites_id, "user_id": seed.user_id, "team_id": seed.team_id, "display_name": "Nope"},
    ]
    updated = await _call(alice, "PUT", base, update)
    assert updated[0]["display_name"] == "Soon"
    assert updated[0]["muted"] is True
    assert updated[0]["channel_ids"] == [seed.channel_id]
    assert updated[1]["display_name"] == "Favorites"  # only custom categories are renamed
    (event,) = emulator.events.of_type("sidebar_category_updated")
    assert [c["id"] for c in json.loads(event.data["updatedCategories"])] == [custom["id"], favorites_id]
    assert event.broadcast.user_id == seed.user_id
    # Muting the category muted its channel for alice.
    member = emulator.state.channel_members[(seed.channel_id, seed.user_id)]
    assert member.notify_props["mark_unread"] == "mention"
    assert emulator.events.of_type("channel_member_updated")
    # Favorites follow the favorite_channel preferences.
    fav = {
        "id": favorites_id,
        "user_id": seed.user_id,
        "team_id": seed.team_id,
        "channel_ids": [seed.channel_id],
    }
    (one,) = [await _call(alice, "PUT", f"{base}/{favorites_id}", fav)]
    assert one["channel_ids"] == [seed.channel_id]
    assert emulator.state.preference(seed.user_id, "favorite_channel", seed.channel_id) is not None
    # Someone else's category id, or a malformed body, changes nothing.
    before = {k: c.to_json() for k, c in emulator.state.categories.items()}
    bad = await _call(alice, "PUT", base, [{**custom, "id": "custom_someone_else"}], status=400)
    assert bad["id"] == BAD_BODY
    assert (await _call(alice, "PUT", base, {"not": "a list"}, status=400))["id"] == BAD_BODY
    assert (await _call(alice, "PUT", f"{base}/{custom['id']}", {**custom, "user_id": "u" * 26}, status=400))[
        "id"
    ] == BAD_BODY
    assert {k: c.to_json() for k, c in emulator.state.categories.items()} == before
    denied = await _call(client(seed.bot_token), "PUT", f"{base}/{custom['id']}", custom, status=403)
    assert denied["id"] == PERMISSION


async def test_category_order(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    base = _base(emulator)
    order = (await _call(alice, "GET", base))["order"]
    emulator.events.clear()
    reversed_order = list(reversed(order))
    assert await _call(alice, "PUT", f"{base}/order", reversed_order) == reversed_order
    assert await _call(alice, "GET", f"{base}/order") == reversed_order
    (event,) = emulator.events.of_type("sidebar_category_order_updated")
    assert event.data == {"order": reversed_order}
    assert event.broadcast.team_id == seed.team_id
    bad = await _call(alice, "PUT", f"{base}/order", [*reversed_order[:2], "custom_unknown"], status=400)
    assert bad["id"] == BAD_BODY
    assert await _call(alice, "GET", f"{base}/order") == reversed_order
    assert (await _call(client(seed.bot_token), "PUT", f"{base}/order", order, status=403))[
        "id"
    ] == PERMISSION


async def test_delete_category(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    base = _base(emulator)
    custom = await _custom(emulator, alice, "Temp", [seed.channel_id])
    denied = await _call(client(seed.bot_token), "DELETE", f"{base}/{custom['id']}", status=403)
    assert denied["id"] == PERMISSION
    emulator.events.clear()
    assert await _call(alice, "DELETE", f"{base}/{custom['id']}") == {"status": "OK"}
    (event,) = emulator.events.of_type("sidebar_category_deleted")
    assert event.data == {"category_id": custom["id"]}
    result = await _call(alice, "GET", base)
    channels = next(c for c in result["categories"] if c["type"] == "channels")
    assert seed.channel_id in channels["channel_ids"]
    assert custom["id"] not in result["order"]
    default = await _call(alice, "DELETE", f"{base}/channels_{seed.user_id}_{seed.team_id}", status=400)
    assert default["id"] == CATEGORY_ERROR
    assert len(result["order"]) == 3


async def test_leaving_the_team_drops_the_categories(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    carol, carol_token = emulator.create_user("carol")
    carol_http = client(carol_token)
    assert len((await _call(carol_http, "GET", _base(emulator, carol)))["order"]) == 3
    await _call(carol_http, "DELETE", f"/api/v4/teams/{seed.team_id}/members/{carol}")
    assert not [c for c in emulator.state.categories.values() if c.user_id == carol]
    assert await _call(carol_http, "GET", _base(emulator, carol)) == {"categories": [], "order": []}


async def test_favorite_preferences_follow_the_favorites_category(
    emulator: Emulator, client: ClientFactory
) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    base = _base(emulator)
    await _call(alice, "GET", base)
    pref = {"user_id": seed.user_id, "category": "favorite_channel", "name": seed.channel_id, "value": "true"}
    await _call(alice, "PUT", f"/api/v4/users/{seed.user_id}/preferences", [pref])
    favorites = (await _call(alice, "GET", base))["categories"][0]
    assert favorites["channel_ids"] == [seed.channel_id]
    await _call(alice, "PUT", f"/api/v4/users/{seed.user_id}/preferences", [{**pref, "value": "false"}])
    result = await _call(alice, "GET", base)
    assert result["categories"][0]["channel_ids"] == []
    assert seed.channel_id in result["categories"][1]["channel_ids"]


async def test_leaving_a_channel_takes_it_out_of_the_categories(
    emulator: Emulator, client: ClientFactory
) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    custom = await _custom(emulator, alice, "Mine", [seed.channel_id])
    await _call(alice, "DELETE", f"/api/v4/channels/{seed.channel_id}/members/{seed.user_id}")
    assert (await _call(alice, "GET", f"{_base(emulator)}/{custom['id']}"))["channel_ids"] == []
