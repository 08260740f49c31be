"""Integrations: outgoing webhooks, slash commands, interactive actions and dialogs.

A small aiohttp app on 127.0.0.1 plays the integration: it records every request and answers
as the test configured it.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import pytest
import pytest_asyncio
from aiohttp import ClientSession, web

from mmbridge.testing.emulator import Emulator, EmulatorSettings

from .conftest import ClientFactory


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Integration:
    """The fake integration: ``answers[path] = (status, content_type, body)``."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    answers: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    #: Seconds to wait before answering, by path.
    delays: dict[str, float] = field(default_factory=dict)

    def answer_json(self, path: str, value: Any, status: int = 200) -> None:
        self.answers[path] = (status, "application/json", json.dumps(value).encode())

    def answer_text(self, path: str, text: str, status: int = 200) -> None:
        self.answers[path] = (status, "text/plain", text.encode())

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


@pytest_asyncio.fixture
async def integration() -> AsyncIterator[Integration]:
    state = Integration()

    async def handle(request: web.Request) -> web.Response:
        state.received.append(
            Received(
                request.method,
                request.path,
                dict(request.query),
                dict(request.headers),
                await request.read(),
            )
        )
        await asyncio.sleep(state.delays.get(request.path, 0))
        status, content_type, body = state.answers.get(request.path, (200, "text/plain", b""))
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
    state.url = f"http://127.0.0.1:{port}"
    yield state
    await runner.cleanup()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def _call(http: ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with http.request(method, path, json=body) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None


async def _hook(http: ClientSession, **fields: Any) -> dict[str, Any]:
    status, hook = await _call(http, "POST", "/api/v4/hooks/outgoing", {"display_name": "echo", **fields})
    assert status == 201, hook
    return dict(hook)


async def _command(http: ClientSession, emulator: Emulator, **fields: Any) -> dict[str, Any]:
    body = {"team_id": emulator.seed.team_id, "method": "P", **fields}
    status, command = await _call(http, "POST", "/api/v4/commands", body)
    assert status == 201, command
    return dict(command)


def _posts_in(emulator: Emulator, channel_id: str) -> list[Any]:
    return sorted(
        (p for p in emulator.state.posts.values() if p.channel_id == channel_id and not p.type),
        key=lambda p: p.seq,
    )


# ------------------------------------------------------------------ outgoing webhooks


async def test_webhook_form_payload_and_reply(
    emulator: Emulator, client: ClientFactory, integration: Integration
) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    hook = await _hook(
        admin,
        team_id=seed.team_id,
        channel_id=seed.channel_id,
        trigger_words=["!echo"],
        callback_urls=[integration.url + "/hook"],
    )
    assert len(hook["token"]) == 26
    assert hook["creator_id"] == seed.admin_user_id
    integration.answer_json("/hook", {"text": "pong <http://x.org|x>", "props": {"k": "v"}})

    status, post = await _call(
        client(seed.token),
        "POST",
        "/api/v4/posts",
        {"channel_id": seed.channel_id, "message": "!echo hi  there"},
    )
    assert status == 201
    await emulator.integrations_idle()
    (call,) = integration.at("/hook")
    assert call.method == "POST"
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.headers["Accept"] == "application/json"
    assert call.form() == {
        "token": hook["token"],
        "team_id": seed.team_id,
        "team_domain": "test-team",
        "channel_id": seed.channel_id,
        "channel_name": "bridge-test",
        "timestamp": str(post["create_at"] // 1000),
        "user_id": seed.user_id,
        "user_name": "alice",
        "post_id": post["id"],
        "text": "!echo hi  there",
        "trigger_word": "!echo",
        "file_ids": "",
    }
    reply = _posts_in(emulator, seed.channel_id)[-1]
    assert reply.user_id == seed.admin_user_id  # the hook's creator
    assert reply.message == "pong [x](http://x.org)"  # Slack links become Markdown
    assert reply.root_id == ""
    assert reply.props == {"from_webhook": "true", "webhook_display_name": "echo", "k": "v"}
    # The reply (a webhook post) does not trigger the hook again, other words do not either.
    await _call(client(seed.token), "POST", "/api/v4/posts", {"channel_id": seed.channel_id, "message": "hi"})
    await emulator.integrations_idle()
    assert len(integration.at("/hook")) == 1


async def test_webhook_json_prefix_and_comment(
    emulator: Emulator, client: ClientFactory, integration: Integration
) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    await _hook(
        admin,
        team_id=seed.team_id,  # team-wide hook
        trigger_words=["!we"],
        trigger_when=1,
        content_type="application/json",
        callback_urls=[integration.url + "/prefix"],
    )
    await _hook(
        admin,
        team_id=seed.team_id,
        trigger_words=["!we"],
        trigger_when=0,
        callback_urls=[integration.url + "/exact"],
    )
    integration.answer_json("/prefix", {"text": "in thread", "response_type": "comment"})
    status, post = await _call(
        client(seed.token),
        "POST",
        "/api/v4/posts",
        {"channel_id": seed.channel_id, "message": "!weather now"},
    )
    assert status == 201
    await emulator.integrations_idle()
    assert integration.at("/exact") == []
    (call,) = integration.at("/prefix")
    assert call.headers["Content-Type"] == "application/json"
    payload = call.json()
    assert payload["timestamp"] == post["create_at"]  # milliseconds in JSON
    assert payload["trigger_word"] == "!we"
    assert payload["text"] == "!weather now"
    reply = _posts_in(emulator, seed.channel_id)[-1]
    assert (reply.message, reply.root_id) == ("in thread", post["id"])

    await _call(
        client(seed.token), "POST", "/api/v4/posts", {"channel_id": seed.channel_id, "message": "!we x"}
    )
    await emulator.integrations_idle()
    assert len(integration.at("/exact")) == 1
    assert integration.at("/exact")[0].form()["trigger_word"] == "!we"


async def test_webhook_not_fired_for_private_channels_and_system_posts(
    emulator: Emulator, client: ClientFactory, integration: Integration
) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    await _hook(
        admin, team_id=seed.team_id, channel_id=seed.channel_id, callback_urls=[integration.url + "/all"]
    )
    await _hook(admin, team_id=seed.team_id, trigger_words=["go"], callback_urls=[integration.url + "/team"])
    status, private = await _call(
        admin,
        "POST",
        "/api/v4/channels",
        {"team_id": seed.team_id, "name": "secret", "display_name": "Secret", "type": "P"},
    )
    assert status == 201
    await _call(admin, "POST", "/api/v4/posts", {"channel_id": private["id"], "message": "go now"})
    # A system post (someone joins the channel) does not fire the channel hook.
    user_id, _ = emulator.create_user("carol")
    status, _ = await _call(
        admin, "POST", f"/api/v4/channels/{seed.channel_id}/members", {"user_id": user_id}
    )
    assert status == 201
    assert any(p.type == "system_add_to_channel" for p in emulator.state.posts.values())
    await emulator.integrations_idle()
    assert integration.received == []
    # An ordinary post fires the channel hook (no trigger words: every post) and the team hook.
    await _call(admin, "POST", "/api/v4/posts", {"channel_id": seed.channel_id, "message": "go"})
    await emulator.integrations_idle()
    assert [r.path for r in sorted(integration.received, key=lambda r: r.path)] == ["/all", "/team"]
    # As the real server: the trigger word of the last matching hook is sent to all of them.
    assert integration.at("/all")[0].form()["trigger_word"] == "go"


async def test_refused_or_broken_callbacks_never_break_posting(
    emulator: Emulator, client: ClientFactory, integration: Integration
) -> None:
    seed = emulator.seed
    dead = f"http://127.0.0.1:{_closed_port()}/hook"
    await _hook(
        client(seed.admin_token),
        team_id=seed.team_id,
        channel_id=seed.channel_id,
        callback_urls=[dead, integration.url + "/bad", integration.url + "/500"],
    )
    integration.answer_text("/bad", "{not json")
    integration.answer_json("/500", {"text": "answered with 500"}, status=500)
    http = client(seed.token)
    status, _ = await _call(http, "POST", "/api/v4/posts", {"channel_id": seed.channel_id, "message": "x"})
    assert status == 201
    await emulator.integrations_idle()
    errors = {c.url: c for c in emulator.integration_calls}
    assert errors[dead].status == 0
    assert errors[dead].error
    # The HTTP status is not checked: the 500's text is posted; the invalid JSON is dropped.
    assert [p.message for p in _posts_in(emulator, seed.channel_id)][-2:] == ["x", "answered with 500"]
    status, _ = await _call(http, "POST", "/api/v4/posts", {"channel_id": seed.channel_id, "message": "y"})
    assert status == 201


async def test_webhook_crud_and_validation(
    emulator: Emulator, client: ClientFactory, integration: Integration
) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    base = {"team_id": seed.team_id, "display_name": "h", "callback_urls": [integration.url]}
    status, error = await _call(admin, "POST", "/api/v4/hooks/outgoing", {**base, "callback_urls": []})
    assert (status, error["id"]) == (400, "api.webhook.create_outgoing.triggers.app_error")
    status, error = await _call(
        admin, "POST", "/api/v4/hooks/outgoing", {**base, "trigger_words": ["a"], "callback_urls": []}
    )
    assert (status, error["id"]) == (400, "model.outgoing_hook.is_valid.callback.app_error")
    status, error = await _call(
        admin,
        "POST",
        "/api/v4/hooks/outgoing",
        {**base, "trigger_words": ["a"], "callback_urls": ["ftp://x"]},
    )
    assert (status, error["id"]) == (400, "model.outgoing_hook.is_valid.url.app_error")
    status, error = await _call(
        client(seed.token), "POST", "/api/v4/hooks/outgoing", {**base, "trigger_words": ["a"]}
    )
    assert status == 403
    status, private = await _call(
        admin,
        "POST",
        "/api/v4/channels",
        {"team_id": seed.team_id, "name": "priv", "display_name": "Priv", "type": "P"},
    )
    status, error = await _call(
        admin, "POST", "/api/v4/hooks/outgoing", {**base, "channel_id": private["id"]}
    )
    assert status == 403

    hook = await _hook(admin, **base, channel_id=seed.channel_id)
    status, hooks = await _call(admin, "GET", f"/api/v4/hooks/outgoing?team_id={seed.team_id}")
    assert (status, [h["id"] for h in hooks]) == (200, [hook["id"]])
    status, hooks = await _call(
        admin, "GET", f"/api/v4/hooks/outgoing?channel_id={seed.channel_id}&per_page=1"
    )
    assert [h["id"] for h in hooks] == [hook["id"]]
    status, got = await _call(admin, "GET", f"/api/v4/hooks/outgoing/{hook['id']}")
    assert got == hook
    status, updated = await _call(
        admin,
        "PUT",
        f"/api/v4/hooks/outgoing/{hook['id']}",
        {**hook, "trigger_words": ["new"], "display_name": "n"},
    )
    assert (status, updated["trigger_words"], updated["token"]) == (200, ["new"], hook["token"])
    status, regen = await _call(admin, "POST", f"/api/v4/hooks/outgoing/{hook['id']}/regen_token")
    assert status == 200
    assert regen["token"] != hook["token"]
    status, _ = await _call(admin, "DELETE", f"/api/v4/hooks/outgoing/{hook['id']}")
    assert status == 200
    status, error = await _call(admin, "GET", f"/api/v4/hooks/outgoing/{hook['id']}")
    assert (status, error["id"]) == (404, "app.webhooks.get_outgoing.app_error")


# ---------------------------------------------------------------------- slash commands


async def test_command_form_request_and_in_channel_answer(
    emulator: Emulator, client: ClientFactory, integration: Integration
) -> None:
    seed = emulator.seed
    command = await _command(
        client(seed.admin_token), emulator, trigger="Weather", url=integration.url + "/cmd"
    )
    assert command["trigger"] == "weather"
    integration.answer_json(
        "/cmd", {"response_type": "in_channel", "text": "Sunny", "goto_location": "http://x.org"}
    )
    answer = await emulator.type_message(seed.token, seed.channel_id, "/weather Paris  @alice ~bridge-test")
    assert answer["response_type"] == "in_channel"
    assert answer["goto_location"] == "http://x.org"
    assert answer["trigger_id"]
    (call,) = integration.at("/cmd")
    assert call.method == "POST"
    assert call.headers["Authorization"] == f"Token {command['token']}"
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.headers["Accept"] == "application/json"
    form = parse_qs(call.body.decode(), keep_blank_values=True)
    assert form["token"] == [command["token"]]
    assert form["command"] == ["/weather"]
    assert form["text"] == ["Paris  @alice ~bridge-test"]
    assert form["team_domain"] == ["test-team"]
    assert form["channel_name"] == ["bridge-test"]
    assert form["user_name"] == ["alice"]
    assert form["user_mentions"] == ["alice"]
    assert form["user_mentions_ids"] == [seed.user_id]
    assert form["channel_mentions_ids"] == [seed.channel_id]
    assert form["response_url"][0].startswith(str(emulator.url) + "/hooks/commands/")
    assert form["trigger_id"][0]
    post = _posts_in(emulator, seed.channel_id)[-1]
    assert (post.user_id, post.message, post.props) == (seed.user_id, "Sunny", {"from_webhook": "true"})
    assert emulator.events.of_type("ephemeral_message") == []


async def test_command_ephemeral_text_plain_and_get(
    emulator: Emulator, client: ClientFactory, integration: Integration
) -> None:
    seed = emulator.seed
    await _command(
        client(seed.admin_token), emulator, trigger="eph", method="G", url=integration.url + "/g?a=1"
    )
    integration.answer_text("/g", "only *you* see this")
    before = len(emulator.state.posts)
    answer = await emulator.type_message(seed.user_id, seed.channel_id, "/eph now")
    assert answer["response_type"] == ""  # ephemeral is the default
    assert answer["text"] == "only *you* see this"
    (call,) = integration.at("/g")
    assert call.method == "GET"
    assert call.query["a"] == "1"
    assert call.query["text"] == "now"
    assert call.query["command"] == "/eph"
    assert len(emulator.state.posts) == before  # nothing stored
    (event,) = emulator.events.of_type("ephemeral_message")
    assert event.broadcast.user_id == seed.user_id
    post = json.loads(event.data["post"])
    assert (post["message"], post["type"], post["channel_id"]) == (
        "only *you* see this",
        "system_ephemeral",
        seed.channel_id,
    )


async def test_a_command_answers_later_through_its_response_url(
    emulator: Emulator, client: ClientFactory, integration: Integration
) -> None:
    """The ``response_url`` a command is called with takes later answers (``/hooks/commands/{id}``,
    no session): a JSON ``CommandResponse`` or plain text, posted as the first answer would have
    been, five times at most; an unknown id is 404, bad JSON 400."""
    seed = emulator.seed
    await _command(client(seed.admin_token), emulator, trigger="slow", url=integration.url + "/slow")
    integration.answer_text("/slow", "")  # the first answer: nothing yet
    await emulator.type_message(seed.token, seed.channel_id, "/slow report")
    (call,) = integration.at("/slow")
    response_url = parse_qs(call.body.decode())["response_url"][0]
    anonymous = client(None)
    later = {"response_type": "in_channel", "text": "the report is ready"}
    async with anonymous.post(response_url, json=later) as resp:
        assert resp.status == 200
        assert (resp.content_type, await resp.text()) == ("text/plain", "ok")
    post = _posts_in(emulator, seed.channel_id)[-1]
    assert (post.user_id, post.message, post.props) == (
        seed.user_id,
        "the report is ready",
        {"from_webhook": "true"},
    )
    async with anonymous.post(
        response_url, data=b"just for you", headers={"Content-Type": "text/plain"}
    ) as resp:
        assert resp.status == 200
    (event,) = emulator.events.of_type("ephemeral_message")
    assert event.broadcast.user_id == seed.user_id
    assert json.loads(event.data["post"])["message"] == "just for you"
    async with anonymous.post(
        response_url, data=b"{not json", headers={"Content-Type": "application/json"}
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == "web.command_webhook.parse.app_error"
    for _ in range(3):  # uses three to five
        async with anonymous.post(response_url, json={"text": "again"}) as resp:
            assert resp.status == 200
    async with anonymous.post(response_url, json={"text": "a sixth time"}) as resp:
        assert resp.status == 400
        assert (await resp.json())["id"] == "app.command_webhook.try_use.invalid"
    async with anonymous.post(f"{emulator.url}/hooks/commands/{'z' * 26}", json=later) as resp:
        assert resp.status == 404
        assert (await resp.json())["id"] == "app.command_webhook.get.missing"


async def test_command_errors(emulator: Emulator, client: ClientFactory, integration: Integration) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    answer = await emulator.type_message(seed.token, seed.channel_id, "/nothing here")
    assert (answer["status_code"], answer["id"]) == (404, "api.command.execute_command.not_found.app_error")
    await _command(admin, emulator, trigger="boom", url=integration.url + "/boom")
    integration.answer_text("/boom", "oops", status=500)
    answer = await emulator.type_message(seed.token, seed.channel_id, "/boom")
    assert (answer["status_code"], answer["id"]) == (500, "api.command.execute_command.failed_resp.app_error")
    await _command(admin, emulator, trigger="dead", url=f"http://127.0.0.1:{_closed_port()}/x")
    answer = await emulator.type_message(seed.token, seed.channel_id, "/dead")
    assert (answer["status_code"], answer["id"]) == (500, "api.command.execute_command.failed.app_error")
    await _command(admin, emulator, trigger="badjson", url=integration.url + "/badjson")
    integration.answers["/badjson"] = (200, "application/json", b"{nope")
    answer = await emulator.type_message(seed.token, seed.channel_id, "/badjson")
    assert (answer["status_code"], answer["id"]) == (500, "api.command.execute_command.failed.app_error")
    # Not a command at all: an ordinary post.
    answer = await emulator.type_message(seed.token, seed.channel_id, "hello")
    assert answer["message"] == "hello"


async def test_command_crud(emulator: Emulator, client: ClientFactory, integration: Integration) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    command = await _command(admin, emulator, trigger="crud", url=integration.url, auto_complete=True)
    body = {"team_id": seed.team_id, "method": "P", "trigger": "crud", "url": integration.url}
    status, error = await _call(admin, "POST", "/api/v4/commands", body)
    assert (status, error["id"]) == (400, "api.command.duplicate_trigger.app_error")
    status, error = await _call(admin, "POST", "/api/v4/commands", {**body, "trigger": "echo"})
    assert (status, error["id"]) == (400, "api.command.duplicate_trigger.app_error")
    status, error = await _call(admin, "POST", "/api/v4/commands", {**body, "trigger": "x", "method": ""})
    assert (status, error["id"]) == (400, "model.command.is_valid.method.app_error")
    status, _ = await _call(client(seed.token), "POST", "/api/v4/commands", {**body, "trigger": "y"})
    assert status == 403
    status, listed = await _call(admin, "GET", f"/api/v4/commands?team_id={seed.team_id}&custom_only=true")
    assert [c["id"] for c in listed] == [command["id"]]
    assert listed[0]["token"] == command["token"]
    status, listed = await _call(client(seed.token), "GET", f"/api/v4/commands?team_id={seed.team_id}")
    assert (status, listed[0]["token"], listed[0]["trigger"]) == (200, "", "crud")
    status, got = await _call(admin, "GET", f"/api/v4/commands/{command['id']}")
    assert got == command
    status, error = await _call(client(seed.token), "GET", f"/api/v4/commands/{command['id']}")
    assert (status, error["id"]) == (404, "store.sql_command.save.get.app_error")
    status, updated = await _call(
        admin, "PUT", f"/api/v4/commands/{command['id']}", {**command, "trigger": "crud2", "token": "x"}
    )
    assert (status, updated["trigger"], updated["token"]) == (200, "crud2", command["token"])
    status, regen = await _call(admin, "PUT", f"/api/v4/commands/{command['id']}/regen_token")
    assert status == 200
    assert regen["token"] != command["token"]
    status, _ = await _call(admin, "DELETE", f"/api/v4/commands/{command['id']}")
    assert status == 200
    status, _ = await _call(admin, "GET", f"/api/v4/commands/{command['id']}")
    assert status == 404


# --------------------------------------------------------------- actions and dialogs


async def _post_with_actions(client: ClientFactory, emulator: Emulator, url: str) -> dict[str, Any]:
    attachment = {
        "text": "Deploy?",
        "actions": [
            {"id": "approve", "name": "Approve", "integration": {"url": url, "context": {"n": 1}}},
            {
                "name": "Pick",
                "type": "select",
                "options": [{"text": "A", "value": "a"}],
                "integration": {"url": url + "/select"},
            },
        ],
    }
    status, post = await _call(
        client(emulator.seed.bot_token),
        "POST",
        "/api/v4/posts",
        {"channel_id": emulator.seed.channel_id, "message": "deploy", "props": {"attachments": [attachment]}},
    )
    assert status == 201
    return dict(post)


async def test_action_update_and_ephemeral(
    emulator: Emulator, client: ClientFactory, integration: Integration
) -> None:
    seed = emulator.seed
    post = await _post_with_actions(client, emulator, integration.url + "/act")
    select_id = post["props"]["attachments"][0]["actions"][1]["id"]
    assert len(select_id) == 26  # generated
    integration.answer_json(
        "/act", {"update": {"message": "Approved"}, "ephemeral_text": "done", "goto_location": "http://g"}
    )
    http = client(seed.token)
    status, answer = await _call(http, "POST", f"/api/v4/posts/{post['id']}/actions/approve", {})
    assert status == 200
    assert answer["status"] == "OK"
    assert answer["trigger_id"]
    assert answer["goto_location"] == "http://g"
    (call,) = integration.at("/act")
    sent = call.json()
    assert call.headers["Content-Type"] == "application/json"
    assert sent["user_id"] == seed.user_id
    assert sent["user_name"] == "alice"
    assert sent["post_id"] == post["id"]
    assert sent["channel_name"] == "bridge-test"
    assert sent["team_domain"] == "test-team"
    assert sent["context"] == {"n": 1}
    assert sent["trigger_id"]
    stored = emulator.state.posts[post["id"]]
    assert stored.message == "Approved"
    assert stored.edit_at > 0
    assert stored.props["attachments"][0]["text"] == "Deploy?"  # props kept when the update has none
    edited = json.loads(emulator.events.of_type("post_edited")[-1].data["post"])
    assert edited["message"] == "Approved"
    (ephemeral,) = emulator.events.of_type("ephemeral_message")
    assert ephemeral.broadcast.user_id == seed.user_id  # the clicker only
    assert json.loads(ephemeral.data["post"])["root_id"] == post["id"]

    integration.answer_text("/act", "no", status=500)
    status, error = await _call(http, "POST", f"/api/v4/posts/{post['id']}/actions/approve")
    assert (status, error["id"]) == (400, "api.post.do_action.action_integration.app_error")

    integration.answer_json("/act/select", {"update": {"message": "A", "props": {}}})
    status, _ = await _call(
        http, "POST", f"/api/v4/posts/{post['id']}/actions/{select_id}", {"selected_option": "a"}
    )
    assert status == 200
    sent = integration.at("/act/select")[0].json()
    assert sent["context"] == {"selected_option": "a"}
    assert sent["type"] == "select"
    # Props given in the update replace the post's (only from_webhook/override_* are retained).
    assert emulator.state.posts[post["id"]].props == {}

    status, error = await _call(http, "POST", f"/api/v4/posts/{post['id']}/actions/missing")
    assert (status, error["id"]) == (404, "api.post.do_action.action_id.app_error")
    assert emulator.state.posts[post["id"]].props == {}  # so the buttons are gone


async def test_dialog_open_and_submit(
    emulator: Emulator, client: ClientFactory, integration: Integration
) -> None:
    seed = emulator.seed
    await _command(client(seed.admin_token), emulator, trigger="dlg", url=integration.url + "/cmd")
    await emulator.type_message(seed.token, seed.channel_id, "/dlg")
    trigger_id = integration.at("/cmd")[0].form()["trigger_id"]
    bot = client(seed.bot_token)
    dialog = {"callback_id": "c", "title": "T", "elements": []}
    status, _ = await _call(
        bot,
        "POST",
        "/api/v4/actions/dialogs/open",
        {"trigger_id": trigger_id, "url": integration.url, "dialog": dialog},
    )
    assert status == 200
    (event,) = emulator.events.of_type("open_dialog")
    assert event.broadcast.user_id == seed.user_id
    assert json.loads(event.data["dialog"])["dialog"] == dialog
    status, _error = await _call(
        bot,
        "POST",
        "/api/v4/actions/dialogs/open",
        {"trigger_id": "bad", "url": integration.url, "dialog": dialog},
    )
    assert status == 400

    integration.answer_json("/submit", {"errors": {"name": "too short"}})
    body = {
        "url": integration.url + "/submit",
        "callback_id": "c",
        "state": "s",
        "channel_id": seed.channel_id,
        "team_id": seed.team_id,
        "submission": {"name": "x"},
        "cancelled": False,
    }
    http = client(seed.token)
    status, answer = await _call(http, "POST", "/api/v4/actions/dialogs/submit", body)
    assert (status, answer) == (200, {"errors": {"name": "too short"}})
    sent = integration.at("/submit")[0].json()
    assert sent["user_id"] == seed.user_id
    assert sent["submission"] == {"name": "x"}
    assert "url" not in sent
    integration.answer_text("/submit", "")
    status, answer = await _call(http, "POST", "/api/v4/actions/dialogs/submit", body)
    assert (status, answer) == (200, {})


async def test_integrations_idle_waits_for_slow_hooks(
    emulator: Emulator, client: ClientFactory, integration: Integration
) -> None:
    seed = emulator.seed
    await _hook(
        client(seed.admin_token),
        team_id=seed.team_id,
        channel_id=seed.channel_id,
        callback_urls=[integration.url + "/slow"],
    )
    integration.answer_json("/slow", {"text": "late"})
    integration.delays["/slow"] = 0.2
    status, _ = await _call(
        client(seed.token), "POST", "/api/v4/posts", {"channel_id": seed.channel_id, "message": "x"}
    )
    assert status == 201
    await asyncio.wait_for(emulator.integrations_idle(), 5)
    assert _posts_in(emulator, seed.channel_id)[-1].message == "late"


@pytest.mark.parametrize("emulator_settings", [EmulatorSettings(outgoing_integration_timeout=0.2)])
async def test_timeouts(emulator: Emulator, client: ClientFactory, integration: Integration) -> None:
    seed = emulator.seed
    admin = client(seed.admin_token)
    integration.delays["/slow"] = 0.5
    await _command(admin, emulator, trigger="slow", url=integration.url + "/slow")
    answer = await emulator.type_message(seed.token, seed.channel_id, "/slow")
    assert (answer["status_code"], answer["id"]) == (500, "api.command.execute_command.failed.app_error")
    await _hook(
        admin, team_id=seed.team_id, channel_id=seed.channel_id, callback_urls=[integration.url + "/slow"]
    )
    status, _ = await _call(admin, "POST", "/api/v4/posts", {"channel_id": seed.channel_id, "message": "x"})
    assert status == 201
    await asyncio.wait_for(emulator.integrations_idle(), 2)
    assert [c.status for c in emulator.integration_calls] == [0, 0]
    assert "Timeout" in emulator.integration_calls[-1].error


async def test_builtin_me_posts_an_action_as_the_user(emulator: Emulator) -> None:
    """``/me waves`` is the server's built-in command: the user's own post, of type ``me``, in italics."""
    seed = emulator.seed
    answer = await emulator.type_message(seed.token, seed.channel_id, "/me waves hello")
    assert (answer["response_type"], answer["type"], answer["text"]) == ("in_channel", "me", "*waves hello*")
    post = max(
        (p for p in emulator.state.posts.values() if p.channel_id == seed.channel_id), key=lambda p: p.seq
    )
    assert (post.user_id, post.message, post.type, post.props) == (seed.user_id, "*waves hello*", "me", {})
    posted = emulator.events.of_type("posted")[-1]
    assert json.loads(posted.data["post"])["type"] == "me"
