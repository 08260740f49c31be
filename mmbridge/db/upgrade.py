"""``UpgradeTable``: numbered schema upgrades, run in order at start-up, each in its own transaction.

Several tables can share one database (the appservice's, a bridge's); each keeps its own version
in the ``mmbridge_version`` table, keyed by the table's name. The database also remembers its owner
(``mmbridge_owner``): the program that first migrated it. Both bookkeeping tables are created on
first use.

Concurrent start-ups (two processes on one database) are safe: each step takes the database's
write lock (SQLite ``BEGIN IMMEDIATE``; a PostgreSQL transaction-scoped advisory lock), re-reads
the version and skips a step another process has just finished.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import attrs

from .database import Connection
from .dialect import Scheme
from .errors import OwnerMismatchError, SchemaTooNewError, UpgradeError

if TYPE_CHECKING:
    from .database import Database

UpgradeFunc = Callable[[Connection, Scheme], Awaitable[None]]
"""``async def upgrade(conn, scheme) -> None``: runs inside the step's transaction."""

VERSION_TABLE = "mmbridge_version"
OWNER_TABLE = "mmbridge_owner"
#: Key of the PostgreSQL advisory lock serialising mmbridge migrations (any fixed 64-bit number).
_PG_LOCK_KEY = 0x6D6D_6272_6964_6765 & 0x7FFF_FFFF_FFFF_FFFF

log = logging.getLogger("mmbridge.db.upgrade")


@attrs.frozen
class Upgrade:
    """One registered step: it brings the schema from ``version - 1`` to ``version``."""

    version: int
    description: str
    func: UpgradeFunc = attrs.field(repr=False)


class UpgradeTable:
    """An ordered list of schema upgrades for one part of a database.

    ::

        def my_upgrades() -> UpgradeTable:
            table = UpgradeTable("mybridge")

            @table.register(description="portal and message tables")
            async def v1(conn: Connection, scheme: Scheme) -> None:
                await conn.execute("CREATE TABLE portal (...)")

            return table

    Versions are 1, 2, 3, ... in registration order; never reorder, edit or remove a released step,
    only append. Build tables in a function (as above) rather than at module level.
    """

    def __init__(self, name: str) -> None:
        if not name or not name.strip():
            raise ValueError("an upgrade table needs a name (its key in the version table)")
        self.name = name
        self._upgrades: list[Upgrade] = []

    def __repr__(self) -> str:
        return f"UpgradeTable({self.name!r}, latest_version={self.latest_version})"

    @property
    def upgrades(self) -> tuple[Upgrade, ...]:
        """The registered steps, version 1 first."""
        return tuple(self._upgrades)

    @property
    def latest_version(self) -> int:
        """The version a fully upgraded database has (0 when nothing is registered)."""
        return len(self._upgrades)

    def register(self, *, description: str) -> Callable[[UpgradeFunc], UpgradeFunc]:
        """Decorator: append ``func`` as the next version; ``description`` appears in logs and errors."""
        if not description or not description.strip():
            raise ValueError("an upgrade needs a description")

        def decorator(func: UpgradeFunc) -> UpgradeFunc:
            self._upgrades.append(Upgrade(len(self._upgrades) + 1, description, func))
            return func

        return decorator


async def _lock_and_prepare(conn: Connection, db: Database) -> None:
    """Take the migration lock, create the bookkeeping tables if missing and check the owner."""
    if conn.scheme == Scheme.POSTGRES:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _PG_LOCK_KEY)
    # (SQLite: the step's BEGIN IMMEDIATE already holds the write lock.)
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS mmbridge_version (name TEXT PRIMARY KEY, version INTEGER NOT NULL)"
    )
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS mmbridge_owner "
        "(id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL)"
    )
    stored = await conn.fetchval("SELECT owner FROM mmbridge_owner WHERE id = 1")
    if stored is None:
        await conn.execute("INSERT INTO mmbridge_owner (id, owner) VALUES (1, $1)", db.owner)
        log.info("%s: owner set to %r", db.url, db.owner)
    elif stored != db.owner:
        raise OwnerMismatchError(
            f"{db.url} belongs to {stored!r}, not {db.owner!r}; refusing to start "
            "(two programs must not share one database: give each its own database or schema)",
            stored_owner=stored,
            owner=db.owner,
        )


async def _current_version(conn: Connection, db: Database, table: UpgradeTable) -> int:
    version = await conn.fetchval("SELECT version FROM mmbridge_version WHERE name = $1", table.name)
    current = int(version) if version is not None else 0
    if current > table.latest_version:
        raise SchemaTooNewError(
            f"database schema version {current} is newer than this mmbridge knows "
            f"({table.latest_version}); refusing to start (upgrade table {table.name!r} in {db.url})",
            table=table.name,
            version=current,
            latest=table.latest_version,
        )
    return current


async def run_upgrades(db: Database, table: UpgradeTable) -> None:
    """Run ``table``'s missing upgrades on the running ``db``, one transaction per step.

    The checks run in a transaction of their own first, which a refusal rolls back: a database
    that is too new or owned by someone else is never modified.

    Raises:
        OwnerMismatchError, SchemaTooNewError, UpgradeError: see :meth:`Database.upgrade`.
    """
    async with db.transaction() as conn:
        await _lock_and_prepare(conn, db)
        current = await _current_version(conn, db, table)
    if current == table.latest_version:
        log.debug("%s: %s is at version %d", db.url, table.name, current)
        return
    log.info("%s: upgrading %s from version %d to %d", db.url, table.name, current, table.latest_version)
    while True:
        async with db.transaction() as conn:
            await _lock_and_prepare(conn, db)
            current = await _current_version(conn, db, table)  # another process may have moved it
            if current == table.latest_version:
                return
            step = table.upgrades[current]
            try:
                await step.func(conn, db.scheme)
            except Exception as exc:
                raise UpgradeError(
                    f"upgrade of {table.name!r} to version {step.version} ({step.description}) failed: "
                    f"{type(exc).__name__}: {exc}; rolled back, the database stays at version {current}",
                    table=table.name,
                    version=step.version,
                    description=step.description,
                ) from exc
            if current == 0:
                await conn.execute(
                    "INSERT INTO mmbridge_version (name, version) VALUES ($1, $2)", table.name, step.version
                )
            else:
                await conn.execute(
                    "UPDATE mmbridge_version SET version = $2 WHERE name = $1", table.name, step.version
                )
        log.info("%s: %s upgraded to version %d: %s", db.url, table.name, step.version, step.description)
