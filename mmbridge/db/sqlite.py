"""The SQLite backend: one aiosqlite connection (WAL mode, foreign keys on, busy timeout), shared by
the process's tasks one at a time."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

import aiosqlite

from .database import Connection, Database
from .dialect import Scheme, rewrite_placeholders_for_sqlite
from .errors import DatabaseConnectError, DatabaseError, DatabaseLockedError
from .row import Row
from .url import SQLiteTarget

if TYPE_CHECKING:
    from .upgrade import UpgradeTable

#: RETURNING (3.35) is used by mmbridge's own SQL; UPSERT needs 3.24.
MIN_SQLITE_VERSION = (3, 35, 0)
_SQL_CACHE_SIZE = 512


def _create_private(path: str) -> None:
    """Create a new database file readable by its owner only (it holds tokens); an existing file
    keeps its mode. SQLite makes its ``-wal`` and ``-shm`` files with the same mode."""
    if path == ":memory:" or path.startswith("file:"):
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class _RowFactory:
    """sqlite3 row factory building :class:`Row`; runs on the connection's worker thread only."""

    def __init__(self) -> None:
        self._description: Any = None
        self._index: dict[str, int] = {}

    def __call__(self, cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> Row:
        description = cursor.description
        if description is not self._description:  # a new statement: build its column index once
            self._index = Row.column_index(column[0] for column in description)
            self._description = description
        return Row(self._index, values)


class SQLiteConnection(Connection):
    """The process's one SQLite connection, while a task holds it."""

    scheme = Scheme.SQLITE

    def __init__(self, raw: aiosqlite.Connection, rewrite: Callable[[str], str]) -> None:
        self._raw = raw
        self._rewrite = rewrite
        self._depth = 0

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; the number of rows it changed (0 for DDL and queries; rows changed
        by triggers and foreign-key actions count too)."""
        # One trip to the worker thread (a cursor to close would be a second); the count comes
        # from the connection, which no other statement uses while this task holds it.
        before = self._raw.total_changes
        await self._raw.execute_fetchall(self._rewrite(sql), args)
        return self._raw.total_changes - before

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        """Run one statement per argument tuple."""
        async with self._raw.executemany(self._rewrite(sql), args):
            pass

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """All rows of one statement."""
        return cast(list[Row], await self._raw.execute_fetchall(self._rewrite(sql), args))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """``BEGIN IMMEDIATE`` (the write lock at once) or, nested, a savepoint."""
        rollback: tuple[str, ...]
        if self._depth == 0:
            begin, commit, rollback = "BEGIN IMMEDIATE", "COMMIT", ("ROLLBACK",)
        else:
            name = f"mmbridge_savepoint_{self._depth}"
            begin, commit, rollback = (
                f"SAVEPOINT {name}",
                f"RELEASE {name}",
                (
                    f"ROLLBACK TO {name}",
                    f"RELEASE {name}",
                ),
            )
        await self._raw.execute_fetchall(begin)
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            await asyncio.shield(self._run(rollback))
            raise
        self._depth -= 1
        try:
            await self._raw.execute_fetchall(commit)
        except BaseException:
            if self._raw.in_transaction and self._depth == 0:
                await asyncio.shield(self._run(("ROLLBACK",)))
            raise

    async def _run(self, statements: tuple[str, ...]) -> None:
        for statement in statements:
            await self._raw.execute_fetchall(statement)


class SQLiteDatabase(Database):
    """A SQLite database file (or ``:memory:``).

    All tasks share one connection, handed to one task at a time (an :class:`asyncio.Lock`), so a
    transaction never interleaves with another task's statements. Other processes on the same file
    wait up to ``busy_timeout_ms`` for the write lock. Inside ``async with db.transaction() as conn``
    use ``conn``: calling ``db.execute`` there from the same task raises instead of deadlocking.
    """

    scheme = Scheme.SQLITE

    def __init__(
        self,
        url: str,
        target: SQLiteTarget,
        *,
        upgrade_tables: Sequence[UpgradeTable],
        owner: str,
        busy_timeout_ms: int = 10_000,
    ) -> None:
        super().__init__(url, upgrade_tables=upgrade_tables, owner=owner)
        self.path = target.path
        self.synchronous = target.synchronous
        self.busy_timeout_ms = busy_timeout_ms
        self._raw: aiosqlite.Connection | None = None
        self._conn: SQLiteConnection | None = None
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[Any] | None = None
        self._sql_cache: dict[str, str] = {}

    @property
    def is_running(self) -> bool:
        """True while the connection is open."""
        return self._conn is not None

    def _rewrite(self, sql: str) -> str:
        cached = self._sql_cache.get(sql)
        if cached is None:
            if len(self._sql_cache) >= _SQL_CACHE_SIZE:
                self._sql_cache.clear()
            cached = self._sql_cache[sql] = rewrite_placeholders_for_sqlite(sql)
        return cached

    async def connect(self) -> None:
        """Open the file and set the connection's pragmas."""
        if self._conn is not None:
            return
        if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
            raise DatabaseConnectError(
                f"SQLite {sqlite3.sqlite_version} is too old: mmbridge needs "
                f"{'.'.join(map(str, MIN_SQLITE_VERSION))} or newer"
            )
        try:
            _create_private(self.path)
            raw = await aiosqlite.connect(self.path, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise DatabaseConnectError(f"could not open {self.url}: {exc}") from exc
        try:
            raw.row_factory = cast(type, _RowFactory())
            await raw.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            await raw.execute("PRAGMA foreign_keys = ON")
            await self._enable_wal(raw)
            # WAL with NORMAL: a commit survives the process being killed (the tested fault) and
            # costs no fsync; FULL also survives power loss, at about twice the database CPU.
            await raw.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
        except (sqlite3.Error, OSError) as exc:
            await raw.close()
            raise DatabaseConnectError(f"could not set up {self.url}: {exc}") from exc
        self._raw = raw
        self._conn = SQLiteConnection(raw, self._rewrite)

    async def _enable_wal(self, raw: aiosqlite.Connection) -> None:
        """Switch to WAL, retrying while another connection holds the lock: unlike other statements,
        the journal mode change answers "database is locked" at once instead of waiting."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_timeout_ms / 1000
        delay = 0.005
        while True:
            try:
                rows = await raw.execute_fetchall("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as exc:
                code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
                if code not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or loop.time() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)
        mode = str(cast(list[Row], rows)[0].at(0)).lower() if rows else ""
        if mode not in ("wal", "memory"):
            self.log.warning(
                "%s: WAL mode unavailable (journal mode %r): concurrency is reduced", self.url, mode
            )

    async def stop(self) -> None:
        """Close the connection (waiting for the task that holds it to finish)."""
        raw = self._raw
        if raw is None:
            return
        async with self._lock:
            self._raw = None
            self._conn = None
            self._stopped()
            await raw.close()

    @asynccontextmanager
    async def instance_lock(self, name: str) -> AsyncIterator[None]:
        """An exclusive ``flock`` on ``<database file>.<name>.lock``, which the kernel releases when
        the process ends however it ends. A ``:memory:`` database has no other process to fear."""
        if self.path == ":memory:":
            yield
            return
        lock_path = f"{self.path}.{name}.lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise DatabaseConnectError(f"cannot open the lock file {lock_path}: {exc.strerror}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                raise DatabaseLockedError(
                    f"{self.url}: another process (pid {holder}) is running bridge {name!r} on this database"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the lock

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        """The connection, for this task alone until the block ends."""
        if self._conn is None:
            raise self._not_running()
        task = asyncio.current_task()
        if task is not None and self._holder is task:
            raise DatabaseError(
                "this task already holds the SQLite connection (inside db.transaction() or db.acquire()): "
                "use that block's connection instead of the Database"
            )
        async with self._lock:
            conn = self._conn
            if conn is None:  # stopped while we waited
                raise self._not_running()
            self._holder = task
            try:
                yield conn
            finally:
                self._holder = None
