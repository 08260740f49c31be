"""Two bridges, one database: each keeps its own puppets, memberships, counters, integration tokens
and message map, in one SQLite file or one PostgreSQL schema, and both bridge at the same time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from examples.mirror import MirrorBridge
from mmbridge.api import ClientAPI
from mmbridge.bridge import Registration
from mmbridge.testing.emulator import Emulator
from mmbridge.types import TeamID, UserID


def config_text(emulator: Emulator, token: str, database: str, bridge_id: str, a: str, b: str) -> str:
    return f"""
mattermost: {{url: "{emulator.url}", token: {token}, team: test-team}}
appservice: {{id: {bridge_id}, port: 0}}
puppets: {{username_template: "{bridge_id.replace("-", "")}_{{localpart}}"}}
database: {{uri: "{database}"}}
mirror: {{channel_a: {a}, channel_b: {b}}}
commands: {{trigger: {bridge_id}}}
"""


async def until(condition: Callable[[], object]) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - polls the emulator for the bridges' effect
            await asyncio.sleep(0.02)


@pytest.fixture(params=["sqlite", "postgres"])
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


async def test_two_bridges_share_one_database(
    emulator: Emulator, admin: ClientAPI, alice: ClientAPI, tmp_path: Path, shared_database: str
) -> None:
    team = TeamID(emulator.seed.team_id)
    channels = [await admin.channels.create(team, f"shared-{n}", f"Shared {n}") for n in range(4)]
    for channel in channels:
        await admin.channels.add_member(channel.id, UserID(emulator.seed.user_id))
    _, token = emulator.create_bridge_bot()
    bridges = []
    for n, (a, b) in enumerate([(channels[0], channels[1]), (channels[2], channels[3])], 1):
        path = tmp_path / f"bridge-{n}.yaml"
        path.write_text(config_text(emulator, token, shared_database, f"mirror-{n}", a.name, b.name))
        config = MirrorBridge.load_config(path, env={})
        bridges.append(MirrorBridge(config, registration=Registration.from_config(config.core)))
    for bridge in bridges:
        await bridge.start()
    try:
        first = await alice.posts.create(channels[0].id, "through the first bridge")
        second = await alice.posts.create(channels[2].id, "through the second bridge")

        def copy_of(message: str, channel_id: str) -> list[str]:
            state = emulator.state
            return [
                p.user_id for p in state.posts.values() if p.channel_id == channel_id and p.message == message
            ]

        await until(
            lambda: copy_of(first.message, channels[1].id) and copy_of(second.message, channels[3].id)
        )
        await asyncio.sleep(0.3)  # nothing else arrives: neither bridge saw the other's channels
        [one] = copy_of(first.message, channels[1].id)
        [two] = copy_of(second.message, channels[3].id)
        assert emulator.state.user(one).username == "mirror1_alice"
        assert emulator.state.user(two).username == "mirror2_alice"
        assert copy_of(first.message, channels[3].id) == copy_of(second.message, channels[1].id) == []

        # Each bridge's rows are its own, in the one database.
        left, right = bridges
        assert await left.store.get_puppet(one) is not None
        assert await left.store.get_puppet(two) is None
        assert await right.store.get_puppet(two) is not None
        assert await left.mirrored() == await right.mirrored() == 1
        command_tokens = [await b.store.get_value("mmbridge.tokens.command") for b in bridges]
        assert command_tokens[0]
        assert command_tokens[1]
        assert command_tokens[0] != command_tokens[1]
    finally:
        for bridge in reversed(bridges):
            await bridge.stop()
