"""A seeded emulator gives the same ids and tokens on every start; its command line writes a
ready bridge config."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from examples.mirror import MirrorBridge
from mmbridge.testing.emulator import Emulator, EmulatorSettings

REPO = Path(__file__).resolve().parents[2]


async def emulator_process(*args: str, stderr: int | None = None) -> asyncio.subprocess.Process:
    """``python -m mmbridge.testing.emulator ARGS``, its standard output piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mmbridge.testing.emulator",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
    )


def test_the_same_seed_gives_the_same_accounts_and_tokens() -> None:
    first, second = Emulator(EmulatorSettings(seed=7)), Emulator(EmulatorSettings(seed=7))
    assert first.seed == second.seed
    assert first.create_bridge_bot() == second.create_bridge_bot()
    other = Emulator(EmulatorSettings(seed=8))
    assert other.seed.bot_token != first.seed.bot_token
    unseeded = Emulator(), Emulator()
    assert unseeded[0].seed.token != unseeded[1].seed.token


def test_the_mirror_example_config_holds_the_default_seed_bridge_bot_token() -> None:
    _, token = Emulator(EmulatorSettings(seed=1)).create_bridge_bot()  # what `make emulator` makes
    config = MirrorBridge.load_config(REPO / "examples" / "mirror" / "config.yaml", env={})
    assert config.core.mattermost.token.reveal() == token
    assert str(config.core.mattermost.url) == "http://127.0.0.1:8065"


async def test_print_config_writes_a_config_that_checks(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    emulator = await emulator_process("--port", "0", "--print-config", str(config))
    try:
        assert emulator.stdout is not None
        banner = (
            await asyncio.wait_for(emulator.stdout.readuntil(b"(system admin bot, for bridges)"), 15)
        ).decode()
        assert "wrote" in banner
        assert "mmbridge-bot" in banner
        check = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "mmbridge",
            "check-config",
            "-c",
            str(config),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,
        )
        output = (await asyncio.wait_for(check.communicate(), 15))[0].decode()
        assert check.returncode == 0, output
        assert "OK (bridge 'mybridge', Bridge)" in output
    finally:
        emulator.terminate()
        await emulator.wait()


async def test_a_taken_port_is_one_clear_line_and_exit_1() -> None:
    taken = Emulator(EmulatorSettings())
    await taken.start("127.0.0.1", 0)
    try:
        port = taken.url.port
        emulator = await emulator_process("--port", str(port), stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(emulator.communicate(), 15)
    finally:
        await taken.stop()
    assert emulator.returncode == 1
    assert err.decode().strip().splitlines() == [f"cannot listen on 127.0.0.1:{port}: address already in use"]
    assert out == b""
