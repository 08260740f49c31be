"""The message map: which posts a remote message became, and which remote message a post became.

One remote message may be several posts (text and files, or a long text split), its *parts*,
numbered from 0. Rows carry the portal, the remote sender and the thread root (a remote id), so
edits, deletions, replies and reactions cross both ways and survive restarts.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ...db import Connection, Database, Row


@attrs.frozen
class MessagePart:
    """One post of a bridged message."""

    portal: str
    remote_id: str
    part: int
    post_id: str
    channel_id: str
    sender: str = ""
    """The remote sender's id (empty for a message that came from Mattermost)."""
    thread_root: str = ""
    """The remote id of the thread's root message (empty when not in a thread)."""


_COLUMNS = "portal, remote_id, part, post_id, channel_id, sender, thread_root"


def _part(row: Row) -> MessagePart:
    return MessagePart(
        portal=str(row["portal"]),
        remote_id=str(row["remote_id"]),
        part=int(row["part"]),
        post_id=str(row["post_id"]),
        channel_id=str(row["channel_id"]),
        sender=str(row["sender"]),
        thread_root=str(row["thread_root"]),
    )


class MessageMap:
    """The bridge's message map, scoped by bridge id."""

    def __init__(self, db: Database, bridge_id: str) -> None:
        self.db = db
        self.bridge_id = bridge_id

    async def add(self, parts: Sequence[MessagePart], *, conn: Connection | None = None) -> None:
        """Remember ``parts`` (a part already mapped is left as it is)."""
        for part in parts:
            await (conn.defer if conn is not None else self.db.execute)(
                f"INSERT INTO mmbridge_message (bridge_id, {_COLUMNS}) "  # noqa: S608 - fixed columns
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                self.bridge_id,
                part.portal,
                part.remote_id,
                part.part,
                part.post_id,
                part.channel_id,
                part.sender,
                part.thread_root,
            )

    async def parts(self, portal: str, remote_id: str) -> list[MessagePart]:
        """The posts a remote message became, in order (empty when unknown)."""
        rows = await self.db.fetch(
            f"SELECT {_COLUMNS} FROM mmbridge_message "  # noqa: S608 - fixed column list
            "WHERE bridge_id = $1 AND portal = $2 AND remote_id = $3 ORDER BY part",
            self.bridge_id,
            portal,
            remote_id,
        )
        return [_part(row) for row in rows]

    async def first_post(self, portal: str, remote_id: str) -> str | None:
        """The first post a remote message became (what replies and reactions attach to)."""
        parts = await self.parts(portal, remote_id)
        return parts[0].post_id if parts else None

    async def by_post(self, post_id: str) -> MessagePart | None:
        """The remote message a post belongs to."""
        row = await self.db.fetchrow(
            f"SELECT {_COLUMNS} FROM mmbridge_message WHERE bridge_id = $1 AND post_id = $2",  # noqa: S608
            self.bridge_id,
            post_id,
        )
        return None if row is None else _part(row)

    async def remove(self, portal: str, remote_id: str) -> list[MessagePart]:
        """Forget a remote message; returns the parts it had."""
        parts = await self.parts(portal, remote_id)
        await self.db.execute(
            "DELETE FROM mmbridge_message WHERE bridge_id = $1 AND portal = $2 AND remote_id = $3",
            self.bridge_id,
            portal,
            remote_id,
        )
        return parts

    async def count(self, portal: str | None = None, *, remote_only: bool = False) -> int:
        """How many posts are mapped (in one portal, or in all; only those the bridge made from
        remote messages, with ``remote_only``)."""
        sql = "SELECT COUNT(*) FROM mmbridge_message WHERE bridge_id = $1"
        args: list[str] = [self.bridge_id]
        if portal is not None:
            sql += " AND portal = $2"
            args.append(portal)
        if remote_only:
            sql += " AND sender <> ''"
        return int(await self.db.fetchval(sql, *args) or 0)
