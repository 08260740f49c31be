"""``make demo-link``: the Mattermost link's demo passes every step between two emulators."""

from __future__ import annotations

from pathlib import Path

from examples.mattermost_link.demo import run


async def test_the_link_demo_passes_every_step_and_prints_both_sides(tmp_path: Path) -> None:
    lines: list[str] = []
    await run(out=lines.append, workdir=tmp_path)
    checks = [line for line in lines if line.startswith("  ok  ")]
    assert len(checks) == 12
    assert any("what bea said meanwhile arrives, once each" in line for line in checks)
    header = next(line for line in lines if line.startswith("here: ~bridge-test"))
    rows = lines[lines.index(header) + 2 :]
    assert any(row.startswith("bea_link: said while the link was down (3)") for row in rows)
    assert any(row.endswith("| bea: said while the link was down (3)") for row in rows)
