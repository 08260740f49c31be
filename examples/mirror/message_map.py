"""Which post is the copy of which: in the bridge's database, so edits, deletes, replies and
reactions still find their counterpart after a restart."""

from __future__ import annotations

from mmbridge.db import Connection, Database, Scheme, UpgradeTable


def mirror_upgrade_table() -> UpgradeTable:
    """The mirror bridge's own tables, migrated beside the appservice's."""
    table = UpgradeTable("mirror")

    @table.register(description="message map")
    async def v1(conn: Connection, scheme: Scheme) -> None:
        await conn.execute(
            """CREATE TABLE mirror_message (
                post_id TEXT PRIMARY KEY,
                copy_id TEXT NOT NULL UNIQUE,
                channel_id TEXT NOT NULL,
                copy_channel_id TEXT NOT NULL
            )"""
        )

    return table


class MessageMap:
    """Pairs of (original, copy); each post is found from either side."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, post_id: str, channel_id: str, copy_id: str, copy_channel_id: str) -> None:
        """Remember that ``copy_id`` is the copy of ``post_id``."""
        await self.db.execute(
            "INSERT INTO mirror_message (post_id, copy_id, channel_id, copy_channel_id) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (post_id) DO NOTHING",
            post_id,
            copy_id,
            channel_id,
            copy_channel_id,
        )

    async def counterpart(self, post_id: str) -> tuple[str, str] | None:
        """The other side of ``post_id`` (its copy, or the original it copies) and its channel."""
        row = await self.db.fetchrow(
            "SELECT copy_id AS other, copy_channel_id AS channel FROM mirror_message WHERE post_id = $1 "
            "UNION ALL "
            "SELECT post_id AS other, channel_id AS channel FROM mirror_message WHERE copy_id = $1",
            post_id,
        )
        return None if row is None else (str(row["other"]), str(row["channel"]))

    async def count(self) -> int:
        """How many posts are mirrored."""
        return int(await self.db.fetchval("SELECT COUNT(*) FROM mirror_message") or 0)
