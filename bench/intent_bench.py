"""Intent benchmark: HTTP requests per bridged message, warm messages/s, store lookups/s, memory per puppet.

Run: .venv/bin/python bench/intent_bench.py [--puppets 1000] [--messages 5000] [--concurrency 32]

Four figures; the emulator runs in its own process (multiprocessing "spawn", a Pipe for commands:
clear the request log, read it, report its CPU time), so it does not share the bridge's CPU:

1. requests per message, for each store backend (memory, SQLite, PostgreSQL): the first message
   of a new puppet (cold: account, token, team and channel join, post) and the next one (warm),
   counted in the emulator's request log; also a new ``AppServiceAPI`` on the same store (the
   intent cache empty, the store warm: what a restart with a persistent store sees);
2. warm messages/s through intents with ``--puppets`` puppets, each set up first by one cold
   message; messages go round-robin over the puppets with ``--concurrency`` in flight; bridge CPU
   (this process) and emulator CPU per message;
3. store lookups/s (``is_channel_member``, ``get_puppet``) for each backend, one at a time and
   ``--concurrency`` at once, on the store filled by step 2;
4. memory per puppet at ``--memory-puppets`` puppets, in a fresh child process with tracemalloc
   and no network: a ``MemoryStateStore`` holding that many ``PuppetRecord``s with one team and
   one channel membership each, and the ``AppServiceAPI`` intent cache holding that many intents,
   bare (just made by ``appservice.puppet()``) and warm (after ``ensure_registered()``, which
   attaches the per-puppet client, as after a first message).

PostgreSQL (``MMBRIDGE_TEST_POSTGRES``, default 127.0.0.1:5432, user postgres, database test) gets
a fresh schema that is dropped at the end; if it is unreachable its rows are skipped with the
reason printed. Plain script, loopback only, bounded in count and time; it asserts nothing about
timings.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import multiprocessing.connection
import platform
import statistics
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchkit import open_store, percentile, postgres_unreachable

from mmbridge.appservice import (
    AppServiceAPI,
    MemoryStateStore,
    PuppetNamespace,
    PuppetRecord,
    StateStore,
)

DEADLINE = 180.0  # seconds any one phase may take
PIPE_TIMEOUT = 60.0
NAMESPACE = PuppetNamespace("irc_{localpart}")
BACKENDS = ("memory", "sqlite", "postgres")


# ---- the emulator, in its own process ------------------------------------------------------------


def _emulator_main(conn: multiprocessing.connection.Connection, max_users: int) -> None:
    asyncio.run(_serve(conn, max_users))


async def _serve(conn: multiprocessing.connection.Connection, max_users: int) -> None:
    from mmbridge.testing.emulator import Emulator, EmulatorSettings

    emu = Emulator(EmulatorSettings(max_users_per_team=max_users, ws_ping_interval=None))
    _, bot_token = emu.create_user("ircbridge", admin=True, bot=True)
    await emu.start(host="127.0.0.1", port=0)
    conn.send(
        {
            "url": str(emu.url),
            "bot_token": bot_token,
            "team_id": emu.seed.team_id,
            "channel_id": emu.seed.channel_id,
        }
    )
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "stop":
            break
        if command == "clear":
            emu.clear_requests()
            conn.send(None)
        elif command == "requests":
            conn.send([(r.method, r.route or r.path, r.status) for r in emu.requests])
        elif command == "count":
            conn.send(len(emu.requests))
        elif command == "cpu":
            conn.send(time.process_time())
    await emu.stop()


class EmulatorProcess:
    """The emulator child and the blocking pipe calls to it (the bench awaits nothing meanwhile)."""

    def __init__(self, max_users: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_emulator_main, args=(child, max_users), daemon=True)
        self._process.start()
        self.info: dict[str, str] = self._recv()

    def _recv(self) -> Any:
        if not self._conn.poll(PIPE_TIMEOUT):
            raise TimeoutError("the emulator process did not answer")
        return self._conn.recv()

    def ask(self, command: str) -> Any:
        self._conn.send(command)
        return self._recv()

    def stop(self) -> None:
        try:
            self._conn.send("stop")
        finally:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()


# ---- stores ---------------------------------------------------------------------------------------


def make_appservice(emu: EmulatorProcess, store: StateStore, cache_size: int) -> AppServiceAPI:
    return AppServiceAPI(
        emu.info["url"],
        emu.info["bot_token"],
        store=store,
        namespace=NAMESPACE,
        team_id=emu.info["team_id"],
        bridge_id="irc",
        intent_cache_size=cache_size,
    )


async def count_requests(
    emu: EmulatorProcess, appservice: AppServiceAPI, names: list[str], text: str
) -> tuple[list[int], Counter[str], list[float]]:
    """Send one message per puppet, one at a time; requests each (from the emulator's log), the
    routes seen, and each message's latency in ms."""
    counts: list[int] = []
    routes: Counter[str] = Counter()
    latencies: list[float] = []
    channel = emu.info["channel_id"]
    for name in names:
        emu.ask("clear")
        started = time.perf_counter()
        await appservice.puppet(name).send_text(channel, text)
        latencies.append((time.perf_counter() - started) * 1000)
        made = emu.ask("requests")
        counts.append(len(made))
        routes.update(f"{method} {route}" for method, route, _ in made)
    return counts, routes, latencies


async def run_concurrently(
    count: int, concurrency: int, send: Callable[[int], Awaitable[object]]
) -> tuple[float, float, list[float]]:
    """``send(n)`` for n in range(count) with ``concurrency`` workers; wall s, CPU s, latencies ms."""
    next_n = 0
    latencies: list[float] = []

    async def worker() -> None:
        nonlocal next_n
        while next_n < count:
            n = next_n
            next_n += 1
            started = time.perf_counter()
            await send(n)
            latencies.append((time.perf_counter() - started) * 1000)

    wall = time.perf_counter()
    cpu = time.process_time()
    async with asyncio.timeout(DEADLINE):
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - wall, time.process_time() - cpu, latencies


async def lookups_per_second(
    count: int, concurrency: int, lookup: Callable[[int], Awaitable[object]]
) -> float:
    """Lookups/s of ``lookup(n)``, stopping at ``count`` or after 10 s."""
    next_n = 0
    deadline = time.perf_counter() + 10.0

    async def worker() -> None:
        nonlocal next_n
        while next_n < count and time.perf_counter() < deadline:
            n = next_n
            next_n += 1
            await lookup(n)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return next_n / (time.perf_counter() - started)


async def bench_backend(
    backend: str, emu: EmulatorProcess, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    result: dict[str, Any] = {"backend": backend}
    store, close = await open_store(backend, workdir)
    channel = emu.info["channel_id"]
    appservice = make_appservice(emu, store, max(10_000, args.puppets))
    try:
        await appservice.start()
        # 1. requests per message: cold, warm, and a new AppServiceAPI on the same store.
        names = [f"{backend}cold{n}" for n in range(args.cold_puppets)]
        async with asyncio.timeout(DEADLINE):
            cold, cold_routes, cold_ms = await count_requests(emu, appservice, names, "first")
            warm, warm_routes, warm_ms = await count_requests(emu, appservice, names, "second")
            restarted = make_appservice(emu, store, 10_000)
            await restarted.start()
            try:
                again, again_routes, _ = await count_requests(emu, restarted, names, "after restart")
            finally:
                await restarted.close()
        result.update(
            cold=statistics.mean(cold),
            cold_routes=cold_routes,
            cold_ms=statistics.median(cold_ms),
            warm=statistics.mean(warm),
            warm_routes=warm_routes,
            warm_ms=statistics.median(warm_ms),
            restart=statistics.mean(again),
            restart_routes=again_routes,
        )

        # 2. throughput with many puppets: set each up with one message, then warm messages.
        puppets = [f"{backend}p{n}" for n in range(args.puppets)]

        async def first(n: int) -> object:
            return await appservice.puppet(puppets[n]).send_text(channel, "hello")

        async def warm_send(n: int) -> object:
            return await appservice.puppet(puppets[n % len(puppets)]).send_text(channel, f"warm {n}")

        emu.ask("clear")
        wall, _, _ = await run_concurrently(len(puppets), args.concurrency, first)
        result.update(setup_rate=len(puppets) / wall, setup_requests=emu.ask("count") / len(puppets))
        emu.ask("clear")
        server_cpu = emu.ask("cpu")
        wall, cpu, latencies = await run_concurrently(args.messages, args.concurrency, warm_send)
        server_cpu = emu.ask("cpu") - server_cpu
        result.update(
            warm_rate=args.messages / wall,
            warm_requests=emu.ask("count") / args.messages,
            warm_p50=percentile(latencies, 0.50),
            warm_p99=percentile(latencies, 0.99),
            bridge_cpu_us=cpu / args.messages * 1e6,
            emulator_cpu_us=server_cpu / args.messages * 1e6,
        )

        # 3. store lookups on the store step 2 filled.
        user_ids: list[str] = []
        for name in puppets:
            record = await store.get_puppet_by_username(NAMESPACE.username_for(name))
            assert record is not None
            user_ids.append(record.user_id)

        async def is_member(n: int) -> object:
            return await store.is_channel_member(channel, user_ids[n % len(user_ids)])

        async def get_puppet(n: int) -> object:
            return await store.get_puppet(user_ids[n % len(user_ids)])

        count = args.lookups * (10 if backend == "memory" else 1)
        for name, lookup in (("member", is_member), ("puppet", get_puppet)):
            for concurrency in (1, args.concurrency):
                result[f"{name}_c{concurrency}"] = await lookups_per_second(count, concurrency, lookup)
    finally:
        await appservice.close()
        await close()
    return result


# ---- memory per puppet, in a fresh process ---------------------------------------------------------


def _memory_main(conn: multiprocessing.connection.Connection, puppets: int) -> None:
    conn.send(asyncio.run(_memory(puppets)))


def _measure(before: tracemalloc.Snapshot) -> tuple[tracemalloc.Snapshot, int]:
    gc.collect()
    after = tracemalloc.take_snapshot()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    return after, grown


async def _memory(puppets: int) -> dict[str, Any]:
    team_id, channel_id = "t" * 26, "c" * 26
    tracemalloc.start()
    gc.collect()
    start = tracemalloc.take_snapshot()
    store = MemoryStateStore()
    for n in range(puppets):
        user_id = f"u{n:025d}"
        record = PuppetRecord(
            user_id=user_id, username=f"irc_user{n}", token=f"t{n:025d}", token_id=f"k{n:025d}"
        )
        await store.put_puppet(record)
        await store.set_team_member(team_id, user_id, True)
        await store.set_channel_member(channel_id, user_id, True)
    filled, store_bytes = _measure(start)
    appservice = AppServiceAPI(
        "http://127.0.0.1:9",
        "b" * 26,
        store=store,
        namespace=NAMESPACE,
        team_id=team_id,
        bridge_id="irc",
        intent_cache_size=puppets,
    )
    made, _ = _measure(filled)
    for n in range(puppets):
        appservice.puppet(f"user{n}")
    bare, bare_bytes = _measure(made)
    for n in range(puppets):
        await appservice.puppet(f"user{n}").ensure_registered()
    warm, warm_bytes = _measure(made)
    top = [
        (f"{Path(stat.traceback[0].filename).name}:{stat.traceback[0].lineno}", stat.size_diff / puppets)
        for stat in warm.compare_to(bare, "lineno")[:8]
    ]
    tracemalloc.stop()
    return {
        "puppets": puppets,
        "cached": len(appservice._intents),
        "store": store_bytes / puppets,
        "bare": bare_bytes / puppets,
        "warm": warm_bytes / puppets,
        "top": top,
    }


def measure_memory(puppets: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_memory_main, args=(child, puppets), daemon=True)
    process.start()
    try:
        if not parent.poll(DEADLINE):
            raise TimeoutError("the memory measurement did not finish")
        result: dict[str, Any] = parent.recv()
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
    return result


# ---- report ---------------------------------------------------------------------------------------


def routes_text(routes: Counter[str], messages: int) -> str:
    return ", ".join(f"{route} x{count / messages:g}" for route, count in routes.items())


def report(results: list[dict[str, Any]], memory: dict[str, Any] | None, args: argparse.Namespace) -> str:
    lines = [
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{multiprocessing.cpu_count()} CPUs; emulator in its own process",
        "",
        f"Requests per message ({args.cold_puppets} puppets, one message at a time, "
        "from the emulator's log):",
        "",
        "| store | cold (first message) | warm | new AppServiceAPI, same store | "
        "cold ms (p50) | warm ms (p50) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['cold']:g} | {r['warm']:g} | {r['restart']:g} | "
            f"{r['cold_ms']:.2f} | {r['warm_ms']:.2f} |"
        )
    if results:
        r = results[0]
        lines += [
            "",
            f"Cold routes ({r['backend']}): {routes_text(r['cold_routes'], args.cold_puppets)}. "
            f"Warm routes: {routes_text(r['warm_routes'], args.cold_puppets)}.",
        ]
    lines += [
        "",
        f"Throughput with {args.puppets:,} puppets, concurrency {args.concurrency}, "
        f"{args.messages:,} warm messages round-robin over the puppets:",
        "",
        "| store | setup (1st message each) msg/s | setup requests/puppet | warm msg/s | "
        "warm requests/msg | warm p50 ms | warm p99 ms | bridge CPU µs/msg | emulator CPU µs/msg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['setup_rate']:,.0f} | {r['setup_requests']:.2f} | "
            f"{r['warm_rate']:,.0f} | "
            f"{r['warm_requests']:.3f} | {r['warm_p50']:.2f} | {r['warm_p99']:.2f} | "
            f"{r['bridge_cpu_us']:,.0f} | {r['emulator_cpu_us']:,.0f} |"
        )
    c = args.concurrency
    lines += [
        "",
        f"Store lookups/s ({args.puppets:,} puppets in the store, hits):",
        "",
        f"| store | is_channel_member, 1 at a time | is_channel_member, {c} at once | "
        f"get_puppet, 1 at a time | get_puppet, {c} at once |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['member_c1']:,.0f} | {r[f'member_c{c}']:,.0f} | "
            f"{r['puppet_c1']:,.0f} | {r[f'puppet_c{c}']:,.0f} |"
        )
    if memory is not None:
        n = memory["puppets"]
        total = memory["store"] + memory["warm"]
        lines += [
            "",
            f"Memory per puppet at {n:,} puppets (tracemalloc, no network; "
            f"{memory['cached']:,} intents cached):",
            "",
            f"| what | bytes per puppet | at {n:,} puppets |",
            "|---|---:|---:|",
            f"| MemoryStateStore: PuppetRecord + 1 team + 1 channel membership | {memory['store']:,.0f} | "
            f"{memory['store'] * n / 2**20:,.1f} MiB |",
            f"| intent cache, bare intents (`appservice.puppet()`) | {memory['bare']:,.0f} | "
            f"{memory['bare'] * n / 2**20:,.1f} MiB |",
            f"| intent cache, warm intents (after `ensure_registered()`) | {memory['warm']:,.0f} | "
            f"{memory['warm'] * n / 2**20:,.1f} MiB |",
            f"| **cache: warm intents + memory store** | **{total:,.0f}** | "
            f"**{total * n / 2**20:,.1f} MiB** |",
            "",
            "Largest allocation sites of a warm intent beyond a bare one (bytes per puppet): "
            + ", ".join(f"{site} {size:,.0f}" for site, size in memory["top"]),
        ]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    backends = [b.strip() for b in args.stores.split(",") if b.strip()]
    if "postgres" in backends:
        reason = await postgres_unreachable()
        if reason:
            print(f"skipping postgres: {reason}")
            backends.remove("postgres")
    max_users = len(backends) * (args.puppets + args.cold_puppets) + 100
    emu = EmulatorProcess(max_users)
    results: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="intent-bench-") as workdir:
            for backend in backends:
                started = time.perf_counter()
                results.append(await bench_backend(backend, emu, args, Path(workdir)))
                print(f"{backend}: done in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        emu.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", default=",".join(BACKENDS), help="memory,sqlite,postgres (a subset)")
    parser.add_argument("--cold-puppets", type=int, default=20)
    parser.add_argument("--puppets", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--lookups", type=int, default=20_000, help="per figure (x10 for memory)")
    parser.add_argument("--memory-puppets", type=int, default=100_000, help="0 skips the memory figure")
    parser.add_argument("--output", default="")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    memory = measure_memory(args.memory_puppets) if args.memory_puppets > 0 else None
    table = report(results, memory, args)
    print(table)
    if args.output:
        Path(args.output).write_text(table + "\n")


if __name__ == "__main__":
    main()
