"""``mmbridge run`` as its own process: it bridges, stops cleanly on signals, and every bad start
prints one line and exits with the code of its class, quickly, leaving nothing running."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path

import pytest

from mmbridge.api import ClientAPI
from mmbridge.bridge.errors import (
    AuthenticationError,
    BridgeNotFoundError,
    BridgeSetupError,
    ConfigInvalidError,
    ConfigMissingError,
    DatabaseOwnershipError,
    DatabaseUnavailableError,
    ListenError,
    MissingRightsError,
    RegistrationError,
    ServerUnreachableError,
)
from mmbridge.db import Database, UpgradeTable
from mmbridge.testing.emulator import Emulator
from mmbridge.types import ChannelID

from .conftest import MirrorSetup, Result, free_port, until


def copies_in(emulator: Emulator, channel_id: str, prefix: str) -> list[str]:
    """Messages in ``channel_id`` starting with ``prefix``, posted by a mirror puppet."""
    state = emulator.state
    return [
        post.message
        for post in state.posts.values()
        if post.channel_id == channel_id
        and post.message.startswith(prefix)
        and not post.delete_at
        and state.user(post.user_id).username.startswith("mirror_")
    ]


def assert_one_line_failure(result: Result, code: int, *phrases: str) -> None:
    """The process exited with ``code`` within 10 s, printing one line about it and no traceback."""
    assert result.code == code, result.stderr
    assert result.seconds < 10
    assert len(result.error_lines) == 1, result.stderr
    for phrase in phrases:
        assert phrase in result.error_lines[0], result.stderr
    assert "Traceback" not in result.stderr


async def test_the_daemon_bridges_and_drains_its_queue_on_sigterm(mirror: MirrorSetup) -> None:
    emulator = mirror.emulator
    seed = emulator.seed
    off_topic = mirror.off_topic
    daemon = await mirror.start_healthy()

    for n in range(60):
        await emulator.type_message(seed.token, ChannelID(seed.channel_id), f"drain {n:02d}")
    await asyncio.sleep(0.05)  # the events have reached the bridge; many copies are still queued
    copied_before_sigterm = len(copies_in(emulator, off_topic.id, "drain "))
    daemon.signal(signal.SIGTERM)
    result = await daemon.wait()

    assert result.code == 0, result.stderr
    drained = copies_in(emulator, off_topic.id, "drain ")
    # What was queued was handled before the exit, in order; what had not reached the bridge yet
    # waits on the server for the next start.
    assert sorted(drained) == [f"drain {n:02d}" for n in range(len(drained))]
    assert len(drained) >= copied_before_sigterm
    assert "Traceback" not in result.stderr
    assert "stopped" in result.stderr
    again = await mirror.start_healthy()
    await until(lambda: len(copies_in(emulator, off_topic.id, "drain ")) >= 60)
    await asyncio.sleep(0.2)
    assert sorted(copies_in(emulator, off_topic.id, "drain ")) == [f"drain {n:02d}" for n in range(60)]
    again.signal(signal.SIGTERM)
    assert (await again.wait()).code == 0
    print(f"{copied_before_sigterm} of 60 copied before SIGTERM, {len(drained)} at the exit, the rest after")


async def test_an_action_is_copied_as_an_action(mirror: MirrorSetup) -> None:
    """``/me waves`` makes a ``me`` post of ``*waves*``; its copy is one too, not a post whose text
    happens to be in asterisks (nor ``**waves**``)."""
    emulator = mirror.emulator
    seed = emulator.seed
    daemon = await mirror.start_healthy()
    await emulator.type_message(seed.token, ChannelID(seed.channel_id), "/me waves at everyone")
    await until(lambda: copies_in(emulator, mirror.off_topic.id, "*waves"))
    [copy] = [
        post
        for post in emulator.state.posts.values()
        if post.channel_id == mirror.off_topic.id and "waves" in post.message
    ]
    assert (copy.type, copy.message) == ("me", "*waves at everyone*")
    assert emulator.state.user(copy.user_id).username == "mirror_alice"
    [original] = [
        p for p in emulator.state.posts.values() if p.channel_id == seed.channel_id and p.type == "me"
    ]
    async with ClientAPI.connect(emulator.url, seed.token) as alice:  # an edit keeps it an action
        await alice.posts.edit(original.id, "*waves twice*")
    await until(lambda: emulator.state.posts[copy.id].message == "*waves twice*")
    assert emulator.state.posts[copy.id].type == "me"
    daemon.signal(signal.SIGTERM)
    assert (await daemon.wait()).code == 0


async def test_ctrl_c_stops_cleanly_without_a_traceback(mirror: MirrorSetup) -> None:
    daemon = await mirror.start_healthy()
    daemon.signal(signal.SIGINT)
    result = await daemon.wait()
    assert result.code == 0
    assert "Traceback" not in result.stderr
    assert "KeyboardInterrupt" not in result.stderr
    assert "SIGINT received" in result.stderr


async def test_a_sigkilled_daemon_restarts_and_finds_its_puppets(mirror: MirrorSetup) -> None:
    emulator = mirror.emulator
    seed = emulator.seed
    off_topic = mirror.off_topic
    daemon = await mirror.start_healthy()
    await emulator.type_message(seed.token, ChannelID(seed.channel_id), "before the kill")
    await until(lambda: copies_in(emulator, off_topic.id, "before the kill"))
    daemon.signal(signal.SIGKILL)
    await daemon.wait()

    again = await mirror.start_healthy()  # the instance lock died with the process
    await emulator.type_message(seed.token, ChannelID(seed.channel_id), "after the restart")
    await until(lambda: copies_in(emulator, off_topic.id, "after the restart"))
    puppets = [u for u in emulator.state.users.values() if u.username == "mirror_alice"]
    assert len(puppets) == 1  # the same puppet, from the database
    again.signal(signal.SIGTERM)
    assert (await again.wait()).code == 0


# ---- bad starts: one line, one exit code per class ---------------------------------------------------


async def test_missing_config(mirror: MirrorSetup, tmp_path: Path) -> None:
    result = await mirror.daemon.run("run", "-c", str(tmp_path / "absent.yaml"))
    assert_one_line_failure(result, ConfigMissingError.exit_code, "absent.yaml: no such file")


async def test_invalid_config_lists_every_problem(mirror: MirrorSetup) -> None:
    text = (
        mirror.config.read_text()
        .replace("port: ", "port: many ")
        .replace("shutdown_timeout: 10", "shutdown_timeout: 0")
    )
    mirror.config.write_text(text)
    result = await mirror.daemon.run(*mirror.run_args())
    assert result.code == ConfigInvalidError.exit_code
    assert len(result.error_lines) == 2, result.stderr
    assert "config.yaml:8: appservice.port: expected a whole number, got text" in result.error_lines[0]
    assert "config.yaml:9: appservice.shutdown_timeout: must be greater than 0" in result.error_lines[1]
    assert "Traceback" not in result.stderr
    assert mirror.config.read_text() == text  # an invalid file is never upgraded: lines stay right
    assert not list(mirror.workdir.glob("config.yaml.*.bak"))


async def test_a_valid_short_config_is_upgraded_in_place_with_a_backup(mirror: MirrorSetup) -> None:
    before = mirror.config.read_text()
    daemon = await mirror.start_healthy()
    daemon.signal(signal.SIGTERM)
    result = await daemon.wait()
    assert result.code == 0
    [backup] = mirror.workdir.glob("config.yaml.*.bak")
    assert backup.read_text() == before
    after = mirror.config.read_text()
    assert "# Seconds a stopping bridge lets queued events finish" not in after  # it had that key
    assert "  # The receiver's port" not in after
    assert "# Python logging, as logging.config.dictConfig reads it." in after
    assert "upgraded: added" in result.stderr


async def test_the_bridge_class_may_come_from_the_environment(mirror: MirrorSetup) -> None:
    mirror.config.write_text(
        mirror.config.read_text().replace("bridge: examples.mirror:MirrorBridge", "bridge: ${MY_BRIDGE}")
    )
    ok = await mirror.daemon.run(
        "check-config", "-c", str(mirror.config), env={"MY_BRIDGE": "examples.mirror:MirrorBridge"}
    )
    assert ok.code == 0, ok.stderr
    unset = await mirror.daemon.run("check-config", "-c", str(mirror.config))
    assert unset.code == ConfigInvalidError.exit_code
    assert "bridge: the environment variable MY_BRIDGE is not set" in unset.stderr
    from_env = await mirror.daemon.run(
        "check-config",
        "-c",
        str(mirror.config),
        env={"MMBRIDGE_BRIDGE": "examples.mirror:MirrorBridge", "MY_BRIDGE": "x"},
    )
    assert from_env.code == 0, from_env.stderr


async def test_check_config_refuses_a_logging_config_run_would_refuse(mirror: MirrorSetup) -> None:
    mirror.config.write_text(
        mirror.config.read_text()
        + "logging:\n  version: 1\n  handlers:\n    bad:\n      class: logging.NoSuchHandler\n"
    )
    result = await mirror.daemon.run("check-config", "-c", str(mirror.config))
    assert result.code == ConfigInvalidError.exit_code
    assert "logging: the dictConfig is refused" in result.stderr


async def test_missing_registration(mirror: MirrorSetup) -> None:
    mirror.registration.unlink()
    result = await mirror.daemon.run(*mirror.run_args())
    assert_one_line_failure(
        result, RegistrationError.exit_code, "no registration file", "generate-registration"
    )


async def test_a_config_disagreeing_with_its_registration_is_refused(mirror: MirrorSetup) -> None:
    mirror.write_config(bridge_id="mirror-two")
    result = await mirror.daemon.run(*mirror.run_args())
    assert_one_line_failure(
        result,
        RegistrationError.exit_code,
        "id is 'mirror' in the registration but 'mirror-two' in the config",
    )


async def test_unknown_bridge_class(mirror: MirrorSetup) -> None:
    result = await mirror.daemon.run(*mirror.run_args("--bridge", "no_such_module:Bridge"))
    assert_one_line_failure(result, BridgeNotFoundError.exit_code, "cannot import 'no_such_module'")


async def test_a_second_daemon_of_the_same_bridge_is_refused(mirror: MirrorSetup) -> None:
    first = await mirror.start_healthy()
    result = await mirror.new_daemon("second").run(*mirror.run_args())
    assert_one_line_failure(
        result,
        DatabaseUnavailableError.exit_code,
        f"another process (pid {first.process.pid})",
        "'mirror'",  # type: ignore[union-attr]
    )
    assert first.process is not None
    assert first.process.returncode is None


async def test_unreachable_database(mirror: MirrorSetup) -> None:
    mirror.write_config(database=f"postgres://bridge:hunter2@127.0.0.1:{free_port()}/bridge")
    mirror.write_registration()
    result = await mirror.daemon.run(*mirror.run_args())
    assert_one_line_failure(
        result, DatabaseUnavailableError.exit_code, "could not connect to", "database.uri"
    )
    assert "hunter2" not in result.stderr


async def test_database_of_another_owner(mirror: MirrorSetup) -> None:
    tables = UpgradeTable("other")
    tables.register(description="a table of its own")(
        lambda conn, scheme: conn.execute("CREATE TABLE t (x TEXT)")
    )
    other = Database.create(
        f"sqlite:///{mirror.workdir / 'mirror.db'}", upgrade_table=tables, owner="some-other-program"
    )
    await other.start()
    await other.stop()
    result = await mirror.daemon.run(*mirror.run_args())
    assert_one_line_failure(
        result, DatabaseOwnershipError.exit_code, "belongs to 'some-other-program', not 'mirror'"
    )


async def test_unreachable_server(mirror: MirrorSetup) -> None:
    mirror.write_config(url=f"http://127.0.0.1:{free_port()}")
    mirror.write_registration()
    result = await mirror.daemon.run(*mirror.run_args())
    assert_one_line_failure(
        result, ServerUnreachableError.exit_code, "cannot reach Mattermost at http://127.0.0.1:"
    )


async def test_a_refused_token(mirror: MirrorSetup) -> None:
    mirror.write_config(token="x" * 26)
    result = await mirror.daemon.run(*mirror.run_args())
    assert_one_line_failure(
        result, AuthenticationError.exit_code, "refuses the bot token", "mattermost.token"
    )
    assert "x" * 26 not in result.stderr


async def test_the_seeded_bridgebot_lacks_the_rights_and_is_told_which(mirror: MirrorSetup) -> None:
    mirror.write_config(token=mirror.emulator.seed.bot_token)
    result = await mirror.daemon.run(*mirror.run_args())
    assert_one_line_failure(
        result,
        MissingRightsError.exit_code,
        "@bridgebot lacks the system_admin role",
        "manage_system, create_user_access_token, edit_other_users",
        "mmctl roles system_admin bridgebot",
    )
    assert not any(
        u.username.startswith("mirror_") for u in mirror.emulator.state.users.values()
    )  # none half-made


async def test_a_server_setting_that_is_off_is_named(mirror: MirrorSetup) -> None:
    mirror.emulator.settings.enable_user_access_tokens = False
    result = await mirror.daemon.run(*mirror.run_args())
    assert_one_line_failure(
        result, MissingRightsError.exit_code, "ServiceSettings.EnableUserAccessTokens is off"
    )


async def test_a_port_in_use(mirror: MirrorSetup) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", mirror.port))
        taken.listen()
        result = await mirror.daemon.run(*mirror.run_args())
    assert_one_line_failure(
        result,
        ListenError.exit_code,
        f"cannot listen on 127.0.0.1:{mirror.port}: the port is in use",
        "appservice.port",
    )


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        ({"team": "no-such-team"}, "no team 'no-such-team'"),
        ({"channel_b": "no-such-channel"}, "no channel 'no-such-channel' in team 'test-team'"),
        ({"channel_b": "bridge-test"}, "~bridge-test is bridged to a already, and cannot be to b too"),
    ],
)
async def test_an_unknown_team_or_channel(mirror: MirrorSetup, change: dict[str, str], phrase: str) -> None:
    mirror.write_config(**change)
    result = await mirror.daemon.run(*mirror.run_args())
    assert_one_line_failure(result, BridgeSetupError.exit_code, phrase, "config.yaml:")


async def test_debug_adds_the_traceback(mirror: MirrorSetup) -> None:
    mirror.write_config(token="y" * 26)
    result = await mirror.daemon.run("--debug", *mirror.run_args())
    assert result.code == AuthenticationError.exit_code
    assert "Traceback" in result.stderr


# ---- failures while running ----------------------------------------------------------------------------


async def test_a_dropped_websocket_is_reconnected_and_bridging_goes_on(mirror: MirrorSetup) -> None:
    emulator = mirror.emulator
    seed = emulator.seed
    off_topic = mirror.off_topic
    daemon = await mirror.start_healthy()
    for round_ in range(3):
        emulator.faults.ws_drop()
        await emulator.type_message(seed.token, ChannelID(seed.channel_id), f"after drop {round_}")
        await until(lambda r=round_: copies_in(emulator, off_topic.id, f"after drop {r}"))  # type: ignore[misc]
    assert daemon.process is not None
    assert daemon.process.returncode is None  # still running: a closed socket is not the end
    daemon.signal(signal.SIGTERM)
    assert (await daemon.wait()).code == 0


async def test_a_token_revoked_while_running_ends_the_daemon_for_a_restart(mirror: MirrorSetup) -> None:
    emulator = mirror.emulator
    daemon = await mirror.start_healthy()
    [token_id] = [t.id for t in emulator.state.tokens.values() if t.token == mirror.bot_token]
    emulator.state.revoke_token(token_id)
    emulator.faults.ws_drop()  # the server closes the revoked session's socket
    result = await daemon.wait(limit=30)
    assert result.code == 1  # non-zero: systemd's Restart=on-failure starts it again
    assert len(result.error_lines) == 1, result.stderr
    assert "the bridge failed while running" in result.error_lines[0]
    assert "Traceback" not in result.stderr


async def test_sigterm_while_starting_stops_at_once_with_0(mirror: MirrorSetup) -> None:
    with socket.socket() as silent:  # accepts connections and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        mirror.write_config(url=f"http://127.0.0.1:{silent.getsockname()[1]}")
        mirror.write_registration()
        daemon = mirror.daemon
        await daemon.start(*mirror.run_args())
        await asyncio.sleep(1.5)  # long enough to be inside the start, waiting for the server
        daemon.signal(signal.SIGTERM)
        result = await daemon.wait(limit=10)
    assert result.code == 0, result.stderr
    assert result.seconds < 6
    assert "stopped while starting" in result.stderr
    assert "Traceback" not in result.stderr


async def test_the_bridge_commands_answer_through_the_daemon(mirror: MirrorSetup) -> None:
    emulator = mirror.emulator
    seed = emulator.seed
    daemon = await mirror.start_healthy()
    await emulator.type_message(seed.token, ChannelID(seed.channel_id), "counted")
    await until(lambda: copies_in(emulator, mirror.off_topic.id, "counted"))
    status = await emulator.type_message(seed.token, ChannelID(seed.channel_id), "/mirror status")
    assert "This channel is bridged to `a`" in status["text"]
    help_text = await emulator.type_message(seed.token, ChannelID(seed.channel_id), "/mirror help")
    assert "`/mirror ping`" in help_text["text"]
    daemon.signal(signal.SIGTERM)
    assert (await daemon.wait()).code == 0
