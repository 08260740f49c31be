"""Daemon start-up benchmark: ``mmbridge run`` from spawn to ready, and the daemon's memory (RSS).

Run: .venv/bin/python bench/startup_bench.py [--runs 5] [--messages 200]

The mirror bridge (``examples.mirror:MirrorBridge``) runs as ``python -m mmbridge run -c CONFIG -r
REGISTRATION`` in a process of its own (cwd the repository root), against an emulator served by
this process, the way ``tests/bridge/conftest.py`` and ``examples/mirror/demo.py`` run it. Every run
gets a fresh emulator and a temporary directory holding the config (``~bridge-test`` <->
``~off-topic`` of ``test-team``, a free receiver port, a SQLite database in that directory) and the
registration. In each run:

1. cold start: the database file does not exist yet, so the daemon creates it and runs every
   migration (and, on this first start, adds the missing keys to the config file); the time from
   spawning the process to the first 200 from ``GET /health`` (polled every 10 ms), and the
   daemon's VmRSS (``/proc/<pid>/status``) at that moment;
2. ``--messages`` messages posted by alice in ``~bridge-test``, one after another
   (``Emulator.type_message``); the daemon's VmRSS once that many new copies by ``mirror_*`` users
   are in ``~off-topic``, and the time from the first post to the last copy;
3. SIGTERM, after which the daemon must exit with code 0 (reported if not), and how long it took;
4. warm start: 1-3 again on the existing database (migrations done, puppet and integrations there).

For reference, each ``--runs`` times in fresh processes: the wall time of ``python -c pass`` and of
``python -c "import mmbridge.bridge.cli"`` (spawn to exit), and the VmRSS of a bare interpreter and
of one that has imported ``mmbridge.bridge.cli``, so the interpreter's share is visible.

Median and max of each figure over the runs. Plain script, loopback only, bounded in time; it
asserts nothing about timings (it exits 1 if a daemon misbehaves: no start, lost copies, exit code
other than 0 on SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from mmbridge.testing.emulator import Emulator, EmulatorSettings

REPO = Path(__file__).resolve().parents[1]
READY_LIMIT = 30.0  # seconds a start may take before the run fails
COPIES_LIMIT = 120.0  # seconds for the copies of one batch of messages
STOP_LIMIT = 30.0  # seconds from SIGTERM to exit before the daemon is killed
POLL = 0.010  # the /health polling interval


class BenchFailed(Exception):
    """A daemon did not do what it should."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    """VmRSS of ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchFailed(f"no VmRSS in /proc/{pid}/status")


def write_files(workdir: Path, emu: Emulator, token: str, port: int) -> tuple[Path, Path]:
    """The mirror's config and registration in ``workdir``, as ``tests/bridge/conftest.py`` writes them."""
    if str(REPO) not in sys.path:  # run as ``python bench/startup_bench.py``: bench/ is on sys.path
        sys.path.insert(0, str(REPO))
    from examples.mirror import MirrorBridge
    from mmbridge.bridge import Registration, write_registration

    config = workdir / "config.yaml"
    registration = workdir / "registration.yaml"
    config.write_text(
        f"""\
bridge: examples.mirror:MirrorBridge
mattermost:
  url: {emu.url}
  token: {token}
  team: {emu.seed.team_name}
appservice:
  id: mirror
  port: {port}
  shutdown_timeout: 10
puppets:
  username_template: mirror_{{localpart}}
database:
  uri: sqlite:///{workdir / "mirror.db"}
mirror:
  channel_a: bridge-test
  channel_b: off-topic
"""
    )
    loaded = MirrorBridge.load_config(config, env={})
    write_registration(registration, Registration.from_config(loaded.core))
    return config, registration


class Daemon:
    """One ``python -m mmbridge run`` process, its output in files (so no pipe fills)."""

    def __init__(self, workdir: Path, args: list[str], label: str) -> None:
        self.args = args
        self.err = workdir / f"{label}.err"
        self.out = workdir / f"{label}.out"
        self.process: asyncio.subprocess.Process | None = None
        self.spawned = 0.0

    async def start(self) -> int:
        env = {key: value for key, value in os.environ.items() if not key.startswith("MMBRIDGE_")}
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.spawned = time.perf_counter()
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "mmbridge", *self.args, env=env, stdout=out, stderr=err, cwd=REPO
            )
        return self.process.pid

    def tail(self, lines: int = 15) -> str:
        text = self.err.read_text(errors="replace") if self.err.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    async def until_healthy(self, session: aiohttp.ClientSession, url: str) -> float:
        """Poll ``url`` every 10 ms; the seconds from spawning to the first 200."""
        assert self.process is not None
        deadline = self.spawned + READY_LIMIT
        while True:
            if self.process.returncode is not None:
                raise BenchFailed(f"mmbridge run exited with {self.process.returncode}:\n{self.tail()}")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return time.perf_counter() - self.spawned
            except (aiohttp.ClientError, TimeoutError):
                pass
            if time.perf_counter() > deadline:
                raise BenchFailed(f"not healthy within {READY_LIMIT:.0f} s:\n{self.tail()}")
            await asyncio.sleep(POLL)

    async def stop(self) -> tuple[int | None, float]:
        """SIGTERM and wait: the exit code (None if it had to be killed) and the seconds it took."""
        process = self.process
        if process is None or process.returncode is not None:
            return (None if process is None else process.returncode), 0.0
        started = time.perf_counter()
        process.send_signal(signal.SIGTERM)
        try:
            code: int | None = await asyncio.wait_for(process.wait(), STOP_LIMIT)
        except TimeoutError:
            process.kill()
            await process.wait()
            code = None
        return code, time.perf_counter() - started

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


def count_copies(emu: Emulator, channel_id: str) -> int:
    """Posts in ``channel_id`` whose author's username starts with ``mirror_``."""
    users = emu.state.users
    count = 0
    for post in emu.state.posts.values():
        if post.channel_id == channel_id:
            user = users.get(post.user_id)
            if user is not None and user.username.startswith("mirror_"):
                count += 1
    return count


async def bridge_messages(emu: Emulator, messages: int, offset: int) -> float:
    """Post ``messages`` as alice in ``~bridge-test``; the seconds until all their copies exist."""
    channel = emu.state.channel_by_name(emu.seed.team_id, "off-topic")
    assert channel is not None
    target = count_copies(emu, channel.id) + messages
    started = time.perf_counter()
    for n in range(messages):
        answer = await emu.type_message(emu.seed.token, emu.seed.channel_id, f"m{offset + n}")
        if "id" not in answer:
            raise BenchFailed(f"posting m{offset + n} failed: {answer}")
    deadline = started + COPIES_LIMIT
    while (found := count_copies(emu, channel.id)) < target:
        if time.perf_counter() > deadline:
            raise BenchFailed(f"{target - found} of {messages} copies missing after {COPIES_LIMIT:.0f} s")
        await asyncio.sleep(0.02)
    seconds = time.perf_counter() - started
    await asyncio.sleep(0.2)  # a duplicate copy would show by now
    if (found := count_copies(emu, channel.id)) != target:
        raise BenchFailed(f"{found - target + messages} copies of {messages} messages")
    return seconds


async def one_start(
    daemon: Daemon,
    session: aiohttp.ClientSession,
    emu: Emulator,
    port: int,
    args: argparse.Namespace,
    offset: int,
    problems: list[str],
) -> dict[str, float]:
    """Start, wait for ready, bridge the messages, stop; the figures of this start."""
    pid = await daemon.start()
    try:
        ready = await daemon.until_healthy(session, f"http://127.0.0.1:{port}/health")
        figures = {"ready_s": ready, "rss_ready": rss_mib(pid)}
        if args.messages:
            figures["bridge_s"] = await bridge_messages(emu, args.messages, offset)
            figures["rss_after"] = rss_mib(pid)
        code, stop_seconds = await daemon.stop()
    finally:
        await daemon.kill()
    figures["stop_s"] = stop_seconds
    if code != 0:
        problems.append(f"{daemon.err.stem}: exit code {code} on SIGTERM (None: killed)\n{daemon.tail()}")
    return figures


async def one_run(n: int, args: argparse.Namespace, problems: list[str]) -> dict[str, dict[str, float]]:
    """A fresh emulator and directory: a cold start, then a warm start on the same database."""
    emu = Emulator(EmulatorSettings())
    await emu.start("127.0.0.1", 0)
    daemons: list[Daemon] = []
    try:
        _, token = emu.create_bridge_bot()
        with tempfile.TemporaryDirectory(prefix="startup-bench-") as folder:
            workdir = Path(folder)
            port = free_port()
            config, registration = write_files(workdir, emu, token, port)
            run_args = ["run", "-c", str(config), "-r", str(registration)]
            timeout = aiohttp.ClientTimeout(total=2)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                result: dict[str, dict[str, float]] = {}
                for kind in ("cold", "warm"):
                    daemon = Daemon(workdir, run_args, f"run{n}-{kind}")
                    daemons.append(daemon)
                    offset = len(result) * args.messages
                    result[kind] = await one_start(daemon, session, emu, port, args, offset, problems)
                    if kind == "cold" and not (workdir / "mirror.db").exists():
                        raise BenchFailed("the cold start left no mirror.db")
            return result
    finally:
        for daemon in daemons:
            await daemon.kill()
        await emu.stop()


# ---- the interpreter alone, for reference --------------------------------------------------------


def spawn_to_exit(code: str) -> float:
    """Wall seconds of ``python -c code`` (cwd the repository root), spawn to exit."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)  # noqa: S603 - our interpreter
    return time.perf_counter() - started


def idle_rss(code: str) -> float:
    """VmRSS (MiB) of ``python -c code`` once it has run ``code`` and sits waiting on stdin."""
    waiting = "import sys; sys.stdout.write('up\\n'); sys.stdout.flush(); sys.stdin.read()"
    with subprocess.Popen(  # noqa: S603 - our interpreter
        [sys.executable, "-c", f"{code}\n{waiting}"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        if process.stdout.readline() != b"up\n":
            raise BenchFailed(f"python -c {code!r} did not start")
        rss = rss_mib(process.pid)
        process.stdin.close()
        process.wait(10)
    return rss


def reference(runs: int) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {"pass_s": [], "import_s": [], "rss_bare": [], "rss_import": []}
    for _ in range(runs):
        found["pass_s"].append(spawn_to_exit("pass"))
        found["import_s"].append(spawn_to_exit("import mmbridge.bridge.cli"))
        found["rss_bare"].append(idle_rss("pass"))
        found["rss_import"].append(idle_rss("import mmbridge.bridge.cli"))
    return found


# ---- report --------------------------------------------------------------------------------------


def report(results: list[dict[str, dict[str, float]]], ref: dict[str, list[float]], args: Any) -> str:
    def ms(value: float) -> str:
        return f"{value * 1000:,.0f} ms"

    def mib(value: float) -> str:
        return f"{value:,.1f} MiB"

    def seconds(value: float) -> str:
        return f"{value:,.2f} s"

    def row(name: str, samples: list[float], show: Callable[[float], str]) -> str:
        return f"| {name} | {show(statistics.median(samples))} | {show(max(samples))} |"

    def of(kind: str, key: str) -> list[float]:
        return [r[kind][key] for r in results]

    m = args.messages
    lines = [
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{multiprocessing.cpu_count()} CPUs; {len(results)} runs, each a cold and a warm start; "
        f"{m} messages per start; emulator in the bench process, daemon in its own",
        "",
        "| measurement | median | max |",
        "|---|---:|---:|",
        row(
            "cold start (fresh database, migrations): spawn -> first 200 on /health",
            of("cold", "ready_s"),
            ms,
        ),
        row("warm start (existing database): spawn -> first 200 on /health", of("warm", "ready_s"), ms),
        row("daemon RSS when ready, cold", of("cold", "rss_ready"), mib),
    ]
    if m:
        lines.append(row(f"daemon RSS after bridging {m} messages, cold", of("cold", "rss_after"), mib))
    lines.append(row("daemon RSS when ready, warm", of("warm", "rss_ready"), mib))
    if m:
        lines += [
            row(f"daemon RSS after bridging {m} messages, warm", of("warm", "rss_after"), mib),
            row(f"{m} messages, first post -> last copy, cold", of("cold", "bridge_s"), seconds),
            row(f"{m} messages, first post -> last copy, warm", of("warm", "bridge_s"), seconds),
        ]
    lines += [
        row("SIGTERM -> exit (exit code 0)", of("cold", "stop_s") + of("warm", "stop_s"), ms),
        row("reference: `python -c pass`, spawn -> exit", ref["pass_s"], ms),
        row('reference: `python -c "import mmbridge.bridge.cli"`, spawn -> exit', ref["import_s"], ms),
        row("reference: RSS of a bare interpreter", ref["rss_bare"], mib),
        row("reference: RSS of an interpreter after `import mmbridge.bridge.cli`", ref["rss_import"], mib),
    ]
    return "\n".join(lines)


async def run(args: argparse.Namespace, problems: list[str]) -> list[dict[str, dict[str, float]]]:
    results = []
    for n in range(1, args.runs + 1):
        result = await one_run(n, args, problems)
        results.append(result)
        print(
            f"run {n}: cold {result['cold']['ready_s'] * 1000:.0f} ms, "
            f"warm {result['warm']['ready_s'] * 1000:.0f} ms",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=200, help="bridged per start; 0 skips them")
    parser.add_argument("--output", default="", help="also write the table to this file")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    problems: list[str] = []
    try:
        results = asyncio.run(run(args, problems))
    except BenchFailed as exc:
        print(f"startup bench FAILED: {exc}", file=sys.stderr)
        for problem in problems:
            print(problem, file=sys.stderr)
        raise SystemExit(1) from None
    table = report(results, reference(args.runs), args)
    print(table)
    if args.output:
        Path(args.output).write_text(table + "\n")
    if problems:
        print(f"\n{len(problems)} daemon(s) did not exit 0 on SIGTERM:", file=sys.stderr)
        for problem in problems:
            print(problem, file=sys.stderr)
        raise SystemExit(1)
    print(f"\nall {2 * len(results)} daemons exited 0 on SIGTERM")


if __name__ == "__main__":
    main()
