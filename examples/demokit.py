"""What the examples' demos share: their child processes, waiting for a step, and ``main``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import textwrap
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp

WAIT = 15.0
REPO = Path(__file__).resolve().parents[1]


class DemoFailed(Exception):
    """A step did not do what it should."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until(what: str, condition: Callable[[], object], out: Callable[[str], None]) -> None:
    """Wait for ``condition``; a step that never happens fails the demo."""
    try:
        async with asyncio.timeout(WAIT):
            while not condition():  # noqa: ASYNC110 - polls what other processes do
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise DemoFailed(f"{what}: did not happen within {WAIT:.0f} s") from None
    out(f"  ok  {what}")


class Processes:
    """The demo's child processes (miniircd, mmbridge), their output in one log file."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.log = folder / "processes.log"
        self.env = env
        self.running: list[asyncio.subprocess.Process] = []

    async def start(self, *command: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
        with self.log.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *command, env={**self.env, **(env or {})}, stdout=log, stderr=log, cwd=REPO
            )
        self.running.append(process)
        return process

    async def stop(self, process: asyncio.subprocess.Process) -> int | None:
        """SIGTERM, then wait; the exit code (None when it had to be killed after 15 s)."""
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
                return None
        return process.returncode

    async def stop_all(self) -> None:
        for process in reversed(self.running):
            await self.stop(process)

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


async def healthy(port: int) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/health") as response,
        ):
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def start_bridge(
    processes: Processes, config: str, registration: Path, port: int, **env: str
) -> asyncio.subprocess.Process:
    """``mmbridge run -c config``, once it reports itself healthy."""
    bridge = await processes.start(
        sys.executable, "-m", "mmbridge", "run", "-c", config, "-r", str(registration), "--no-update", env=env
    )
    async with asyncio.timeout(WAIT):
        while not await healthy(port):
            if bridge.returncode is not None:
                raise DemoFailed(f"mmbridge run exited with {bridge.returncode}:\n{processes.tail()}")
            await asyncio.sleep(0.05)
    return bridge


async def generate_registration(processes: Processes, config: str, registration: Path) -> None:
    made = await processes.start(
        sys.executable, "-m", "mmbridge", "generate-registration", "-c", config, "-r", str(registration)
    )
    if await made.wait() != 0:
        raise DemoFailed(f"generate-registration failed:\n{processes.tail()}")


def columns(left: str, right: str, rows: list[tuple[float, str, str]], width: int = 46) -> list[str]:
    """Rows ``(time, left text, right text)`` as two columns under ``left`` and ``right``, in time
    order."""
    lines = [f"{left:<{width}} | {right}", "-" * (2 * width + 3)]
    for _, on_left, on_right in sorted(rows, key=lambda row: row[0]):
        left_lines = textwrap.wrap(on_left, width) or [""]
        right_lines = textwrap.wrap(on_right, width) or [""]
        for i in range(max(len(left_lines), len(right_lines))):
            a = left_lines[i] if i < len(left_lines) else ""
            b = right_lines[i] if i < len(right_lines) else ""
            lines.append(f"{a:<{width}} | {b}")
    return lines


def main(run: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a demo: exit 1 when a step failed, 130 on Ctrl-C (after everything is stopped)."""
    try:
        asyncio.run(run())
    except DemoFailed as exc:
        print(f"\ndemo FAILED: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:  # the finally block has stopped the processes and the emulator
        with contextlib.suppress(Exception):
            print("\ndemo interrupted; everything it started is stopped", file=sys.stderr)
        raise SystemExit(130) from None
    print("\ndemo finished: every step behaved as expected")
