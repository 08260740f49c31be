"""Slash command autocomplete, suggestions and moves; the dialog lookup."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import ClientSession

from mmbridge.testing.emulator import Emulator

from .conftest import ClientFactory
from .test_integrations import Integration, integration

__all__ = ["integration"]


async def _call(http: ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with http.request(method, path, json=body) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None


async def _command(http: ClientSession, team_id: str, **fields: Any) -> dict[str, Any]:
    body = {"team_id": team_id, "method": "P", "url": "http://127.0.0.1:9/x", **fields}
    status, command = await _call(http, "POST", "/api/v4/commands", body)
    assert status == 201, command
    return dict(command)


async def test_autocomplete_lists_builtins_and_team_commands(
    emulator: Emulator, client: ClientFactory
) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    await _command(admin, seed.team_id, trigger="deploy", auto_complete=True, auto_complete_desc="Deploy it")
    await _command(admin, seed.team_id, trigger="hidden", auto_complete=False)
    status, listed = await _call(
        client(seed.token), "GET", f"/api/v4/teams/{seed.team_id}/commands/autocomplete"
    )
    assert status == 200
    triggers = [c["trigger"] for c in listed]
    assert "deploy" in triggers
    assert "me" in triggers
    assert "hidden" not in triggers
    outsider_id, outsider_token = emulator.create_user("outsider")
    emulator.state.remove_team_member(
        emulator.state.team(seed.team_id), emulator.state.user(outsider_id), outsider_id
    )
    status, error = await _call(
        client(outsider_token), "GET", f"/api/v4/teams/{seed.team_id}/commands/autocomplete"
    )
    assert (status, error["id"]) == (403, "api.context.permissions.app_error")


async def test_autocomplete_suggestions(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    await _command(
        client(seed.admin_token),
        seed.team_id,
        trigger="deploy",
        auto_complete=True,
        auto_complete_hint="[env]",
    )
    alice = client(seed.token)
    path = f"/api/v4/teams/{seed.team_id}/commands/autocomplete_suggestions"
    status, found = await _call(alice, "GET", f"{path}?user_input=/de&channel_id={seed.channel_id}")
    assert status == 200
    assert found == [
        {"Complete": "deploy", "Suggestion": "deploy", "Hint": "[env]", "Description": "", "IconData": ""}
    ]
    status, found = await _call(alice, "GET", f"{path}?user_input=/m")
    assert [s["Complete"] for s in found] == ["me", "msg", "mute"]
    status, error = await _call(alice, "GET", path)
    assert (status, error["id"]) == (400, "api.context.invalid_body_param.app_error")
    status, error = await _call(
        alice, "GET", f"/api/v4/teams/{'x' * 26}/commands/autocomplete_suggestions?user_input=/d"
    )
    assert (status, error["id"]) == (403, "api.context.permissions.app_error")


async def test_move_command(emulator: Emulator, client: ClientFactory) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    command = await _command(admin, seed.team_id, trigger="deploy")
    status, team = await _call(
        admin, "POST", "/api/v4/teams", {"name": "other", "display_name": "Other", "type": "O"}
    )
    assert status == 201, team
    status, error = await _call(
        client(seed.token), "PUT", f"/api/v4/commands/{command['id']}/move", {"team_id": team["id"]}
    )
    assert (status, error["id"]) == (403, "api.context.permissions.app_error")
    status, error = await _call(admin, "PUT", f"/api/v4/commands/{command['id']}/move", {"team_id": 3})
    assert (status, error["id"]) == (400, "api.context.invalid_body_param.app_error")
    status, error = await _call(admin, "PUT", f"/api/v4/commands/{command['id']}/move", {"team_id": "x" * 26})
    assert (status, error["id"]) == (404, "app.team.get.find.app_error")
    assert emulator.state.commands[command["id"]].team_id == seed.team_id
    status, ok = await _call(admin, "PUT", f"/api/v4/commands/{command['id']}/move", {"team_id": team["id"]})
    assert (status, ok) == (200, {"status": "OK"})
    status, moved = await _call(admin, "GET", f"/api/v4/commands/{command['id']}")
    assert moved["team_id"] == team["id"]


async def test_dialog_lookup(emulator: Emulator, client: ClientFactory, integration: Integration) -> None:
    seed = emulator.seed
    integration.answer_json("/lookup", {"items": [{"text": "Prod", "value": "prod"}]})
    body = {
        "url": integration.url + "/lookup",
        "channel_id": seed.channel_id,
        "team_id": seed.team_id,
        "callback_id": "c",
        "submission": {"query": "pr", "selected_field": "env"},
    }
    alice = client(seed.token)
    status, answer = await _call(alice, "POST", "/api/v4/actions/dialogs/lookup", body)
    assert (status, answer) == (200, {"items": [{"text": "Prod", "value": "prod"}]})
    (sent,) = integration.at("/lookup")
    request = sent.json()
    assert request["type"] == "dialog_lookup"
    assert request["user_id"] == seed.user_id
    assert request["submission"] == {"query": "pr", "selected_field": "env"}
    assert "url" not in request

    status, error = await _call(alice, "POST", "/api/v4/actions/dialogs/lookup", dict(body, url="ftp://x"))
    assert (status, error["id"]) == (400, "api.context.invalid_body_param.app_error")
    _, stranger = emulator.create_user("stranger")
    status, error = await _call(
        client(stranger), "POST", "/api/v4/actions/dialogs/lookup", dict(body, channel_id=_private(emulator))
    )
    assert (status, error["id"]) == (403, "api.context.permissions.app_error")
    assert len(integration.at("/lookup")) == 1


def _private(emulator: Emulator) -> str:
    seed = emulator.seed
    admin = emulator.state.user(seed.admin_user_id)
    return emulator.state.create_channel(emulator.state.team(seed.team_id), "secret", "Secret", "P", admin).id
