"""The complete bridge of docs/toolkit.md, run as written: under 120 lines, it bridges messages,
replies, edits, deletions and reactions both ways with a real (loopback) TCP chat network."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest_asyncio

from mmbridge.api import ClientAPI
from mmbridge.bridge import Bridge, Registration
from mmbridge.testing.emulator import Emulator
from mmbridge.testing.emulator.models import Post
from mmbridge.types import ChannelID, UserID

DOC = Path(__file__).resolve().parents[2] / "docs" / "toolkit.md"


def documented_bridge() -> str:
    """The code block under "A complete bridge"."""
    section = DOC.read_text().split("## A complete bridge", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def load(code: str, path: Path) -> ModuleType:
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("lines_bridge", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LinesNetwork:
    """The remote network: a TCP server the bridge connects to; the test speaks for its users."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.writer: asyncio.StreamWriter | None = None
        self.connected = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.connected.set()
        while line := await reader.readline():
            self.received.append(json.loads(line))

    async def say(self, **fields: str) -> None:
        assert self.writer is not None
        self.writer.write(json.dumps(fields).encode() + b"\n")
        await self.writer.drain()

    async def stop(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.server is not None:
            self.server.close()


async def until(condition: Callable[[], object]) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - polls for the bridge's effect
            await asyncio.sleep(0.02)


@pytest_asyncio.fixture
async def lines(emulator: Emulator, tmp_path: Path) -> AsyncIterator[tuple[Bridge[Any], LinesNetwork]]:
    network = LinesNetwork()
    port = await network.start()
    module = load(documented_bridge(), tmp_path / "lines_bridge.py")
    _, token = emulator.create_bridge_bot()
    config_path = tmp_path / "config.yaml"
    config_path.write_text(
        f"mattermost: {{url: '{emulator.url}', token: {token}, team: test-team}}\n"
        f"appservice: {{id: lines, port: 0}}\n"
        f"puppets: {{username_template: 'lines_{{localpart}}'}}\n"
        f"database: {{uri: 'sqlite:///{tmp_path / 'lines.db'}'}}\n"
        f"lines: {{host: 127.0.0.1, port: {port}}}\n"
    )
    config = module.LinesBridge.load_config(config_path)
    bridge = module.LinesBridge(config, registration=Registration.from_config(config.core))
    await bridge.start()
    try:
        await asyncio.wait_for(network.connected.wait(), 5)
        yield bridge, network
    finally:
        await bridge.stop()
        await network.stop()


def test_the_documented_bridge_is_under_120_lines() -> None:
    lines = [line for line in documented_bridge().splitlines() if line.strip()]
    assert len(lines) < 120


async def test_the_documented_bridge_works_both_ways(
    lines: tuple[Any, LinesNetwork], emulator: Emulator, admin: ClientAPI
) -> None:
    bridge, network = lines
    state = emulator.state

    def posts() -> list[Post]:
        portal = next((p for p in bridge.portals.all() if p.key.id == "lobby"), None)
        if portal is None:
            return []
        found = [
            p
            for p in state.posts.values()
            if p.channel_id == portal.channel_id and not p.type and not p.delete_at
        ]
        return sorted(found, key=lambda p: (p.create_at, p.seq))

    await network.say(type="message", chat="lobby", user="ann", id="1", text="hello from lines")
    await until(lambda: posts())
    [hello] = posts()
    assert (hello.message, state.user(hello.user_id).username) == ("hello from lines", "lines_ann")

    await network.say(type="edit", chat="lobby", user="ann", id="1", text="hello from lines, edited")
    await network.say(type="react", chat="lobby", user="ann", id="1", emoji="wave")
    await until(lambda: posts()[0].message == "hello from lines, edited")
    await until(lambda: {r.emoji_name for r in state.reactions.get(hello.id, [])} == {"wave"})

    channel = ChannelID(hello.channel_id)
    admin_id = UserID(emulator.seed.admin_user_id)
    await admin.channels.add_member(channel, admin_id)
    reply = await admin.posts.create(channel, "a reply from mattermost", root_id=hello.id)
    await until(lambda: [e for e in network.received if e["type"] == "message"])
    [sent] = [e for e in network.received if e["type"] == "message"]
    assert (sent["text"], sent["user"], sent["reply_to"]) == ("a reply from mattermost", "sysadmin", "1")
    await admin.posts.edit(reply.id, "edited on mattermost")
    await admin.reactions.add(admin_id, hello.id, "tada")
    await admin.posts.delete(reply.id)
    await until(lambda: {e["type"] for e in network.received} >= {"edit", "react", "delete"})
    assert [e["id"] for e in network.received if e["type"] in ("edit", "delete")] == [sent["id"], sent["id"]]
    assert [(e["id"], e["emoji"]) for e in network.received if e["type"] == "react"] == [("1", "tada")]

    await network.say(type="message", chat="lobby", user="bo", id="2", text="a remote reply", reply_to="1")
    await until(lambda: any(p.message == "a remote reply" for p in posts()))
    assert next(p for p in posts() if p.message == "a remote reply").root_id == hello.id
    await network.say(type="delete", chat="lobby", user="bo", id="2")
    await until(lambda: not any(p.message == "a remote reply" for p in posts()))
    assert len([e for e in network.received if e["type"] == "message"]) == 1  # no echoes went back
