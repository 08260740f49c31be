"""The IRC bridge under test: ``mmbridge run`` in its own process, between the test's emulator
and a real IRC server (``miniircd``), with ways to look at both sides."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from examples.irc import IRCBridge
from mmbridge.bridge import Registration, write_registration
from mmbridge.testing.emulator import Emulator
from mmbridge.testing.emulator.models import Post

from .conftest import Daemon, http_status
from .ircnet import IRCClient, MiniIRCd


@attrs.define
class IRCSetup:
    """Config, registration and process of the IRC bridge; the IRC server; the people on IRC."""

    emulator: Emulator
    ircd: MiniIRCd
    workdir: Path
    port: int
    bot_token: str
    daemon: Daemon
    env: dict[str, str]
    clients: list[IRCClient] = attrs.field(factory=list)

    @property
    def config(self) -> Path:
        return self.workdir / "config.yaml"

    @property
    def registration(self) -> Path:
        return self.workdir / "registration.yaml"

    def write_config(self, **irc: Any) -> None:
        """The config, with ``irc`` settings over the test defaults (``mode="relay"``)."""
        settings: dict[str, Any] = {
            "server": "127.0.0.1",
            "port": self.ircd.port,
            "nick": "relaybot",
            "send_rate": 50,
            "send_burst": 50,
            "reconnect_max_delay": 1,
            "channels": {"#test": "bridge-test"},
        } | irc
        section = "\n".join(f"  {key}: {_yaml(value)}" for key, value in settings.items())
        self.config.write_text(
            f"""\
bridge: examples.irc:IRCBridge
mattermost:
  url: {self.emulator.url}
  token: {self.bot_token}
  team: {self.emulator.seed.team_name}
appservice:
  id: irc
  port: {self.port}
  shutdown_timeout: 10
puppets:
  username_template: "irc_{{localpart}}"
database:
  uri: sqlite:///{self.workdir / "irc.db"}
irc:
{section}
"""
        )
        config = IRCBridge.load_config(self.config, env={})
        write_registration(self.registration, Registration.from_config(config.core))

    async def start(self) -> Daemon:
        """``mmbridge run``, waited for until healthy and its relay bot is on IRC."""
        daemon = self.daemon
        await daemon.start("run", "-c", str(self.config), "-r", str(self.registration))
        async with asyncio.timeout(20):
            while await http_status(f"http://127.0.0.1:{self.port}/health") != 200:
                assert daemon.process is not None
                if daemon.process.returncode is not None:
                    pytest.fail(f"mmbridge run exited with {daemon.process.returncode}:\n{daemon.stderr()}")
                await asyncio.sleep(0.05)
        return daemon

    async def person(self, nick: str, *channels: str, tls: ssl.SSLContext | None = None) -> IRCClient:
        """Someone on IRC, in ``channels``."""
        client = await IRCClient(self.ircd.port, nick, tls).connect()
        self.clients.append(client)
        for channel in channels:
            await client.join(channel)
        return client

    async def wait_joined(self, client: IRCClient, nick: str, channel: str = "#test") -> None:
        """Until ``nick`` is in ``channel``, as ``client`` learns from now on."""
        since = len(client.lines)
        client.send(f"NAMES {channel}")
        await client.wait_for(
            lambda line: (
                (line.command == "JOIN" and line.nick.lower() == nick.lower())
                or (
                    line.command == "353"
                    and nick.lower() in [n.lstrip("@+") for n in line.text.lower().split()]
                )
            ),
            since=since,
        )

    def channel_id(self, name: str = "bridge-test") -> str:
        channel = self.emulator.state.channel_by_name(self.emulator.seed.team_id, name)
        assert channel is not None
        return channel.id

    def posts(self, name: str = "bridge-test") -> list[Post]:
        """The channel's live user posts, oldest first."""
        channel_id = self.channel_id(name)
        found = [
            p
            for p in self.emulator.state.posts.values()
            if p.channel_id == channel_id and not p.delete_at and p.type in ("", "me")
        ]
        return sorted(found, key=lambda p: (p.create_at, p.seq))

    def author(self, post: Post) -> str:
        return self.emulator.state.user(post.user_id).username

    async def until_posted(self, condition: Callable[[Post], bool], name: str = "bridge-test") -> Post:
        async with asyncio.timeout(10):
            while True:
                found = [p for p in self.posts(name) if condition(p)]
                if found:
                    return found[-1]
                await asyncio.sleep(0.02)

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        await self.daemon.kill()
        await self.ircd.stop()


def _yaml(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}": "{v}"' for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
