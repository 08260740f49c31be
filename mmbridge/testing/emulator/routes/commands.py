"""Custom slash commands: CRUD, token regeneration and ``POST /commands/execute``.

Follows ``server/channels/api4/command.go`` and ``app/command.go``. ``manage_slash_commands``
belongs by default to team and system admins. Built-in commands are listed for autocomplete
(their arguments are not suggested); only ``/me`` of them runs.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..auth import can_read_channel, is_team_admin, require_user
from ..context import get_context
from ..errors import AppError, forbidden, invalid_body
from ..ids import is_valid_id, now_ms
from ..integrations import BUILTIN_TRIGGERS, is_valid_http_url, suggestions
from ..models import Command, User
from ..state import State
from .common import get_str, json_response, path_id, query_bool, read_json, read_object, site_url, status_ok

routes = web.RouteTableDef()

_BODY = "command"


def _command_not_found() -> AppError:
    """``SetCommandNotFoundError``: also the answer when the caller may not see the command."""
    return AppError(404, "store.sql_command.save.get.app_error")


def _disabled() -> AppError:
    return AppError(501, "api.command.disabled.app_error")


def _can_manage(state: State, user: User, team_id: str) -> bool:
    return is_team_admin(state, user, team_id)


def _can_view_team(state: State, user: User, team_id: str) -> bool:
    return user.is_admin or state.is_team_member(team_id, user.id)


def _field(body: dict[str, Any], key: str) -> str:
    return get_str(body, key, _BODY) or ""


def _invalid(what: str) -> AppError:
    return AppError(400, f"model.command.is_valid.{what}.app_error", f"Invalid {what.replace('_', ' ')}.")


def _validate(command: Command) -> None:
    """``Command.IsValid``."""
    if not is_valid_id(command.creator_id):
        raise _invalid("user_id")
    if not is_valid_id(command.team_id):
        raise _invalid("team_id")
    trigger = command.trigger
    if not 1 <= len(trigger) <= 128 or trigger.startswith("/") or " " in trigger:
        raise _invalid("trigger")
    if not command.url or len(command.url) > 1024:
        raise _invalid("url")
    if not is_valid_http_url(command.url):
        raise _invalid("url_http")
    if command.method not in ("G", "P"):
        raise _invalid("method")
    if len(command.display_name) > 64:
        raise _invalid("display_name")
    if len(command.description) > 128:
        raise _invalid("description")


def _check_unique(state: State, command: Command) -> None:
    """``validateCommandTriggerUniqueness``: built-ins and the team's other commands."""
    duplicate = command.trigger in BUILTIN_TRIGGERS or any(
        c.team_id == command.team_id
        and not c.delete_at
        and c.id != command.id
        and c.trigger == command.trigger
        for c in state.commands.values()
    )
    if duplicate:
        raise AppError(400, "api.command.duplicate_trigger.app_error")


def _apply_fields(command: Command, body: dict[str, Any]) -> None:
    command.trigger = _field(body, "trigger").lower()
    command.method = _field(body, "method")
    command.url = _field(body, "url")
    command.username = _field(body, "username")
    command.icon_url = _field(body, "icon_url")
    auto_complete = body.get("auto_complete", False)
    if not isinstance(auto_complete, bool):
        raise invalid_body(_BODY)
    command.auto_complete = auto_complete
    command.auto_complete_desc = _field(body, "auto_complete_desc")
    command.auto_complete_hint = _field(body, "auto_complete_hint")
    command.display_name = _field(body, "display_name")
    command.description = _field(body, "description")


def _command(request: web.Request, caller: User) -> Command:
    """The command of the URL; 404 when missing or not the caller's to manage."""
    ctx = get_context(request)
    command_id = path_id(request, "command_id")
    if not ctx.settings.enable_commands:
        raise _command_not_found()
    command = ctx.state.commands.get(command_id)
    if command is None or command.delete_at:
        raise _command_not_found()
    if not _can_view_team(ctx.state, caller, command.team_id) or not _can_manage(
        ctx.state, caller, command.team_id
    ):
        raise _command_not_found()
    return command


@routes.post("/api/v4/commands/execute")
async def execute_command(request: web.Request) -> web.Response:
    """Run ``/trigger text`` in a channel: call the command's URL and apply its answer."""
    caller = require_user(request)
    ctx = get_context(request)
    state = ctx.state
    body = await read_object(request, "command_args")
    command_text = get_str(body, "command", "command_args") or ""
    channel_id = get_str(body, "channel_id", "command_args") or ""
    if len(command_text) <= 1 or not command_text.startswith("/") or not is_valid_id(channel_id):
        raise AppError(400, "api.command.execute_command.start.app_error")
    channel = state.channels.get(channel_id)
    if channel is None or not can_read_channel(state, caller, channel_id):
        raise forbidden()
    if channel.delete_at:
        raise AppError(400, "api.command.execute_command.deleted.error")
    team_id = get_str(body, "team_id", "command_args") or ""
    if channel.type not in ("D", "G"):
        team_id = channel.team_id
    elif not state.is_team_member(team_id, caller.id) and not caller.is_admin:
        raise forbidden()
    root_id = get_str(body, "root_id", "command_args") or ""
    response = await ctx.integrations.execute_command(
        caller, channel, team_id, command_text, root_id, site_url(request)
    )
    return json_response(response)


@routes.post("/api/v4/commands")
async def create_command(request: web.Request) -> web.Response:
    """Create a custom command (201); the token is generated."""
    caller = require_user(request)
    ctx = get_context(request)
    state = ctx.state
    body = await read_object(request, _BODY)
    team_id = _field(body, "team_id")
    if not _can_manage(state, caller, team_id):
        raise forbidden()
    creator_id = _field(body, "creator_id") or caller.id
    if creator_id != caller.id:
        state.user(creator_id)
    if not ctx.settings.enable_commands:
        raise _disabled()
    now = now_ms()
    command = Command(
        id=state.ids.new_id(),
        token=state.ids.new_token(),
        create_at=now,
        update_at=now,
        creator_id=creator_id,
        team_id=team_id,
        trigger="",
        method="",
        url="",
    )
    _apply_fields(command, body)
    _check_unique(state, command)
    _validate(command)
    state.commands[command.id] = command
    return json_response(command.to_json(), status=201)


@routes.get("/api/v4/commands")
async def list_commands(request: web.Request) -> web.Response:
    """The team's custom commands (built-in commands are not emulated)."""
    caller = require_user(request)
    ctx = get_context(request)
    state = ctx.state
    team_id = request.query.get("team_id", "")
    if not team_id:
        raise invalid_body("team_id")
    if not _can_view_team(state, caller, team_id):
        raise forbidden()
    manage = _can_manage(state, caller, team_id)
    custom = [c for c in state.commands.values() if c.team_id == team_id and not c.delete_at]
    if query_bool(request, "custom_only", False):
        if not manage:
            raise forbidden()
        if not ctx.settings.enable_commands:
            raise _disabled()
        return json_response([c.to_json() for c in custom])
    if not ctx.settings.enable_commands:
        return json_response([])
    if not manage:  # only the autocomplete list, sanitised
        return json_response([c.sanitized_json() for c in custom if c.auto_complete])
    return json_response([c.sanitized_json() for c in custom])


@routes.get("/api/v4/commands/{command_id}")
async def get_command(request: web.Request) -> web.Response:
    """One command (404 for those the caller may not manage)."""
    caller = require_user(request)
    return json_response(_command(request, caller).to_json())


@routes.put("/api/v4/commands/{command_id}")
async def update_command(request: web.Request) -> web.Response:
    """Replace a command's settings; id, token, creator and team stay."""
    caller = require_user(request)
    state = get_context(request).state
    command_id = path_id(request, "command_id")
    body = await read_object(request, _BODY)
    if body.get("id") != command_id:
        raise invalid_body(_BODY)
    old = _command(request, caller)
    if _field(body, "team_id") != old.team_id:
        raise AppError(400, "api.command.team_mismatch.app_error")
    updated = Command(
        id=old.id,
        token=old.token,
        create_at=old.create_at,
        update_at=max(now_ms(), old.update_at + 1),
        creator_id=old.creator_id,
        team_id=old.team_id,
        trigger="",
        method="",
        url="",
    )
    _apply_fields(updated, body)
    _check_unique(state, updated)
    _validate(updated)
    state.commands[old.id] = updated
    return json_response(updated.to_json())


@routes.delete("/api/v4/commands/{command_id}")
async def delete_command(request: web.Request) -> web.Response:
    """Soft-delete a command."""
    caller = require_user(request)
    command = _command(request, caller)
    command.delete_at = now_ms()
    return status_ok()


@routes.put("/api/v4/commands/{command_id}/regen_token")
async def regen_command_token(request: web.Request) -> web.Response:
    """A new token: ``{"token": ...}``."""
    caller = require_user(request)
    command = _command(request, caller)
    command.token = get_context(request).state.ids.new_token()
    command.update_at = max(now_ms(), command.update_at + 1)
    return json_response({"token": command.token})


@routes.get("/api/v4/teams/{team_id}/commands/autocomplete")
async def list_autocomplete_commands(request: web.Request) -> web.Response:
    """The commands a team member may autocomplete: the built-ins and the team's own."""
    caller = require_user(request)
    ctx = get_context(request)
    team_id = path_id(request, "team_id")
    if not _can_view_team(ctx.state, caller, team_id):
        raise forbidden()
    return json_response([c.to_json() for c in ctx.integrations.autocomplete_commands(team_id)])


@routes.get("/api/v4/teams/{team_id}/commands/autocomplete_suggestions")
async def list_command_autocomplete_suggestions(request: web.Request) -> web.Response:
    """Suggestions for what the user typed (``user_input``): the triggers it begins."""
    caller = require_user(request)
    ctx = get_context(request)
    team_id = path_id(request, "team_id")
    if not _can_view_team(ctx.state, caller, team_id):
        raise forbidden()
    user_input = request.query.get("user_input", "")
    if not user_input:
        raise invalid_body("userInput")
    commands = ctx.integrations.autocomplete_commands(team_id)
    return json_response(suggestions(commands, user_input.removeprefix("/")))


@routes.put("/api/v4/commands/{command_id}/move")
async def move_command(request: web.Request) -> web.Response:
    """Move a custom command to another team its creator may manage commands in."""
    caller = require_user(request)
    ctx = get_context(request)
    state = ctx.state
    command_id = path_id(request, "command_id")
    body = await read_json(request, "team_id")
    team_id = body.get("team_id") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(team_id, str | None):
        raise invalid_body("team_id")
    new_team = state.team(team_id or "")
    if not _can_manage(state, caller, new_team.id):
        raise forbidden()
    command = state.commands.get(command_id)
    if not ctx.settings.enable_commands or command is None or command.delete_at:
        raise _command_not_found()
    if not _can_manage(state, caller, command.team_id):
        raise _command_not_found()
    creator = state.users.get(command.creator_id)
    if creator is None or not _can_manage(state, creator, new_team.id):
        raise AppError(
            400,
            "api.command.move_command.creator_no_permission.app_error",
            "The command creator does not have permission to manage commands in the target team.",
        )
    command.team_id = new_team.id
    command.update_at = max(now_ms(), command.update_at + 1)
    return status_ok()
