"""The ``pending_post_id`` cache of ``deduplicateCreatePost`` (LRU with a TTL)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

#: Value stored while the first request with a pending_post_id is still being processed.
IN_FLIGHT = ""


class PendingPostCache:
    """Maps ``pending_post_id`` to ``""`` (in flight) or the created post id."""

    def __init__(
        self,
        ttl: float = 30.0,
        capacity: int = 25000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self._clock = clock
        self._items: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def get(self, key: str) -> str | None:
        """The stored value, or ``None`` when absent or expired."""
        item = self._items.get(key)
        if item is None:
            return None
        value, expires = item
        if expires <= self._clock():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    def set(self, key: str, value: str) -> None:
        """Store ``value`` for ``ttl`` seconds, evicting the least recently used entry."""
        self._items[key] = (value, self._clock() + self.ttl)
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def delete(self, key: str) -> None:
        """Forget ``key`` (after a failed creation, so the client can retry)."""
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)
