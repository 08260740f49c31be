"""One IRC connection of the bridge (the relay bot's, or a Mattermost user's in puppet mode), on the
``irc`` library's asyncio client: connected and kept connected with backoff, TLS and SASL PLAIN
when configured, channels joined and rejoined, and every line sent through a rate limit."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import logging
import ssl
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import attrs
import irc.client
import irc.client_aio
import irc.connection
import irc.strings

from mmbridge.api import RateLimiter

log = logging.getLogger("mmbridge.irc")

#: What an IRC event handler gets: the link and the library's event.
Handler = Callable[["IRCLink", irc.client.Event], None]


class IRCLink:
    """An IRC connection that stays up until :meth:`close`.

    ``handler`` gets every event (``pubmsg``, ``action``, ``nick``, ``part``, ...). Lines go out at
    most ``rate`` per second after a burst of ``burst`` (flood control); what is sent while
    disconnected waits for the reconnection.
    """

    def __init__(
        self,
        settings: Any,
        nick: str,
        handler: Handler,
        *,
        realname: str = "",
    ) -> None:
        self.settings = settings
        self.wanted_nick = nick
        self.realname = realname or nick
        self.handler = handler
        self.channels: set[str] = set()  #: wanted, lower-case
        self.joined: set[str] = set()
        self.last_used = time.monotonic()
        # Lines to send; lines sent and waiting for the PONG that proves the server has them
        # (by ping token); the lines of a lost connection are sent again, first.
        self._pending: deque[_Line] = deque()
        self._unconfirmed: dict[str, list[_Line]] = {}
        self._wake = asyncio.Event()
        self._pings = itertools.count(1)
        self._ready = asyncio.Event()
        self._joined_events: dict[str, asyncio.Event] = {}
        self._closed = False
        self._tasks: list[asyncio.Task[None]] = []
        self._connection: irc.client_aio.AioConnection | None = None
        self._lost = asyncio.Event()

    @property
    def nick(self) -> str:
        """The nick the server knows this connection by."""
        connection = self._connection
        return (
            connection.get_nickname() if connection is not None and self._ready.is_set() else self.wanted_nick
        )

    def start(self) -> None:
        """Connect in the background (and reconnect whenever the connection drops)."""
        self._tasks = [asyncio.create_task(self._keep_connected()), asyncio.create_task(self._send_lines())]

    async def close(self, message: str = "", *, flush: float = 5.0) -> None:
        """Send what is queued (for at most ``flush`` seconds), quit and stop reconnecting."""
        self._closed = True
        if self._ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.flushed(), flush)
        if self._connection is not None and self._ready.is_set():
            with contextlib.suppress(Exception):
                self._connection.quit(message)
                await asyncio.sleep(0.05)  # the QUIT leaves before the socket closes
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()

    def drop(self) -> None:
        """Close the socket as a network failure would (the link reconnects)."""
        if self._connection is not None and self._connection.transport is not None:
            self._connection.transport.abort()

    async def join(self, channel: str) -> None:
        """Be in ``channel`` (wait until the server says so)."""
        key = irc.strings.lower(channel)
        self.channels.add(key)
        if key in self.joined:
            return
        event = self._joined_events.setdefault(key, asyncio.Event())
        await self._ready.wait()
        assert self._connection is not None
        self._connection.join(channel)
        await asyncio.wait_for(event.wait(), 30)

    def part(self, channel: str) -> None:
        """Leave ``channel``."""
        key = irc.strings.lower(channel)
        self.channels.discard(key)
        if key in self.joined and self._connection is not None:
            self._connection.part(channel)

    def say(self, target: str, line: str, *, action: bool = False) -> asyncio.Future[None]:
        """Queue one line (already cut to fit) to ``target``; done once the server confirms it."""
        self.last_used = time.monotonic()
        command = f"PRIVMSG {target} :\x01ACTION {line}\x01" if action else f"PRIVMSG {target} :{line}"
        queued = _Line(command, asyncio.get_running_loop().create_future())
        self._pending.append(queued)
        self._wake.set()
        return queued.sent

    async def flushed(self) -> None:
        """Wait until every line said so far is confirmed by the server."""
        waiting = [line.sent for line in self._pending] + [
            line.sent for lines in self._unconfirmed.values() for line in lines
        ]
        await asyncio.gather(*waiting)

    async def ready(self) -> None:
        """Wait until registered with the server."""
        await self._ready.wait()

    # ---- the connection -------------------------------------------------------------------------

    async def _keep_connected(self) -> None:
        delay = 1.0
        while True:
            try:
                await self._connect()
                delay = 1.0
                await self._lost.wait()
            except (OSError, irc.client.ServerConnectionError, TimeoutError) as exc:
                log.warning("IRC %s: cannot connect as %s: %s", self._address(), self.wanted_nick, exc)
            self._ready.clear()
            self.joined.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.settings.reconnect_max_delay)

    def _address(self) -> str:
        return f"{self.settings.server}:{self.settings.port}"

    async def _connect(self) -> None:
        settings = self.settings
        self._lost = asyncio.Event()
        reactor = irc.client_aio.AioReactor(loop=asyncio.get_running_loop())
        reactor.add_global_handler("all_events", self._on_event, -10)
        connection = reactor.server()
        self._connection = connection
        factory = _Factory(self._tls_context(), sasl=bool(settings.sasl_username))
        password = settings.password.reveal() if settings.password else None
        await asyncio.wait_for(
            connection.connect(
                settings.server,
                settings.port,
                self.wanted_nick,
                password=password,
                username=self.wanted_nick.strip("[]_^`{}|\\")[:10] or "mmbridge",
                ircname=self.realname,
                connect_factory=factory,
            ),
            30,
        )
        await asyncio.wait_for(self._ready.wait(), 30)
        for channel in sorted(self.channels):
            connection.join(channel)

    def _tls_context(self) -> ssl.SSLContext | None:
        if not self.settings.tls:
            return None
        context = ssl.create_default_context(cafile=self.settings.tls_ca_file or None)
        if not self.settings.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _on_event(self, connection: irc.client_aio.AioConnection, event: irc.client.Event) -> None:
        kind = event.type
        if kind == "welcome":
            self._ready.set()
        elif kind == "nicknameinuse" and not self._ready.is_set():
            connection.nick(connection.get_nickname() + "_")
        elif kind == "cap" and len(event.arguments) >= 2 and event.arguments[0] == "ACK":
            connection.send_raw("AUTHENTICATE PLAIN")
        elif kind == "authenticate" and event.target == "+":
            user = self.settings.sasl_username
            secret = self.settings.sasl_password.reveal() if self.settings.sasl_password else ""
            token = base64.b64encode(f"{user}\0{user}\0{secret}".encode()).decode()
            connection.send_raw(f"AUTHENTICATE {token}")
        elif kind in ("saslsuccess", "saslfail", "sasltoolong", "saslaborted"):
            if kind != "saslsuccess":
                log.error("IRC %s: SASL login as %s refused", self._address(), self.settings.sasl_username)
            connection.cap("END")
        elif kind == "join" and event.source.nick == connection.get_nickname():
            key = irc.strings.lower(event.target)
            self.joined.add(key)
            self._joined_events.setdefault(key, asyncio.Event()).set()
        elif kind in ("part", "kick") and self._is_me(connection, event):
            key = irc.strings.lower(event.target)
            self.joined.discard(key)
            self._joined_events.pop(key, None)
        elif kind == "pong":
            token = event.arguments[0] if event.arguments else event.target
            for line in self._unconfirmed.pop(token, []):
                if not line.sent.done():
                    line.sent.set_result(None)
        elif kind == "disconnect":
            # Lines the server may not have got go again, before the others and in their order.
            lost = [line for lines in self._unconfirmed.values() for line in lines]
            self._unconfirmed.clear()
            self._pending.extendleft(reversed(lost))
            self._joined_events.clear()
            self._lost.set()
        self.handler(self, event)

    @staticmethod
    def _is_me(connection: irc.client_aio.AioConnection, event: irc.client.Event) -> bool:
        me = connection.get_nickname()
        return bool(event.source.nick == me or (event.type == "kick" and event.arguments[:1] == [me]))

    async def _send_lines(self) -> None:
        """Send the lines at most ``send_rate`` a second after a burst (flood control), then a PING:
        its PONG confirms every line before it (a server handles a client's lines in order)."""
        limiter = RateLimiter(self.settings.send_rate, self.settings.send_burst)
        written: list[_Line] = []
        while True:
            await self._ready.wait()
            if not self._pending:
                if written:
                    token = f"mmbridge-{next(self._pings)}"
                    self._unconfirmed[token] = written
                    written = []
                    self._send(f"PING :{token}")
                self._wake.clear()
                await self._wake.wait()
                continue
            await limiter.acquire()
            line = self._pending.popleft()
            if self._send(line.command):
                written.append(line)
            else:  # lost meanwhile: again once reconnected
                self._pending.appendleft(line)
                self._pending.extendleft(reversed(written))
                written = []
                await asyncio.sleep(0.1)

    def _send(self, command: str) -> bool:
        try:
            assert self._connection is not None
            self._connection.send_raw(command)
        except irc.client.ServerNotConnectedError:
            return False
        return True


@attrs.frozen
class _Line:
    command: str
    sent: asyncio.Future[None] = attrs.field(eq=False)


class _Factory(irc.connection.AioFactory):  # type: ignore[misc]
    """The library's connection factory, with TLS, and ``CAP REQ :sasl`` sent before the library's
    NICK and USER so that registration waits for the SASL exchange."""

    def __init__(self, context: ssl.SSLContext | None, *, sasl: bool) -> None:
        super().__init__(**({"ssl": context} if context is not None else {}))
        self.sasl = sasl

    async def _open(self, protocol_instance: Any, address: tuple[str, int]) -> Any:
        transport, protocol = await super().connect(protocol_instance, address)
        if self.sasl:
            transport.write(b"CAP REQ :sasl\r\n")
        return transport, protocol

    def connect(self, protocol_instance: Any, server_address: tuple[str, int]) -> Any:
        return self._open(protocol_instance, server_address)

    __call__ = connect
