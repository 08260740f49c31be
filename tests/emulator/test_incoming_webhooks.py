"""Incoming webhooks: the CRUD of ``/api/v4/hooks/incoming`` and ``POST /hooks/{id}``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import ClientSession

from mmbridge.testing.emulator import Emulator, EmulatorSettings

from .conftest import ClientFactory


async def _call(http: ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with http.request(method, path, json=body) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None


async def _create(http: ClientSession, channel_id: str, **fields: Any) -> dict[str, Any]:
    status, hook = await _call(http, "POST", "/api/v4/hooks/incoming", {"channel_id": channel_id, **fields})
    assert status == 201, hook
    return dict(hook)


async def _execute(http: ClientSession, hook_id: str, **kwargs: Any) -> tuple[int, str, str]:
    async with http.post(f"/hooks/{hook_id}", **kwargs) as resp:
        return resp.status, resp.content_type, await resp.text()


def _webhook_posts(emulator: Emulator) -> list[Any]:
    posts = (p for p in emulator.state.posts.values() if p.props.get("from_webhook") == "true")
    return sorted(posts, key=lambda p: p.seq)


async def test_incoming_hook_crud(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    hook = await _create(admin, seed.channel_id, display_name="CI", description="builds", username="ci")
    assert hook["channel_id"] == seed.channel_id
    assert hook["team_id"] == seed.team_id
    assert hook["user_id"] == seed.admin_user_id
    assert hook["username"] == ""  # EnablePostUsernameOverride is off
    status, listed = await _call(admin, "GET", f"/api/v4/hooks/incoming?team_id={seed.team_id}")
    assert status == 200
    assert [h["id"] for h in listed] == [hook["id"]]
    status, page = await _call(admin, "GET", "/api/v4/hooks/incoming?page=1&per_page=1")
    assert (status, page) == (200, [])
    status, got = await _call(admin, "GET", f"/api/v4/hooks/incoming/{hook['id']}")
    assert (status, got) == (200, hook)

    update = dict(hook, display_name="CI 2", channel_locked=True)
    status, updated = await _call(admin, "PUT", f"/api/v4/hooks/incoming/{hook['id']}", update)
    assert status == 201  # as the real server (updateIncomingHook writes StatusCreated)
    assert updated["display_name"] == "CI 2"
    assert updated["channel_locked"] is True
    assert updated["create_at"] == hook["create_at"]
    assert updated["update_at"] > hook["update_at"]
    status, error = await _call(
        admin, "PUT", f"/api/v4/hooks/incoming/{hook['id']}", dict(update, id="x" * 26)
    )
    assert (status, error["id"]) == (400, "api.context.invalid_body_param.app_error")

    status, _ = await _call(admin, "DELETE", f"/api/v4/hooks/incoming/{hook['id']}")
    assert status == 200
    status, error = await _call(admin, "GET", f"/api/v4/hooks/incoming/{hook['id']}")
    assert (status, error["id"]) == (404, "app.webhooks.get_incoming.app_error")


async def test_incoming_hook_permissions_and_validation(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    alice = client(seed.token)
    status, error = await _call(alice, "POST", "/api/v4/hooks/incoming", {"channel_id": seed.channel_id})
    assert (status, error["id"]) == (403, "api.context.permissions.app_error")
    status, error = await _call(alice, "GET", "/api/v4/hooks/incoming")
    assert (status, error["id"]) == (403, "api.context.permissions.app_error")
    admin = client(seed.admin_token)
    hook = await _create(admin, seed.channel_id)
    status, error = await _call(alice, "GET", f"/api/v4/hooks/incoming/{hook['id']}")
    assert (status, error["id"]) == (403, "api.context.permissions.app_error")
    status, error = await _call(alice, "DELETE", f"/api/v4/hooks/incoming/{hook['id']}")
    assert (status, error["id"]) == (403, "api.context.permissions.app_error")

    status, error = await _call(admin, "POST", "/api/v4/hooks/incoming", {"channel_id": "x" * 26})
    assert (status, error["id"]) == (404, "app.channel.get.existing.app_error")
    body = {"channel_id": seed.channel_id, "display_name": "d" * 65}
    status, error = await _call(admin, "POST", "/api/v4/hooks/incoming", body)
    assert (status, error["id"]) == (400, "model.incoming_hook.display_name.app_error")
    status, error = await _call(admin, "POST", "/api/v4/hooks/incoming", {"channel_id": 5})
    assert (status, error["id"]) == (400, "api.context.invalid_body_param.app_error")
    assert len(emulator.state.incoming_hooks) == 1


async def test_execute_json_posts_with_props(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    hook = await _create(client(seed.admin_token), seed.channel_id, display_name="CI")
    anonymous = client(None)
    payload = {
        "text": "build <http://ci/1|#1> passed <!channel>",
        "username": "ci-bot",
        "props": {"card": "details", "from_webhook": "false"},
    }
    status, content_type, text = await _execute(anonymous, hook["id"], json=payload)
    assert (status, content_type, text) == (200, "text/plain", "ok")
    (post,) = _webhook_posts(emulator)
    assert post.channel_id == seed.channel_id
    assert post.user_id == seed.admin_user_id
    assert post.message == "build [#1](http://ci/1) passed @channel"
    assert post.props == {"from_webhook": "true", "webhook_display_name": "CI", "card": "details"}
    (event,) = emulator.events.of_type("posted")
    assert event.broadcast.channel_id == seed.channel_id
    assert json.loads(event.data["post"])["id"] == post.id


@pytest.mark.parametrize(
    "emulator_settings",
    [EmulatorSettings(enable_post_username_override=True, enable_post_icon_override=True)],
)
async def test_execute_form_payload_overrides_and_attachments(
    emulator: Emulator, client: ClientFactory
) -> None:
    seed = emulator.seed
    hook = await _create(client(seed.admin_token), seed.channel_id, username="hookname")
    assert hook["username"] == "hookname"
    payload = {"icon_url": "http://i/x.png", "attachments": [{"text": "see <http://a|here>"}]}
    status, _, text = await _execute(client(None), hook["id"], data={"payload": json.dumps(payload)})
    assert (status, text) == (200, "ok")
    (post,) = _webhook_posts(emulator)
    assert post.type == "slack_attachment"
    assert post.props["override_username"] == "hookname"
    assert post.props["override_icon_url"] == "http://i/x.png"
    assert post.props["attachments"][0]["text"] == "see [here](http://a)"


async def test_execute_channel_override_dm_and_split(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    hook = await _create(admin, seed.channel_id)
    status, _, _ = await _execute(
        client(None), hook["id"], json={"text": "hi", "channel": f"@{seed.username}"}
    )
    assert status == 200
    (dm_post,) = _webhook_posts(emulator)
    dm = emulator.state.channels[dm_post.channel_id]
    assert dm.type == "D"
    assert emulator.state.is_channel_member(dm.id, seed.user_id)
    assert emulator.events.of_type("direct_added")

    long_text = "x" * (emulator.settings.max_post_size + 10)
    status, _, _ = await _execute(
        client(None), hook["id"], json={"text": long_text, "channel": "#town-square"}
    )
    assert status == 200
    first, second = _webhook_posts(emulator)[1:]
    assert len(first.message) == emulator.settings.max_post_size
    assert second.message == "x" * 10
    assert emulator.state.channels[first.channel_id].name == "town-square"

    locked = await _create(admin, seed.channel_id, channel_locked=True)
    status, _, text = await _execute(client(None), locked["id"], json={"text": "x", "channel": "town-square"})
    assert (status, json.loads(text)["id"]) == (403, "web.incoming_webhook.channel_locked.app_error")
    assert len(_webhook_posts(emulator)) == 3


async def test_execute_errors_post_nothing(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    hook = await _create(client(seed.admin_token), seed.channel_id)
    anonymous = client(None)
    cases = [
        ({"json": {"text": ""}}, 400, "web.incoming_webhook.text.app_error"),
        (
            {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "model.incoming_hook.parse_data.app_error",
        ),
        ({"json": {"text": "x", "channel": "nowhere"}}, 404, "web.incoming_webhook.channel.app_error"),
        ({"json": {"text": "x", "channel": "@nobody"}}, 400, "web.incoming_webhook.user.app_error"),
        ({"json": {"text": "x", "type": "system_join_channel"}}, 400, "api.context.invalid_param.app_error"),
        (
            {"json": {"text": "x", "priority": {"requested_ack": True}}},
            400,
            "api.context.invalid_param.app_error",
        ),
    ]
    for kwargs, status, error_id in cases:
        got, content_type, text = await _execute(anonymous, hook["id"], **kwargs)
        assert (got, content_type, json.loads(text)["id"]) == (status, "application/json", error_id), kwargs
    got, _, text = await _execute(anonymous, "a" * 26, json={"text": "x"})
    assert (got, json.loads(text)["id"]) == (400, "web.incoming_webhook.invalid.app_error")
    assert _webhook_posts(emulator) == []
    assert emulator.events.of_type("posted") == []


@pytest.mark.parametrize("emulator_settings", [EmulatorSettings(enable_incoming_webhooks=False)])
async def test_incoming_webhooks_disabled(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    status, error = await _call(
        client(seed.admin_token), "POST", "/api/v4/hooks/incoming", {"channel_id": seed.channel_id}
    )
    assert (status, error["id"]) == (501, "api.incoming_webhook.disabled.app_error")
    got, _, text = await _execute(client(None), "a" * 26, json={"text": "x"})
    assert (got, json.loads(text)["id"]) == (501, "web.incoming_webhook.disabled.app_error")
