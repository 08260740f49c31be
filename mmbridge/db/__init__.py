"""A small async database layer: SQLite (sqlite3) and PostgreSQL (asyncpg) behind one API.

SQL is written once, with asyncpg's ``$1`` placeholders (rewritten to ``?1`` for SQLite, see
:mod:`.dialect`); schema changes are numbered steps in an :class:`UpgradeTable`, run by
:meth:`Database.start`, each in its own transaction. Used by the appservice state store and by
bridges for their own tables (portals, the message map), in the same database.

In a transaction, a write whose answer is not needed goes through :meth:`Connection.defer`: SQLite
runs it with the transaction's next statement or its commit. SQLite's statements run on the event
loop's thread (a few microseconds each); one that would wait for another process's write lock, and
the WAL checkpoints, run on the connection's own thread instead, so the loop never waits for a lock
or the disk.
"""

from .database import Connection, Database
from .dialect import Scheme, rewrite_placeholders_for_sqlite
from .errors import (
    DatabaseConnectError,
    DatabaseError,
    DatabaseLockedError,
    OwnerMismatchError,
    SchemaTooNewError,
    ServerMismatchError,
    UpgradeError,
)
from .row import Row
from .upgrade import Upgrade, UpgradeFunc, UpgradeTable
from .url import redact_url

__all__ = [
    "Connection",
    "Database",
    "DatabaseConnectError",
    "DatabaseError",
    "DatabaseLockedError",
    "OwnerMismatchError",
    "Row",
    "SchemaTooNewError",
    "Scheme",
    "ServerMismatchError",
    "Upgrade",
    "UpgradeError",
    "UpgradeFunc",
    "UpgradeTable",
    "redact_url",
    "rewrite_placeholders_for_sqlite",
]
