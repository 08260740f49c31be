"""The SQLite backend: one sqlite3 connection (WAL mode, foreign keys on, busy timeout), shared by
the process's tasks one at a time.

Statements run on the event loop's thread, unless they would wait. A bridge's statements are small
(a few rows by primary key, into the page cache: no disk sync per commit in WAL mode with
``synchronous=NORMAL``) and take a few microseconds, while a trip to a worker thread and back costs
about 50 µs of CPU (what aiosqlite does for every statement). What may wait goes to a thread of
the connection's own, so the loop never blocks on it: a statement that finds the write lock held
by another process (it is tried again there, with the busy timeout), WAL checkpoints (which sync
the disk), opening and closing.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .database import Connection, Database
from .dialect import Scheme, rewrite_placeholders_for_sqlite
from .errors import DatabaseConnectError, DatabaseError, DatabaseLockedError
from .row import Row
from .url import SQLiteTarget

if TYPE_CHECKING:
    from .upgrade import UpgradeTable

_T = TypeVar("_T")

#: Every statement, its text only (the parameters hold tokens), at DEBUG.
log = logging.getLogger("mmbridge.db.sql")

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


def _open(path: str) -> sqlite3.Connection:
    """Open the database (on the worker thread, which alone uses the connection)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = cast(type, _RowFactory())
    return conn


async def _close(worker: _Worker, conn: sqlite3.Connection) -> None:
    try:
        await worker.call(conn.close)
    finally:
        worker.shutdown()


class _RowFactory:
    """sqlite3 row factory building :class:`Row`."""

    def __init__(self) -> None:
        self._description: Any = None
        self._index: dict[str, int] = {}

    def __call__(self, cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> Row:
        description = cursor.description
        if description is not self._description:  # a new statement: build its column index once
            self._index = Row.column_index(column[0] for column in description)
            self._description = description
        return Row(self._index, values)


_Statement = tuple[str, Sequence[Any]]
_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
#: A PASSIVE checkpoint (on the worker thread) after this many rows written; SQLite's own automatic
#: checkpoints are off, as they would sync the disk on the event loop's thread.
_CHECKPOINT_EVERY_ROWS = 2000


def _checkpoint(conn: sqlite3.Connection) -> None:
    """Copy the log's pages into the database where no reader needs them (on the worker thread)."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def _retrieve(call: asyncio.Future[Any]) -> None:
    """Take a finished call's exception (its caller may have stopped waiting for it)."""
    if not call.cancelled():
        call.exception()


class _Busy(Exception):
    """The write lock is another connection's: ``done`` statements ran before the one that found it."""

    def __init__(self, done: int) -> None:
        super().__init__(done)
        self.done = done


def _run_statements(
    conn: sqlite3.Connection, statements: list[_Statement], *, wait: bool = False
) -> tuple[list[Row], int]:
    """Run ``statements`` in order: the last one's rows, and how many rows it changed (rows changed
    by triggers and foreign-key actions count too). A statement that finds the write lock taken
    raises :class:`_Busy` at once, unless ``wait`` (then the busy timeout applies)."""
    rows: list[Row] = []
    changed = 0
    for done, (sql, args) in enumerate(statements):
        before = conn.total_changes
        try:
            rows = conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            if not wait and getattr(exc, "sqlite_errorcode", 0) & 0xFF in _BUSY_CODES:
                raise _Busy(done) from exc
            raise
        changed = conn.total_changes - before
    return rows, changed


def _run_waiting(
    conn: sqlite3.Connection, statements: list[_Statement], busy_timeout_ms: int
) -> tuple[list[Row], int]:
    """Run ``statements`` waiting up to ``busy_timeout_ms`` for the write lock (on the worker
    thread; the connection answers at once otherwise)."""
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    try:
        return _run_statements(conn, statements, wait=True)
    finally:
        conn.execute("PRAGMA busy_timeout = 0")


class _Worker:
    """The connection's thread, for what may wait (the loop's thread never uses the connection
    while a call is running: the task holding the connection awaits it)."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmbridge-sqlite")

    def call(self, fn: Callable[..., _T], *args: Any) -> asyncio.Future[_T]:
        return asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False)


class SQLiteConnection(Connection):
    """The process's one SQLite connection, while a task holds it.

    In a transaction, ``BEGIN`` and the writes sent with :meth:`defer` wait for the next statement
    that answers something (or the commit) and run with it: should the lock be another process's,
    the whole of a transaction's writes then goes to the worker thread at once.
    """

    scheme = Scheme.SQLITE

    def __init__(
        self,
        worker: _Worker,
        conn: sqlite3.Connection,
        rewrite: Callable[[str], str],
        busy_timeout_ms: int,
    ) -> None:
        self._worker = worker
        self._conn = conn
        self._rewrite = rewrite
        self._busy_timeout_ms = busy_timeout_ms
        self._checkpointed_at = conn.total_changes
        #: A call on the worker thread whose caller was cancelled: it runs on, and the connection
        #: is used again only once it is done.
        self._outstanding: asyncio.Future[Any] | None = None
        self._depth = 0
        #: Statements not sent yet, and how many sends there have been (to tell whether a
        #: transaction's BEGIN or SAVEPOINT was sent, or is still waiting here).
        self._pending: list[_Statement] = []
        self._sends = 0

    async def _send(self, sql: str, args: Sequence[Any]) -> tuple[list[Row], int]:
        statements = [*self._pending, (sql, args)]
        self._pending = []
        return await self._call(statements)

    async def _call(self, statements: list[_Statement]) -> tuple[list[Row], int]:
        self._sends += 1
        if log.isEnabledFor(logging.DEBUG):
            for sql, _ in statements:
                log.debug("%s", sql)
        await self._settle()
        conn = self._conn
        try:
            result = _run_statements(conn, statements)
        except _Busy as busy:  # another process writes: wait for it off the loop
            result = await self._off_loop(
                self._worker.call(_run_waiting, conn, statements[busy.done :], self._busy_timeout_ms)
            )
        if conn.total_changes - self._checkpointed_at >= _CHECKPOINT_EVERY_ROWS and not conn.in_transaction:
            self._checkpointed_at = conn.total_changes
            await self._off_loop(self._worker.call(_checkpoint, conn))
        return result

    async def _off_loop(self, call: asyncio.Future[_T]) -> _T:
        """Wait for a worker call; cancelled, the caller stops waiting but the call runs on."""
        self._outstanding = call
        call.add_done_callback(_retrieve)
        return await asyncio.shield(call)

    async def _settle(self) -> None:
        call = self._outstanding
        if call is not None:
            if not call.done():
                await asyncio.wait([call])
            self._outstanding = None

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; the number of rows it changed (0 for DDL and queries; rows changed
        by triggers and foreign-key actions count too)."""
        return (await self._send(self._rewrite(sql), args))[1]

    async def defer(self, sql: str, *args: Any) -> None:
        """In a transaction: held until the next statement or the commit, and sent with it (its
        error, if any, is raised there); outside one: run now."""
        if self._depth:
            self._pending.append((self._rewrite(sql), args))
        else:
            await self._send(self._rewrite(sql), args)

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        """Run one statement per argument tuple (in one trip)."""
        rewritten = self._rewrite(sql)
        statements = [*self._pending, *((rewritten, tuple(a)) for a in args)]
        self._pending = []
        await self._call(statements)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """All rows of one statement."""
        return (await self._send(self._rewrite(sql), args))[0]

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
                (f"ROLLBACK TO {name}", f"RELEASE {name}"),
            )
        mark, sends = len(self._pending), self._sends
        self._pending.append((begin, ()))
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            if self._sends == sends:  # nothing of this block reached the database: forget it
                del self._pending[mark:]
            else:
                self._pending = []
                await asyncio.shield(self._roll_back(rollback))
            raise
        self._depth -= 1
        if self._depth and self._sends == sends:
            self._pending.append((commit, ()))  # a savepoint never sent: released with the rest
            return
        try:
            await self._send(commit, ())
        except BaseException:
            self._pending = []
            if self._depth == 0:
                await asyncio.shield(self._roll_back(("ROLLBACK",)))
            raise

    async def _roll_back(self, statements: tuple[str, ...]) -> None:
        await self._settle()  # (a BEGIN or COMMIT may still be waiting for the lock)
        if not self._conn.in_transaction:
            return  # BEGIN never took the lock, or COMMIT went through after all
        for statement in statements:
            await self._send(statement, ())


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
        self._raw: sqlite3.Connection | None = None
        self._worker: _Worker | None = None
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
        worker = _Worker()
        try:
            _create_private(self.path)
            raw = await worker.call(_open, self.path)
        except (sqlite3.Error, OSError) as exc:
            worker.shutdown()
            raise DatabaseConnectError(f"could not open {self.url}: {exc}") from exc
        conn = SQLiteConnection(worker, raw, self._rewrite, self.busy_timeout_ms)
        try:
            await conn.execute("PRAGMA busy_timeout = 0")  # waits happen on the worker thread
            await conn.execute("PRAGMA wal_autocheckpoint = 0")  # and checkpoints too
            await conn.execute("PRAGMA foreign_keys = ON")
            await self._enable_wal(conn)
            # WAL with NORMAL: a commit survives the process being killed (the tested fault) and
            # costs no fsync; FULL also survives power loss, at about twice the database CPU.
            await conn.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
        except (sqlite3.Error, OSError) as exc:
            await _close(worker, raw)
            raise DatabaseConnectError(f"could not set up {self.url}: {exc}") from exc
        self._worker = worker
        self._raw = raw
        self._conn = conn

    async def _enable_wal(self, conn: SQLiteConnection) -> None:
        """Switch to WAL, retrying while another connection holds the lock: unlike other statements,
        the journal mode change answers "database is locked" at once instead of waiting."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_timeout_ms / 1000
        delay = 0.005
        while True:
            try:
                rows = await conn.fetch("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as exc:
                code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
                if code not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or loop.time() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)
        mode = str(rows[0].at(0)).lower() if rows else ""
        if mode not in ("wal", "memory"):
            self.log.warning(
                "%s: WAL mode unavailable (journal mode %r): concurrency is reduced", self.url, mode
            )

    async def stop(self) -> None:
        """Close the connection (waiting for the task that holds it to finish)."""
        raw, worker = self._raw, self._worker
        if raw is None or worker is None:
            return
        async with self._lock:
            self._raw = None
            self._worker = None
            self._conn = None
            self._stopped()
            await _close(worker, raw)

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
