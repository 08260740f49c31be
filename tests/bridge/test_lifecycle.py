"""The composition root in-process: a failed start stops what it started, in reverse order; the
metrics switch and the separate status listener."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import pytest

from examples.mirror import MirrorBridge
from mmbridge.bridge import DatabaseUnavailableError, ListenError, MissingRightsError, Registration
from mmbridge.db import Connection, Scheme, UpgradeTable
from mmbridge.testing.emulator import Emulator

from .conftest import free_port


def make_bridge(
    emulator: Emulator, tmp_path: Path, token: str, *, port: int = 0, metrics: str = ""
) -> MirrorBridge:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"mattermost:\n  url: {emulator.url}\n  token: {token}\n  team: test-team\n"
        f"appservice:\n  id: mirror\n  port: {port}\n"
        "puppets:\n  username_template: mirror_{localpart}\n"
        f"database:\n  uri: sqlite:///{tmp_path / 'mirror.db'}\n"
        "mirror:\n  channel_a: bridge-test\n  channel_b: off-topic\n"
        f"{metrics}"
    )
    config = MirrorBridge.load_config(path, env={})
    return MirrorBridge(config, registration=Registration.from_config(config.core))


async def test_a_failed_start_stops_everything_it_started(emulator: Emulator, tmp_path: Path) -> None:
    _, token = emulator.create_bridge_bot()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        bridge = make_bridge(emulator, tmp_path, token, port=taken.getsockname()[1])
        with pytest.raises(ListenError, match="the port is in use"):
            await bridge.start()
    assert not bridge.db.is_running  # database closed
    assert bridge.appservice.bot.http.closed  # the HTTP session closed
    assert not bridge.is_running
    again = make_bridge(emulator, tmp_path, token)
    await again.start()  # nothing was left holding the database or its lock
    await again.stop()


async def test_missing_rights_stop_the_start_before_any_change(emulator: Emulator, tmp_path: Path) -> None:
    bridge = make_bridge(emulator, tmp_path, emulator.seed.bot_token)
    with pytest.raises(MissingRightsError, match="@bridgebot lacks the system_admin role"):
        await bridge.start()
    assert not bridge.db.is_running
    changes = [r for r in emulator.requests if r.method != "GET" and r.route != "/api/v4/roles/names"]
    assert changes == []  # no user, token, membership or integration was made


async def test_metrics_on_a_private_listener_and_off_the_receiver(emulator: Emulator, tmp_path: Path) -> None:
    _, token = emulator.create_bridge_bot()
    listen = free_port()
    bridge = make_bridge(
        emulator, tmp_path, token, metrics=f"metrics:\n  enabled: false\n  listen: 127.0.0.1:{listen}\n"
    )
    await bridge.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{listen}/health") as response:
                assert response.status == 200
            async with http.get(f"http://127.0.0.1:{listen}/metrics") as response:
                assert response.status == 200  # the private port serves them whatever the switch
            async with http.get(f"{bridge.receiver.url}/metrics") as response:
                assert response.status == 404  # the public receiver does not
    finally:
        await bridge.stop()
    enabled = make_bridge(emulator, tmp_path, token, metrics=f"metrics:\n  listen: 127.0.0.1:{listen}\n")
    await enabled.start()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{listen}/metrics") as response,
        ):
            assert response.status == 200
            assert "mmbridge_mattermost_requests" in await response.text()
    finally:
        await enabled.stop()


async def test_a_refused_second_instance_changes_no_schema(emulator: Emulator, tmp_path: Path) -> None:
    _, token = emulator.create_bridge_bot()
    ran: list[str] = []

    class NewerMirror(MirrorBridge):
        def upgrade_tables(self) -> Sequence[UpgradeTable]:
            table = UpgradeTable("newer")

            @table.register(description="a migration of a newer release")
            async def v1(conn: Connection, scheme: Scheme) -> None:
                ran.append("v1")

            return [*super().upgrade_tables(), table]

    first = make_bridge(emulator, tmp_path, token)
    await first.start()
    try:
        second = NewerMirror(first.loaded, registration=first.registration)
        with pytest.raises(DatabaseUnavailableError, match="another process"):
            await second.start()
        assert ran == []  # refused before any migration ran
        assert not second.db.is_running
    finally:
        await first.stop()
