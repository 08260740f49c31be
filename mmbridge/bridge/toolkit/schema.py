"""The toolkit's tables (portals, remote puppets, the message map, users), in the bridge's database
beside the appservice's; every row scoped by bridge id."""

from __future__ import annotations

from ...db import Connection, Scheme, UpgradeTable

UPGRADE_TABLE_NAME = "mmbridge_toolkit"


def toolkit_upgrade_table() -> UpgradeTable:
    """The toolkit's schema upgrades (a new table object on each call)."""
    table = UpgradeTable(UPGRADE_TABLE_NAME)

    @table.register(description="portals, remote puppets, message map, users")
    async def v1(conn: Connection, scheme: Scheme) -> None:
        await conn.execute(
            """CREATE TABLE mmbridge_portal (
                bridge_id  TEXT NOT NULL,
                portal     TEXT NOT NULL,
                channel_id TEXT NOT NULL,
                kind       TEXT NOT NULL,
                name       TEXT NOT NULL DEFAULT '',
                topic      TEXT NOT NULL DEFAULT '',
                relay      INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (bridge_id, portal),
                UNIQUE (bridge_id, channel_id)
            )"""
        )
        await conn.execute(
            """CREATE TABLE mmbridge_ghost (
                bridge_id    TEXT NOT NULL,
                remote_id    TEXT NOT NULL,
                username     TEXT NOT NULL,
                display_name TEXT NOT NULL DEFAULT '',
                PRIMARY KEY (bridge_id, remote_id),
                UNIQUE (bridge_id, username)
            )"""
        )
        await conn.execute(
            """CREATE TABLE mmbridge_message (
                bridge_id   TEXT NOT NULL,
                portal      TEXT NOT NULL,
                remote_id   TEXT NOT NULL,
                part        INTEGER NOT NULL,
                post_id     TEXT NOT NULL,
                channel_id  TEXT NOT NULL,
                sender      TEXT NOT NULL DEFAULT '',
                thread_root TEXT NOT NULL DEFAULT '',
                PRIMARY KEY (bridge_id, portal, remote_id, part),
                UNIQUE (bridge_id, post_id)
            )"""
        )
        await conn.execute(
            """CREATE TABLE mmbridge_bridge_user (
                bridge_id TEXT NOT NULL,
                user_id   TEXT NOT NULL,
                remote_id TEXT NOT NULL DEFAULT '',
                login     TEXT NOT NULL DEFAULT '',
                PRIMARY KEY (bridge_id, user_id)
            )"""
        )

    return table
