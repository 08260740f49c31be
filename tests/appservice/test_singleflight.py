"""SingleFlight: one attempt per key at a time, shared by concurrent callers."""

from __future__ import annotations

import asyncio

import pytest

from mmbridge.appservice import SingleFlight


async def test_concurrent_callers_share_one_attempt() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    calls = 0

    async def work() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return 42

    results = await asyncio.gather(*(flight.run("k", work) for _ in range(20)))
    assert results == [42] * 20
    assert calls == 1
    assert len(flight) == 0  # nothing kept after the attempt


async def test_a_failure_is_shared_then_the_next_caller_tries_again() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    attempts = 0

    async def flaky() -> int:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.01)
        if attempts == 1:
            raise RuntimeError("first try fails")
        return attempts

    outcomes = await asyncio.gather(*(flight.run("k", flaky) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert await flight.run("k", flaky) == 2


async def test_when_the_leader_is_cancelled_a_waiter_takes_over() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    started = asyncio.Event()

    async def slow() -> str:
        started.set()
        await asyncio.sleep(10)
        return "never"

    async def quick() -> str:
        return "done by the waiter"

    leader = asyncio.create_task(flight.run("k", slow))
    await started.wait()
    waiter = asyncio.create_task(flight.run("k", quick))
    await asyncio.sleep(0)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert await asyncio.wait_for(waiter, 5) == "done by the waiter"


async def test_different_keys_run_independently() -> None:
    flight: SingleFlight[str, str] = SingleFlight()

    async def echo(value: str) -> str:
        await asyncio.sleep(0.01)
        return value

    assert await asyncio.gather(flight.run("a", lambda: echo("a")), flight.run("b", lambda: echo("b"))) == [
        "a",
        "b",
    ]
