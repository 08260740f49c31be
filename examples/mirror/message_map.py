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

    @table.register(description="rows scoped by bridge id")
    async def v2(conn: Connection, scheme: Scheme) -> None:
        await conn.execute(
            """CREATE TABLE mirror_message_scoped (
                bridge_id TEXT NOT NULL,
                post_id TEXT NOT NULL,
                copy_id TEXT NOT NULL,
                channel_id TEXT NOT NULL,
                copy_channel_id TEXT NOT NULL,
                PRIMARY KEY (bridge_id, post_id),
                UNIQUE (bridge_id, copy_id)
            )"""
        )
        # Before scoping, the mirror always ran as bridge id "mirror".
        await conn.execute(
            "INSERT INTO mirror_message_scoped (bridge_id, post_id, copy_id, channel_id, copy_channel_id) "
            "SELECT 'mirror', post_id, copy_id, channel_id, copy_channel_id FROM mirror_message"
        )
        await conn.execute("DROP TABLE mirror_message")
        await conn.execute("ALTER TABLE mirror_message_scoped RENAME TO mirror_message")

    return table


class MessageMap:
    """Pairs of (original, copy) of one bridge; each post is found from either side."""

    def __init__(self, db: Database, bridge_id: str) -> None:
        self.db = db
        self.bridge_id = bridge_id

    async def add(
        self,
        post_id: str,
        channel_id: str,
        copy_id: str,
        copy_channel_id: str,
        *,
        conn: Connection | None = None,
    ) -> None:
        """Remember that ``copy_id`` is the copy of ``post_id`` (in ``conn``'s transaction if given)."""
        await (conn or self.db).execute(
            "INSERT INTO mirror_message (bridge_id, post_id, copy_id, channel_id, copy_channel_id) "
            "VALUES ($5, $1, $2, $3, $4) ON CONFLICT (bridge_id, post_id) DO NOTHING",
            post_id,
            copy_id,
            channel_id,
            copy_channel_id,
            self.bridge_id,
        )

    async def counterpart(self, post_id: str) -> tuple[str, str] | None:
        """The other side of ``post_id`` (its copy, or the original it copies) and its channel."""
        row = await self.db.fetchrow(
            "SELECT copy_id AS other, copy_channel_id AS channel FROM mirror_message "
            "WHERE bridge_id = $2 AND post_id = $1 "
            "UNION ALL "
            "SELECT post_id AS other, channel_id AS channel FROM mirror_message "
            "WHERE bridge_id = $2 AND copy_id = $1",
            post_id,
            self.bridge_id,
        )
        return None if row is None else (str(row["other"]), str(row["channel"]))

    async def count(self) -> int:
        """How many posts are mirrored."""
        count = await self.db.fetchval(
            "SELECT COUNT(*) FROM mirror_message WHERE bridge_id = $1", self.bridge_id
        )
        return int(count or 0)
