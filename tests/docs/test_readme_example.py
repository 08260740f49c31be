"""The 15-line bridge of README.md (and docs/index.md), run as written against the emulator:
`/bridge link polly` bridges a channel, and every message there is said back once by Polly's
ghost, a Mattermost user the bridge made, whose own posts are not bridged again."""

from __future__ import annotations

import asyncio
import importlib.util
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
from mmbridge.types import ChannelID

REPO = Path(__file__).resolve().parents[2]
HEADING = "## A bridge in 15 lines"


def example(path: Path) -> str:
    """The first python block under the heading in ``path``."""
    text = path.read_text()
    assert HEADING in text, f"{path.name} has no {HEADING!r} section"
    match = re.search(r"```python\n(.*?)```", text.split(HEADING, 1)[1], re.DOTALL)
    assert match is not None, f"no python block under {HEADING!r} in {path.name}"
    return match.group(1)


def load(code: str, path: Path) -> ModuleType:
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("parrot", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def until(condition: Callable[[], object], limit: float = 10.0) -> None:
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 - polls the emulator for the bridge's effect
            await asyncio.sleep(0.02)


@pytest_asyncio.fixture
async def parrot(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Bridge[Any]]:
    module = load(example(REPO / "README.md"), tmp_path / "parrot.py")
    _, token = emulator.create_bridge_bot()
    config_path = tmp_path / "config.yaml"
    config_path.write_text(  # what `mmbridge-emulator --print-config` writes, on a free port
        f"mattermost: {{url: '{emulator.url}', token: {token}, team: test-team}}\n"
        "appservice: {id: mybridge, port: 0}\n"
        "puppets: {username_template: 'mybridge_{localpart}'}\n"
        f"database: {{uri: 'sqlite:///{tmp_path / 'parrot.db'}'}}\n"
    )
    config = module.ParrotBridge.load_config(config_path)
    bridge = module.ParrotBridge(config, registration=Registration.from_config(config.core))
    await bridge.start()
    try:
        yield bridge
    finally:
        await bridge.stop()


def test_the_readme_and_the_home_page_show_the_same_example() -> None:
    readme = example(REPO / "README.md")
    assert example(REPO / "docs" / "index.md") == readme
    assert len([line for line in readme.splitlines() if line.strip()]) == 15


async def test_the_readme_example_says_back_each_message_once(
    parrot: Bridge[Any], emulator: Emulator, alice: ClientAPI
) -> None:
    seed, state = emulator.seed, emulator.state
    channel = ChannelID(seed.channel_id)
    answer = await emulator.type_message(seed.admin_token, channel, "/bridge link polly")
    assert answer["text"] == "This channel is now bridged to `polly`."

    def said() -> list[tuple[str, str]]:
        posts = [p for p in state.posts.values() if p.channel_id == channel and not p.type]
        ordered: list[Post] = sorted(posts, key=lambda p: (p.create_at, p.seq))
        return [(state.user(p.user_id).username, p.message) for p in ordered]

    await alice.posts.create(channel, "hello, Polly")
    await until(lambda: len(said()) >= 2)
    await alice.posts.create(channel, "*still* there?")
    await until(lambda: len(said()) >= 4)
    await asyncio.sleep(0.5)  # time for an echo of an echo, which must not come
    assert said() == [
        ("alice", "hello, Polly"),
        ("mybridge_polly", "hello, Polly"),
        ("alice", "*still* there?"),
        ("mybridge_polly", "*still* there?"),
    ]
    polly = next(u for u in state.users.values() if u.username == "mybridge_polly")
    assert not polly.is_bot  # a user of her own (a ghost with its own token), not the bridge bot
