"""Fixtures for the daemon tests: the mirror bridge's config and registration against the test's
emulator, and ``mmbridge`` run as a process of its own."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import attrs
import pytest
import pytest_asyncio

from examples.mirror import MirrorBridge
from mmbridge.bridge import Registration, write_registration
from mmbridge.testing.emulator import Emulator, EmulatorSettings
from mmbridge.testing.emulator.models import Channel

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@attrs.define
class Result:
    """How a finished ``mmbridge`` process ended."""

    code: int | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def error_lines(self) -> list[str]:
        """The lines the command printed about itself (``mmbridge: ...``)."""
        return [line for line in self.stderr.splitlines() if line.startswith("mmbridge: ")]


class Daemon:
    """``python -m mmbridge`` in a child process (output captured to files, so pipes never fill)."""

    def __init__(self, workdir: Path, env: dict[str, str], name: str = "mmbridge") -> None:
        self.workdir = workdir
        self.name = name
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self._started = 0.0
        self._count = 0

    async def start(self, *args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
        self._count += 1
        self.out = self.workdir / f"{self.name}-{self._count}.out"
        self.err = self.workdir / f"{self.name}-{self._count}.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "mmbridge",
                *args,
                env={**self.env, **(env or {})},
                stdout=out,
                stderr=err,
                cwd=REPO,
            )
        self._started = time.monotonic()
        return self.process

    async def wait(self, limit: float = 15.0) -> Result:
        assert self.process is not None
        try:
            code: int | None = await asyncio.wait_for(self.process.wait(), limit)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            code = None
        return Result(code, self.out.read_text(), self.err.read_text(), time.monotonic() - self._started)

    async def run(self, *args: str, limit: float = 15.0, env: dict[str, str] | None = None) -> Result:
        await self.start(*args, env=env)
        return await self.wait(limit)

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def stderr(self) -> str:
        return self.err.read_text()

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def http_status(url: str) -> int:
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status
    except aiohttp.ClientError:
        return 0


async def until(condition: Callable[[], object], limit: float = 10.0) -> None:
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 - polls for a child process's effect
            await asyncio.sleep(0.02)


@attrs.define
class MirrorSetup:
    """A mirror bridge ready to run against the test's emulator."""

    emulator: Emulator
    workdir: Path
    config: Path
    registration: Path
    port: int
    bot_token: str
    daemon: Daemon
    env: dict[str, str]
    others: list[Daemon] = attrs.field(factory=list)

    def new_daemon(self, name: str) -> Daemon:
        """Another ``mmbridge`` process (killed after the test)."""
        daemon = Daemon(self.workdir, self.env, name)
        self.others.append(daemon)
        return daemon

    @property
    def off_topic(self) -> Channel:
        """The mirror's second channel (the first is the seed's ``~bridge-test``)."""
        channel = self.emulator.state.channel_by_name(self.emulator.seed.team_id, "off-topic")
        assert channel is not None
        return channel

    @property
    def health(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"

    def run_args(self, *extra: str) -> list[str]:
        return ["run", "-c", str(self.config), "-r", str(self.registration), *extra]

    async def start_healthy(self, *extra: str) -> Daemon:
        """Start ``mmbridge run`` and wait until its receiver reports healthy."""
        daemon = self.daemon
        await daemon.start(*self.run_args(*extra))
        async with asyncio.timeout(15):
            while await http_status(self.health) != 200:
                assert daemon.process is not None
                if daemon.process.returncode is not None:
                    pytest.fail(f"mmbridge run exited with {daemon.process.returncode}:\n{daemon.stderr()}")
                await asyncio.sleep(0.05)
        return daemon

    def write_config(self, **changes: str) -> None:
        """Rewrite the config with some values changed (``mattermost_token="..."``)."""
        values = {
            "url": str(self.emulator.url),
            "token": self.bot_token,
            "team": self.emulator.seed.team_name,
            "port": str(self.port),
            "database": f"sqlite:///{self.workdir / 'mirror.db'}",
            "channel_a": "bridge-test",
            "channel_b": "off-topic",
            "bridge_id": "mirror",
        } | changes
        self.config.write_text(
            f"""\
bridge: examples.mirror:MirrorBridge
mattermost:
  url: {values["url"]}
  token: {values["token"]}
  team: {values["team"]}
appservice:
  id: {values["bridge_id"]}
  port: {values["port"]}
  shutdown_timeout: 10
puppets:
  username_template: mirror_{{localpart}}
database:
  uri: {values["database"]}
mirror:
  channel_a: {values["channel_a"]}
  channel_b: {values["channel_b"]}
"""
        )

    def write_registration(self) -> None:
        config = MirrorBridge.load_config(self.config, env={})
        write_registration(self.registration, Registration.from_config(config.core))


@pytest_asyncio.fixture
async def emulator(emulator_settings: EmulatorSettings) -> AsyncIterator[Emulator]:
    """The test's emulator, with the fault admin API on: the bridges under test run in processes
    of their own, so faults are armed over HTTP (``FaultsAPIClient``), as for any bridge."""
    emu = Emulator(settings=emulator_settings, faults_api=True)
    await emu.start(host="127.0.0.1", port=0)
    try:
        yield emu
    finally:
        await emu.stop()


@pytest_asyncio.fixture
async def mirror(emulator: Emulator, tmp_path: Path) -> AsyncIterator[MirrorSetup]:
    """The mirror's config (``~bridge-test`` <-> ``~off-topic``) and registration in ``tmp_path``."""
    _, token = emulator.create_bridge_bot()
    env = {key: value for key, value in os.environ.items() if not key.startswith("MMBRIDGE_")}
    setup = MirrorSetup(
        emulator=emulator,
        workdir=tmp_path,
        config=tmp_path / "config.yaml",
        registration=tmp_path / "registration.yaml",
        port=free_port(),
        bot_token=token,
        daemon=Daemon(tmp_path, env),
        env=env,
    )
    setup.write_config()
    setup.write_registration()
    try:
        yield setup
    finally:
        for daemon in (setup.daemon, *setup.others):
            await daemon.kill()
