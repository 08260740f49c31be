"""Errors raised by the database layer.

Messages name the database by its redacted URL only: a password from the URL never appears in an
error's message, its repr or its chained cause.
"""

from __future__ import annotations


class DatabaseError(Exception):
    """Base of every error the database layer raises itself (driver errors from queries pass through)."""


class DatabaseConnectError(DatabaseError):
    """The database could not be opened or reached."""


class DatabaseLockedError(DatabaseError):
    """Another process holds the lock this one asked for (see :meth:`Database.instance_lock`)."""


class OwnerMismatchError(DatabaseError):
    """The database belongs to another program (another owner name was stored at its first migration)."""

    def __init__(self, message: str, *, stored_owner: str, owner: str) -> None:
        super().__init__(message)
        self.stored_owner = stored_owner
        self.owner = owner


class ServerMismatchError(OwnerMismatchError):
    """A bridge id already belongs to another Mattermost server in this database."""


class SchemaTooNewError(DatabaseError):
    """The database was migrated by a newer program than this one; it is left untouched."""

    def __init__(self, message: str, *, table: str, version: int, latest: int) -> None:
        super().__init__(message)
        self.table = table
        self.version = version
        self.latest = latest


class UpgradeError(DatabaseError):
    """One upgrade step failed; its transaction was rolled back, so the database stays at ``version - 1``."""

    def __init__(self, message: str, *, table: str, version: int, description: str) -> None:
        super().__init__(message)
        self.table = table
        self.version = version
        self.description = description
