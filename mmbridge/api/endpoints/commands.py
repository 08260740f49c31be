"""``/commands``: custom slash commands, and running one as the caller."""

from __future__ import annotations

import re
from typing import Any

from ...errors import ValidationError
from ...types import CommandID, structure, structure_list
from ...types.hooks import Command
from .. import validation as check
from .base import EndpointGroup

_TRIGGER = re.compile(r"[^\s/][^\s]{0,127}")


class CommandsAPI(EndpointGroup):
    """Slash commands: create, list, update, delete, renew tokens, and execute."""

    __slots__ = ()

    async def create(
        self,
        team_id: str,
        trigger: str,
        url: str,
        *,
        method: str = "P",
        display_name: str = "",
        description: str = "",
        username: str = "",
        icon_url: str = "",
        auto_complete: bool = False,
        auto_complete_desc: str = "",
        auto_complete_hint: str = "",
    ) -> Command:
        """Create ``/trigger`` on a team, answered by ``url`` (``method`` P = POST, G = GET)."""
        body = _command_body(
            team_id, trigger, url, method, display_name, description, username, icon_url,
            auto_complete, auto_complete_desc, auto_complete_hint,
        )  # fmt: skip
        return structure(await self.http.request("POST", ("commands",), json_body=body), Command)

    async def list(self, team_id: str, *, custom_only: bool = True) -> list[Command]:
        """The team's commands (only custom ones by default)."""
        params = {"team_id": check.require_id("team_id", team_id), "custom_only": str(custom_only).lower()}
        return structure_list(await self.http.request("GET", ("commands",), params=params), Command)

    async def get(self, command_id: CommandID) -> Command:
        """One command."""
        check.require_id("command_id", command_id)
        return structure(await self.http.request("GET", ("commands", command_id)), Command)

    async def update(self, command: Command, **changes: Any) -> Command:
        """Change a command (``url=...``, ``description=...``, ...)."""
        fields = {
            "trigger": command.trigger,
            "url": command.url,
            "method": command.method,
            "display_name": command.display_name,
            "description": command.description,
            "username": command.username,
            "icon_url": command.icon_url,
            "auto_complete": command.auto_complete,
            "auto_complete_desc": command.auto_complete_desc,
            "auto_complete_hint": command.auto_complete_hint,
        }
        unknown = set(changes) - set(fields)
        if unknown:
            raise ValidationError(", ".join(sorted(unknown)), "is not a field of a command")
        merged = {**fields, **changes}
        body = _command_body(command.team_id, **merged)
        body.update({"id": command.id, "creator_id": command.creator_id, "token": command.token})
        data = await self.http.request("PUT", ("commands", command.id), json_body=body)
        return structure(data, Command)

    async def delete(self, command_id: CommandID) -> None:
        """Delete a command."""
        check.require_id("command_id", command_id)
        await self.http.request("DELETE", ("commands", command_id))

    async def regen_token(self, command_id: CommandID) -> str:
        """Give a command a new token and return it (the old one stops working)."""
        check.require_id("command_id", command_id)
        data = await self.http.request("PUT", ("commands", command_id, "regen_token"))
        if not isinstance(data, dict) or not isinstance(data.get("token"), str):
            raise ValidationError("token", "the server's answer has no token")
        return str(data["token"])

    async def execute(
        self, channel_id: str, command: str, *, team_id: str = "", root_id: str = ""
    ) -> dict[str, Any]:
        """Run ``/trigger text`` in a channel as the caller; returns the command's response."""
        body: dict[str, Any] = {"channel_id": check.require_id("channel_id", channel_id)}
        if not command.startswith("/") or len(command) < 2:
            raise ValidationError("command", "must start with '/' and a trigger")
        body["command"] = check.require_text("command", command, maximum=4000)
        if team_id:
            body["team_id"] = check.require_id("team_id", team_id)
        if root_id:
            body["root_id"] = check.require_id("root_id", root_id)
        data = await self.http.request("POST", ("commands", "execute"), json_body=body)
        return data if isinstance(data, dict) else {}


def _command_body(
    team_id: str,
    trigger: str,
    url: str,
    method: str,
    display_name: str,
    description: str,
    username: str,
    icon_url: str,
    auto_complete: bool,
    auto_complete_desc: str,
    auto_complete_hint: str,
) -> dict[str, Any]:
    if not _TRIGGER.fullmatch(trigger):
        raise ValidationError("trigger", f"{trigger!r} must be one word, not starting with '/'")
    if not url.startswith(("http://", "https://")):
        raise ValidationError("url", f"{url!r} is not an http(s) URL")
    return {
        "team_id": check.require_id("team_id", team_id),
        "trigger": trigger,
        "url": url,
        "method": check.require_choice("method", method, ("P", "G")),
        "display_name": check.require_text("display_name", display_name, maximum=64),
        "description": check.require_text("description", description, maximum=128),
        "username": username,
        "icon_url": icon_url,
        "auto_complete": auto_complete,
        "auto_complete_desc": check.require_text("auto_complete_desc", auto_complete_desc, maximum=1024),
        "auto_complete_hint": check.require_text("auto_complete_hint", auto_complete_hint, maximum=1024),
    }
