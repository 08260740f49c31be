"""Transaction ids unique across every child API, every process and every restart."""

from __future__ import annotations

import asyncio
from typing import Protocol


class TxnBlockReserver(Protocol):
    """What the id source needs from a state store."""

    async def reserve_txn_ids(self, count: int) -> int:
        """Reserve ``count`` ids and return the first; blocks never overlap."""
        ...


class StoreTransactionIDs:
    """Hands out ``<prefix>:<n>`` with ``n`` from blocks reserved in the state store.

    One store write per ``block_size`` ids keeps the hot path free of database writes; ids
    left in a block when the process stops are skipped, never reused.
    """

    def __init__(self, store: TxnBlockReserver, prefix: str, block_size: int = 1000) -> None:
        if block_size < 1:
            raise ValueError("block_size must be at least 1")
        self._store = store
        #: What every id starts with (an appservice adds its install id at start).
        self.prefix = prefix
        self._block_size = block_size
        self._next = 0
        self._end = 0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"StoreTransactionIDs(prefix={self.prefix!r}, block_size={self._block_size})"

    async def next_txn_id(self) -> str:
        """A new id (awaits the store only when a block runs out)."""
        if self._next >= self._end:
            async with self._lock:
                if self._next >= self._end:
                    start = await self._store.reserve_txn_ids(self._block_size)
                    self._next, self._end = start, start + self._block_size
        number = self._next
        self._next += 1
        return f"{self.prefix}:{number}"
