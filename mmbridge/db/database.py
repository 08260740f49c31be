"""``Database`` and ``Connection``: one small async API over SQLite (sqlite3) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from .dialect import Scheme
from .errors import DatabaseError
from .row import Row
from .url import PostgresTarget, SQLiteTarget, parse_database_url, redact_url

if TYPE_CHECKING:
    from .upgrade import UpgradeTable


class Connection(ABC):
    """One database connection, as handed out by :meth:`Database.transaction` and :meth:`Database.acquire`.

    SQL uses asyncpg's ``$1, $2, ...`` placeholders on every backend (see :mod:`.dialect`), and each
    call runs exactly one statement (SQLite refuses several in one call).
    """

    scheme: Scheme

    @abstractmethod
    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; return how many rows an INSERT/UPDATE/DELETE changed (0 for anything else)."""

    async def defer(self, sql: str, *args: Any) -> None:
        """Run a write whose answer is not needed. In a transaction a backend may hold it and send
        it with the next statement or the commit (SQLite does: a transaction of writes is then one
        trip to its thread), so its error is raised there. Outside a transaction it runs at once."""
        await self.execute(sql, *args)

    @abstractmethod
    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per argument tuple."""

    @abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """Run one statement and return all its rows."""

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """The first row, or None when there is none."""
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any, column: int = 0) -> Any:
        """One value of the first row (the first column by default), or None when there is no row."""
        row = await self.fetchrow(sql, *args)
        if row is None:
            return None
        return row.at(column)

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """A transaction on this connection (a savepoint when one is already open); rolls back on error."""


class Database(ABC):
    """A database (SQLite file or PostgreSQL) plus the upgrade tables that shape it.

    Create one with :meth:`create`, then ``await db.start()`` (connect and run upgrades) and
    ``await db.stop()``. Queries go through ``db.execute/fetch/fetchrow/fetchval`` (each on any free
    connection) or ``async with db.transaction() as conn:`` (all on one connection, atomically).
    """

    scheme: Scheme

    def __init__(self, url: str, *, upgrade_tables: Sequence[UpgradeTable], owner: str) -> None:
        if not owner:
            raise ValueError("owner must be a non-empty name (the program that owns the database)")
        names = [table.name for table in upgrade_tables]
        if len(set(names)) != len(names):
            raise ValueError(f"two upgrade tables share a name: {names}")
        self._redacted_url = redact_url(url)
        self.owner = owner
        self.upgrade_tables: tuple[UpgradeTable, ...] = tuple(upgrade_tables)
        self._upgraded: set[str] = set()
        self.log = logging.getLogger("mmbridge.db")

    @staticmethod
    def create(url: str, *, upgrade_table: UpgradeTable | Sequence[UpgradeTable], owner: str) -> Database:
        """A database for ``url``, not yet connected.

        Args:
            url: ``sqlite:///path/to.db`` (``sqlite:////abs/path.db``, ``sqlite:///:memory:``) or
                ``postgres://user:pass@host/db`` / ``postgresql://...`` with optional query options
                ``schema`` (sets the ``search_path``), ``min_size`` and ``max_size`` (the pool's bounds).
            upgrade_table: the schema upgrades :meth:`start` runs, one table or several (each keyed by
                its name in the version table, so independent programs' parts can share one database).
            owner: the program's name; the first migration stores it and another name is refused.

        Raises:
            DatabaseError: the URL is not understood (the message never shows its password).
        """
        tables: Sequence[UpgradeTable] = (
            upgrade_table if isinstance(upgrade_table, Sequence) else (upgrade_table,)
        )
        target = parse_database_url(url)
        if isinstance(target, SQLiteTarget):
            from .sqlite import SQLiteDatabase

            return SQLiteDatabase(url, target, upgrade_tables=tables, owner=owner)
        assert isinstance(target, PostgresTarget)
        from .postgres import PostgresDatabase

        return PostgresDatabase(url, target, upgrade_tables=tables, owner=owner)

    @property
    def url(self) -> str:
        """The database URL with any password replaced by ``***``."""
        return self._redacted_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self._redacted_url!r}, owner={self.owner!r})"

    @property
    @abstractmethod
    def is_running(self) -> bool:
        """True between a successful :meth:`start` (or :meth:`connect`) and :meth:`stop`."""

    @abstractmethod
    async def connect(self) -> None:
        """Open the connection (pool) without running upgrades. :meth:`start` is what programs call."""

    async def start(self) -> None:
        """Connect, then run every upgrade table's missing upgrades (each step in its own transaction).

        Raises:
            DatabaseConnectError: the database cannot be reached or opened.
            OwnerMismatchError, SchemaTooNewError, UpgradeError: see :meth:`upgrade`.
        """
        await self.connect()
        try:
            for table in self.upgrade_tables:
                await self.upgrade(table)
        except BaseException:
            await self.stop()
            raise

    async def upgrade(self, table: UpgradeTable) -> None:
        """Bring ``table``'s part of the schema up to date on this running database.

        Runs at most once per table name between :meth:`start` and :meth:`stop`; safe against other
        processes upgrading at the same time (they wait for each other and skip finished steps).

        Raises:
            OwnerMismatchError: the database was first migrated by a program with another owner name.
            SchemaTooNewError: the database's version of this table is newer than ``table`` knows;
                nothing was changed.
            UpgradeError: one step failed; it was rolled back and the earlier steps stay applied.
        """
        if table.name in self._upgraded:
            return
        from .upgrade import run_upgrades

        await run_upgrades(self, table)
        self._upgraded.add(table.name)

    @abstractmethod
    async def stop(self) -> None:
        """Close the connection (pool). Safe to call twice or when never started."""

    def _stopped(self) -> None:
        self._upgraded.clear()

    def _not_running(self) -> DatabaseError:
        return DatabaseError(f"{self._redacted_url} is not connected: call start() first")

    @abstractmethod
    def acquire(self) -> AbstractAsyncContextManager[Connection]:
        """One connection for several statements, in autocommit mode (no transaction)."""

    @abstractmethod
    def instance_lock(self, name: str) -> AbstractAsyncContextManager[None]:
        """``async with db.instance_lock("irc"):`` holds a lock no other process can take on this
        database until the block ends or the process dies (even by SIGKILL), so two daemons of one
        bridge never run at once.

        Raises:
            DatabaseLockedError: another process holds it (at once; this never waits).
        """

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """``async with db.transaction() as conn:`` — all statements on ``conn`` commit together, or
        none of them when the block raises. On SQLite the transaction takes the write lock with its
        first statement (``BEGIN IMMEDIATE``, sent with it), so two processes never deadlock
        upgrading a read lock."""
        async with self.acquire() as conn, conn.transaction():
            yield conn

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement on a free connection; see :meth:`Connection.execute`."""
        async with self.acquire() as conn:
            return await conn.execute(sql, *args)

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        """Run one statement per argument tuple, all in one transaction."""
        async with self.transaction() as conn:
            await conn.executemany(sql, args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """All rows of one statement; see :meth:`Connection.fetch`."""
        async with self.acquire() as conn:
            return await conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """The first row, or None."""
        async with self.acquire() as conn:
            return await conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any, column: int = 0) -> Any:
        """One value of the first row, or None when there is no row."""
        async with self.acquire() as conn:
            return await conn.fetchval(sql, *args, column=column)
