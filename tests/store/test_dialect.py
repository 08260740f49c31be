"""``$n`` -> ``?n`` rewriting for SQLite, and that SQLite binds the rewritten placeholders right."""

from __future__ import annotations

import pytest

from mmbridge.db import Database, rewrite_placeholders_for_sqlite

from .store_helpers import OWNER, Cleanup


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1", "SELECT 1"),
        ("SELECT $1", "SELECT ?1"),
        ("SELECT $1, $10, $2", "SELECT ?1, ?10, ?2"),  # $10 is not $1 followed by 0
        ("SELECT $10+$1", "SELECT ?10+?1"),
        ("VALUES ($1,$2)", "VALUES (?1,?2)"),
        ("SELECT '$1', $1", "SELECT '$1', ?1"),  # string literal
        ("SELECT 'it''s $1', $2", "SELECT 'it''s $1', ?2"),  # escaped quote inside a literal
        ('SELECT "col$1", $1 FROM t', 'SELECT "col$1", ?1 FROM t'),  # quoted identifier
        ("SELECT price$1 FROM t WHERE x = $1", "SELECT price$1 FROM t WHERE x = ?1"),  # $ in a name
        ("SELECT $1 -- not $2\n, $3", "SELECT ?1 -- not $2\n, ?3"),  # line comment
        ("SELECT /* $1 */ $2", "SELECT /* $1 */ ?2"),  # block comment
        ("SELECT $", "SELECT $"),
        ("SELECT $a", "SELECT $a"),
        ("SELECT 'unterminated $1", "SELECT 'unterminated $1"),
    ],
)
def test_rewrite(sql: str, expected: str) -> None:
    assert rewrite_placeholders_for_sqlite(sql) == expected


async def test_sqlite_binds_numbered_placeholders(cleanup: Cleanup) -> None:
    db = cleanup(Database.create("sqlite:///:memory:", upgrade_table=[], owner=OWNER))
    await db.start()
    args = [f"v{i}" for i in range(1, 12)]
    row = await db.fetchrow("SELECT $10 AS ten, $1 AS one, $11 AS eleven, $1 AS again, '$2' AS lit", *args)
    assert row is not None
    assert dict(row) == {"ten": "v10", "one": "v1", "eleven": "v11", "again": "v1", "lit": "$2"}
