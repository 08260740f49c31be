"""Every operation the emulator serves, driven by the spec: no 5xx, answers as documented.

For each route of the emulator that is an operation of the official spec, requests are made from
the spec itself (path and required query parameters, a body built from the request schema) in a
small world (a second user, channels, posts, a file, hooks, a command, a bot, an emoji) and sent
four ways: without a session, with a body of the wrong JSON types, as an ordinary user, and as a
system admin. Every answer must be below 500 (a 501 only where the spec documents it), match the
spec (checked by the ``emulator`` fixture), refuse the anonymous caller and the mistyped body.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import ClientSession, FormData
from emulator_coverage import implemented_operations
from openapi_spec import OpenAPISpec, find_spec_dir

from mmbridge.testing.emulator import Emulator
from mmbridge.testing.emulator.images import default_png

_SPEC_DIR = find_spec_dir()
_SPEC = OpenAPISpec.load(_SPEC_DIR) if _SPEC_DIR is not None else None

#: Operations a caller without a session may use on a real server.
PUBLIC = {
    ("GET", "/api/v4/system/ping"),
    ("GET", "/api/v4/config/client"),
    ("GET", "/api/v4/license/client"),
    ("POST", "/api/v4/users"),
    ("POST", "/api/v4/users/login"),
    ("POST", "/api/v4/users/logout"),
    ("POST", "/api/v4/users/password/reset"),
    ("POST", "/api/v4/users/password/reset/send"),
    ("POST", "/api/v4/users/email/verify"),
    ("POST", "/api/v4/users/email/verify/send"),
    ("GET", "/api/v4/teams/invite/{invite_id}"),
    ("GET", "/files/{file_id}/public"),
}

#: Operations an unlicensed server, or one with email off (the emulated server), answers with 501
#: (before it reads the body), whatever the spec documents; each with the server code.
UNAVAILABLE: dict[tuple[str, str], str] = {
    # server/channels/api4/team.go (inviteUsersToTeam): EnableEmailInvitations off.
    ("POST", "/api/v4/teams/{team_id}/invite/email"): "api.team.invite_members.disabled.app_error",
    # server/channels/api4/team.go (inviteGuestsToChannels): no guest-accounts licence.
    (
        "POST",
        "/api/v4/teams/{team_id}/invite-guests/email",
    ): "api.team.invite_guests_to_channels.license.error",
    # server/channels/api4/post.go (acknowledgePost, unacknowledgePost): licence check first.
    ("POST", "/api/v4/users/{user_id}/posts/{post_id}/ack"): "model.NoTranslation",
    ("DELETE", "/api/v4/users/{user_id}/posts/{post_id}/ack"): "license_error.feature_unavailable",
    # server/channels/api4/post.go (moveThread): the feature flag and licence come first.
    ("POST", "/api/v4/posts/{post_id}/move"): "api.post.move_thread.disabled.app_error",
}

#: Query parameters the server requires and the spec does not list (server/channels/api4/
#: system.go: getClientConfig and getClientLicense answer 501 for any format but "old").
EXTRA_QUERY = {
    ("GET", "/api/v4/config/client"): "format=old",
    ("GET", "/api/v4/license/client"): "format=old",
}

#: Bodies for operations whose valid body the schema alone does not give (formats, rules of the
#: server); ``{name}`` is a world id.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v4/bots"): {"username": "every-bot", "display_name": "Every"},
    ("PUT", "/api/v4/bots/{bot_user_id}"): {"display_name": "Renamed"},
    ("POST", "/api/v4/channels"): {
        "team_id": "{team_id}",
        "name": "every-route",
        "display_name": "E",
        "type": "O",
    },
    ("POST", "/api/v4/channels/direct"): ["{user_id}", "{other_user_id}"],
    ("POST", "/api/v4/channels/group"): ["{user_id}", "{other_user_id}", "{bot_user_id}"],
    ("POST", "/api/v4/commands"): {
        "team_id": "{team_id}",
        "trigger": "again",
        "url": "http://127.0.0.1:9/c",
        "method": "P",
    },
    ("PUT", "/api/v4/commands/{command_id}"): {
        "id": "{command_id}",
        "team_id": "{team_id}",
        "trigger": "every",
        "url": "http://127.0.0.1:9/d",
        "method": "P",
    },
    ("POST", "/api/v4/commands/execute"): {"channel_id": "{channel_id}", "command": "/echo hi"},
    ("POST", "/api/v4/hooks/outgoing"): {
        "team_id": "{team_id}",
        "channel_id": "{channel_id}",
        "callback_urls": ["http://127.0.0.1:9/o"],
    },
    ("PUT", "/api/v4/hooks/outgoing/{hook_id}"): {
        "id": "{outgoing_hook_id}",
        "channel_id": "{channel_id}",
        "callback_urls": ["http://127.0.0.1:9/p"],
    },
    ("PUT", "/api/v4/posts/{post_id}"): {"id": "{post_id}", "message": "updated"},
    ("POST", "/api/v4/reactions"): {"user_id": "{user_id}", "post_id": "{post_id}", "emoji_name": "smile"},
    ("POST", "/api/v4/teams"): {"name": "every-team", "display_name": "Every", "type": "O"},
    ("POST", "/api/v4/users"): {
        "username": "every-user",
        "email": "every@example.com",
        "password": "Passw0rd!x",
    },
    ("POST", "/api/v4/users/login"): {"login_id": "{username}", "password": "{password}"},
    ("PUT", "/api/v4/users/{user_id}/status"): {"user_id": "{user_id}", "status": "dnd"},
}


def _fill(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str) and template.startswith("{") and template.endswith("}"):
        return ids.get(template[1:-1], template)
    if isinstance(template, dict):
        return {key: _fill(value, ids) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(value, ids) for value in template]
    return template


#: Operations whose body the server reads leniently (into a map of any values, or not at all),
#: so a body of the wrong JSON types is not refused. Each with the server code that shows it.
LENIENT_BODIES: dict[tuple[str, str], str] = {
    # server/channels/api4/team.go (updateTeamMemberRoles): model.MapFromJSON.
    ("PUT", "/api/v4/teams/{team_id}/members/{user_id}/roles"): "MapFromJSON",
    # server/channels/api4/channel.go (updateChannelMemberNotifyProps): model.MapFromJSON.
    ("PUT", "/api/v4/channels/{channel_id}/members/{user_id}/notify_props"): "MapFromJSON",
    # server/channels/api4/channel_category.go (updateCategoryOrderForTeamForUser): ArrayFromJSON.
    ("PUT", "/api/v4/users/{user_id}/teams/{team_id}/channels/categories/order"): "ArrayFromJSON",
}


def _operations() -> Iterator[tuple[str, str]]:
    if _SPEC is None:
        return
    for method, path in sorted(implemented_operations(), key=lambda mp: (mp[1], mp[0])):
        if _SPEC.operation(method, path) is not None:
            yield method, path


class World:
    """Ids of the things the requests talk about, made over HTTP as the admin."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        seed = emulator.seed
        self.ids: dict[str, str] = {
            "user_id": seed.user_id,
            "other_user_id": seed.admin_user_id,
            "team_id": seed.team_id,
            "channel_id": seed.channel_id,
            "bot_user_id": seed.bot_user_id,
            "role_name": "system_user",
            "category": "display_settings",
            "preference_name": "use_military_time",
            "emoji_name": "smile",
            "format": "old",
            "password": emulator.settings.seed_password,
        }

    async def build(self, admin: ClientSession) -> None:
        """Make one of each resource the operations take an id of."""
        seed = self.emulator.seed
        ids = self.ids
        user = self.emulator.state.users[seed.user_id]
        ids.update(username=user.username, email=user.email)
        team = self.emulator.state.teams[seed.team_id]
        channel = self.emulator.state.channels[seed.channel_id]
        ids.update(team_name=team.name, name=team.name, channel_name=channel.name)
        ids["invite_id"] = team.invite_id
        post = await _json(admin, "POST", "/api/v4/posts", {"channel_id": seed.channel_id, "message": "root"})
        ids["post_id"] = ids["thread_id"] = post.get("id", "")
        reply = {"channel_id": seed.channel_id, "message": "reply", "root_id": ids["post_id"]}
        await _json(admin, "POST", "/api/v4/posts", reply)
        await _json(admin, "PUT", f"/api/v4/posts/{ids['post_id']}/patch", {"message": "root, edited"})
        history = [p for p in self.emulator.state.post_history.values() if p.original_id == ids["post_id"]]
        ids["restore_version_id"] = history[0].id if history else ""
        ids["timestamp"] = str(post.get("create_at", 1))
        form = FormData()
        form.add_field("channel_id", seed.channel_id)
        form.add_field("files", io.BytesIO(default_png()), filename="a.png", content_type="image/png")
        async with admin.post("/api/v4/files", data=form) as resp:
            infos = (await resp.json()).get("file_infos") or [{}]
        ids["file_id"] = infos[0].get("id", "")
        hook = {
            "team_id": seed.team_id,
            "channel_id": seed.channel_id,
            "callback_urls": ["http://127.0.0.1:9/x"],
        }
        ids["outgoing_hook_id"] = (await _json(admin, "POST", "/api/v4/hooks/outgoing", hook)).get("id", "")
        incoming = {"channel_id": seed.channel_id}
        ids["incoming_hook_id"] = (await _json(admin, "POST", "/api/v4/hooks/incoming", incoming)).get(
            "id", ""
        )
        command = {"team_id": seed.team_id, "trigger": "every", "url": "http://127.0.0.1:9/c", "method": "P"}
        ids["command_id"] = (await _json(admin, "POST", "/api/v4/commands", command)).get("id", "")
        token = await _json(admin, "POST", f"/api/v4/users/{seed.user_id}/tokens", {"description": "t"})
        ids["token_id"] = token.get("id", "")
        form = FormData()
        form.add_field("image", io.BytesIO(default_png()), filename="e.png", content_type="image/png")
        form.add_field("emoji", json.dumps({"name": "every-route", "creator_id": seed.admin_user_id}))
        async with admin.post("/api/v4/emoji", data=form) as resp:
            emoji = await resp.json() if resp.status == 201 else {}
        ids["emoji_id"] = emoji.get("id", "")
        categories = await _json(
            admin, "GET", f"/api/v4/users/{seed.admin_user_id}/teams/{seed.team_id}/channels/categories"
        )
        listed = categories.get("categories") or [{}]
        ids["category_id"] = listed[0].get("id", "")

    def path_value(self, name: str, path: str) -> str:
        """A value for a path parameter (an unknown, valid-looking id when there is none)."""
        if name == "hook_id":
            name = "incoming_hook_id" if "/incoming" in path else "outgoing_hook_id"
        if name == "user_id" and "/teams/{team_id}/channels/categories" in path:
            return self.emulator.seed.admin_user_id
        return self.ids.get(name) or "x" * 26

    def example(self, schema: dict[str, Any], key: str = "", depth: int = 0) -> Any:
        """A plausible value for ``schema``, preferring world ids for fields named like them."""
        assert _SPEC is not None
        schema = _SPEC._deref(schema)
        if key in self.ids and schema.get("type", "string") == "string":
            return self.ids[key]
        for given in ("example", "default"):
            if given in schema and not isinstance(schema[given], dict):
                return schema[given]
        for combined in ("allOf", "oneOf", "anyOf"):
            if combined in schema:
                return self.example(schema[combined][0], key, depth)
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if kind == "object":
            if depth > 3:
                return {}
            properties = schema.get("properties") or {}
            required = set(schema.get("required") or ()) or set(list(properties)[:3])
            return {
                name: self.example(sub, name, depth + 1)
                for name, sub in properties.items()
                if name in required
            }
        if kind == "array":
            item = schema.get("items") or {"type": "string"}
            singular = key.removesuffix("s") if key.endswith("_ids") else key
            return [self.example(item, singular.replace("_ids", "_id"), depth + 1)]
        if kind == "integer":
            return 1
        if kind == "number":
            return 1.0
        if kind == "boolean":
            return True
        if schema.get("enum"):
            return schema["enum"][0]
        return "everyroute"


def _mistyped(value: Any) -> Any:
    """A value of the wrong JSON type for every field of ``value``."""
    if isinstance(value, dict):
        return {key: _wrong(v) for key, v in value.items()} or {"id": 12}
    return {"not": "what is expected"} if isinstance(value, list) else [value]


def _wrong(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int | float):
        return "12"
    if isinstance(value, str):
        return 12
    if isinstance(value, list):
        return {"a": 1}
    return "an object was expected"


async def _json(http: ClientSession, method: str, path: str, body: Any = None) -> dict[str, Any]:
    async with http.request(method, path, json=body) as resp:
        data = await resp.json(content_type=None) if resp.status < 300 else {}
        return data if isinstance(data, dict) else {"items": data}


def _request_body(world: World, method: str, path: str, op: dict[str, Any]) -> tuple[str, Any] | None:
    """The media type and body for an operation (None when it takes none)."""
    assert _SPEC is not None
    if (method, path) in BODIES:
        return "application/json", _fill(BODIES[(method, path)], world.ids)
    body = op.get("requestBody")
    if body is None:
        return None
    content = _SPEC._deref(body).get("content") or {}
    for media in ("application/json", "multipart/form-data", "application/x-www-form-urlencoded"):
        if media in content:
            return media, world.example(content[media].get("schema") or {})
    return None


def _url(world: World, method: str, path: str, op: dict[str, Any]) -> str:
    assert _SPEC is not None
    url = path
    query = []
    for parameter in op.get("parameters") or ():
        parameter = _SPEC._deref(parameter)
        if parameter.get("in") == "path":
            url = url.replace("{" + parameter["name"] + "}", world.path_value(parameter["name"], path))
        elif parameter.get("in") == "query" and parameter.get("required"):
            value = world.example(parameter.get("schema") or {}, parameter["name"])
            query.append(f"{parameter['name']}={value}")
    if (method, path) in EXTRA_QUERY:
        query.append(EXTRA_QUERY[(method, path)])
    return url + ("?" + "&".join(query) if query else "")


async def _send(http: ClientSession, method: str, url: str, body: tuple[str, Any] | None) -> tuple[int, str]:
    kwargs: dict[str, Any] = {}
    if body is not None:
        media, value = body
        if media == "application/json":
            kwargs["json"] = value
        else:
            form = FormData()
            for name, field in value.items() if isinstance(value, dict) else ():
                if isinstance(field, str) and field != "everyroute":
                    form.add_field(name, field)
                else:
                    form.add_field(
                        name, io.BytesIO(default_png()), filename="f.png", content_type="image/png"
                    )
            kwargs["data"] = form
    async with http.request(method, url, **kwargs) as resp:
        return resp.status, (await resp.read()).decode("utf-8", "replace")


def _documents(op: dict[str, Any], status: int) -> bool:
    return str(status) in (op.get("responses") or {})


@pytest.mark.skipif(_SPEC is None, reason="the OpenAPI spec is not found (set MMBRIDGE_OPENAPI_DIR)")
@pytest.mark.parametrize(("method", "path"), list(_operations()), ids=lambda v: str(v))
async def test_operation_driven_by_the_spec(emulator: Emulator, method: str, path: str) -> None:
    assert _SPEC is not None
    op = _SPEC.operation(method, path)
    assert op is not None
    seed = emulator.seed
    headers = {"X-Requested-With": "XMLHttpRequest"}
    async with (
        ClientSession(
            base_url=emulator.url, headers={**headers, "Authorization": f"Bearer {seed.admin_token}"}
        ) as admin,
        ClientSession(
            base_url=emulator.url, headers={**headers, "Authorization": f"Bearer {seed.token}"}
        ) as alice,
        ClientSession(base_url=emulator.url, headers=headers) as anonymous,
    ):
        world = World(emulator)
        await world.build(admin)
        url = _url(world, method, path, op)
        body = _request_body(world, method, path, op)
        answers: list[tuple[str, int, str]] = []

        status, text = await _send(anonymous, method, url, body)
        answers.append(("anonymous", status, text))
        if (method, path) not in PUBLIC:
            assert 400 <= status < 500, f"{method} {path} answered {status} without a session: {text[:200]}"

        refuses_types = (method, path) not in LENIENT_BODIES and (method, path) not in UNAVAILABLE
        if body is not None and body[0] == "application/json" and refuses_types:
            status, text = await _send(admin, method, url, ("application/json", _mistyped(body[1])))
            answers.append(("mistyped body", status, text))
            assert 400 <= status < 500, (
                f"{method} {path} accepted a mistyped body with {status}: {text[:200]}"
            )

        for who, http in (("alice", alice), ("admin", admin)):
            status, text = await _send(http, method, url, body)
            answers.append((who, status, text))

    for who, status, text in answers:
        allowed = status < 500 or (status == 501 and (_documents(op, 501) or (method, path) in UNAVAILABLE))
        assert allowed, f"{method} {path} as {who}: {status} {text[:300]}"
