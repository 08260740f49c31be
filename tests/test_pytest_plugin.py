"""The pytest plugin's fixtures, as a bridge author's own tests use them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from mmbridge.api import ClientAPI
from mmbridge.testing.emulator import Emulator


async def test_mm_client_acts_as_the_seeded_bot(emulator: Emulator, mm_client: ClientAPI) -> None:
    me = await mm_client.users.me()
    assert me.id == emulator.seed.bot_user_id
    assert me.is_bot


async def test_mm_client_for_any_token(emulator: Emulator, mm_client_for: Callable[[str], ClientAPI]) -> None:
    alice = mm_client_for(emulator.seed.token)
    post = await alice.posts.create(emulator.seed.channel_id, "from a plugin fixture")
    assert post.user_id == emulator.seed.user_id


def _doc_block(text: str, language: str, after: str) -> str:
    section = text[text.index(after) :]
    start = section.index(f"```{language}\n") + len(language) + 4
    return section[start : section.index("```", start)]


def _run_pytest(workdir: Path, *args: str, code: str, extra_path: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    result = subprocess.run(  # noqa: S603 - our own interpreter on our own files
        [sys.executable, "-c", code, "-q", "-p", "no:cacheprovider", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    return f"exit {result.returncode}\n{result.stdout}{result.stderr}"


def test_the_documented_example_passes_as_written(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[1] / "docs" / "testing.md").read_text()
    (tmp_path / "pyproject.toml").write_text(_doc_block(doc, "toml", "## In pytest"))
    (tmp_path / "test_example.py").write_text(_doc_block(doc, "python", "## In pytest"))
    output = _run_pytest(tmp_path, code="import sys, pytest; sys.exit(pytest.main(sys.argv[1:]))")
    assert output.startswith("exit 0"), output
    assert "2 passed" in output


def test_without_pytest_asyncio_other_tests_still_run(tmp_path: Path) -> None:
    (tmp_path / "test_mixed.py").write_text(
        "def test_plain():\n    assert 1 + 1 == 2\n\n\ndef test_wants_the_emulator(emulator):\n    pass\n"
    )
    shadow = tmp_path / "shadow" / "pytest_asyncio"  # an environment without pytest-asyncio
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'pytest_asyncio'\")\n")
    output = _run_pytest(
        tmp_path,
        "-p",
        "no:asyncio",
        "test_mixed.py",
        extra_path=shadow.parent,
        code="import sys, pytest; sys.exit(pytest.main(sys.argv[1:]))",
    )
    assert "1 passed" in output, output
    assert "1 error" in output
    assert "the mmbridge fixtures need pytest-asyncio: pip install 'mmbridge[testing]'" in output
