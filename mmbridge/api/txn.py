"""Transaction ids: the ``pending_post_id`` that makes a retried post creation safe."""

from __future__ import annotations

import itertools
import secrets
from typing import Protocol


class TransactionIDSource(Protocol):
    """Anything that hands out ids never handed out before (by this or any other process)."""

    async def next_txn_id(self) -> str:
        """A new, unique transaction id."""
        ...


class RandomPrefixTransactionIDs:
    """Unique ids without storage: a random per-instance prefix and a counter.

    128 random bits make a clash between two processes (or a restart) practically impossible.
    The appservice layer replaces this with a counter kept in its state store.
    """

    def __init__(self, prefix: str = "mmb") -> None:
        self._prefix = f"{prefix}:{secrets.token_hex(16)}"
        self._counter = itertools.count(1)

    async def next_txn_id(self) -> str:
        """``<prefix>:<random>:<n>``."""
        return f"{self._prefix}:{next(self._counter)}"
