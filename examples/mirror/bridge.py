"""The mirror bridge: what one user does in channel A, their puppet ``mirror_<username>`` redoes in
channel B, and the other way round: posts, replies, edits, deletes, reactions and files.

It is a connector of the toolkit whose "remote network" is the other channel: a post in A is
pushed as a remote message of chat ``b``, which the toolkit posts in B as the author's ghost. The
toolkit does the rest: ghosts named after the user (kept by user id, so a rename makes no second
puppet), the message map in both directions, threads, the dispatcher that drops the bridge's own
echoes and orders events, catch-up after downtime, exactly-once posts, the ``/mirror`` command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from mmbridge.bridge import SectionSpec, setting
from mmbridge.bridge.config.schema import not_empty
from mmbridge.bridge.toolkit import (
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
    display_name_of,
)
from mmbridge.types import UserID

SIDES = (PortalKey("a"), PortalKey("b"))


@attrs.frozen
class MirrorSettings:
    """The ``mirror`` section: the two channels (names on the bridge's team, or ids)."""

    channel_a: str = setting(check=not_empty("name the first channel"))
    channel_b: str = setting(check=not_empty("name the second channel"))


class MirrorConnector:
    """The other channel as the remote network: whatever happens in one portal is pushed into the
    other, as its author."""

    network = NetworkInfo("mirror", "Mirror")

    def __init__(self, bridge: MirrorBridge) -> None:
        self.bridge = bridge

    async def start(self, bridge: ConnectorBridge[Any]) -> None:
        """Nothing to connect to."""

    async def stop(self) -> None:
        """Nothing to disconnect."""

    async def _push(self, event: RemoteEvent) -> None:
        # Waits until bridged: the other side has no history to replay what a crash would lose.
        await self.bridge.push(event, wait=True)

    @staticmethod
    def _other(key: PortalKey) -> PortalKey:
        return SIDES[1] if key == SIDES[0] else SIDES[0]

    async def handle_message(self, message: MattermostMessage) -> str:
        bot = self.bridge.appservice.bot
        files = tuple(
            [RemoteFile(f.name, await bot.files.download(f.id), f.mime_type) for f in message.files]
        )
        await self._push(
            RemoteMessage(
                portal=self._other(message.portal.key),
                sender=Sender(remote_id=message.sender.user_id),
                message_id=message.post.id,
                text=message.text,
                files=files,
                thread_root=message.thread_root,
                emote=message.emote,
            )
        )
        return message.post.id  # in the "remote chat", the message is known by the original's id

    async def handle_edit(self, edit: MattermostEdit) -> None:
        sender = Sender(remote_id=edit.sender.user_id)
        for remote_id in edit.remote_ids:
            await self._push(
                RemoteEdit(
                    portal=self._other(edit.portal.key),
                    sender=sender,
                    message_id=remote_id,
                    text=edit.text,
                    emote=edit.emote,
                )
            )

    async def handle_delete(self, delete: MattermostDelete) -> None:
        sender = Sender(remote_id=delete.sender.user_id)
        for remote_id in delete.remote_ids:
            await self._push(
                RemoteDelete(portal=self._other(delete.portal.key), sender=sender, message_id=remote_id)
            )

    async def handle_reaction(self, reaction: MattermostReaction) -> None:
        kind = RemoteReactionRemove if reaction.removed else RemoteReaction
        await self._push(
            kind(
                portal=self._other(reaction.portal.key),
                sender=Sender(remote_id=reaction.sender.user_id),
                message_id=reaction.remote_id,
                emoji=reaction.emoji,
            )
        )

    async def get_user_info(self, remote_id: str) -> RemoteUserInfo:
        """The "remote" user is a Mattermost user: their puppet is named after them."""
        user = await self.bridge.appservice.bot.users.get(UserID(remote_id))
        return RemoteUserInfo(
            sender=Sender(remote_id=remote_id), display_name=display_name_of(user), username=user.username
        )


class MirrorBridge(ConnectorBridge[MirrorSettings]):
    """Mirror ``mirror.channel_a`` and ``mirror.channel_b`` of the bridge's team."""

    name = "mirror"
    section = SectionSpec("mirror", MirrorSettings)
    example_section = (Path(__file__).parent / "example-config.yaml").read_text(encoding="utf-8")
    config_defaults = {
        "appservice.id": "mirror",
        "puppets.username_template": "mirror_{localpart}",
        "commands.trigger": "mirror",
    }

    def create_connector(self) -> MirrorConnector:
        return MirrorConnector(self)

    async def prepare(self) -> None:
        """Find both channels, bridge them as the two portals, and join them as the bot."""
        await super().prepare()
        await self.link_configured(SIDES[0], self.settings.channel_a, "mirror", "channel_a")
        await self.link_configured(SIDES[1], self.settings.channel_b, "mirror", "channel_b")

    async def started(self) -> None:
        await super().started()
        names = [self.portals.get(key) for key in SIDES]
        self.log.info("mirroring %s", " <-> ".join(f"~{p.name}" for p in names if p is not None))

    async def mirrored(self) -> int:
        """How many copies the bridge made."""
        return await self.message_map.count(remote_only=True)
