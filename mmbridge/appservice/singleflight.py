"""Run one attempt per key at a time; concurrent callers share its outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class SingleFlight(Generic[K, T]):
    """``await flight.run(key, work)``: while one ``work()`` for ``key`` runs, other callers with
    the same key wait for it and get its result (or its exception) instead of starting their own.

    Nothing is remembered after the attempt ends: a failed attempt is retried by the next caller.
    """

    def __init__(self) -> None:
        self._running: dict[K, asyncio.Future[T]] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def run(self, key: K, work: Callable[[], Awaitable[T]]) -> T:
        """The result of ``work()``, shared with concurrent callers for ``key``.

        If the caller running ``work()`` is cancelled, the waiting callers try again themselves.
        """
        while True:
            running = self._running.get(key)
            if running is None:
                return await self._lead(key, work)
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                if not running.cancelled():
                    raise  # this caller itself was cancelled
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise

    async def _lead(self, key: K, work: Callable[[], Awaitable[T]]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            result = await work()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # marked retrieved: waiters re-raise it, the leader raises it
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._running[key]
