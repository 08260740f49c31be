"""Post-creation throughput and client CPU per request: mmbridge vs raw aiohttp, mm-async, mattermostdriver.

Every client sends the same request (``POST /api/v4/posts`` with ``channel_id``, ``message`` and a
unique ``pending_post_id``, Bearer token) to one mmbridge emulator, at concurrency 1 and 32.

Processes (all on loopback):

* the emulator runs in its own child process for the whole run and sends its URL, token and channel
  id back through a pipe;
* every measured cell (one client at one concurrency) runs in a fresh child process, so the client
  CPU figure (``time.process_time()`` around the timed loop, all threads of that process) contains
  neither the emulator's work nor another client's.

Each cell: connect, a warm-up of ``--warmup`` creates (not counted), then ``--requests`` creates with
``c`` requests in flight (``c`` worker tasks, or ``c`` threads for the synchronous mattermostdriver).
Loops are bounded by count and by a time limit, and the parent kills a cell that exceeds
``--cell-timeout``. Nothing here asserts on timings; the script only reports.

Usage::

    .venv/bin/python bench/client_bench.py [--requests N] [--clients raw,mmbridge,...] [--output FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import itertools
import multiprocessing
import multiprocessing.connection
import os
import platform
import secrets
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

CLIENTS: tuple[str, ...] = ("raw-aiohttp", "mmbridge", "mm-async", "mattermostdriver")
CLIENT_ALIASES: dict[str, str] = {"raw": "raw-aiohttp", "aiohttp": "raw-aiohttp", "mm_async": "mm-async"}
BASELINE = "raw-aiohttp"
CONCURRENCIES: tuple[int, ...] = (1, 32)
EMULATOR_START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Target:
    """Where the emulator listens and what to post with."""

    url: str
    token: str
    channel_id: str


@dataclass
class CellResult:
    """One client at one concurrency, measured in one child process."""

    client: str
    concurrency: int
    requests: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    error: str = ""
    stopped_early: bool = False
    #: emulator CPU seconds over the whole cell (connect, warm-up and timed loop)
    server_cpu_s: float = 0.0
    server_requests: int = 0
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_s / self.requests * 1e6 if self.requests else 0.0

    @property
    def server_cpu_us_per_request(self) -> float:
        return self.server_cpu_s / self.server_requests * 1e6 if self.server_requests else 0.0


# --------------------------------------------------------------------------------------------------
# The emulator process
# --------------------------------------------------------------------------------------------------


def _emulator_process(conn: multiprocessing.connection.Connection) -> None:
    """Run the emulator until the parent says ``stop`` (or goes away)."""
    asyncio.run(_serve_emulator(conn))


async def _serve_emulator(conn: multiprocessing.connection.Connection) -> None:
    from mmbridge.testing.emulator import Emulator, EmulatorSettings

    emu = Emulator(settings=EmulatorSettings())
    await emu.start(host="127.0.0.1", port=0)
    try:
        seed = emu.seed
        conn.send({"url": str(emu.url), "token": seed.token, "channel_id": seed.channel_id})
        with contextlib.suppress(EOFError, OSError):  # EOFError: the parent is gone
            while await asyncio.to_thread(conn.recv) == "cpu":
                conn.send(time.process_time())  # the emulator's own CPU seconds so far
    finally:
        await emu.stop()


# --------------------------------------------------------------------------------------------------
# The clients: each returns (setup, one_create, teardown) or a thread-based equivalent
# --------------------------------------------------------------------------------------------------

AsyncCreate = Callable[[int], Awaitable[None]]
SyncCreate = Callable[[int], None]


def _body(target: Target, prefix: str, i: int) -> dict[str, str]:
    return {
        "channel_id": target.channel_id,
        "message": f"bench message {i}",
        "pending_post_id": f"{prefix}:{i}",
    }


class AsyncClient:
    """An async client under test: ``open``, ``create(i)`` many times, ``close``."""

    name = ""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.prefix = f"{self.name}:{secrets.token_hex(8)}"

    async def open(self) -> None:
        raise NotImplementedError

    async def create(self, i: int) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def versions(self) -> dict[str, str]:
        return {}


class RawAiohttp(AsyncClient):
    """The floor: one ClientSession, JSON body, Bearer header, ``await resp.json()``."""

    name = "raw-aiohttp"

    async def open(self) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession()
        self.url = f"{self.target.url.rstrip('/')}/api/v4/posts"
        self.headers = {"Authorization": f"Bearer {self.target.token}"}

    async def create(self, i: int) -> None:
        body = _body(self.target, self.prefix, i)
        async with self.session.post(self.url, json=body, headers=self.headers) as resp:
            data = await resp.json()
            if resp.status >= 400:
                raise RuntimeError(f"HTTP {resp.status}: {data}")

    async def close(self) -> None:
        await self.session.close()

    def versions(self) -> dict[str, str]:
        import aiohttp

        return {"aiohttp": aiohttp.__version__}


class MMBridge(AsyncClient):
    """mmbridge's ``ClientAPI.posts.create`` (default retry policy, no client-side rate limiter)."""

    name = "mmbridge"

    async def open(self) -> None:
        from mmbridge.api import ClientAPI

        self.client = ClientAPI.connect(self.target.url, self.target.token)

    async def create(self, i: int) -> None:
        # The pending_post_id comes from the client's own transaction id source, as in real use.
        await self.client.posts.create(self.target.channel_id, f"bench message {i}")

    async def close(self) -> None:
        await self.client.close()

    def versions(self) -> dict[str, str]:
        from importlib.metadata import version

        return {"mmbridge": version("mmbridge")}


class MMAsync(AsyncClient):
    """mm-async (httpx). ``posts.create`` cannot send a ``pending_post_id``, so this does what it
    does (``client.post("/posts", json=...)`` then ``Post(**data)``) with the same body as the others."""

    name = "mm-async"

    async def open(self) -> None:
        from mm_async import AsyncMattermostClient, Post

        self.post_model = Post
        self.client = AsyncMattermostClient(url=self.target.url, token=self.target.token)
        await self.client.connect()  # GET /users/me

    async def create(self, i: int) -> None:
        data = await self.client.post("/posts", json=_body(self.target, self.prefix, i))
        self.post_model(**data)

    async def close(self) -> None:
        await self.client.close()

    def versions(self) -> dict[str, str]:
        import httpx
        import mm_async

        return {"mm-async": mm_async.__version__, "httpx": httpx.__version__}


class MattermostDriver:
    """mattermostdriver (synchronous, requests). Concurrency c = c threads of one Driver.

    Note: the driver calls ``requests.post`` without a Session, so every request opens a new TCP
    connection; that is how the library works and it is measured as it is.
    """

    name = "mattermostdriver"

    def __init__(self, target: Target) -> None:
        self.target = target
        self.prefix = f"{self.name}:{secrets.token_hex(8)}"

    def open(self) -> None:
        from mattermostdriver import Driver
        from yarl import URL

        url = URL(self.target.url)
        self.driver = Driver(
            {
                "url": url.host,
                "port": url.port,
                "scheme": "http",
                "token": self.target.token,
                "basepath": "/api/v4",
                "request_timeout": 30,
            }
        )
        self.driver.login()  # GET /users/me

    def create(self, i: int) -> None:
        self.driver.posts.create_post(options=_body(self.target, self.prefix, i))

    def close(self) -> None:
        """Nothing to close: the driver keeps no session."""

    def versions(self) -> dict[str, str]:
        from importlib.metadata import version

        return {"mattermostdriver": version("mattermostdriver"), "requests": version("requests")}


ASYNC_CLIENTS: dict[str, type[AsyncClient]] = {
    "raw-aiohttp": RawAiohttp,
    "mmbridge": MMBridge,
    "mm-async": MMAsync,
}


# --------------------------------------------------------------------------------------------------
# Loops
# --------------------------------------------------------------------------------------------------


async def _run_async(create: AsyncCreate, start: int, count: int, concurrency: int, deadline: float) -> int:
    """``count`` creates numbered from ``start``, ``concurrency`` in flight; returns how many were done."""
    indices = iter(range(start, start + count))
    done = 0

    async def worker() -> None:
        nonlocal done
        for i in indices:
            if time.monotonic() > deadline:
                return
            await create(i)
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


def _run_threads(
    create: SyncCreate, start: int, count: int, concurrency: int, deadline: float, pool: ThreadPoolExecutor
) -> int:
    indices = iter(range(start, start + count))
    lock = threading.Lock()
    done = 0

    def worker() -> None:
        nonlocal done
        while time.monotonic() <= deadline:
            with lock:
                i = next(indices, None)
            if i is None:
                return
            create(i)
            with lock:
                done += 1

    futures = [pool.submit(worker) for _ in range(concurrency)]
    for future in futures:
        future.result()
    return done


# --------------------------------------------------------------------------------------------------
# One cell, in its own process
# --------------------------------------------------------------------------------------------------


def _cell_process(
    conn: multiprocessing.connection.Connection,
    client: str,
    concurrency: int,
    requests: int,
    warmup: int,
    target: Target,
    time_limit: float,
    profile_path: str,
) -> None:
    result = CellResult(client, concurrency)
    try:
        if client in ASYNC_CLIENTS:
            async_client = ASYNC_CLIENTS[client](target)
            asyncio.run(_measure_async(result, async_client, requests, warmup, time_limit, profile_path))
        else:
            _measure_threads(result, MattermostDriver(target), requests, warmup, time_limit, profile_path)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"[:200]
    conn.send(asdict(result))
    conn.close()


async def _measure_async(
    result: CellResult, client: AsyncClient, requests: int, warmup: int, time_limit: float, profile_path: str
) -> None:
    deadline = time.monotonic() + time_limit
    await client.open()
    try:
        result.versions = client.versions()
        await _run_async(client.create, 0, warmup, result.concurrency, deadline)
        profiler = cProfile.Profile() if profile_path else None
        wall0, cpu0 = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        done = await _run_async(client.create, warmup, requests, result.concurrency, deadline)
        if profiler:
            profiler.disable()
        result.cpu_s = time.process_time() - cpu0
        result.wall_s = time.perf_counter() - wall0
        result.requests = done
        result.stopped_early = done < requests
        if profiler:
            profiler.dump_stats(profile_path)
    finally:
        await client.close()


def _measure_threads(
    result: CellResult,
    client: MattermostDriver,
    requests: int,
    warmup: int,
    time_limit: float,
    profile_path: str,
) -> None:
    deadline = time.monotonic() + time_limit
    client.open()
    result.versions = client.versions()
    with ThreadPoolExecutor(max_workers=result.concurrency) as pool:
        _run_threads(client.create, 0, warmup, result.concurrency, deadline, pool)
        profiler = cProfile.Profile() if profile_path else None
        if profiler and result.concurrency == 1:  # cProfile only sees the calling thread
            pool.submit(profiler.enable).result()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        done = _run_threads(client.create, warmup, requests, result.concurrency, deadline, pool)
        result.cpu_s = time.process_time() - cpu0
        result.wall_s = time.perf_counter() - wall0
        if profiler and result.concurrency == 1:
            pool.submit(profiler.disable).result()
            profiler.dump_stats(profile_path)
    result.requests = done
    result.stopped_early = done < requests
    client.close()


# --------------------------------------------------------------------------------------------------
# The parent
# --------------------------------------------------------------------------------------------------


def _start_emulator(
    ctx: multiprocessing.context.SpawnContext,
) -> tuple[multiprocessing.process.BaseProcess, multiprocessing.connection.Connection, Target]:
    parent_conn, child_conn = ctx.Pipe()
    proc = ctx.Process(target=_emulator_process, args=(child_conn,), name="emulator", daemon=True)
    proc.start()
    child_conn.close()
    if not parent_conn.poll(EMULATOR_START_TIMEOUT):
        proc.kill()
        raise SystemExit("the emulator did not start")
    info = parent_conn.recv()
    return proc, parent_conn, Target(info["url"], info["token"], info["channel_id"])


def _run_cell(
    ctx: multiprocessing.context.SpawnContext,
    client: str,
    concurrency: int,
    args: argparse.Namespace,
    target: Target,
) -> CellResult:
    profile_path = ""
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
        profile_path = str(Path(args.profile) / f"{client}-c{concurrency}.pstats")
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    time_limit = max(args.cell_timeout - 10.0, args.cell_timeout / 2)
    proc = ctx.Process(
        target=_cell_process,
        args=(
            child_conn,
            client,
            concurrency,
            args.requests,
            args.warmup,
            target,
            time_limit,
            profile_path,
        ),
        name=f"{client}-c{concurrency}",
        daemon=True,
    )
    proc.start()
    child_conn.close()
    result = CellResult(client, concurrency)
    try:
        if parent_conn.poll(args.cell_timeout):
            result = CellResult(**parent_conn.recv())
        else:
            result.error = f"no result within {args.cell_timeout:.0f} s; killed"
    except EOFError:
        result.error = "the cell process died"
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
    return result


def _median_cell(runs: list[CellResult]) -> CellResult:
    """The run with the median CPU per request (errors win so that they are seen)."""
    failed = [run for run in runs if run.error]
    if failed:
        return failed[0]
    ordered = sorted(runs, key=lambda run: run.cpu_us_per_request)
    return ordered[(len(ordered) - 1) // 2]


def _table(results: list[CellResult], spreads: dict[tuple[str, int], str], repeat: int) -> str:
    baseline = {r.concurrency: r.cpu_us_per_request for r in results if r.client == BASELINE and not r.error}
    lines = [
        "| client | concurrency | requests | wall s | requests/s | client CPU µs/req "
        "| (min-max) | CPU vs raw aiohttp | emulator CPU µs/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if r.error:
            cells = f"| {r.client} | {r.concurrency} | {r.requests} | - | - | - | - |"
            lines.append(f"{cells} error: {r.error} | - |")
            continue
        base = baseline.get(r.concurrency)
        ratio = f"{r.cpu_us_per_request / base:.2f}x" if base else "-"
        note = " (time limit)" if r.stopped_early else ""
        lines.append(
            f"| {r.client} | {r.concurrency} | {r.requests}{note} | {r.wall_s:.2f} | {r.rps:,.0f} "
            f"| {r.cpu_us_per_request:,.0f} | {spreads[(r.client, r.concurrency)]} | {ratio} "
            f"| {r.server_cpu_us_per_request:,.0f} |"
        )
    lines.append("")
    if repeat > 1:
        lines.append(
            f"Each row is the run with the median client CPU/request of {repeat} runs, each in a fresh "
            "process; (min-max) is the range of client CPU/request over those runs."
        )
    lines.append(
        "Emulator CPU/request covers the whole cell (connect and warm-up too); the emulator runs in "
        "its own process."
    )
    return "\n".join(lines)


def _spread(runs: list[CellResult]) -> str:
    values = [run.cpu_us_per_request for run in runs if not run.error]
    if not values:
        return "-"
    return f"{min(values):,.0f}-{max(values):,.0f}"


def _header(args: argparse.Namespace, results: list[CellResult]) -> str:
    versions: dict[str, str] = {}
    for r in results:
        versions.update(r.versions)
    listed = ", ".join(f"{name} {ver}" for name, ver in sorted(versions.items()))
    return (
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs; {args.requests} requests per cell after {args.warmup} warm-up; "
        f"{listed}"
    )


def _parse_clients(text: str) -> list[str]:
    chosen = []
    for raw in text.split(","):
        name = CLIENT_ALIASES.get(raw.strip(), raw.strip())
        if name not in CLIENTS:
            raise argparse.ArgumentTypeError(f"unknown client {raw!r}; choose from {', '.join(CLIENTS)}")
        if name not in chosen:
            chosen.append(name)
    return chosen


def _parse_concurrency(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or any(value < 1 for value in values):
        raise argparse.ArgumentTypeError("concurrency values must be positive integers")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="timed creates per cell (2000)")
    parser.add_argument("--warmup", type=int, default=100, help="untimed creates per cell first (100)")
    parser.add_argument(
        "--clients",
        type=_parse_clients,
        default=list(CLIENTS),
        help=f"comma-separated subset of {','.join(CLIENTS)} (all)",
    )
    parser.add_argument(
        "--concurrency", type=_parse_concurrency, default=list(CONCURRENCIES), help="comma-separated (1,32)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per cell; the median is reported (5)")
    parser.add_argument(
        "--cell-timeout", type=float, default=90.0, help="seconds before a cell is killed (90)"
    )
    parser.add_argument("--output", type=Path, help="also write the table (markdown) to this file")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="run the timed loop of each cell under cProfile and write DIR/<client>-c<n>.pstats "
        "(inflates the CPU figures; mattermostdriver is profiled at concurrency 1 only)",
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.warmup < 0 or args.repeat < 1:
        parser.error("--requests and --repeat must be positive, --warmup not negative")
    clients: list[str] = args.clients
    if BASELINE not in clients:
        print(f"note: {BASELINE} not selected; the ratio column stays empty", file=sys.stderr)

    ctx = multiprocessing.get_context("spawn")
    emulator, emulator_conn, target = _start_emulator(ctx)
    print(f"emulator at {target.url} (pid {emulator.pid})", file=sys.stderr)
    runs: dict[tuple[str, int], list[CellResult]] = {}
    started = time.monotonic()
    try:
        for round_no, client, concurrency in itertools.product(range(args.repeat), clients, args.concurrency):
            emulator_conn.send("cpu")
            server_cpu0 = emulator_conn.recv()
            result = _run_cell(ctx, client, concurrency, args, target)
            emulator_conn.send("cpu")
            result.server_cpu_s = emulator_conn.recv() - server_cpu0
            result.server_requests = result.requests + args.warmup  # (ignores a login's GET /users/me)
            runs.setdefault((client, concurrency), []).append(result)
            status = result.error or (
                f"{result.requests} in {result.wall_s:.2f} s, {result.cpu_us_per_request:,.0f} µs CPU/request"
            )
            print(f"[{round_no + 1}/{args.repeat}] {client} c={concurrency}: {status}", file=sys.stderr)
    finally:
        emulator_conn.send("stop")
        emulator.join(10)
        if emulator.is_alive():
            emulator.kill()
            emulator.join()
    results = [_median_cell(runs[(client, c)]) for client in clients for c in args.concurrency]
    elapsed = time.monotonic() - started
    spreads = {key: _spread(cell_runs) for key, cell_runs in runs.items()}
    text = f"{_header(args, results)}\n\n{_table(results, spreads, args.repeat)}\n"
    print(text)
    print(f"total {elapsed:.0f} s", file=sys.stderr)
    if args.output:
        args.output.write_text(text)
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
