"""Backoff grows, stays bounded and is jittered."""

from __future__ import annotations

from mmbridge.api import RetryPolicy


def test_backoff_doubles_within_bounds() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)]:
        delays = {policy.backoff(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered, so many clients do not retry in lockstep


def test_default_dedupe_window_is_inside_the_servers_30_seconds() -> None:
    assert RetryPolicy().dedupe_window < 30
