"""The mirror example bridge runs its whole scenario on the emulator: what ``make demo`` shows."""

from __future__ import annotations

from pathlib import Path

from examples.mirror.demo import run


async def test_the_mirror_demo_passes_every_step(tmp_path: Path) -> None:
    lines: list[str] = []
    await run(out=lines.append, database_dir=tmp_path)
    checks = [line for line in lines if line.startswith("  ok  ")]
    assert len(checks) == 11
    assert any("no echo loops: 5 posts, 5 copies" in line for line in checks)
    assert (tmp_path / "mirror.db").exists()  # puppets and the message map were kept in SQLite
