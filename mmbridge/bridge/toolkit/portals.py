"""Portals: a remote chat and the Mattermost channel it is bridged to, remembered in the database.

A portal is made on demand, when the first remote event of a chat arrives: a public or private
channel on the bridge's team (named after the chat, made unique), or the direct or group channel
between the remote users' puppets and the Mattermost user it belongs to. A chat may also be linked
to an existing channel (``/bridge link``, or a bridge's config).
"""

from __future__ import annotations

import logging

import attrs

from ...api.validation import require_channel_name
from ...appservice import AppServiceAPI
from ...db import Database, Row
from ...errors import AlreadyExistsError, ValidationError
from ...types import ChannelID, TeamID, UserID
from .ghosts import digest, readable
from .remote import ChatKind, PortalKey, RemoteChatInfo

log = logging.getLogger("mmbridge.portals")

_MAX_DISPLAY_NAME = 64
_MAX_PURPOSE = 250


class PortalError(Exception):
    """A portal could not be made or changed."""


@attrs.frozen
class Portal:
    """A remote chat and its Mattermost channel."""

    key: PortalKey
    channel_id: str
    kind: ChatKind = ChatKind.PUBLIC
    name: str = ""
    topic: str = ""
    relay: bool = False


def _portal(row: Row) -> Portal:
    chat, _, receiver = str(row["portal"]).partition("/")
    return Portal(
        key=PortalKey(chat, receiver),
        channel_id=str(row["channel_id"]),
        kind=ChatKind(str(row["kind"])),
        name=str(row["name"]),
        topic=str(row["topic"]),
        relay=bool(row["relay"]),
    )


def channel_name_for(chat: str) -> str:
    """A channel URL name for a chat (``#Rust Lang`` -> ``rust-lang``; digested when lossy)."""
    base = readable(chat).replace(".", "-")[:50].strip("-_")
    name = base if base and base == chat else f"{base}-{digest(chat)}".strip("-")
    return require_channel_name("name", name)


class Portals:
    """Portals by key and by channel, cached in memory after :meth:`load`."""

    def __init__(self, appservice: AppServiceAPI, db: Database, bridge_id: str) -> None:
        self.appservice = appservice
        self.db = db
        self.bridge_id = bridge_id
        self._by_key: dict[PortalKey, Portal] = {}
        self._by_channel: dict[str, Portal] = {}

    async def load(self) -> list[Portal]:
        """Read every portal of the bridge (at start)."""
        rows = await self.db.fetch(
            "SELECT portal, channel_id, kind, name, topic, relay FROM mmbridge_portal WHERE bridge_id = $1",
            self.bridge_id,
        )
        for portal in map(_portal, rows):
            self._remember(portal)
        return list(self._by_key.values())

    def get(self, key: PortalKey) -> Portal | None:
        """The portal of a remote chat, if it exists."""
        return self._by_key.get(key)

    def by_channel(self, channel_id: str) -> Portal | None:
        """The portal of a Mattermost channel, if it is one."""
        return self._by_channel.get(channel_id)

    def all(self) -> list[Portal]:
        """Every portal."""
        return list(self._by_key.values())

    async def ensure(self, key: PortalKey, info: RemoteChatInfo | None, members: list[str]) -> Portal:
        """The portal of ``key``, made now if it does not exist. ``members`` are the Mattermost
        user ids its channel is made with (puppets first for a direct or group channel)."""
        portal = self._by_key.get(key)
        if portal is not None:
            return portal
        kind = info.kind if info is not None else (ChatKind.DIRECT if key.receiver else ChatKind.PUBLIC)
        name = (info.name if info is not None else "") or key.id
        topic = info.topic if info is not None else ""
        channel_id = await self._make_channel(key, kind, name, topic, members)
        return await self.link(key, channel_id, kind=kind, name=name, topic=topic)

    async def link(
        self, key: PortalKey, channel_id: str, *, kind: ChatKind, name: str = "", topic: str = ""
    ) -> Portal:
        """Bridge ``key`` to an existing channel (replacing an older link of either)."""
        portal = Portal(key, channel_id, kind, name, topic)
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM mmbridge_portal WHERE bridge_id = $1 AND (portal = $2 OR channel_id = $3)",
                self.bridge_id,
                str(key),
                channel_id,
            )
            await conn.execute(
                "INSERT INTO mmbridge_portal (bridge_id, portal, channel_id, kind, name, topic) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                self.bridge_id,
                str(key),
                channel_id,
                kind.value,
                name,
                topic,
            )
        for stale in [p for p in self._by_key.values() if p.key == key or p.channel_id == channel_id]:
            self._forget(stale)
        self._remember(portal)
        log.info("portal %s <-> channel %s", key, channel_id)
        return portal

    async def unlink(self, key: PortalKey) -> Portal | None:
        """Stop bridging ``key`` (the channel stays)."""
        portal = self._by_key.get(key)
        await self.db.execute(
            "DELETE FROM mmbridge_portal WHERE bridge_id = $1 AND portal = $2", self.bridge_id, str(key)
        )
        if portal is not None:
            self._forget(portal)
        return portal

    async def set_relay(self, portal: Portal, relay: bool) -> Portal:
        """Turn relay mode on or off for one portal."""
        await self.db.execute(
            "UPDATE mmbridge_portal SET relay = $3 WHERE bridge_id = $1 AND portal = $2",
            self.bridge_id,
            str(portal.key),
            int(relay),
        )
        updated = attrs.evolve(portal, relay=relay)
        self._remember(updated)
        return updated

    async def sync(self, portal: Portal, info: RemoteChatInfo) -> Portal:
        """Bring the channel's display name and purpose in line with the chat's (only what changed)."""
        name = info.name or portal.name
        if (name, info.topic) == (portal.name, portal.topic):
            return portal
        if portal.kind in (ChatKind.PUBLIC, ChatKind.PRIVATE):
            await self.appservice.bot.channels.patch(
                ChannelID(portal.channel_id),
                display_name=name[:_MAX_DISPLAY_NAME],
                purpose=info.topic[:_MAX_PURPOSE],
            )
        await self.db.execute(
            "UPDATE mmbridge_portal SET name = $3, topic = $4 WHERE bridge_id = $1 AND portal = $2",
            self.bridge_id,
            str(portal.key),
            name,
            info.topic,
        )
        updated = attrs.evolve(portal, name=name, topic=info.topic)
        self._remember(updated)
        return updated

    async def _make_channel(
        self, key: PortalKey, kind: ChatKind, name: str, topic: str, members: list[str]
    ) -> str:
        if kind == ChatKind.DIRECT:
            if len(members) != 2:
                raise ValidationError("members", "a direct channel is between exactly two users")
            first = self.appservice.intent(user_id=members[0])
            return (await first.create_dm(members[1])).id
        if kind == ChatKind.GROUP:
            first = self.appservice.intent(user_id=members[0])
            return (await first.create_group(members[1:])).id
        bot = self.appservice.bot
        team = TeamID(self.appservice.team_id)
        channel_name = channel_name_for(name)
        for candidate in (channel_name, f"{channel_name[:50]}-{digest(str(key))}"):
            try:
                channel = await bot.channels.create(
                    team,
                    candidate,
                    name[:_MAX_DISPLAY_NAME],
                    type=kind.value,
                    purpose=topic[:_MAX_PURPOSE],
                )
            except AlreadyExistsError:
                continue
            for user_id in members:
                await bot.channels.add_member(channel.id, UserID(user_id))
            return channel.id
        raise PortalError(f"no free channel name for the chat {name!r} on the team")

    def _remember(self, portal: Portal) -> None:
        self._by_key[portal.key] = portal
        self._by_channel[portal.channel_id] = portal

    def _forget(self, portal: Portal) -> None:
        self._by_key.pop(portal.key, None)
        self._by_channel.pop(portal.channel_id, None)
