"""The request log tests read through ``emu.requests``: a ring of the last requests."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestRecord:
    """One request as the emulator answered it."""

    method: str
    path: str
    #: The spec path key of the matched route (``/api/v4/users/{user_id}``) or ``None``.
    route: str | None
    #: HTTP status; 0 when the connection was dropped without a response.
    status: int
    content_type: str
    body: bytes
    #: The session's user id, ``""`` without a valid session.
    user_id: str
    query: str = ""

    @property
    def dropped(self) -> bool:
        """Whether the client got no response at all."""
        return self.status == 0


class RequestLog:
    """The last ``capacity`` requests, oldest first; older ones are dropped, so a long soak
    does not grow the emulator's memory. :attr:`total` counts every request ever logged."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("the request log keeps at least one request")
        self._records: collections.deque[RequestRecord] = collections.deque(maxlen=capacity)
        self.total = 0

    def append(self, record: RequestRecord) -> None:
        """Log one answered request."""
        self._records.append(record)
        self.total += 1

    def clear(self) -> None:
        """Forget the kept requests (:attr:`total` keeps counting)."""
        self._records.clear()

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)
