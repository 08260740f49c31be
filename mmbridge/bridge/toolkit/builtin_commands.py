"""The commands every toolkit bridge has: help, ping, status, link, unlink, relay, login,
login-token, logout."""

from __future__ import annotations

from ...appservice import IntentError
from ...errors import MattermostError, UnauthorizedError
from ...types import ChannelID
from .commands import CommandContext, CommandError, CommandRegistry
from .connector import HandlesLogin
from .remote import ChatKind, PortalKey


def register_builtin_commands(registry: CommandRegistry) -> None:
    """Add the built-in commands to ``registry``."""
    command = registry.command

    @command("help", "what you can ask the bridge")
    async def help_(ctx: CommandContext) -> str:
        return registry.help_text(ctx.is_admin)

    @command("ping", "is the bridge there?")
    async def ping(ctx: CommandContext) -> str:
        bridge = ctx.bridge
        stream = "connected" if bridge.stream.connected else "reconnecting"
        return (
            f"pong: {bridge.connector.network.display_name} bridge `{bridge.bridge_id}` is running ({stream})"
        )

    @command("status", "this channel's portal and your login")
    async def status(ctx: CommandContext) -> str:
        bridge = ctx.bridge
        lines = []
        if ctx.portal is None:
            lines.append("This channel is not bridged.")
        else:
            count = await bridge.message_map.count(str(ctx.portal.key))
            relay = "on" if ctx.portal.relay else "off"
            lines.append(
                f"This channel is bridged to `{ctx.portal.key}`: {count} messages, relay mode {relay}."
            )
        if ctx.user.logged_in:
            lines.append(f"You are logged in as `{ctx.user.remote_id}`.")
        elif "login" in bridge.capabilities:
            lines.append(f"You are not logged in (`/{registry.trigger} login`).")
        if await bridge.appservice.store.get_real_user_token(ctx.user.user_id) is not None:
            lines.append("Your messages from the remote side appear as yourself (double puppeting).")
        return "\n".join(lines)

    @command("link", "bridge this channel to a remote chat", usage="REMOTE_CHAT", level="admin")
    async def link(ctx: CommandContext) -> str:
        if len(ctx.args) != 1:
            raise CommandError(f"usage: /{registry.trigger} link REMOTE_CHAT")
        bridge = ctx.bridge
        channel = await bridge.appservice.bot.channels.get(ChannelID(ctx.event.channel_id))
        kinds = {"O": ChatKind.PUBLIC, "P": ChatKind.PRIVATE, "D": ChatKind.DIRECT, "G": ChatKind.GROUP}
        portal = await bridge.link_portal(
            PortalKey(ctx.args[0]),
            channel.id,
            kind=kinds.get(channel.type, ChatKind.PUBLIC),
            name=ctx.args[0],
        )
        return f"This channel is now bridged to `{portal.key}`."

    @command("unlink", "stop bridging this channel", level="admin")
    async def unlink(ctx: CommandContext) -> str:
        if ctx.portal is None:
            raise CommandError("This channel is not bridged.")
        await ctx.bridge.unlink_portal(ctx.portal.key)
        return f"This channel is no longer bridged to `{ctx.portal.key}`."

    @command("relay", "post remote messages as the bot in this channel", usage="on|off", level="admin")
    async def relay(ctx: CommandContext) -> str:
        if ctx.portal is None:
            raise CommandError("This channel is not bridged.")
        if ctx.args not in (("on",), ("off",)):
            raise CommandError(f"usage: /{registry.trigger} relay on|off")
        portal = await ctx.bridge.portals.set_relay(ctx.portal, ctx.args[0] == "on")
        return f"Relay mode is {'on' if portal.relay else 'off'} in this channel."

    # Secret: what a login takes is often a password (masked in the logs from here on).
    @command("login", "log in with your own remote account", usage="...", secret_args=True)
    async def login(ctx: CommandContext) -> str:
        connector = ctx.bridge.connector
        if not isinstance(connector, HandlesLogin):
            raise CommandError("This bridge has no logins.")
        result = await connector.login(ctx.user, ctx.args)
        await ctx.bridge.users.set_login(ctx.user.user_id, result.remote_id, result.data)
        return result.message or f"You are logged in as `{result.remote_id}`."

    @command(
        "login-token",
        "give the bridge your Mattermost token, so your remote messages appear as yourself",
        usage="TOKEN",
        secret_args=True,
    )
    async def login_token(ctx: CommandContext) -> str:
        if len(ctx.args) != 1:
            raise CommandError(f"usage: /{registry.trigger} login-token TOKEN (a personal access token)")
        ctx.bridge.secrets.add(ctx.args[0])  # before anything can log it
        try:
            await ctx.bridge.appservice.real_user(ctx.user.user_id, ctx.args[0])
        except UnauthorizedError:
            raise CommandError("That token does not work.") from None
        except IntentError:
            raise CommandError("That token is someone else's.") from None
        except MattermostError as exc:
            raise CommandError(f"That token cannot be used: {exc.error_id or exc.status}.") from None
        return "Your messages from the remote side will appear as yourself."

    @command("logout", "forget your remote login and your token")
    async def logout(ctx: CommandContext) -> str:
        connector = ctx.bridge.connector
        if ctx.user.logged_in and isinstance(connector, HandlesLogin):
            await connector.logout(ctx.user)
        await ctx.bridge.users.logout(ctx.user.user_id)
        await ctx.bridge.appservice.store.delete_real_user(ctx.user.user_id)
        return "Logged out."
