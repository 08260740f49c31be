"""The request log tests read through ``emu.requests``."""

from __future__ import annotations

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
