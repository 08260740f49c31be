"""Retries never duplicate a post, 429 waits for the server, and transient failures heal."""

from __future__ import annotations

import asyncio

import pytest
from conftest import FAST_RETRY

from mmbridge.api import ClientAPI, RateLimiter, RetryPolicy
from mmbridge.errors import MattermostConnectionError, RateLimitedError, ServerError
from mmbridge.testing.emulator import Emulator, EmulatorSettings, RateLimitSettings

POSTS = "/api/v4/posts"


def posts_in(emulator: Emulator, channel_id: str, message: str) -> int:
    return sum(
        1
        for post in emulator.state.posts.values()
        if post.channel_id == channel_id and post.message == message and not post.delete_at
    )


@pytest.mark.no_spec_check  # a dropped connection has no response to check
async def test_create_retried_after_a_dropped_answer_makes_one_post(
    emulator: Emulator, alice: ClientAPI
) -> None:
    channel_id = emulator.seed.channel_id
    emulator.faults.drop_next(1, after_processing=True, method="POST", path_contains=POSTS)
    post = await alice.posts.create(channel_id, "exactly once")
    assert post.message == "exactly once"
    assert posts_in(emulator, channel_id, "exactly once") == 1
    creates = [r for r in emulator.requests if r.route == POSTS]
    assert len(creates) == 2  # the first answer was lost, the retry returned the same post
    assert creates[0].dropped


@pytest.mark.no_spec_check
async def test_create_retried_after_a_timeout_makes_one_post(emulator: Emulator) -> None:
    """The first try times out while the server is still creating; the retry must not duplicate."""
    channel_id = emulator.seed.channel_id
    emulator.faults.delay_next(1, 0.5, while_processing=True, method="POST", path_contains=POSTS)
    async with ClientAPI.connect(emulator.url, emulator.seed.token, retry=FAST_RETRY, timeout=0.2) as client:
        post = await client.posts.create(channel_id, "slow server")
    await asyncio.sleep(0.5)  # let the first, slow creation finish on the server
    assert posts_in(emulator, channel_id, "slow server") == 1
    assert (await_post := emulator.state.posts.get(post.id)) is not None
    assert await_post.message == "slow server"


async def test_concurrent_duplicate_gets_the_one_post(emulator: Emulator, alice: ClientAPI) -> None:
    """A second create with the same pending_post_id while the first is in flight (the server's
    500 ...pending) is retried and ends with the post the first one made."""
    channel_id = emulator.seed.channel_id
    emulator.faults.delay_next(1, 0.3, while_processing=True, method="POST", path_contains=POSTS)
    first, second = await asyncio.gather(
        alice.posts.create(channel_id, "in flight", pending_post_id="txn-1"),
        alice.posts.create(channel_id, "in flight", pending_post_id="txn-1"),
    )
    assert first.id == second.id
    assert posts_in(emulator, channel_id, "in flight") == 1
    statuses = sorted(r.status for r in emulator.requests if r.route == POSTS)
    assert 500 in statuses


@pytest.mark.no_spec_check
async def test_gateway_errors_are_retried(emulator: Emulator, alice: ClientAPI) -> None:
    emulator.faults.fail_next(2, 503, gateway=True)
    me = await alice.users.me()
    assert me.id == emulator.seed.user_id
    assert [r.status for r in emulator.requests] == [503, 503, 200]


async def test_non_idempotent_request_is_not_retried_on_503(emulator: Emulator, admin: ClientAPI) -> None:
    emulator.faults.fail_next(1, 503, method="POST", path_contains="/api/v4/users")
    with pytest.raises(ServerError):
        await admin.users.create("once_only", "once@bridge.invalid", "a-long-password")
    assert len(emulator.requests) == 1


async def test_retries_give_up_after_max_attempts(emulator: Emulator) -> None:
    emulator.faults.fail_next(10, 503)
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01)
    async with ClientAPI.connect(emulator.url, emulator.seed.token, retry=policy) as client:
        with pytest.raises(ServerError):
            await client.users.me()
    assert len(emulator.requests) == 3


async def test_unreachable_server_is_a_connection_error() -> None:
    policy = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01)
    async with ClientAPI.connect("http://127.0.0.1:9", "t", retry=policy) as client:
        with pytest.raises(MattermostConnectionError) as caught:
            await client.users.me()
    assert "127.0.0.1:9" in str(caught.value)


async def test_429_waits_for_retry_after(emulator: Emulator, alice: ClientAPI) -> None:
    emulator.faults.rate_limit_next(1, retry_after=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await alice.users.me()).id == emulator.seed.user_id
    waited = loop.time() - started
    assert [r.status for r in emulator.requests] == [429, 200]
    assert waited >= 0.95  # the server said one second; asking sooner would only be refused


@pytest.mark.parametrize(
    "emulator_settings",
    [EmulatorSettings(rate_limit=RateLimitSettings(per_sec=20, max_burst=5))],
)
async def test_bursts_over_the_servers_limit_all_succeed(emulator: Emulator) -> None:
    """Without a client limiter the server says 429 and the client waits it out."""
    async with ClientAPI.connect(emulator.url, emulator.seed.token) as client:
        results = await asyncio.gather(*(client.users.me() for _ in range(20)))
    assert len(results) == 20
    assert any(r.status == 429 for r in emulator.requests)


@pytest.mark.parametrize(
    "emulator_settings",
    [EmulatorSettings(rate_limit=RateLimitSettings(per_sec=20, max_burst=5))],
)
async def test_client_limiter_keeps_under_the_servers_rate(emulator: Emulator) -> None:
    limiter = RateLimiter(rate=15, burst=5)
    async with ClientAPI.connect(emulator.url, emulator.seed.token, rate_limiter=limiter) as client:
        await asyncio.gather(*(client.users.me() for _ in range(20)))
        puppet = client.as_user(emulator.seed.admin_token)
        assert puppet.http.rate_limiter is limiter  # children share the one limiter
    assert [r.status for r in emulator.requests] == [200] * 20


@pytest.mark.no_spec_check
async def test_a_429_that_would_outlast_the_dedupe_window_raises_instead_of_duplicating(
    emulator: Emulator,
) -> None:
    """The first answer is lost (the post exists); a retry after the server forgot the
    pending_post_id would make a second post, so the client gives up instead."""
    channel_id = emulator.seed.channel_id
    emulator.faults.drop_next(1, after_processing=True, method="POST", path_contains=POSTS)
    emulator.faults.rate_limit_next(1, retry_after=1, method="POST", path_contains=POSTS)
    policy = RetryPolicy(base_delay=0.01, max_delay=0.02, dedupe_window=0.5)
    async with ClientAPI.connect(emulator.url, emulator.seed.token, retry=policy) as client:
        with pytest.raises(RateLimitedError):
            await client.posts.create(channel_id, "at most once")
    assert posts_in(emulator, channel_id, "at most once") == 1


async def test_a_closed_client_refuses_new_requests(emulator: Emulator) -> None:
    client = ClientAPI.connect(emulator.url, emulator.seed.token)
    await client.users.me()
    await client.close()
    with pytest.raises(MattermostConnectionError, match="closed"):
        await client.users.me()


async def test_a_bogus_reset_header_on_a_success_does_not_freeze_the_client(
    emulator: Emulator, alice: ClientAPI
) -> None:
    hostile = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3600", "X-RateLimit-Limit": "1"}
    emulator.faults.headers_next(hostile, path_contains="/users/me")
    await alice.users.me()  # answered 200, with a bucket "empty for an hour"
    clock = asyncio.get_running_loop().time
    puppet = alice.as_user(emulator.seed.admin_token)  # shares alice's pool, not her hint
    started = clock()
    await asyncio.wait_for(puppet.users.me(), 5)
    assert clock() - started < 0.5  # not held at all
    started = clock()
    await asyncio.wait_for(alice.users.me(), 5)  # not an hour: the hint is capped
    assert 0.5 <= clock() - started <= 1.5
