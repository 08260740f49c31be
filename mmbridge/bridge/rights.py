"""What a bridge needs from its bot and its server, and the check made at every start.

Facts from the server source (``api4/user.go``, ``app/authorization.go``, ``config/client.go``):
creating a user for someone else takes ``manage_system`` (the admin path of ``POST /users``);
minting another user's token takes ``create_user_access_token`` and ``edit_other_users``, plus
``EnableUserAccessTokens`` unless the puppet is a bot; only the built-in ``system_admin`` role holds
those. Bot puppets take ``create_bot`` and ``EnableBotAccountCreation``, and a bot cannot create
bots. Outgoing webhooks and slash commands need their server switches on.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ..api import ClientAPI
from ..types import User

ROLE_FIX = "mmctl roles system_admin {username}"


@attrs.frozen
class ServerSetting:
    """A ``config.json`` switch the bridge needs on, and why."""

    section: str
    name: str
    why: str

    def __str__(self) -> str:
        return f"{self.section}.{self.name}"


@attrs.frozen
class Requirements:
    """The bot's permissions and the server settings a bridge needs."""

    permissions: tuple[str, ...]
    settings: tuple[ServerSetting, ...]
    bot_may_be_a_bot: bool = True

    def describe(self) -> list[str]:
        """Human-readable lines for ``generate-registration``."""
        lines = [
            "The bridge bot needs the system_admin role (e.g. `mmctl roles system_admin <bot>`), which holds",
            "the permissions " + ", ".join(self.permissions) + ".",
        ]
        if not self.bot_may_be_a_bot:
            lines.append("Its token must be a user's, not a bot's: bots cannot create bot accounts.")
        lines.append("Server settings (System Console or config.json) that must be on:")
        lines += [f"  {setting}: {setting.why}" for setting in self.settings]
        return lines


def requirements_for(puppet_kind: str, *, webhooks: bool, commands: bool) -> Requirements:
    """What a bridge with these puppets and integrations needs."""
    permissions: tuple[str, ...]
    if puppet_kind == "bot":
        permissions = ("create_bot", "manage_bots", "create_user_access_token", "add_user_to_team")
        settings = [ServerSetting("ServiceSettings", "EnableBotAccountCreation", "puppets are bot accounts")]
    else:
        permissions = ("manage_system", "create_user_access_token", "edit_other_users")
        settings = [
            ServerSetting("ServiceSettings", "EnableUserAccessTokens", "each puppet acts with its own token")
        ]
    if webhooks:
        settings.append(
            ServerSetting(
                "ServiceSettings", "EnableOutgoingWebhooks", "posts reach the bridge by webhook too"
            )
        )
    if commands:
        settings.append(ServerSetting("ServiceSettings", "EnableCommands", "the bridge's slash commands"))
    return Requirements(
        permissions=permissions, settings=tuple(settings), bot_may_be_a_bot=puppet_kind != "bot"
    )


async def missing_rights(client: ClientAPI, bot: User, needs: Requirements) -> list[str]:
    """What ``bot`` (the user behind ``client``) lacks, each as a short phrase; empty when all is there.

    Reads the bot's roles (``POST /roles/names``) only when it is not a system admin, and the
    client config (``GET /config/client?format=old``) for the settings: two requests at most.
    """
    problems: list[str] = []
    if bot.is_bot and not needs.bot_may_be_a_bot:
        problems.append(f"@{bot.username} is a bot, and bots cannot create the bot accounts puppets need")
    if not bot.is_system_admin:
        granted: set[str] = set()
        names = bot.roles.split()
        if names:
            for role in await client.roles.get_by_names(names):
                granted.update(role.permissions)
        lacking = [permission for permission in needs.permissions if permission not in granted]
        if lacking:
            problems.append(
                f"@{bot.username} lacks the system_admin role (missing permissions: {', '.join(lacking)}; "
                f"fix: {ROLE_FIX.format(username=bot.username)})"
            )
    config = await client.system.client_config()
    problems += [
        f"{setting} is off ({setting.why})"
        for setting in needs.settings
        if config.get(setting.name) != "true"
    ]
    return problems


def rights_message(problems: Sequence[str]) -> str:
    """One line naming everything that is missing."""
    return "the bridge bot cannot run this bridge: " + "; ".join(problems)
