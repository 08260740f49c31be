"""What every endpoint group shares."""

from __future__ import annotations

from ..http import HTTPAPI


class EndpointGroup:
    """A set of related REST endpoints, e.g. everything under ``/users``."""

    __slots__ = ("http",)

    def __init__(self, http: HTTPAPI) -> None:
        self.http = http

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.http!r})"
