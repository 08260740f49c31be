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
import time
from pathlib import Path
from typing import Any

import attrs

from mmbridge.api import ReconnectPolicy, WebSocketStream
from mmbridge.appservice import BRIDGE_PROP, AppServiceAPI, IntentAPI, PuppetNamespace
from mmbridge.appservice.catchup import changed_posts
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
    action_text,
    display_name_of,
)
from mmbridge.errors import NotFoundError
from mmbridge.types import (
    ChannelID,
    Event,
    HelloEvent,
    Post,
    PostDeletedEvent,
    PostedEvent,
    PostEditedEvent,
    PostID,
    ReactionAddedEvent,
    ReactionRemovedEvent,
    StreamReset,
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
        self._positions: dict[str, int] = {}
        self._caught_up = False
        #: When this run began, before anything could be said to it: where a channel never
        #: bridged before starts (its first catch-up reads from there, not from its first hello).
        self._began_at = 0

    async def connect(self) -> None:
        """Reach the other server, as its bot, and find the team (before the channels are linked)."""
        self._began_at = int(time.time() * 1000)
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
            # A channel never bridged starts where this run began, so what is said between the
            # bridge being up and its stream's first hello is caught up, not skipped.
            if await self._position(portal.key.id) is None:
                await self._advance(portal.key.id, self._began_at)
        self._reader = asyncio.create_task(self._read(), name="the other server's stream")

    async def stop(self) -> None:
        await self.stream.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.other.close()

    # ---- the other server -> here ---------------------------------------------------------------

    # Each event of the other server is bridged before the next is read, and each channel's
    # position (the last change bridged) is kept in the store: after a restart or a lost stream,
    # what changed since is read over REST and pushed again. Pushing twice is harmless (the message
    # map knows what was bridged), so the position may lag, never lead.

    async def _read(self) -> None:
        async for event in self.stream.events():
            if isinstance(event, HelloEvent | StreamReset) and (
                isinstance(event, StreamReset) or not self._caught_up
            ):
                await self._catch_up()
                continue
            remote = await self._remote_event(event)
            if remote is not None:
                await self.bridge.push(remote, wait=True)
                post = getattr(event, "post", None)
                if isinstance(post, Post):
                    await self._advance(post.channel_id, post.update_at)

    async def _catch_up(self) -> None:
        for portal in self.bridge.portals.all():
            channel = portal.key.id
            position = await self._position(channel)
            if position is None:
                await self._advance(channel, int(time.time() * 1000))
                continue
            # In the order they were written (a post edited later keeps its place), every new one
            # even past the server's 1000 a ``since`` answer holds; the position moves only once
            # all of them are bridged.
            changed, _ = await changed_posts(self.other.bot, channel, since=max(position - 5000, 0))
            for post in changed:
                for remote in await self._missed(post, position):
                    await self.bridge.push(remote, wait=True)
                for remote in await self._reactions_missed(post):  # (on the post bridged just now)
                    await self.bridge.push(remote, wait=True)
            if changed:
                await self._advance(channel, max(post.update_at for post in changed))
        self._caught_up = True

    async def _missed(self, post: Post, position: int) -> list[RemoteEvent]:
        """What a post changed while the bridge was away stands for: a new post, an edit, or a
        deletion (its reactions: :meth:`_reactions_missed`)."""
        if post.original_id or post.is_system or await self._ours(post.user_id, post):
            return []
        portal, sender = PortalKey(post.channel_id), Sender(remote_id=post.user_id)
        if post.delete_at:
            return [RemoteDelete(portal=portal, sender=sender, message_id=post.id)]
        missed: list[RemoteEvent] = []
        if post.create_at >= position - 5000:
            missed.append(await self._message(post))
        if post.edit_at:  # (for a post bridged already: the message is skipped, the edit not)
            missed.append(RemoteEdit(portal=portal, sender=sender, message_id=post.id, text=post.message))
        return missed

    async def _reactions_missed(self, post: Post) -> list[RemoteEvent]:
        """The reactions of the other server's people on a changed post (one of theirs, or a copy)
        that its counterpart here lacks, or has and should not."""
        if post.delete_at or post.original_id:
            return []
        portal = PortalKey(post.channel_id)
        parts = await self.bridge.message_map.parts(str(portal), post.id)
        if not parts:
            return []
        there = {
            (r.user_id, r.emoji_name)
            for r in await self.other.bot.reactions.list(PostID(post.id))
            if not await self._ours(r.user_id)
        }
        here: set[tuple[str, str]] = set()
        for reaction in await self.bridge.appservice.bot.reactions.list(PostID(parts[0].post_id)):
            remote_id = await self.bridge.ghosts.remote_id_of(reaction.user_id)
            if remote_id is not None:
                here.add((remote_id, reaction.emoji_name))
        added = [
            RemoteReaction(portal=portal, sender=Sender(remote_id=u), message_id=post.id, emoji=e)
            for u, e in sorted(there - here)
        ]
        removed = [
            RemoteReactionRemove(portal=portal, sender=Sender(remote_id=u), message_id=post.id, emoji=e)
            for u, e in sorted(here - there)
        ]
        return [*added, *removed]

    async def _position(self, channel: str) -> int | None:
        value = await self.store.get_value(f"position:{channel}")
        return None if value is None else int(value)

    async def _advance(self, channel: str, update_at: int) -> None:
        if update_at > self._positions.get(channel, 0):
            self._positions[channel] = update_at
            await self.store.set_value(f"position:{channel}", str(update_at))

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
            return await self._message(post)
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

    async def _message(self, post: Post) -> RemoteMessage:
        bot = self.other.bot
        infos = [await bot.files.get_info(file_id) for file_id in post.file_ids]
        action = action_text(post)
        return RemoteMessage(
            portal=PortalKey(post.channel_id),
            sender=Sender(remote_id=post.user_id),
            message_id=post.id,
            text=post.message if action is None else action,
            emote=action is not None,
            files=tuple([RemoteFile(i.name, await bot.files.download(i.id), i.mime_type) for i in infos]),
            thread_root=post.root_id,
            timestamp=post.create_at,
        )

    async def get_user_info(self, remote_id: str) -> RemoteUserInfo:
        """A person of the other server: their puppet here is named after them."""
        user = await self.other.bot.users.get(UserID(remote_id))
        return RemoteUserInfo(
            sender=Sender(remote_id=remote_id), display_name=display_name_of(user), username=user.username
        )

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
            channel,
            f"*{message.text}*" if message.emote else message.text,
            root_id=message.thread_root,
            file_ids=file_ids,
            source=message.post.id,
            post_type="me" if message.emote else "",
        )
        return post.id

    async def handle_edit(self, edit: MattermostEdit) -> None:
        puppet = await self._puppet(edit.sender)
        text = f"*{edit.text}*" if edit.emote else edit.text
        for remote_id in edit.remote_ids:
            await puppet.edit(remote_id, text, markdown=True)

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
        try:
            await self.link.connect()
            for remote, local in self.settings.channels.items():
                key = PortalKey(await self.link.channel_id(remote))
                await self.link_configured(key, local, "link", "channels")
        except BaseException:
            await self.link.other.close()  # the start fails: nothing else will close it
            raise
