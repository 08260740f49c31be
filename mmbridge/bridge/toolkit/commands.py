"""Bridge bot commands: ``/bridge help|ping|status|link|unlink|relay|login|login-token|logout``,
through one provisioned slash command, answered only to the caller (ephemeral).

Each command has a name, a one-line help, a usage and a permission level (``user`` or
``admin``: a Mattermost system admin, or a user named in ``commands.admins``). ``help`` is made
from what is registered, and shows each person only what they may run. A bridge adds its own::

    @registry.command("nick", "change your IRC nick", usage="NEW_NICK")
    async def nick(ctx: CommandContext) -> str:
        ...
        return f"you are now {ctx.args[0]}"
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ...types import SlashCommandEvent
from .portals import Portal
from .users import BridgeUser

if TYPE_CHECKING:
    from .bridge import ConnectorBridge

Level = Literal["user", "admin"]


@attrs.frozen
class CommandContext:
    """What a command handler gets: who ran it, where, and its arguments."""

    bridge: ConnectorBridge[Any]
    event: SlashCommandEvent = attrs.field(repr=False)
    user: BridgeUser
    portal: Portal | None
    """The portal of the channel the command was run in (None for other channels)."""
    args: tuple[str, ...]
    is_admin: bool


Handler = Callable[[CommandContext], Awaitable[str]]


@attrs.frozen
class BridgeCommand:
    """One ``/bridge`` subcommand."""

    name: str
    help: str
    handler: Handler = attrs.field(repr=False)
    usage: str = ""
    level: Level = "user"
    secret_args: bool = False
    """Its arguments are secrets (a token): kept out of every log line."""


class CommandError(Exception):
    """A command refused (its message is the answer the caller sees)."""


class CommandRegistry:
    """The bridge's commands by name."""

    def __init__(self, trigger: str) -> None:
        self.trigger = trigger
        self._commands: dict[str, BridgeCommand] = {}

    def add(self, command: BridgeCommand) -> None:
        """Register (or replace) a command."""
        self._commands[command.name] = command

    def command(
        self, name: str, help: str, *, usage: str = "", level: Level = "user", secret_args: bool = False
    ) -> Callable[[Handler], Handler]:
        """Decorator: register the function as the command ``name``."""

        def register(handler: Handler) -> Handler:
            self.add(BridgeCommand(name, help, handler, usage, level, secret_args))
            return handler

        return register

    def remove(self, name: str) -> None:
        """Take the command ``name`` out (nothing happens when there is none)."""
        self._commands.pop(name, None)

    def get(self, name: str) -> BridgeCommand | None:
        """The command called ``name``."""
        return self._commands.get(name)

    def available(self, is_admin: bool) -> list[BridgeCommand]:
        """The commands someone may run, by name."""
        return sorted(
            (c for c in self._commands.values() if is_admin or c.level == "user"), key=lambda c: c.name
        )

    def help_text(self, is_admin: bool) -> str:
        """The help, made from the registered commands."""
        lines = [f"**/{self.trigger}** commands:"]
        for command in self.available(is_admin):
            usage = f" {command.usage}" if command.usage else ""
            marker = " (admin)" if command.level == "admin" else ""
            lines.append(f"- `/{self.trigger} {command.name}{usage}`: {command.help}{marker}")
        return "\n".join(lines)


def parse(text: str) -> tuple[str, tuple[str, ...]]:
    """``"link #rust"`` -> ``("link", ("#rust",))``; quotes group words."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise CommandError(f"cannot read the command: {exc}") from None
    if not words:
        return "help", ()
    return words[0].lower(), tuple(words[1:])
