"""A real IRC server for the IRC bridge's tests (``miniircd`` from PyPI, in a process of its own on
a free loopback port) and a small IRC client that talks to it the way a person's client does."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import ssl
import sys
import time
from collections.abc import Callable
from pathlib import Path

import attrs

from .conftest import free_port

#: Every host looks like this to the other clients (``--cloak``), so line lengths are known.
CLOAK = "irc.test"


def _miniircd() -> str:
    beside = Path(sys.executable).with_name("miniircd")
    found = str(beside) if beside.exists() else shutil.which("miniircd")
    if found is None:
        raise RuntimeError("miniircd is not installed: pip install -e '.[dev]'")
    return found


class MiniIRCd:
    """``miniircd`` on ``127.0.0.1:port``; stopped and started again at will (same port)."""

    def __init__(self, workdir: Path, *extra: str) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.extra = extra
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = (self.workdir / "miniircd.log").open("ab")
        self.process = await asyncio.create_subprocess_exec(
            _miniircd(),
            "--listen",
            "127.0.0.1",
            "--ports",
            str(self.port),
            "--cloak",
            CLOAK,
            # miniircd refuses to run as root unless told to stay root (CI containers run as root).
            *(["--setuid", "root"] if os.geteuid() == 0 else []),
            *self.extra,
            stdout=log,
            stderr=log,
        )
        log.close()
        async with asyncio.timeout(10):
            while True:
                if self.process.returncode is not None:
                    log_text = (self.workdir / "miniircd.log").read_text()
                    raise RuntimeError(f"miniircd exited with {self.process.returncode}: {log_text}")
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                return

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@attrs.frozen
class Line:
    """One line from the server: ``:nick!user@host COMMAND params... :trailing``."""

    nick: str
    command: str
    params: tuple[str, ...]

    @property
    def text(self) -> str:
        return self.params[-1] if self.params else ""

    @property
    def action(self) -> str | None:
        """The text of a CTCP ACTION (``/me``), else None."""
        text = self.text
        if self.command == "PRIVMSG" and text.startswith("\x01ACTION ") and text.endswith("\x01"):
            return text[8:-1]
        return None

    @classmethod
    def parse(cls, raw: str) -> Line:
        prefix = ""
        if raw.startswith(":"):
            prefix, _, raw = raw[1:].partition(" ")
        head, _, trailing = raw.partition(" :")
        words = head.split()
        params = (*words[1:], trailing) if " :" in raw else tuple(words[1:])
        return cls(prefix.split("!")[0], words[0].upper() if words else "", params)


class IRCClient:
    """A person on IRC: connects, joins, talks, and remembers every line the server sent."""

    def __init__(self, port: int, nick: str, tls: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.nick = nick
        self.tls = tls
        self.lines: list[Line] = []
        self.times: list[float] = []  #: when each line came (``time.monotonic()``)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    async def connect(self, *, password: str = "") -> IRCClient:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port, ssl=self.tls)
        self._task = asyncio.create_task(self._read())
        if password:
            self.send(f"PASS {password}")
        self.send(f"NICK {self.nick}")
        self.send(f"USER {self.nick} 0 * :{self.nick} the tester")
        await self.wait_for(lambda line: line.command == "001")
        return self

    def send(self, raw: str) -> None:
        assert self._writer is not None
        self._writer.write(raw.encode() + b"\r\n")

    async def join(self, channel: str) -> None:
        self.send(f"JOIN {channel}")
        await self.wait_for(lambda line: line.command == "366" and line.params[1].lower() == channel.lower())

    def say(self, target: str, text: str) -> None:
        self.send(f"PRIVMSG {target} :{text}")

    def act(self, target: str, text: str) -> None:
        self.send(f"PRIVMSG {target} :\x01ACTION {text}\x01")

    async def rename(self, nick: str) -> None:
        self.send(f"NICK {nick}")
        old = self.nick
        await self.wait_for(lambda line: line.command == "NICK" and line.nick == old)
        self.nick = nick

    async def quit(self, message: str = "bye") -> None:
        with contextlib.suppress(ConnectionError):
            self.send(f"QUIT :{message}")
        await self.close()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def heard(self, target: str) -> list[Line]:
        """The messages (PRIVMSG) others sent to ``target`` (a channel, or this client's nick)."""
        return [
            line
            for line in self.lines
            if line.command == "PRIVMSG" and line.params and line.params[0].lower() == target.lower()
        ]

    async def wait_for(
        self, condition: Callable[[Line], bool], limit: float = 10.0, *, since: int = 0
    ) -> Line:
        """The first line (from the ``since``-th on) that meets ``condition``, waited for."""
        return self.lines[await self.wait_index(condition, limit, since=since)]

    async def wait_index(
        self, condition: Callable[[Line], bool], limit: float = 10.0, *, since: int = 0
    ) -> int:
        """Where in :attr:`lines` the first line from ``since`` on that meets ``condition`` is."""
        seen = since
        deadline = time.monotonic() + limit
        while True:
            for index in range(seen, len(self.lines)):
                if condition(self.lines[index]):
                    return index
            seen = max(seen, len(self.lines))
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.nick} never got the line (last: {self.lines[-5:]})")
            await asyncio.sleep(0.02)

    async def _read(self) -> None:
        assert self._reader is not None
        while raw := await self._reader.readline():
            line = Line.parse(raw.decode(errors="replace").rstrip("\r\n"))
            if line.command == "PING":
                self.send(f"PONG :{line.text}")
            self.times.append(time.monotonic())
            self.lines.append(line)


class CuttableLink:
    """A TCP relay to the IRC server whose connections can be cut, as a network failure would: the
    bridge connects through it, the people on IRC do not."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self.cuts = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    def cut(self) -> None:
        """Drop every connection through the relay (new ones are let through)."""
        self.cuts += 1
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers += [writer, up_writer]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
