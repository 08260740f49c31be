"""When and how long to wait before a request is tried again."""

from __future__ import annotations

import random

import attrs


@attrs.frozen
class RetryPolicy:
    """Exponential backoff with jitter for transient failures.

    Attributes:
        max_attempts: tries in all for one request on connection errors and 502/503/504.
        base_delay: the first backoff, in seconds; each further one doubles, up to ``max_delay``.
        max_delay: the longest single backoff, in seconds.
        max_rate_limit_wait: the longest wait mmbridge accepts for one 429; a longer one raises.
        max_rate_limited_attempts: how many 429s one request may meet before it raises.
        dedupe_window: seconds after the first try during which a create that may already have
            reached the server is retried. Mattermost remembers a ``pending_post_id`` for 30 s,
            so the window stays below that: past it a retry could create a second post.
    """

    max_attempts: int = 5
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_rate_limit_wait: float = 60.0
    max_rate_limited_attempts: int = 10
    dedupe_window: float = 25.0
    retry_statuses: frozenset[int] = frozenset({502, 503, 504})

    def backoff(self, attempt: int) -> float:
        """The wait before try number ``attempt + 1`` (``attempt`` counts from 1): half fixed, half random."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not security


NO_RETRY = RetryPolicy(max_attempts=1, max_rate_limited_attempts=0)
"""A policy that never retries (for tests and callers that retry on their own)."""
