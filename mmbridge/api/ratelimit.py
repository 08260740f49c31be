"""A client-side rate limiter shared by every API object of one bridge."""

from __future__ import annotations

import asyncio
import time


class RateLimiter:
    """A token bucket: ``rate`` requests per second on average, bursts of up to ``burst``.

    Mattermost's limiter (when enabled) allows ``PerSec`` with ``MaxBurst``; configure the same or
    a little less here and the bridge never meets a 429. When the server answers 429 anyway,
    :meth:`pause` holds every request until the server's reset time.
    """

    def __init__(self, rate: float, burst: int = 1) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated = time.monotonic()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate}, burst={self.burst})"

    async def acquire(self) -> None:
        """Wait until one more request may be sent."""
        async with self._lock:
            while True:
                now = time.monotonic()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)

    def pause(self, seconds: float) -> None:
        """Hold all requests for ``seconds`` (the server said it is full), and empty the bucket."""
        until = time.monotonic() + seconds
        if until > self._paused_until:
            self._paused_until = until
            self._tokens = 0.0
