"""The other ``mmbridge`` commands, as a new user runs them: generate-config, generate-registration,
check-config, --version."""

from __future__ import annotations

import json
import logging
import logging.config
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mmbridge.bridge import load_config, load_registration
from mmbridge.bridge.errors import CommandError, ConfigInvalidError
from mmbridge.bridge.logs import configure_logging

from .conftest import MirrorSetup

MIRROR = "examples.mirror:MirrorBridge"
MINIMAL = """\
mattermost: {url: "https://chat.example.com", token: t, team: ops}
appservice: {id: irc}
puppets: {username_template: "irc_{localpart}"}
"""


async def test_version(mirror: MirrorSetup) -> None:
    result = await mirror.daemon.run("--version")
    assert result.code == 0
    assert result.stdout.startswith("mmbridge ")


async def test_from_nothing_to_a_checked_config_and_registration(mirror: MirrorSetup, tmp_path: Path) -> None:
    config = tmp_path / "new.yaml"
    made = await mirror.daemon.run("generate-config", "--bridge", MIRROR, "-o", str(config))
    assert made.code == 0, made.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # it will hold a token
    assert "  id: mirror\n" in config.read_text()
    assert f'bridge: "{MIRROR}"\n' in config.read_text()  # the bridge it was generated for
    again = await mirror.daemon.run("generate-config", "--bridge", MIRROR, "-o", str(config))
    assert again.code == CommandError.exit_code
    assert "exists; give --force" in again.stderr

    # As generated, it still lacks what only the user knows.
    unchecked = await mirror.daemon.run("check-config", "-c", str(config), "--bridge", MIRROR)
    assert unchecked.code == ConfigInvalidError.exit_code
    assert any("mattermost.token: is empty" in line for line in unchecked.error_lines)
    assert any("mirror.channel_a: is empty" in line for line in unchecked.error_lines)

    text = config.read_text()
    for key, value in {
        "  url: http://localhost:8065": f"  url: {mirror.emulator.url}",
        'token: ""': "token: ${BOT_TOKEN}",
        'team: ""': "team: test-team",
        'channel_a: ""': "channel_a: bridge-test",
        'channel_b: ""': "channel_b: off-topic",
    }.items():
        text = text.replace(key, value, 1)
    config.write_text(text.replace('bridge: ""', f"bridge: {MIRROR}", 1))
    env = {"BOT_TOKEN": mirror.bot_token}
    checked = await mirror.daemon.run("check-config", "-c", str(config), env=env)
    assert checked.code == 0, checked.stderr
    assert "OK (bridge 'mirror', MirrorBridge)" in checked.stdout

    registration = tmp_path / "reg.yaml"
    written = await mirror.daemon.run(
        "generate-registration", "-c", str(config), "-r", str(registration), env=env
    )
    assert written.code == 0, written.stderr
    assert "system_admin role" in written.stdout
    assert "ServiceSettings.EnableUserAccessTokens" in written.stdout
    assert stat.S_IMODE(registration.stat().st_mode) == 0o600
    loaded = load_registration(registration)
    assert (loaded.id, loaded.username_template, loaded.bridge) == ("mirror", "mirror_{localpart}", MIRROR)
    assert loaded.action_secret
    refused = await mirror.daemon.run(
        "generate-registration", "-c", str(config), "-r", str(registration), env=env
    )
    assert refused.code == CommandError.exit_code  # its secrets are never replaced by accident
    assert "exists; give --force" in refused.stderr


async def test_check_config_lists_every_problem_and_never_a_secret(mirror: MirrorSetup) -> None:
    secret = "s3cr3t-t0ken-never-shown"
    text = mirror.config.read_text().replace(f"token: {mirror.bot_token}", "token: ${BOT_TOKEN}")
    text = text.replace("port: ", "port: -").replace("id: mirror", "id: Mirror!")
    mirror.config.write_text(text)
    result = await mirror.daemon.run("check-config", "-c", str(mirror.config), env={"BOT_TOKEN": secret})
    assert result.code == ConfigInvalidError.exit_code
    assert len(result.error_lines) == 2, result.stderr
    assert "appservice.id: must be 1-32 lower-case letters" in result.error_lines[0]
    assert "appservice.port: must be a port number" in result.error_lines[1]
    assert secret not in result.stdout + result.stderr
    # Unlike run, check-config changes nothing.
    assert mirror.config.read_text() == text
    assert not list(mirror.workdir.glob("config.yaml.*.bak"))


async def test_run_never_logs_the_token_even_at_debug(mirror: MirrorSetup) -> None:
    daemon = await mirror.start_healthy("--debug")
    await mirror.emulator.type_message(mirror.emulator.seed.token, mirror.emulator.seed.channel_id, "hello")
    daemon.signal(signal.SIGTERM)
    result = await daemon.wait()
    assert result.code == 0
    assert "DEBUG" in result.stderr
    assert mirror.bot_token not in result.stderr + result.stdout


def test_the_registration_example_is_a_valid_registration() -> None:
    example = load_registration(Path(__file__).parents[2] / "registration.yaml.example")
    assert example.id == "irc"
    assert example.receiver_url.startswith("https://")


async def test_an_installed_bridge_is_found_by_its_entry_point(mirror: MirrorSetup, tmp_path: Path) -> None:
    site = tmp_path / "site"
    dist = site / "mmbridge_fake-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mmbridge-fake\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[mmbridge.bridges]\nfake-mirror = {MIRROR}\n")
    env = {"PYTHONPATH": str(site)}
    named = await mirror.daemon.run("generate-config", "--bridge", "fake-mirror", env=env)
    assert named.code == 0, named.stderr
    assert "channel_a" in named.stdout
    assert 'bridge: "fake-mirror"' in named.stdout
    only = await mirror.daemon.run("generate-config", env=env)  # the one installed bridge
    assert only.stdout == named.stdout
    unknown = await mirror.daemon.run("generate-config", "--bridge", "nope", env=env)
    assert unknown.code == 13
    assert "no bridge named 'nope' (installed: fake-mirror" in unknown.stderr


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "mmbridge"
    result = subprocess.run(  # noqa: S603 - our own installed script
        [str(script), "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    assert result.returncode == 0
    assert result.stdout.startswith("mmbridge ")


def test_json_logging_writes_one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config("config.yaml", text=MINIMAL, env={}).core.logging  # the base's dictConfig
    config["handlers"]["console"]["formatter"] = "json"
    config["handlers"]["console"]["stream"] = "ext://sys.stdout"
    configure_logging(config)
    try:
        logging.getLogger("mmbridge.test").warning("hello %s", "world")
        line = capsys.readouterr().out.strip().splitlines()[-1]
        entry = json.loads(line)
        assert (entry["level"], entry["logger"], entry["message"]) == (
            "WARNING",
            "mmbridge.test",
            "hello world",
        )
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})


async def test_config_reference_documents_every_key_of_the_bridge(mirror: MirrorSetup) -> None:
    """``mmbridge config-reference``: mmbridge's keys and the bridge's own section as Markdown, for a
    bridge's docs; ``--section-only`` leaves mmbridge's keys out."""
    full = await mirror.daemon.run("config-reference", "--bridge", MIRROR)
    assert full.code == 0, full.stderr
    headings = [line for line in full.stdout.splitlines() if line.startswith("## ")]
    assert headings[:2] == ["## `bridge` { #bridge }", "## `mattermost` { #mattermost }"]
    assert headings[-1] == "## `mirror` { #mirror }"
    assert "### `mirror.channel_a` { #mirror-channel_a }" in full.stdout
    assert (
        "| [`puppets.username_template`](#puppets-username_template) | `mirror_{localpart}` |" in full.stdout
    )
    own = await mirror.daemon.run("config-reference", "--bridge", MIRROR, "--section-only")
    assert own.code == 0, own.stderr
    assert own.stdout.startswith("Defaults MirrorBridge changes:")
    assert "{ #mattermost }" not in own.stdout
    assert own.stdout in full.stdout
    unknown = await mirror.daemon.run("config-reference", "--bridge", "nope:Bridge")
    assert unknown.code == 13
    assert unknown.stdout == ""
