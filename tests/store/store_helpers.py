"""Helpers shared by the store tests ."""

from __future__ import annotations

from typing import Protocol, TypeVar

OWNER = "mmbridge-tests"


class Stoppable(Protocol):
    async def stop(self) -> None: ...


S = TypeVar("S", bound=Stoppable)


class Cleanup:
    """Stops what a test opened, in reverse order, even when the test fails."""

    def __init__(self) -> None:
        self._items: list[Stoppable] = []

    def __call__(self, item: S) -> S:
        self._items.append(item)
        return item

    async def stop_all(self) -> None:
        while self._items:
            await self._items.pop().stop()
