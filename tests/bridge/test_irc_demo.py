"""``make demo``: the IRC demo runs every step against a real IRC server and exits cleanly."""

from __future__ import annotations

from pathlib import Path

from examples.irc.demo import run


async def test_the_irc_demo_passes_every_step_and_prints_both_sides(tmp_path: Path) -> None:
    lines: list[str] = []
    await run(out=lines.append, workdir=tmp_path)
    checks = [line for line in lines if line.startswith("  ok  ")]
    assert len(checks) == 22
    assert any("nothing doubled, nothing echoed back" in line for line in checks)
    header = next(line for line in lines if line.startswith("IRC #demo"))
    assert header.endswith("| Mattermost ~bridge-test")
    rows = lines[lines.index(header) + 2 :]
    assert any(row.startswith("<bob> Hello from IRC!") for row in rows)  # the left column: IRC
    assert any("| irc_bob (robert): Hello from **IRC**!" in row for row in rows)  # the right: Mattermost
    assert (tmp_path / "irc.db").exists()
