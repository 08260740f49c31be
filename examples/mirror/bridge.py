"""The mirror bridge: what one user does in channel A, their puppet ``mirror_<username>`` redoes in
channel B, and the other way round: posts, replies, edits, deletes, reactions and files.

Everything bridge-specific is here; the rest is :class:`mmbridge.bridge.Bridge`: the database and
its migrations, the puppets, the receiver, the provisioned webhooks and command, the WebSocket, the
dispatcher that drops the bridge's own echoes (so copies are never copied back), orders events per
channel and hears each post once although it arrives by WebSocket and by outgoing webhook.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from mmbridge.appservice import BRIDGE_PROP, CommandSpec, Dispatcher, IntentAPI, WebhookSpec
from mmbridge.appservice.outbox import SOURCE_PROP
from mmbridge.bridge import Bridge, BridgeSetupError, LoadedConfig, SectionSpec, setting
from mmbridge.bridge.config.schema import not_empty
from mmbridge.db import UpgradeTable
from mmbridge.errors import NotFoundError
from mmbridge.types import (
    Channel,
    ChannelID,
    ChannelType,
    CommandResponse,
    PostDeletedEvent,
    PostedEvent,
    PostEditedEvent,
    PostID,
    ReactionAddedEvent,
    ReactionRemovedEvent,
    SlashCommandEvent,
    TeamID,
    UserID,
)

from .message_map import MessageMap, mirror_upgrade_table


@attrs.frozen
class MirrorSettings:
    """The ``mirror`` section: the two channels (names on the bridge's team, or ids)."""

    channel_a: str = setting(check=not_empty("name the first channel"))
    channel_b: str = setting(check=not_empty("name the second channel"))


class MirrorBridge(Bridge[MirrorSettings]):
    """Mirror ``mirror.channel_a`` and ``mirror.channel_b`` of the bridge's team."""

    name = "mirror"
    section = SectionSpec("mirror", MirrorSettings)
    example_section = (Path(__file__).parent / "example-config.yaml").read_text(encoding="utf-8")
    config_defaults = {"appservice.id": "mirror", "puppets.username_template": "mirror_{localpart}"}

    def __init__(self, config: LoadedConfig[MirrorSettings], **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.messages = MessageMap(self.db, self.bridge_id)
        self.other: dict[str, str] = {}
        self.channels: dict[str, Channel] = {}
        self._puppets: dict[str, IntentAPI] = {}

    def upgrade_tables(self) -> Sequence[UpgradeTable]:
        return [mirror_upgrade_table()]

    def register_handlers(self, dispatcher: Dispatcher) -> None:
        on = dispatcher.on
        on(PostedEvent)(self.on_post)
        on(PostEditedEvent)(self.on_edit)
        on(PostDeletedEvent)(self.on_delete)
        on(ReactionAddedEvent, ReactionRemovedEvent)(self.on_reaction)
        on(SlashCommandEvent)(self.on_command)

    async def prepare(self) -> None:
        """Find both channels, and join them as the bot."""
        a = await self._channel("channel_a", self.settings.channel_a)
        b = await self._channel("channel_b", self.settings.channel_b)
        if a.id == b.id:
            raise BridgeSetupError(f"channel_a and channel_b are the same channel ({self.where('mirror')})")
        self.other = {a.id: b.id, b.id: a.id}
        self.channels = {a.id: a, b.id: b}
        for channel in (a, b):
            await self.appservice.bot_intent().ensure_joined(channel.id)

    def watched_channels(self) -> Sequence[str]:
        return list(self.channels)

    def webhooks(self) -> Sequence[WebhookSpec]:
        # Outgoing webhooks exist on open channels only; the WebSocket covers the others.
        return [
            WebhookSpec(channel_id=c.id, display_name=f"mirror ~{c.name}")
            for c in self.channels.values()
            if c.type == ChannelType.OPEN
        ]

    def commands(self) -> Sequence[CommandSpec]:
        return [CommandSpec(trigger="mirror", description="mirror bridge status")]

    async def started(self) -> None:
        self.log.info("mirroring %s", " <-> ".join(f"~{c.name}" for c in self.channels.values()))

    async def _channel(self, key: str, wanted: str) -> Channel:
        assert self.team is not None
        bot = self.appservice.bot
        with contextlib.suppress(NotFoundError):
            if len(wanted) == 26 and wanted.isalnum():
                return await bot.channels.get(ChannelID(wanted))
            return await bot.channels.get_by_name(TeamID(self.team.id), wanted)
        raise BridgeSetupError(
            f"no channel {wanted!r} in team {self.team.name!r} ({self.where('mirror', key)})"
        )

    # ---- handlers ---------------------------------------------------------------------------

    async def on_post(self, event: PostedEvent) -> None:
        post = event.post
        target = self.other.get(post.channel_id)
        if target is None or post.is_system:
            return
        puppet = await self._puppet_of(post.user_id)
        root = ""
        if post.root_id:
            mapped_root = await self._counterpart(post.root_id)
            root = mapped_root[0] if mapped_root else ""
        file_ids = []
        if post.file_ids:
            await puppet.ensure_joined(target)
            client = await puppet.ensure_registered()
            for file_id in post.file_ids:
                info = await self.appservice.bot.files.get_info(file_id)
                data = await self.appservice.bot.files.download(file_id)
                uploaded = await client.files.upload(
                    ChannelID(target), data, info.name, content_type=info.mime_type
                )
                file_ids.append(uploaded.id)
        # Made once per original, even when a crash makes this handler run again.
        copy = await puppet.send_markdown(
            target, post.message, root_id=root, file_ids=file_ids, source=post.id
        )
        async with self.ledger.transaction(event) as conn:  # the map and "handled" together
            await self.messages.add(post.id, post.channel_id, copy.id, target, conn=conn)

    async def on_edit(self, event: PostEditedEvent) -> None:
        mapped = await self._counterpart(event.post.id)
        if mapped is None:
            return
        puppet = await self._puppet_of(event.post.user_id)
        await puppet.edit(mapped[0], event.post.message, markdown=True)

    async def on_delete(self, event: PostDeletedEvent) -> None:
        mapped = await self._counterpart(event.post.id)
        if mapped is None:
            return
        puppet = await self._puppet_of(event.post.user_id)
        with contextlib.suppress(NotFoundError):  # a deleted root takes its replies' copies along
            await puppet.delete(mapped[0])

    async def on_reaction(self, event: ReactionAddedEvent | ReactionRemovedEvent) -> None:
        reaction = event.reaction
        mapped = await self._counterpart(reaction.post_id)
        if mapped is None:
            return
        copy_id, copy_channel = mapped
        puppet = await self._puppet_of(reaction.user_id)
        if isinstance(event, ReactionAddedEvent):
            await puppet.react(copy_id, reaction.emoji_name, channel_id=copy_channel)
        else:
            with contextlib.suppress(NotFoundError):
                await puppet.unreact(copy_id, reaction.emoji_name)

    async def on_command(self, event: SlashCommandEvent) -> CommandResponse:
        channels = " <-> ".join(f"~{c.name}" for c in self.channels.values())
        count = await self.messages.count()
        return CommandResponse(text=f"Mirroring {channels}: {count} messages mirrored so far.")

    async def _counterpart(self, post_id: str) -> tuple[str, str] | None:
        """The other side of a post: from the map, or, for a copy whose map row is not written
        yet (its handler is still running), from the source stamped on the copy."""
        mapped = await self.messages.counterpart(post_id)
        if mapped is not None:
            return mapped
        with contextlib.suppress(NotFoundError):
            post = await self.appservice.bot.posts.get(PostID(post_id))
            source = post.props.get(SOURCE_PROP)
            if post.props.get(BRIDGE_PROP) == self.bridge_id and isinstance(source, str) and source:
                return source, self.other.get(post.channel_id, "")
        return None

    async def _puppet_of(self, user_id: str) -> IntentAPI:
        """The puppet of ``user_id``: named after the username the user had when first mirrored
        (kept by user id, so a rename does not make a second puppet), its display name synced once
        per run."""
        puppet = self._puppets.get(user_id)
        if puppet is None:
            user = await self.appservice.bot.users.get(UserID(user_id))
            key = f"mirror.puppet_of.{user_id}"
            localpart = await self.store.get_value(key)
            if localpart is None:
                localpart = user.username
                await self.store.set_value(key, localpart)
            puppet = self.appservice.puppet(localpart)
            await puppet.set_display_name(self.display_name(user.display_name, remote_id=user.username))
            self._puppets[user_id] = puppet
        return puppet
