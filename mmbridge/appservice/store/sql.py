"""``SQLStateStore``: the state store in SQLite or PostgreSQL, with the same SQL on both."""

from __future__ import annotations

import asyncio
import logging
import time

from yarl import URL

from ...db import Connection, Database, DatabaseError, Row, Scheme, ServerMismatchError, UpgradeTable
from .base import OutboxEntry, PuppetRecord, StateStore, check_txn_count

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

    @table.register(description="scope every row by bridge id, so bridges can share one database")
    async def v2(conn: Connection, scheme: Scheme) -> None:
        await _scope_rows_by_bridge(conn, scheme)

    @table.register(description="delivery: handled events, positions, reactions, dead letters, outbox")
    async def v3(conn: Connection, scheme: Scheme) -> None:
        await _create_delivery_tables(conn, scheme)

    return table


async def _create_delivery_tables(conn: Connection, scheme: Scheme) -> None:
    """The tables of :mod:`mmbridge.appservice.ledger` and :mod:`mmbridge.appservice.outbox`."""
    without_rowid = " WITHOUT ROWID" if scheme == Scheme.SQLITE else ""
    # event_time: the server time the key is about (a post's create_at, an edit's edit_at), so
    # keys are pruned relative to the channel's position, whatever the local clock says.
    await conn.execute(
        """CREATE TABLE mmbridge_handled (
            bridge_id  TEXT NOT NULL,
            event_key  TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            event_time BIGINT NOT NULL,
            PRIMARY KEY (bridge_id, event_key)
        )"""
        + without_rowid
    )
    await conn.execute(
        "CREATE INDEX mmbridge_handled_time ON mmbridge_handled (bridge_id, channel_id, event_time)"
    )
    await conn.execute(
        """CREATE TABLE mmbridge_position (
            bridge_id  TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            update_at  BIGINT NOT NULL,
            PRIMARY KEY (bridge_id, channel_id)
        )"""
        + without_rowid
    )
    await conn.execute(
        """CREATE TABLE mmbridge_reaction (
            bridge_id  TEXT NOT NULL,
            post_id    TEXT NOT NULL,
            user_id    TEXT NOT NULL,
            emoji_name TEXT NOT NULL,
            state      TEXT NOT NULL,
            PRIMARY KEY (bridge_id, post_id, user_id, emoji_name)
        )"""
        + without_rowid
    )
    await conn.execute(
        """CREATE TABLE mmbridge_dead_letter (
            bridge_id   TEXT NOT NULL,
            letter_id   TEXT NOT NULL,
            channel_id  TEXT NOT NULL,
            event_type  TEXT NOT NULL,
            event       TEXT NOT NULL,
            error       TEXT NOT NULL,
            attempts    INTEGER NOT NULL,
            failed_at   BIGINT NOT NULL,
            replay      INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (bridge_id, letter_id)
        )"""
    )
    await conn.execute(
        """CREATE TABLE mmbridge_outbox (
            bridge_id       TEXT NOT NULL,
            source          TEXT NOT NULL,
            channel_id      TEXT NOT NULL,
            pending_post_id TEXT NOT NULL,
            post_id         TEXT NOT NULL DEFAULT '',
            created_at      BIGINT NOT NULL,
            PRIMARY KEY (bridge_id, source)
        )"""
    )


#: (table, columns kept, the new primary key, extra constraints) of the v2 rebuild.
_SCOPED_TABLES = (
    (
        "mmbridge_puppet",
        "user_id TEXT NOT NULL, username TEXT NOT NULL, token TEXT NOT NULL, "
        "token_id TEXT NOT NULL DEFAULT '', display_name_hash TEXT NOT NULL DEFAULT '', "
        "avatar_hash TEXT NOT NULL DEFAULT ''",
        "user_id, username, token, token_id, display_name_hash, avatar_hash",
        "bridge_id, user_id",
        ", UNIQUE (bridge_id, username)",
    ),
    (
        "mmbridge_team_member",
        "team_id TEXT NOT NULL, user_id TEXT NOT NULL",
        "team_id, user_id",
        "bridge_id, team_id, user_id",
        "",
    ),
    (
        "mmbridge_channel_member",
        "channel_id TEXT NOT NULL, user_id TEXT NOT NULL",
        "channel_id, user_id",
        "bridge_id, channel_id, user_id",
        "",
    ),
    ("mmbridge_real_user", "user_id TEXT NOT NULL, token TEXT NOT NULL", "user_id", "bridge_id, user_id", ""),
    ("mmbridge_txn_counter", "next_id BIGINT NOT NULL", "next_id", "bridge_id", ""),
    ("mmbridge_kv", "name TEXT NOT NULL, value TEXT NOT NULL", "name, value", "bridge_id, name", ""),
)


async def _scope_rows_by_bridge(conn: Connection, scheme: Scheme) -> None:
    """Rebuild each table with a leading ``bridge_id`` (SQLite cannot change a primary key in
    place). Existing rows get the bridge id ``''``: the first bridge to open the store adopts them
    (see :meth:`SQLStateStore.start`), so a database made before scoping keeps its data."""
    for name, columns, kept, key, extra in _SCOPED_TABLES:
        await conn.execute(
            f"CREATE TABLE {name}_scoped (bridge_id TEXT NOT NULL, {columns}, PRIMARY KEY ({key}){extra})"
            + (" WITHOUT ROWID" if scheme == Scheme.SQLITE else "")
        )
        # A counter never used (a fresh database) is no data to adopt; the claim makes a new one.
        unused = " WHERE next_id > 1" if name == "mmbridge_txn_counter" else ""
        copy = f"INSERT INTO {name}_scoped (bridge_id, {kept}) SELECT '', {kept} FROM {name}{unused}"  # noqa: S608
        await conn.execute(copy)
        await conn.execute(f"DROP TABLE {name}")
        await conn.execute(f"ALTER TABLE {name}_scoped RENAME TO {name}")
        if scheme == Scheme.POSTGRES:  # the constraints keep the names they were made with
            await conn.execute(f"ALTER TABLE {name} RENAME CONSTRAINT {name}_scoped_pkey TO {name}_pkey")
            if extra:
                await conn.execute(
                    f"ALTER TABLE {name} RENAME CONSTRAINT {name}_scoped_bridge_id_username_key "
                    f"TO {name}_bridge_id_username_key"
                )
    for kind in ("team", "channel"):
        await conn.execute(
            f"CREATE INDEX mmbridge_{kind}_member_user ON mmbridge_{kind}_member (bridge_id, user_id)"
        )
    await conn.execute(
        "CREATE TABLE mmbridge_scope (bridge_id TEXT PRIMARY KEY, server TEXT NOT NULL DEFAULT '')"
    )


_SELECT_PUPPET = (
    "SELECT user_id, username, token, token_id, display_name_hash, avatar_hash FROM mmbridge_puppet "
    "WHERE bridge_id = $1 AND "
)
#: Health checks fail after this many seconds.
HEALTH_CHECK_TIMEOUT = 5.0
_HEALTH_KEY = "mmbridge.health"
#: The bridge id of rows written before rows were scoped (adopted by the first bridge).
_UNSCOPED = ""


def normal_server_url(url: str) -> str:
    """A server URL as compared for the binding: lower-case scheme and host, no default port, no
    trailing slash (``HTTPS://Chat.Example.com:443/`` is ``https://chat.example.com``)."""
    parsed = URL(url.strip())
    if not parsed.is_absolute():
        return url.strip().rstrip("/")
    return str(parsed.with_path(parsed.path.rstrip("/")).with_query(None).with_fragment(None)).rstrip("/")


_SELECT_OUTBOX = (
    "SELECT source, channel_id, pending_post_id, post_id, created_at FROM mmbridge_outbox "
    "WHERE bridge_id = $1 "
)


def _outbox_entry(row: Row) -> OutboxEntry:
    return OutboxEntry(
        source=str(row["source"]),
        channel_id=str(row["channel_id"]),
        pending_post_id=str(row["pending_post_id"]),
        post_id=str(row["post_id"]),
        created_at=int(row["created_at"]),
    )


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

    Every row belongs to one ``bridge_id``, so several bridges (or several instances of one, say
    the two sides of a Mattermost <-> Mattermost link) can share one database without their
    puppets, memberships, counters or values meeting. :meth:`bind_server` binds the bridge id to
    one Mattermost server: a later start with the same id against another server is refused (its
    puppets and tokens would mean nothing there).

    ``start()`` connects the database if it is not running yet (and then ``stop()`` closes it);
    a database the caller started, e.g. one shared with a bridge's own tables, is left open by
    ``stop()``. Either way ``start()`` brings the ``mmbridge_appservice`` tables up to date.
    """

    def __init__(self, db: Database, *, bridge_id: str) -> None:
        if not bridge_id:
            raise ValueError("bridge_id must be a non-empty name (it scopes every row of the store)")
        self.db = db
        self.bridge_id = bridge_id
        self.health_timeout = HEALTH_CHECK_TIMEOUT
        self._owns_db = False

    def __repr__(self) -> str:
        return f"SQLStateStore({self.db!r}, bridge_id={self.bridge_id!r})"

    async def start(self) -> None:
        """Connect (if needed), run the appservice's missing schema upgrades and claim the scope
        (adopting rows stored before scoping when this is the database's first bridge)."""
        started_here = False
        if not self.db.is_running:
            await self.db.start()
            started_here = True
        try:
            await self.db.upgrade(appservice_upgrade_table())
            await self._claim_scope()
        except BaseException:
            if started_here:
                await self.db.stop()
            raise
        self._owns_db = self._owns_db or started_here

    async def bind_server(self, server: str) -> None:
        """Bind this bridge id to the Mattermost server at ``server`` (on its first call), or check
        that it is the one bound before. Call it once the server has answered, so that a mistyped
        URL is never recorded.

        Raises:
            ServerMismatchError: the bridge id belongs to another server.
        """
        wanted = normal_server_url(server)
        async with self.db.transaction() as conn:
            stored = await conn.fetchval(
                "SELECT server FROM mmbridge_scope WHERE bridge_id = $1", self.bridge_id
            )
            if stored:
                if normal_server_url(str(stored)) != wanted:
                    raise ServerMismatchError(
                        f"{self.db.url}: bridge id {self.bridge_id!r} belongs to the Mattermost server "
                        f"{stored}, not {wanted}; give this bridge another id (a moved server: update "
                        "mmbridge_scope.server)",
                        stored_owner=str(stored),
                        owner=wanted,
                    )
                return
            await conn.execute(
                "UPDATE mmbridge_scope SET server = $2 WHERE bridge_id = $1", self.bridge_id, wanted
            )

    async def _claim_scope(self) -> None:
        async with self.db.transaction() as conn:
            if await conn.fetchval("SELECT 1 FROM mmbridge_scope WHERE bridge_id = $1", self.bridge_id):
                return
            first_claim = await conn.fetchval("SELECT COUNT(*) FROM mmbridge_scope") == 0
            await conn.execute("INSERT INTO mmbridge_scope (bridge_id) VALUES ($1)", self.bridge_id)
            adopted = 0
            if first_claim:  # rows from before scoping belong to the database's first bridge
                for name, *_ in _SCOPED_TABLES:
                    adopted += await conn.execute(
                        f"UPDATE {name} SET bridge_id = $1 WHERE bridge_id = $2",  # noqa: S608 - fixed names
                        self.bridge_id,
                        _UNSCOPED,
                    )
            counter = await conn.fetchval(
                "SELECT next_id FROM mmbridge_txn_counter WHERE bridge_id = $1", self.bridge_id
            )
            if counter is None:
                await conn.execute(
                    "INSERT INTO mmbridge_txn_counter (bridge_id, next_id) VALUES ($1, 1)", self.bridge_id
                )
        if adopted:
            log.info(
                "%s: bridge %r adopted %d rows stored before scoping", self.db.url, self.bridge_id, adopted
            )

    async def stop(self) -> None:
        """Close the database if :meth:`start` opened it."""
        if self._owns_db:
            self._owns_db = False
            await self.db.stop()

    async def is_healthy(self) -> bool:
        """The store takes a write (its ``mmbridge.health`` value) within ``health_timeout``
        seconds: a store that answers reads but cannot write (a full disk, a held lock, a
        read-only replica) cannot record what the bridge does, so it is not healthy."""
        try:
            async with asyncio.timeout(self.health_timeout):
                await self.set_value(_HEALTH_KEY, str(int(time.time())))
                return True
        except Exception as exc:
            log.warning("state store health check failed: %s: %s", type(exc).__name__, exc)
            return False

    # ---- puppets ----------------------------------------------------------------------------

    async def get_puppet(self, user_id: str) -> PuppetRecord | None:
        """The puppet with this user id, or None."""
        return _puppet(await self.db.fetchrow(_SELECT_PUPPET + "user_id = $2", self.bridge_id, user_id))

    async def get_puppet_by_username(self, username: str) -> PuppetRecord | None:
        """The puppet with this username, or None."""
        return _puppet(await self.db.fetchrow(_SELECT_PUPPET + "username = $2", self.bridge_id, username))

    async def put_puppet(self, record: PuppetRecord) -> None:
        """Insert or replace; drops another user id's record holding the same username."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM mmbridge_puppet WHERE bridge_id = $1 AND username = $2 AND user_id <> $3",
                self.bridge_id,
                record.username,
                record.user_id,
            )
            await conn.execute(
                """INSERT INTO mmbridge_puppet
                    (bridge_id, user_id, username, token, token_id, display_name_hash, avatar_hash)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (bridge_id, user_id) DO UPDATE SET
                    username = excluded.username,
                    token = excluded.token,
                    token_id = excluded.token_id,
                    display_name_hash = excluded.display_name_hash,
                    avatar_hash = excluded.avatar_hash""",
                self.bridge_id,
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
                display_name_hash = COALESCE($3, display_name_hash),
                avatar_hash = COALESCE($4, avatar_hash)
            WHERE bridge_id = $1 AND user_id = $2""",
            self.bridge_id,
            user_id,
            display_name_hash,
            avatar_hash,
        )

    async def delete_puppet(self, user_id: str) -> None:
        """Forget the puppet."""
        await self.db.execute(
            "DELETE FROM mmbridge_puppet WHERE bridge_id = $1 AND user_id = $2", self.bridge_id, user_id
        )

    # ---- memberships ------------------------------------------------------------------------

    async def is_team_member(self, team_id: str, user_id: str) -> bool:
        """Whether the user is known to be in the team."""
        return await self._is_member("team", team_id, user_id)

    async def set_team_member(self, team_id: str, user_id: str, member: bool) -> None:
        """Record team membership."""
        await self._set_member("team", team_id, user_id, member)

    async def is_channel_member(self, channel_id: str, user_id: str) -> bool:
        """Whether the user is known to be in the channel."""
        return await self._is_member("channel", channel_id, user_id)

    async def set_channel_member(self, channel_id: str, user_id: str, member: bool) -> None:
        """Record channel membership."""
        await self._set_member("channel", channel_id, user_id, member)

    async def _is_member(self, kind: str, container: str, user_id: str) -> bool:
        found = await self.db.fetchval(
            f"SELECT 1 FROM mmbridge_{kind}_member WHERE bridge_id = $1 AND {kind}_id = $2 AND user_id = $3",  # noqa: S608 - fixed table names
            self.bridge_id,
            container,
            user_id,
        )
        return found is not None

    async def _set_member(self, kind: str, container: str, user_id: str, member: bool) -> None:
        if member:
            sql = (
                f"INSERT INTO mmbridge_{kind}_member (bridge_id, {kind}_id, user_id) VALUES ($1, $2, $3) "  # noqa: S608 - fixed table names
                "ON CONFLICT DO NOTHING"
            )
        else:
            sql = (
                f"DELETE FROM mmbridge_{kind}_member WHERE bridge_id = $1 AND {kind}_id = $2 AND user_id = $3"  # noqa: S608 - fixed table names
            )
        await self.db.execute(sql, self.bridge_id, container, user_id)

    async def forget_user_memberships(self, user_id: str) -> None:
        """Forget every membership of the user (indexed by user id)."""
        async with self.db.transaction() as conn:
            for kind in ("team", "channel"):
                await conn.execute(
                    f"DELETE FROM mmbridge_{kind}_member WHERE bridge_id = $1 AND user_id = $2",  # noqa: S608 - fixed table names
                    self.bridge_id,
                    user_id,
                )

    # ---- real users ---------------------------------------------------------------------------

    async def get_real_user_token(self, user_id: str) -> str | None:
        """The real user's token, or None."""
        token = await self.db.fetchval(
            "SELECT token FROM mmbridge_real_user WHERE bridge_id = $1 AND user_id = $2",
            self.bridge_id,
            user_id,
        )
        return None if token is None else str(token)

    async def put_real_user(self, user_id: str, token: str) -> None:
        """Store a real user's token."""
        await self.db.execute(
            "INSERT INTO mmbridge_real_user (bridge_id, user_id, token) VALUES ($1, $2, $3) "
            "ON CONFLICT (bridge_id, user_id) DO UPDATE SET token = excluded.token",
            self.bridge_id,
            user_id,
            token,
        )

    async def delete_real_user(self, user_id: str) -> None:
        """Forget a real user's token."""
        await self.db.execute(
            "DELETE FROM mmbridge_real_user WHERE bridge_id = $1 AND user_id = $2", self.bridge_id, user_id
        )

    # ---- transaction ids ----------------------------------------------------------------------

    async def reserve_txn_ids(self, count: int) -> int:
        """One atomic ``UPDATE ... RETURNING``: the row lock (PostgreSQL) or the write lock (SQLite)
        orders concurrent reservations, from any process."""
        check_txn_count(count)
        end = await self.db.fetchval(
            "UPDATE mmbridge_txn_counter SET next_id = next_id + $2 WHERE bridge_id = $1 RETURNING next_id",
            self.bridge_id,
            count,
        )
        if end is None:
            raise DatabaseError(
                f"{self.db.url}: no transaction counter for bridge {self.bridge_id!r}: start() first"
            )
        return int(end) - count

    # ---- key/value ------------------------------------------------------------------------------

    async def get_outbox(self, source: str) -> OutboxEntry | None:
        """The outbox entry of ``source``, or None."""
        row = await self.db.fetchrow(_SELECT_OUTBOX + "AND source = $2", self.bridge_id, source)
        return None if row is None else _outbox_entry(row)

    async def add_outbox(self, entry: OutboxEntry) -> OutboxEntry:
        """Write ``entry`` unless its source has one; return the stored one."""
        written = await self.db.execute(
            "INSERT INTO mmbridge_outbox (bridge_id, source, channel_id, pending_post_id, post_id, "
            "created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (bridge_id, source) DO NOTHING",
            self.bridge_id,
            entry.source,
            entry.channel_id,
            entry.pending_post_id,
            entry.post_id,
            entry.created_at,
        )
        if written:
            return entry
        stored = await self.get_outbox(entry.source)  # another task wrote it first
        assert stored is not None
        return stored

    async def finish_outbox(self, source: str, post_id: str) -> None:
        """Record the post ``source`` became."""
        await self.db.execute(
            "UPDATE mmbridge_outbox SET post_id = $3 WHERE bridge_id = $1 AND source = $2",
            self.bridge_id,
            source,
            post_id,
        )

    async def unfinished_outbox(self) -> list[OutboxEntry]:
        """Entries never finished, oldest first."""
        rows = await self.db.fetch(_SELECT_OUTBOX + "AND post_id = '' ORDER BY created_at", self.bridge_id)
        return [_outbox_entry(row) for row in rows]

    async def prune_outbox(self, older_than_ms: int) -> int:
        """Forget finished entries older than ``older_than_ms``."""
        return await self.db.execute(
            "DELETE FROM mmbridge_outbox WHERE bridge_id = $1 AND post_id <> '' AND created_at < $2",
            self.bridge_id,
            older_than_ms,
        )

    async def get_value(self, key: str) -> str | None:
        """The value under ``key``, or None."""
        value = await self.db.fetchval(
            "SELECT value FROM mmbridge_kv WHERE bridge_id = $1 AND name = $2", self.bridge_id, key
        )
        return None if value is None else str(value)

    async def set_value(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        await self.db.execute(
            "INSERT INTO mmbridge_kv (bridge_id, name, value) VALUES ($1, $2, $3) "
            "ON CONFLICT (bridge_id, name) DO UPDATE SET value = excluded.value",
            self.bridge_id,
            key,
            value,
        )
