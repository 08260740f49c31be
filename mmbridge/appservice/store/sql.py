"""``SQLStateStore``: the state store in SQLite or PostgreSQL, with the same SQL on both."""

from __future__ import annotations

import asyncio
import logging

from ...db import Connection, Database, Row, Scheme, UpgradeTable
from .base import PuppetRecord, StateStore, check_txn_count

#: The appservice's key in the version table.
UPGRADE_TABLE_NAME = "mmbridge_appservice"

log = logging.getLogger("mmbridge.appservice.store")


def appservice_upgrade_table() -> UpgradeTable:
    """The appservice state store's schema upgrades (a new table object on each call)."""
    table = UpgradeTable(UPGRADE_TABLE_NAME)

    @table.register(description="puppets, memberships, real users, transaction counter, key/values")
    async def v1(conn: Connection, scheme: Scheme) -> None:
        # Pure-key tables need no rowid on SQLite (PostgreSQL has no such thing).
        without_rowid = " WITHOUT ROWID" if scheme == Scheme.SQLITE else ""
        await conn.execute(
            """CREATE TABLE mmbridge_puppet (
                user_id           TEXT PRIMARY KEY,
                username          TEXT NOT NULL UNIQUE,
                token             TEXT NOT NULL,
                token_id          TEXT NOT NULL DEFAULT '',
                display_name_hash TEXT NOT NULL DEFAULT '',
                avatar_hash       TEXT NOT NULL DEFAULT ''
            )"""
        )
        for kind, container in (("team", "team_id"), ("channel", "channel_id")):
            await conn.execute(
                f"""CREATE TABLE mmbridge_{kind}_member (
                    {container} TEXT NOT NULL,
                    user_id     TEXT NOT NULL,
                    PRIMARY KEY ({container}, user_id)
                ){without_rowid}"""
            )
            await conn.execute(
                f"CREATE INDEX mmbridge_{kind}_member_user ON mmbridge_{kind}_member (user_id)"
            )
        await conn.execute(
            "CREATE TABLE mmbridge_real_user (user_id TEXT PRIMARY KEY, token TEXT NOT NULL)" + without_rowid
        )
        await conn.execute(
            "CREATE TABLE mmbridge_txn_counter "
            "(id INTEGER PRIMARY KEY CHECK (id = 1), next_id BIGINT NOT NULL)"
        )
        await conn.execute("INSERT INTO mmbridge_txn_counter (id, next_id) VALUES (1, 1)")
        await conn.execute(
            "CREATE TABLE mmbridge_kv (name TEXT PRIMARY KEY, value TEXT NOT NULL)" + without_rowid
        )

    return table


_SELECT_PUPPET = (
    "SELECT user_id, username, token, token_id, display_name_hash, avatar_hash FROM mmbridge_puppet WHERE "
)
#: Health checks fail after this many seconds.
HEALTH_CHECK_TIMEOUT = 5.0


def _puppet(row: Row | None) -> PuppetRecord | None:
    if row is None:
        return None
    return PuppetRecord(
        user_id=row["user_id"],
        username=row["username"],
        token=row["token"],
        token_id=row["token_id"],
        display_name_hash=row["display_name_hash"],
        avatar_hash=row["avatar_hash"],
    )


class SQLStateStore(StateStore):
    """The state store in a :class:`~mmbridge.db.Database` (SQLite or PostgreSQL).

    ``start()`` connects the database if it is not running yet (and then ``stop()`` closes it);
    a database the caller started, e.g. one shared with a bridge's own tables, is left open by
    ``stop()``. Either way ``start()`` brings the ``mmbridge_appservice`` tables up to date.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._owns_db = False

    def __repr__(self) -> str:
        return f"SQLStateStore({self.db!r})"

    async def start(self) -> None:
        """Connect (if needed) and run the appservice's missing schema upgrades."""
        started_here = False
        if not self.db.is_running:
            await self.db.start()
            started_here = True
        try:
            await self.db.upgrade(appservice_upgrade_table())
        except BaseException:
            if started_here:
                await self.db.stop()
            raise
        self._owns_db = self._owns_db or started_here

    async def stop(self) -> None:
        """Close the database if :meth:`start` opened it."""
        if self._owns_db:
            self._owns_db = False
            await self.db.stop()

    async def is_healthy(self) -> bool:
        """``SELECT 1`` answers within :data:`HEALTH_CHECK_TIMEOUT` seconds."""
        try:
            async with asyncio.timeout(HEALTH_CHECK_TIMEOUT):
                return bool(await self.db.fetchval("SELECT 1") == 1)
        except Exception as exc:
            log.warning("state store health check failed: %s: %s", type(exc).__name__, exc)
            return False

    # ---- puppets ----------------------------------------------------------------------------

    async def get_puppet(self, user_id: str) -> PuppetRecord | None:
        """The puppet with this user id, or None."""
        return _puppet(await self.db.fetchrow(_SELECT_PUPPET + "user_id = $1", user_id))

    async def get_puppet_by_username(self, username: str) -> PuppetRecord | None:
        """The puppet with this username, or None."""
        return _puppet(await self.db.fetchrow(_SELECT_PUPPET + "username = $1", username))

    async def put_puppet(self, record: PuppetRecord) -> None:
        """Insert or replace; drops another user id's record holding the same username."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM mmbridge_puppet WHERE username = $1 AND user_id <> $2",
                record.username,
                record.user_id,
            )
            await conn.execute(
                """INSERT INTO mmbridge_puppet
                    (user_id, username, token, token_id, display_name_hash, avatar_hash)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (user_id) DO UPDATE SET
                    username = excluded.username,
                    token = excluded.token,
                    token_id = excluded.token_id,
                    display_name_hash = excluded.display_name_hash,
                    avatar_hash = excluded.avatar_hash""",
                record.user_id,
                record.username,
                record.token,
                record.token_id,
                record.display_name_hash,
                record.avatar_hash,
            )

    async def set_puppet_profile(
        self, user_id: str, *, display_name_hash: str | None = None, avatar_hash: str | None = None
    ) -> None:
        """Update the profile digests given."""
        if display_name_hash is None and avatar_hash is None:
            return
        await self.db.execute(
            """UPDATE mmbridge_puppet SET
                display_name_hash = COALESCE($2, display_name_hash),
                avatar_hash = COALESCE($3, avatar_hash)
            WHERE user_id = $1""",
            user_id,
            display_name_hash,
            avatar_hash,
        )

    async def delete_puppet(self, user_id: str) -> None:
        """Forget the puppet."""
        await self.db.execute("DELETE FROM mmbridge_puppet WHERE user_id = $1", user_id)

    # ---- memberships ------------------------------------------------------------------------

    async def is_team_member(self, team_id: str, user_id: str) -> bool:
        """Whether the user is known to be in the team."""
        found = await self.db.fetchval(
            "SELECT 1 FROM mmbridge_team_member WHERE team_id = $1 AND user_id = $2", team_id, user_id
        )
        return found is not None

    async def set_team_member(self, team_id: str, user_id: str, member: bool) -> None:
        """Record team membership."""
        if member:
            await self.db.execute(
                "INSERT INTO mmbridge_team_member (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                team_id,
                user_id,
            )
        else:
            await self.db.execute(
                "DELETE FROM mmbridge_team_member WHERE team_id = $1 AND user_id = $2", team_id, user_id
            )

    async def is_channel_member(self, channel_id: str, user_id: str) -> bool:
        """Whether the user is known to be in the channel."""
        found = await self.db.fetchval(
            "SELECT 1 FROM mmbridge_channel_member WHERE channel_id = $1 AND user_id = $2",
            channel_id,
            user_id,
        )
        return found is not None

    async def set_channel_member(self, channel_id: str, user_id: str, member: bool) -> None:
        """Record channel membership."""
        if member:
            await self.db.execute(
                "INSERT INTO mmbridge_channel_member (channel_id, user_id) VALUES ($1, $2) "
                "ON CONFLICT DO NOTHING",
                channel_id,
                user_id,
            )
        else:
            await self.db.execute(
                "DELETE FROM mmbridge_channel_member WHERE channel_id = $1 AND user_id = $2",
                channel_id,
                user_id,
            )

    async def forget_user_memberships(self, user_id: str) -> None:
        """Forget every membership of the user (indexed by user id)."""
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM mmbridge_team_member WHERE user_id = $1", user_id)
            await conn.execute("DELETE FROM mmbridge_channel_member WHERE user_id = $1", user_id)

    # ---- real users ---------------------------------------------------------------------------

    async def get_real_user_token(self, user_id: str) -> str | None:
        """The real user's token, or None."""
        token = await self.db.fetchval("SELECT token FROM mmbridge_real_user WHERE user_id = $1", user_id)
        return None if token is None else str(token)

    async def put_real_user(self, user_id: str, token: str) -> None:
        """Store a real user's token."""
        await self.db.execute(
            "INSERT INTO mmbridge_real_user (user_id, token) VALUES ($1, $2) "
            "ON CONFLICT (user_id) DO UPDATE SET token = excluded.token",
            user_id,
            token,
        )

    async def delete_real_user(self, user_id: str) -> None:
        """Forget a real user's token."""
        await self.db.execute("DELETE FROM mmbridge_real_user WHERE user_id = $1", user_id)

    # ---- transaction ids ----------------------------------------------------------------------

    async def reserve_txn_ids(self, count: int) -> int:
        """One atomic ``UPDATE ... RETURNING``: the row lock (PostgreSQL) or the write lock (SQLite)
        orders concurrent reservations, from any process."""
        check_txn_count(count)
        end = await self.db.fetchval(
            "UPDATE mmbridge_txn_counter SET next_id = next_id + $1 WHERE id = 1 RETURNING next_id", count
        )
        return int(end) - count

    # ---- key/value ------------------------------------------------------------------------------

    async def get_value(self, key: str) -> str | None:
        """The value under ``key``, or None."""
        value = await self.db.fetchval("SELECT value FROM mmbridge_kv WHERE name = $1", key)
        return None if value is None else str(value)

    async def set_value(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        await self.db.execute(
            "INSERT INTO mmbridge_kv (name, value) VALUES ($1, $2) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            key,
            value,
        )
