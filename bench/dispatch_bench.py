"""Dispatch benchmark: events/s through the dispatcher (and the receiver) to a no-op handler, and latency.

Run: .venv/bin/python bench/dispatch_bench.py [--events 50000] [--channels 100] [--requests 10000]

Figures:

1. dispatcher alone, in one process on one core: ``--events`` ``PostedEvent``s over ``--channels``
   channels, built beforehand, fed through ``await dispatcher.dispatch(event)`` to a no-op handler
   (it only notes the time it started). Events/s is from the first ``dispatch()`` to the last
   handler's end; latency is from the ``dispatch()`` call to the handler starting. Rows: a burst
   (as fast as the producer can, so up to ``max_pending`` = 1000 events queue: latency is the queue
   wait), paced at ``--rate`` events/s (latency without a backlog), and a burst with an
   ``EchoFilter`` as the drop predicate (a memory store and a SQLite store holding 1,000 puppets;
   the senders are real users, so each event costs the filter one store lookup);
2. receiver + dispatcher: outgoing-webhook POSTs (form bodies, valid token) from an aiohttp client
   in a separate process (multiprocessing "spawn", ``--concurrency`` requests in flight) to
   ``Receiver`` on 127.0.0.1 in this process. Rows: a no-op handler on ``PostedEvent`` (the
   receiver answers without waiting for it), a no-op handler on ``PostedEvent`` and
   ``OutgoingWebhookEvent`` (the answer waits for the webhook event's handler), and the floor: a
   bare aiohttp handler that reads the body and answers 200. Latency: the client's round trip, and
   from the client sending to the handler starting (both processes read CLOCK_MONOTONIC through
   ``time.perf_counter``).

Plain script, loopback only, bounded in count and time; it asserts nothing about timings.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.connection
import platform
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from benchkit import open_store, percentile, postgres_unreachable

from mmbridge.appservice import (
    Dispatcher,
    EchoFilter,
    IntegrationTokens,
    PuppetRecord,
    Receiver,
    StateStore,
)
from mmbridge.types import Broadcast, OutgoingWebhookEvent, Post, PostedEvent, structure

DEADLINE = 120.0  # seconds any one measurement may take
HOOK_TOKEN = "hooktoken1234567890abcdefg"
USER = "u" * 26


def channel_ids(count: int) -> list[str]:
    return [f"c{n:025d}" for n in range(count)]


def posted(n: int, channel: str) -> PostedEvent:
    post = structure(
        {
            "id": f"p{n:025d}",
            "channel_id": channel,
            "user_id": USER,
            "message": str(n),
            "create_at": 1_700_000_000_000 + n,
        },
        Post,
    )
    return PostedEvent(post=post, sender_name="@alice", broadcast=Broadcast(channel_id=channel))


# ---- 1. dispatcher alone -----------------------------------------------------------------------------


async def dispatcher_run(
    events: list[PostedEvent], *, rate: float = 0.0, drop: Callable[[Any], Awaitable[bool]] | None = None
) -> dict[str, float]:
    """Feed ``events`` (at ``rate`` per second, or as fast as possible) to a no-op handler."""
    dispatcher = Dispatcher(drop=drop)
    count = len(events)
    sent = [0.0] * count
    began = [0.0] * count
    done = asyncio.Event()
    handled = 0

    @dispatcher.on(PostedEvent)
    async def noop(event: PostedEvent) -> None:
        nonlocal handled
        began[int(event.post.message)] = time.perf_counter()
        handled += 1
        if handled == count:
            done.set()

    wall = time.perf_counter()
    cpu = time.process_time()
    async with asyncio.timeout(DEADLINE):
        for n, event in enumerate(events):
            if rate:
                wait = wall + n / rate - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
            sent[n] = time.perf_counter()
            await dispatcher.dispatch(event)
        await done.wait()
        await dispatcher.close()
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    latencies = [(b - s) * 1e6 for s, b in zip(sent, began, strict=True)]
    return {
        "events": count,
        "rate": count / wall,
        "cpu_us": cpu / count * 1e6,
        "p50_us": percentile(latencies, 0.50),
        "p99_us": percentile(latencies, 0.99),
    }


async def filled_store(
    kind: str, workdir: Path, puppets: int
) -> tuple[StateStore, Callable[[], Awaitable[None]]]:
    """A started store holding ``puppets`` puppets, and the function that closes (and drops) it."""
    store, close = await open_store(kind, workdir)
    try:
        for n in range(puppets):
            await store.put_puppet(
                PuppetRecord(user_id=f"x{n:025d}", username=f"irc_user{n}", token=f"t{n:025d}")
            )
    except BaseException:
        await close()
        raise
    return store, close


# ---- 2. receiver + dispatcher, the client in another process -------------------------------------------


def _client_main(
    conn: multiprocessing.connection.Connection, url: str, requests: int, concurrency: int, channels: int
) -> None:
    asyncio.run(_client(conn, url, requests, concurrency, channels))


async def _client(
    conn: multiprocessing.connection.Connection, url: str, requests: int, concurrency: int, channels: int
) -> None:
    import aiohttp

    ids = channel_ids(channels)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    counter = 0

    def body(text: str) -> bytes:
        nonlocal counter
        counter += 1
        channel = ids[counter % len(ids)]
        return urlencode(
            {
                "token": HOOK_TOKEN,
                "team_id": "t" * 26,
                "team_domain": "bench",
                "channel_id": channel,
                "channel_name": f"channel-{counter % len(ids)}",
                "timestamp": "1700000000",
                "user_id": USER,
                "user_name": "alice",
                "post_id": f"w{counter:025d}",
                "text": text,
                "trigger_word": "",
                "file_ids": "",
            }
        ).encode()

    async def loop(session: aiohttp.ClientSession, count: int, samples: list[float]) -> None:
        remaining = count

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                data = body(repr(started))
                async with session.post(url, data=data, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"the receiver answered {resp.status}")
                samples.append((time.perf_counter() - started) * 1e6)

        async with asyncio.timeout(DEADLINE):
            await asyncio.gather(*(worker() for _ in range(concurrency)))

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await loop(session, min(500, requests), [])  # warm-up: connections, caches
        conn.send("ready")
        conn.recv()  # go
        samples: list[float] = []
        wall = time.perf_counter()
        await loop(session, requests, samples)
        wall = time.perf_counter() - wall
    conn.send(
        {
            "rate": requests / wall,
            "p50_us": percentile(samples, 0.50),
            "p99_us": percentile(samples, 0.99),
        }
    )


async def drive(
    url: str, requests: int, concurrency: int, channels: int, began: list[float]
) -> dict[str, float]:
    """Run the client process against ``url``; its figures plus this process's CPU per request."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(
        target=_client_main,
        args=(child, url, requests, concurrency, channels),
        daemon=True,
    )
    process.start()
    loop = asyncio.get_running_loop()

    async def recv() -> Any:
        if not await loop.run_in_executor(None, parent.poll, DEADLINE):
            raise TimeoutError("the client process did not answer")
        return parent.recv()

    try:
        await recv()  # ready
        began.clear()
        cpu = time.process_time()
        parent.send("go")
        result: dict[str, float] = await recv()
        result["server_cpu_us"] = (time.process_time() - cpu) / requests * 1e6
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
    return result


async def receiver_run(
    args: argparse.Namespace, *, wait_for_handler: bool, concurrency: int, requests: int
) -> dict[str, float]:
    dispatcher = Dispatcher()
    tokens = IntegrationTokens()
    tokens.add("webhook", HOOK_TOKEN)
    began: list[float] = []

    async def noop(event: PostedEvent | OutgoingWebhookEvent) -> None:
        if isinstance(event, PostedEvent):
            began.append((time.perf_counter() - float(event.post.message)) * 1e6)

    dispatcher.add_handler(PostedEvent, noop)
    if wait_for_handler:
        dispatcher.add_handler(OutgoingWebhookEvent, noop)
    receiver = Receiver(dispatcher, tokens)
    base = await receiver.start("127.0.0.1", 0)
    try:
        url = str(base / "mattermost" / "webhook")
        result = await drive(url, requests, concurrency, args.channels, began)
        await dispatcher.close()
    finally:
        await receiver.stop()
    result["handler_p50_us"] = percentile(began, 0.50)
    result["handler_p99_us"] = percentile(began, 0.99)
    result["events_per_request"] = 2 if wait_for_handler else 1
    return result


async def floor_run(args: argparse.Namespace) -> dict[str, float]:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/mattermost/webhook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        url = f"http://127.0.0.1:{port}/mattermost/webhook"
        return await drive(url, args.requests, args.concurrency, args.channels, [])
    finally:
        await runner.cleanup()


# ---- report ------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> str:
    ids = channel_ids(args.channels)
    started = time.perf_counter()
    events = [posted(n, ids[n % len(ids)]) for n in range(args.events)]
    build_us = (time.perf_counter() - started) / args.events * 1e6
    rows: list[tuple[str, dict[str, float]]] = []
    rows.append(("dispatcher, burst", await dispatcher_run(events)))
    rows.append((f"dispatcher, paced at {args.rate:,.0f}/s", await dispatcher_run(events, rate=args.rate)))
    kinds = ["memory", "sqlite", "postgres"]
    reason = await postgres_unreachable()
    if reason:
        print(f"skipping the EchoFilter row with PostgreSQL: {reason}")
        kinds.remove("postgres")
    with tempfile.TemporaryDirectory(prefix="dispatch-bench-") as workdir:
        for kind in kinds:
            store, close = await filled_store(kind, Path(workdir), 1000)
            try:
                echo = EchoFilter(bridge_id="irc", bot_user_id="b" * 26, store=store)
                # A database-backed filter is slower: a tenth of the events keeps the run short.
                some = events if kind == "memory" else events[: max(1, len(events) // 10)]
                result = await dispatcher_run(some, drop=echo)
                rows.append((f"dispatcher + EchoFilter ({kind} store), burst", result))
            finally:
                await close()
    c = args.concurrency
    lines = [
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{multiprocessing.cpu_count()} CPUs; building one PostedEvent (not timed below): {build_us:.1f} µs",
        "",
        f"Dispatcher alone, {args.events:,} PostedEvents over {args.channels} channels, "
        "no-op handler, one process:",
        "",
        "| run | events | events/s | CPU µs/event | p50 dispatch -> handler µs | p99 µs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows:
        lines.append(
            f"| {name} | {r['events']:,.0f} | {r['rate']:,.0f} | {r['cpu_us']:.1f} | "
            f"{r['p50_us']:,.0f} | {r['p99_us']:,.0f} |"
        )
    n = args.requests
    http_rows = [
        (f"bare aiohttp handler (floor), {c} in flight", await floor_run(args)),
        (
            f"receiver + dispatcher, handler on PostedEvent, {c} in flight",
            await receiver_run(args, wait_for_handler=False, concurrency=c, requests=n),
        ),
        (
            f"receiver + dispatcher, handler on PostedEvent and OutgoingWebhookEvent, {c} in flight",
            await receiver_run(args, wait_for_handler=True, concurrency=c, requests=n),
        ),
        (
            "receiver + dispatcher, handler on PostedEvent, 1 in flight",
            await receiver_run(args, wait_for_handler=False, concurrency=1, requests=max(1, n // 5)),
        ),
    ]
    lines += [
        "",
        f"Receiver: {n:,} outgoing-webhook POSTs (form bodies; {max(1, n // 5):,} at 1 in flight) over "
        f"{args.channels} channels, client in another process:",
        "",
        "| run | requests/s | events dispatched/s | receiver CPU µs/request | p50 round trip µs | "
        "p99 round trip µs | p50 send -> handler µs | p99 send -> handler µs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in http_rows:
        per = r.get("events_per_request", 0)
        dispatched = f"{r['rate'] * per:,.0f}" if per else "-"
        handler = (
            f"{r['handler_p50_us']:,.0f} | {r['handler_p99_us']:,.0f}" if "handler_p50_us" in r else "- | -"
        )
        lines.append(
            f"| {name} | {r['rate']:,.0f} | {dispatched} | {r['server_cpu_us']:.0f} | "
            f"{r['p50_us']:,.0f} | {r['p99_us']:,.0f} | {handler} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--rate", type=float, default=5_000.0, help="events/s of the paced run")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--output", default="")
    args = parser.parse_args()
    table = asyncio.run(run(args))
    print(table)
    if args.output:
        Path(args.output).write_text(table + "\n")


if __name__ == "__main__":
    main()
