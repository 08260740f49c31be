"""The SQLite backend: one sqlite3 connection (WAL mode, foreign keys on, busy timeout), shared by
the process's tasks one at a time.

Statements run on the event loop's thread, unless they would wait. A bridge's statements are small
(a few rows by primary key, into the page cache: no disk sync per commit in WAL mode with
``synchronous=NORMAL``) and take a few microseconds, while a trip to a worker thread and back costs
about 50 µs of CPU (what aiosqlite does for every statement). What may wait goes to a thread of
the connection's own: a statement that finds the write lock held by another process (it is tried
again there, with the busy timeout), WAL checkpoints (which sync the disk), opening and closing.
With ``synchronous=full``, or where WAL is unavailable, every commit syncs the disk, so then every
statement runs on that thread. (In WAL mode the loop's thread still syncs the log once when it
starts it over after a checkpoint: once in some hundreds of messages.)
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
from dataclasses import dataclass
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
    """Open the database (on the worker thread)."""
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


def _checkpoint_failed(call: asyncio.Future[Any]) -> None:
    """Log a checkpoint that failed (nobody waits for one: the log is checkpointed next time)."""
    if not call.cancelled() and call.exception() is not None:
        log.warning("WAL checkpoint failed: %s", call.exception())


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
    conn: sqlite3.Connection,
    statements: list[_Statement],
    progress: list[int],
    *,
    wait: bool = False,
    first: int = 0,
) -> tuple[list[Row], int]:
    """Run ``statements`` in order: the last one's rows, and how many rows it changed (rows changed
    by triggers and foreign-key actions count too). ``progress[0]`` follows the index (plus
    ``first``) of the statement running, so after an error it names the one that failed. A
    statement that finds the write lock taken raises :class:`_Busy` at once, unless ``wait``."""
    rows: list[Row] = []
    changed = 0
    for done, (sql, args) in enumerate(statements):
        progress[0] = first + done
        before = conn.total_changes
        try:
            rows = conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            if not wait and getattr(exc, "sqlite_errorcode", 0) & 0xFF in _BUSY_CODES:
                raise _Busy(done) from exc
            raise
        changed = conn.total_changes - before
    progress[0] = first + len(statements)
    return rows, changed


def _run_waiting(
    conn: sqlite3.Connection,
    statements: list[_Statement],
    busy_timeout_ms: int,
    progress: list[int],
    first: int,
) -> tuple[list[Row], int]:
    """Run ``statements`` waiting up to ``busy_timeout_ms`` for the write lock (on the worker
    thread; the connection answers at once otherwise)."""
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    try:
        return _run_statements(conn, statements, progress, wait=True, first=first)
    finally:
        conn.execute("PRAGMA busy_timeout = 0")


class _Worker:
    """The connection's thread, for what may wait. The loop's thread never uses the connection
    while a call runs there: the next statement waits for it (see ``SQLiteConnection._settle``)."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmbridge-sqlite")

    def call(self, fn: Callable[..., _T], *args: Any) -> asyncio.Future[_T]:
        return asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False)


@dataclass(eq=False)
class _Level:
    """An open transaction (depth 1) or savepoint: whether its ``BEGIN``/``SAVEPOINT`` has run."""

    depth: int
    started: bool = False


@dataclass(frozen=True)
class _Held:
    """A statement waiting to be sent: a level's ``BEGIN``/``SAVEPOINT``/``RELEASE``, or a write
    sent with :meth:`SQLiteConnection.defer`."""

    sql: str
    args: Sequence[Any]
    depth: int
    begins: _Level | None = None


class SQLiteConnection(Connection):
    """The process's one SQLite connection, while a task holds it.

    In a transaction, ``BEGIN`` and the writes sent with :meth:`defer` wait for the next statement
    that answers something (or the commit) and run with it. A held write that fails fails its
    whole transaction: its error is raised there, and every later statement of the transaction
    raises until it is rolled back (as PostgreSQL does), so nothing commits without it.
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
        #: Every statement on the worker thread: commits sync the disk (``synchronous=full``, or
        #: no WAL), which the event loop must not wait for.
        self.all_off_loop = False
        #: Work on the connection that may outlive its caller (a call on the worker thread whose
        #: caller stopped waiting, a rollback, a checkpoint): the next statement waits for it,
        #: and the connection is handed to another task only once it is done.
        self._lingering: asyncio.Future[Any] | None = None
        self._levels: list[_Level] = []
        self._pending: list[_Held] = []
        #: Why the open transaction can only be rolled back (a held write failed, or a call was
        #: given up while it ran, so what it did is not known).
        self._failed: BaseException | None = None

    # ---- sending ---------------------------------------------------------------------------------

    async def _send(self, sql: str, args: Sequence[Any]) -> tuple[list[Row], int]:
        if self._failed is not None:
            raise DatabaseError(
                "an earlier statement of this transaction failed "
                f"({type(self._failed).__name__}: {self._failed}): it can only be rolled back"
            )
        held, self._pending = self._pending, []
        progress = [0]
        try:
            return await self._call([*((h.sql, h.args) for h in held), (sql, args)], progress)
        except asyncio.CancelledError as exc:
            if self._levels:  # what ran is not known yet: the transaction is lost
                self._failed = exc
            raise
        except BaseException as exc:
            failed_at = progress[0]
            self._started(held[:failed_at])
            if failed_at < len(held) and self._levels:
                self._failed = exc  # a held statement failed: the transaction goes without it
            raise
        finally:
            if progress[0] >= len(held):
                self._started(held)

    @staticmethod
    def _started(ran: list[_Held]) -> None:
        for statement in ran:
            if statement.begins is not None:
                statement.begins.started = True

    async def _call(self, statements: list[_Statement], progress: list[int]) -> tuple[list[Row], int]:
        if log.isEnabledFor(logging.DEBUG):
            for sql, _ in statements:
                log.debug("%s", sql)
        await self._settle()
        conn = self._conn
        if self.all_off_loop:
            timeout = self._busy_timeout_ms
            return await self._off_loop(
                self._worker.call(_run_waiting, conn, statements, timeout, progress, 0)
            )
        try:
            result = _run_statements(conn, statements, progress)
        except _Busy as busy:  # another process writes: wait for it off the loop
            rest = statements[busy.done :]
            result = await self._off_loop(
                self._worker.call(_run_waiting, conn, rest, self._busy_timeout_ms, progress, busy.done)
            )
        if conn.total_changes - self._checkpointed_at >= _CHECKPOINT_EVERY_ROWS and not conn.in_transaction:
            self._checkpointed_at = conn.total_changes
            self._linger(self._worker.call(_checkpoint, conn)).add_done_callback(_checkpoint_failed)
        return result

    def _linger(self, work: asyncio.Future[_T]) -> asyncio.Future[_T]:
        """Make ``work`` what the connection's next user waits for (unless the current task is
        itself the lingering work: a rollback's own statements)."""
        current = self._lingering
        if current is None or current.done() or current is not asyncio.current_task():
            self._lingering = work
        work.add_done_callback(_retrieve)
        return work

    async def _off_loop(self, call: asyncio.Future[_T]) -> _T:
        """Wait for a worker call; cancelled, the caller stops waiting but the call runs on."""
        return await asyncio.shield(self._linger(call))

    async def _settle(self) -> None:
        """Wait for lingering work (not when it is the current task's own)."""
        work = self._lingering
        while work is not None and not work.done() and work is not asyncio.current_task():
            await asyncio.wait([work])
            work = self._lingering

    def lingering(self) -> asyncio.Future[Any] | None:
        """Work on the connection not done yet that its caller no longer waits for, or None."""
        work = self._lingering
        return None if work is None or work.done() else work

    # ---- statements ------------------------------------------------------------------------------

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; the number of rows it changed (0 for DDL and queries; rows changed
        by triggers and foreign-key actions count too)."""
        return (await self._send(self._rewrite(sql), args))[1]

    async def defer(self, sql: str, *args: Any) -> None:
        """In a transaction: held until the next statement or the commit, and sent with it. Its
        error is raised there, and fails the transaction (see the class); outside one: run now."""
        if self._levels:
            self._pending.append(_Held(self._rewrite(sql), args, len(self._levels)))
        else:
            await self._send(self._rewrite(sql), args)

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        """Run one statement per argument tuple (held writes first, as for any statement)."""
        rewritten = self._rewrite(sql)
        batch = [tuple(a) for a in args]
        if not batch:
            return
        for values in batch[:-1]:
            await self.defer(sql, *values) if self._levels else await self._send(rewritten, values)
        await self._send(rewritten, batch[-1])

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """All rows of one statement."""
        return (await self._send(self._rewrite(sql), args))[0]

    # ---- transactions ----------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """``BEGIN IMMEDIATE`` (the write lock is taken with the first statement, never upgraded
        later) or, nested, a savepoint."""
        depth = len(self._levels) + 1
        level = _Level(depth)
        name = f"mmbridge_savepoint_{depth - 1}"
        begin = "BEGIN IMMEDIATE" if depth == 1 else f"SAVEPOINT {name}"
        self._pending.append(_Held(begin, (), depth, begins=level))
        self._levels.append(level)
        try:
            yield self
            if self._failed is not None:
                raise DatabaseError(
                    f"this transaction cannot commit: an earlier statement failed ({self._failed})"
                ) from self._failed
        except BaseException:
            self._levels.pop()
            await self._abandon(level, name)
            raise
        self._levels.pop()
        if depth > 1:  # released with the next statement (RELEASE does not fail)
            self._pending.append(_Held(f"RELEASE {name}", (), depth - 1))
            return
        if not level.started and len(self._pending) == 1:
            self._pending = []  # nothing was written: no BEGIN, no COMMIT
            return
        try:
            await self._send("COMMIT", ())
        except BaseException:
            await self._abandon(level, name)
            raise

    async def _abandon(self, level: _Level, name: str) -> None:
        """Undo what a level wrote (what ran) and forget what it still held."""
        if not level.started and self.lingering() is None:  # (else what runs on is not known)
            self._pending = [h for h in self._pending if h.depth < level.depth]
            if level.depth == 1:
                self._failed = None
            return
        self._pending = []
        if level.depth > 1 and self._failed is not None:
            return  # the whole transaction is lost: the outermost level rolls it all back
        statements = ("ROLLBACK",) if level.depth == 1 else (f"ROLLBACK TO {name}", f"RELEASE {name}")
        before = self.lingering()
        await asyncio.shield(self._linger(asyncio.ensure_future(self._roll_back(statements, before))))

    async def _roll_back(self, statements: tuple[str, ...], before: asyncio.Future[Any] | None) -> None:
        if before is not None:  # a statement given up may still be running on the worker thread
            await asyncio.wait([before])
        self._failed = None
        if not self._conn.in_transaction:
            return  # BEGIN never took the lock, or COMMIT went through after all
        for statement in statements:
            await self._call([(statement, ())], [0])


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
            mode = await self._enable_wal(conn)
            # WAL with NORMAL: a commit survives the process being killed (the tested fault) and
            # costs no fsync; FULL also survives power loss, at about twice the database CPU.
            await conn.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
            conn.all_off_loop = self.synchronous == "full" or mode not in ("wal", "memory")
        except (sqlite3.Error, OSError) as exc:
            await _close(worker, raw)
            raise DatabaseConnectError(f"could not set up {self.url}: {exc}") from exc
        self._worker = worker
        self._raw = raw
        self._conn = conn

    async def _enable_wal(self, conn: SQLiteConnection) -> str:
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
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _BUSY_CODES or loop.time() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)
        mode = str(rows[0].at(0)).lower() if rows else ""
        if mode not in ("wal", "memory"):
            self.log.warning(
                "%s: WAL mode unavailable (journal mode %r): concurrency is reduced", self.url, mode
            )
        return mode

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
        await self._lock.acquire()
        conn = self._conn
        try:
            if conn is None:  # stopped while we waited
                raise self._not_running()
            self._holder = task
            yield conn
        finally:
            self._holder = None
            work = conn.lingering() if conn is not None else None
            if work is None:
                self._lock.release()
            else:  # (a holder gave up on a call that runs on): the next one waits for it
                work.add_done_callback(lambda _: self._lock.release())
