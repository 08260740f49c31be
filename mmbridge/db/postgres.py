"""The PostgreSQL backend: an asyncpg connection pool, optionally confined to one schema."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from .database import Connection, Database
from .dialect import Scheme
from .errors import DatabaseConnectError, DatabaseLockedError
from .row import Row
from .url import PostgresTarget, scrub, url_secrets

if TYPE_CHECKING:
    from .upgrade import UpgradeTable

_COUNTED_COMMANDS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE"})
_CLOSE_TIMEOUT = 10.0


def _changed_rows(status: str) -> int:
    """The row count from a command tag such as ``INSERT 0 3`` or ``UPDATE 1`` (0 for other commands)."""
    parts = status.split()
    if parts and parts[0] in _COUNTED_COMMANDS and parts[-1].isdigit():
        return int(parts[-1])
    return 0


def _to_row(record: Any, index: dict[str, int] | None = None) -> Row:
    if index is None:
        index = Row.column_index(record.keys())
    return Row(index, tuple(record))


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted PostgreSQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class PostgresConnection(Connection):
    """One pooled asyncpg connection."""

    scheme = Scheme.POSTGRES

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; the number of rows an INSERT/UPDATE/DELETE/MERGE changed, else 0."""
        return _changed_rows(await self._raw.execute(sql, *args))

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        """Run one statement per argument tuple."""
        await self._raw.executemany(sql, args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """All rows of one statement."""
        records = await self._raw.fetch(sql, *args)
        if not records:
            return []
        index = Row.column_index(records[0].keys())
        return [_to_row(record, index) for record in records]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """The first row, or None."""
        record = await self._raw.fetchrow(sql, *args)
        return None if record is None else _to_row(record)

    async def fetchval(self, sql: str, *args: Any, column: int = 0) -> Any:
        """One value of the first row, or None."""
        return await self._raw.fetchval(sql, *args, column=column)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A transaction, or a savepoint when one is open already."""
        async with self._raw.transaction():
            yield self


class PostgresDatabase(Database):
    """A PostgreSQL database reached through an asyncpg pool.

    With ``?schema=NAME`` in the URL, every connection's ``search_path`` is that schema (which must
    exist), so all of mmbridge's tables live there.
    """

    scheme = Scheme.POSTGRES

    def __init__(
        self,
        url: str,
        target: PostgresTarget,
        *,
        upgrade_tables: Sequence[UpgradeTable],
        owner: str,
    ) -> None:
        super().__init__(url, upgrade_tables=upgrade_tables, owner=owner)
        self._target = target
        self._secrets = url_secrets(url)
        self.schema = target.schema
        self._pool: Any = None

    @property
    def is_running(self) -> bool:
        """True while the pool is open."""
        return self._pool is not None

    async def connect(self) -> None:
        """Open the pool (and check the schema exists)."""
        if self._pool is not None:
            return
        try:
            import asyncpg  # type: ignore[import-untyped]
        except ImportError:
            raise DatabaseConnectError("PostgreSQL needs asyncpg: install mmbridge[postgres]") from None
        settings = self._server_settings()
        try:
            pool = await asyncpg.create_pool(
                self._target.dsn,
                min_size=self._target.min_size,
                max_size=self._target.max_size,
                server_settings=settings,
            )
        except Exception as exc:  # any failure: refused, auth, timeout, bad option
            # "from None": the driver's exception (and its traceback) may quote the DSN.
            raise DatabaseConnectError(
                f"could not connect to {self.url}: {type(exc).__name__}: {scrub(str(exc), self._secrets)}"
            ) from None
        if self.schema:
            current = await pool.fetchval("SELECT current_schema()")
            if current is None:
                await pool.close()
                raise DatabaseConnectError(f"schema {self.schema!r} does not exist in {self.url}")
        self._pool = pool

    def _server_settings(self) -> dict[str, str]:
        settings = {"application_name": f"mmbridge ({self.owner})"[:63]}
        if self.schema:
            settings["search_path"] = quote_identifier(self.schema)
        return settings

    async def stop(self) -> None:
        """Close the pool, waiting up to 10 s for connections in use, then terminating them."""
        pool = self._pool
        if pool is None:
            return
        self._pool = None
        self._stopped()
        try:
            await asyncio.wait_for(pool.close(), _CLOSE_TIMEOUT)
        except TimeoutError:
            pool.terminate()

    @asynccontextmanager
    async def instance_lock(self, name: str) -> AsyncIterator[None]:
        """A session advisory lock on a connection of its own (outside the pool, which keeps all
        its connections for queries); the server drops the lock when that connection closes, as a
        killed process's connection does."""
        import asyncpg

        scope = f"mmbridge instance {self.schema or ''}.{name}".encode()
        key = int.from_bytes(hashlib.sha256(scope).digest()[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF
        try:
            raw = await asyncpg.connect(self._target.dsn, server_settings=self._server_settings())
        except Exception as exc:  # as in connect(): the driver's message may quote the DSN
            raise DatabaseConnectError(
                f"could not connect to {self.url}: {type(exc).__name__}: {scrub(str(exc), self._secrets)}"
            ) from None
        try:
            if not await raw.fetchval("SELECT pg_try_advisory_lock($1)", key):
                holder = await raw.fetchval(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND ((classid::bigint << 32) | objid::bigint) = $1 LIMIT 1",
                    key,
                )
                raise DatabaseLockedError(
                    f"{self.url}: another process (PostgreSQL backend pid {holder or '?'}) is running "
                    f"bridge {name!r} on this database"
                )
            yield
        finally:
            await raw.close()  # also releases the lock

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        """A connection from the pool, returned at the end of the block."""
        pool = self._pool
        if pool is None:
            raise self._not_running()
        async with pool.acquire() as raw:
            yield PostgresConnection(raw)
