"""GCRA rate limiter with the semantics of ``throttled`` as the server uses it."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from .settings import RateLimitSettings


@dataclass(frozen=True)
class RateLimitResult:
    """Outcome of one check, and the values of the rate-limit headers."""

    limited: bool
    limit: int
    remaining: int
    reset_after: float
    retry_after: float

    def headers(self) -> dict[str, str]:
        """``X-RateLimit-*`` (and ``Retry-After`` when limited), seconds rounded up."""
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_after)),
        }
        if self.limited:
            out["Retry-After"] = str(math.ceil(self.retry_after))
        return out


class RateLimiter:
    """Generic cell rate algorithm keyed by remote address or token."""

    def __init__(
        self,
        settings: RateLimitSettings,
        clock: Callable[[], float] = time.monotonic,
        store_size: int = 10000,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._store_size = store_size
        self._tat: OrderedDict[str, float] = OrderedDict()
        self.emission_interval = 1.0 / settings.per_sec
        self.limit = settings.max_burst + 1
        self.tolerance = self.emission_interval * (settings.max_burst + 1)

    def check(self, key: str) -> RateLimitResult:
        """Count one request for ``key``."""
        now = self._clock()
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + self.emission_interval
        allow_at = new_tat - self.tolerance
        diff = now - allow_at
        if diff < 0:
            return RateLimitResult(
                limited=True,
                limit=self.limit,
                remaining=0,
                reset_after=tat - now,
                retry_after=-diff,
            )
        self._tat[key] = new_tat
        self._tat.move_to_end(key)
        while len(self._tat) > self._store_size:
            self._tat.popitem(last=False)
        ttl = new_tat - now
        remaining = max(0, int((self.tolerance - ttl) / self.emission_interval + 1e-9))
        return RateLimitResult(
            limited=False, limit=self.limit, remaining=remaining, reset_after=ttl, retry_after=0.0
        )
