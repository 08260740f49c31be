"""The appservice state store: puppets, the membership cache, double-puppet tokens, the
transaction counter and small key/values, in memory, SQLite or PostgreSQL."""

from __future__ import annotations

from ...db import Database
from .base import OutboxEntry, PuppetRecord, StateStore
from .memory import MemoryStateStore
from .sql import UPGRADE_TABLE_NAME, SQLStateStore, appservice_upgrade_table

MEMORY_URLS = frozenset({"memory://", "memory:"})


def create_state_store(url: str | None, owner: str, *, bridge_id: str) -> StateStore:
    """A state store for ``url``, not yet started.

    Args:
        url: None or ``memory://`` for :class:`MemoryStateStore`; ``sqlite:///path.db`` or
            ``postgres://...`` (see :meth:`Database.create`) for :class:`SQLStateStore`.
        owner: the program's name, stored in the database at its first migration; a database
            owned by another name is refused at ``start()``.
        bridge_id: the scope of every row (several bridges may share one database).

    Raises:
        DatabaseError: the URL is not understood (the message never shows a password).
    """
    if url is None or url in MEMORY_URLS:
        return MemoryStateStore()
    db = Database.create(url, upgrade_table=appservice_upgrade_table(), owner=owner)
    return SQLStateStore(db, bridge_id=bridge_id)


__all__ = [
    "UPGRADE_TABLE_NAME",
    "MemoryStateStore",
    "OutboxEntry",
    "PuppetRecord",
    "SQLStateStore",
    "StateStore",
    "appservice_upgrade_table",
    "create_state_store",
]
