"""Mattermost <-> Mattermost: channels of two servers linked, each person a puppet on the other side.

The connector's "remote network" is the other server, reached with the same appservice layer the
bridge uses for its own: a bot there, puppets there (``link.username_template``) made with their
own tokens, posts made exactly once (the outbox), everything on one database (its rows scoped apart).
What a person does on the other server arrives over its WebSocket as remote events; what a person
does here is redone there by their puppet. Threads, edits, deletes, reactions and files cross both
ways; the puppets' posts on either side are the bridge's own and never cross back (no loop).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import attrs

from mmbridge.api import ReconnectPolicy, WebSocketStream
from mmbridge.appservice import BRIDGE_PROP, AppServiceAPI, IntentAPI, PuppetNamespace
from mmbridge.appservice.store.sql import SQLStateStore
from mmbridge.bridge import BridgeSetupError, Secret, SectionSpec, setting
from mmbridge.bridge.config.schema import not_empty
from mmbridge.bridge.toolkit import (
    BridgeUser,
    ConnectorBridge,
    MattermostDelete,
    MattermostEdit,
    MattermostMessage,
    MattermostReaction,
    NetworkInfo,
    PortalKey,
    RemoteDelete,
    RemoteEdit,
    RemoteEvent,
    RemoteFile,
    RemoteMessage,
    RemoteReaction,
    RemoteReactionRemove,
    RemoteUserInfo,
    Sender,
)
from mmbridge.errors import NotFoundError
from mmbridge.types import (
    ChannelID,
    Event,
    Post,
    PostDeletedEvent,
    PostedEvent,
    PostEditedEvent,
    PostID,
    ReactionAddedEvent,
    ReactionRemovedEvent,
    TeamID,
    UserID,
)


@attrs.frozen
class LinkSettings:
    """The ``link`` section: the other server and the channels linked with it."""

    url: str = setting(check=not_empty("give the other server's URL"))
    token: Secret = setting(check=not_empty("give a bot token of the other server"))
    team: str = setting(check=not_empty("name the team on the other server"))
    username_template: str = setting("{localpart}_link")
    channels: dict[str, str] = setting(factory=dict)


class LinkConnector:
    """The other Mattermost server as the remote network."""

    network = NetworkInfo("mattermost", "Mattermost link")

    def __init__(self, bridge: LinkBridge) -> None:
        self.bridge = bridge
        settings = bridge.settings
        self.remote_id = f"{bridge.bridge_id}-remote"
        self.store = SQLStateStore(bridge.db, bridge_id=self.remote_id)
        self.other = AppServiceAPI(
            settings.url,
            settings.token.reveal(),
            store=self.store,
            namespace=PuppetNamespace(settings.username_template),
            team_id="",
            bridge_id=self.remote_id,
            redactor=bridge.secrets,
        )
        self.stream = WebSocketStream(self.other.bot.http, reconnect=ReconnectPolicy(initial_delay=0.2))
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Reach the other server, as its bot, and find the team (before the channels are linked)."""
        await self.store.start()
        await self.store.bind_server(self.bridge.settings.url)
        await self.other.start()
        team = self.bridge.settings.team
        try:
            found = await self.other.bot.teams.get_by_name(team)
        except NotFoundError:
            raise BridgeSetupError(
                f"no team {team!r} on {self.bridge.settings.url} ({self.bridge.where('link', 'team')})"
            ) from None
        self.other.team_id = TeamID(found.id)

    async def channel_id(self, name: str) -> str:
        """The id of a channel of the other server's team."""
        try:
            return (await self.other.bot.channels.get_by_name(self.other.team_id, name)).id
        except NotFoundError:
            raise BridgeSetupError(
                f"no channel {name!r} in the other server's team ({self.bridge.where('link', 'channels')})"
            ) from None

    async def start(self, bridge: ConnectorBridge[Any]) -> None:
        """Hear the other server."""
        for portal in bridge.portals.all():
            await self.other.bot_intent().ensure_joined(portal.key.id)
        self._reader = asyncio.create_task(self._read(), name="the other server's stream")

    async def stop(self) -> None:
        await self.stream.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.other.close()

    # ---- the other server -> here ---------------------------------------------------------------

    async def _read(self) -> None:
        async for event in self.stream.events():
            remote = await self._remote_event(event)
            if remote is not None:
                await self.bridge.push(remote)

    async def _ours(self, user_id: str, post: Post | None = None) -> bool:
        """Whether the other server's event is the bridge's own doing (its bot's or a puppet's)."""
        if post is not None and post.props.get(BRIDGE_PROP) == self.remote_id:
            return True
        return user_id == self.other.bot_user_id or await self.store.get_puppet(user_id) is not None

    async def _remote_event(self, event: Event) -> RemoteEvent | None:
        channel = getattr(event, "channel_id", "")
        portal = PortalKey(channel) if channel else None
        if portal is None or self.bridge.portals.get(portal) is None:
            return None
        if isinstance(event, PostedEvent | PostEditedEvent | PostDeletedEvent):
            post = event.post
            if post.is_system or await self._ours(post.user_id, post):
                return None
            sender = Sender(remote_id=post.user_id)
            if isinstance(event, PostEditedEvent):
                return RemoteEdit(portal=portal, sender=sender, message_id=post.id, text=post.message)
            if isinstance(event, PostDeletedEvent):
                return RemoteDelete(portal=portal, sender=sender, message_id=post.id)
            files = tuple(
                [
                    RemoteFile(info.name, await self.other.bot.files.download(info.id), info.mime_type)
                    for info in [await self.other.bot.files.get_info(file_id) for file_id in post.file_ids]
                ]
            )
            return RemoteMessage(
                portal=portal,
                sender=sender,
                message_id=post.id,
                text=post.message,
                files=files,
                thread_root=post.root_id,
                timestamp=post.create_at,
            )
        if isinstance(event, ReactionAddedEvent | ReactionRemovedEvent):
            reaction = event.reaction
            if await self._ours(reaction.user_id):
                return None
            kind = RemoteReaction if isinstance(event, ReactionAddedEvent) else RemoteReactionRemove
            return kind(
                portal=portal,
                sender=Sender(remote_id=reaction.user_id),
                message_id=reaction.post_id,
                emoji=reaction.emoji_name,
            )
        return None

    async def get_user_info(self, remote_id: str) -> RemoteUserInfo:
        """A person of the other server: their puppet here is named after them."""
        user = await self.other.bot.users.get(UserID(remote_id))
        name = user.nickname or f"{user.first_name} {user.last_name}".strip() or user.username
        return RemoteUserInfo(sender=Sender(remote_id=remote_id), display_name=name, username=user.username)

    # ---- here -> the other server ---------------------------------------------------------------

    async def _puppet(self, user: BridgeUser) -> IntentAPI:
        """The puppet on the other server of a person of this one."""
        intent = self.other.intent(username=self.other.namespace.username_for(user.username))
        await intent.set_display_name(user.display_name)
        return intent

    async def handle_message(self, message: MattermostMessage) -> str:
        puppet = await self._puppet(message.sender)
        channel = message.portal.key.id
        file_ids = []
        if message.files:
            client = await puppet.ensure_registered()
            await puppet.ensure_joined(channel)
            for info in message.files[:10]:
                data = await self.bridge.appservice.bot.files.download(info.id)
                made = await client.files.upload(
                    ChannelID(channel), data, info.name, content_type=info.mime_type
                )
                file_ids.append(made.id)
        post = await puppet.send_markdown(
            channel, message.text, root_id=message.thread_root, file_ids=file_ids, source=message.post.id
        )
        return post.id

    async def handle_edit(self, edit: MattermostEdit) -> None:
        puppet = await self._puppet(edit.sender)
        for remote_id in edit.remote_ids:
            await puppet.edit(remote_id, edit.text, markdown=True)

    async def handle_delete(self, delete: MattermostDelete) -> None:
        for remote_id in delete.remote_ids:
            with contextlib.suppress(NotFoundError):
                await self.other.bot.posts.delete(PostID(remote_id))

    async def handle_reaction(self, reaction: MattermostReaction) -> None:
        puppet = await self._puppet(reaction.sender)
        if reaction.removed:
            with contextlib.suppress(NotFoundError):
                await puppet.unreact(reaction.remote_id, reaction.emoji)
        else:
            await puppet.react(reaction.remote_id, reaction.emoji, channel_id=reaction.portal.key.id)


class LinkBridge(ConnectorBridge[LinkSettings]):
    """Channels of this server and another (``link.channels``) linked both ways."""

    name = "mattermost_link"
    section = SectionSpec("link", LinkSettings)
    example_section = (Path(__file__).parent / "example-config.yaml").read_text(encoding="utf-8")
    config_defaults = {
        "appservice.id": "link",
        "puppets.username_template": "{localpart}_link",
        "commands.trigger": "link",
    }

    def create_connector(self) -> LinkConnector:
        self.link = LinkConnector(self)
        return self.link

    async def prepare(self) -> None:
        """Reach the other server and link the channels of ``link.channels``."""
        await super().prepare()
        await self.link.connect()
        for remote, local in self.settings.channels.items():
            key = PortalKey(await self.link.channel_id(remote))
            await self.link_configured(key, local, "link", "channels")
