"""The database layer on SQLite and PostgreSQL: queries, rows, transactions, URLs and secrets."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from mmbridge.db import (
    Connection,
    Database,
    DatabaseConnectError,
    DatabaseError,
    Scheme,
    UpgradeTable,
    redact_url,
)

from .store_helpers import OWNER, Cleanup


async def started(cleanup: Cleanup, url: str, *tables: UpgradeTable, owner: str = OWNER) -> Database:
    db = cleanup(Database.create(url, upgrade_table=list(tables), owner=owner))
    await db.start()
    return db


async def test_queries_and_rows(db_url: str, cleanup: Cleanup) -> None:
    db = await started(cleanup, db_url)
    assert db.scheme == ("sqlite" if db_url.startswith("sqlite") else "postgres")
    assert await db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n BIGINT)") == 0
    assert await db.execute("INSERT INTO item (id, name, n) VALUES ($1, $2, $3)", 1, "one", 10) == 1
    await db.executemany(
        "INSERT INTO item (id, name, n) VALUES ($1, $2, $3)", [(2, "two", 20), (3, "three", None)]
    )
    assert await db.execute("UPDATE item SET n = n + $1 WHERE n IS NOT NULL", 1) == 2

    rows = await db.fetch("SELECT id, name, n FROM item ORDER BY id")
    assert [dict(row) for row in rows] == [
        {"id": 1, "name": "one", "n": 11},
        {"id": 2, "name": "two", "n": 21},
        {"id": 3, "name": "three", "n": None},
    ]
    row = rows[0]
    assert row["name"] == "one"
    assert row.at(0) == 1
    assert list(row) == ["id", "name", "n"]
    assert "name" in row
    assert row.get("missing") is None
    assert "one" not in repr(row)  # values (tokens, say) stay out of reprs

    assert await db.fetchrow("SELECT name FROM item WHERE id = $1", 99) is None
    assert await db.fetchval("SELECT name FROM item WHERE id = $1", 99) is None
    assert await db.fetchval("SELECT id, name FROM item WHERE id = $1", 2, column=1) == "two"
    assert await db.fetch("SELECT id FROM item WHERE id > $1", 99) == []


async def test_transactions_commit_roll_back_and_nest(db_url: str, cleanup: Cleanup) -> None:
    db = await started(cleanup, db_url)
    await db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY)")

    async def insert_then_fail(conn: Connection, item: int) -> None:
        async with conn.transaction() as inner:  # a savepoint when conn is in a transaction
            await inner.execute("INSERT INTO item (id) VALUES ($1)", item)
            raise RuntimeError("undo")

    async with db.transaction() as conn:
        await conn.execute("INSERT INTO item (id) VALUES ($1)", 1)
        with pytest.raises(RuntimeError):
            await insert_then_fail(conn, 2)
        await conn.execute("INSERT INTO item (id) VALUES ($1)", 3)
    async with db.acquire() as conn:
        with pytest.raises(RuntimeError):
            await insert_then_fail(conn, 4)
    assert [row["id"] for row in await db.fetch("SELECT id FROM item ORDER BY id")] == [1, 3]


async def test_deferred_writes_commit_together_or_not_at_all(db_url: str, cleanup: Cleanup) -> None:
    """``defer`` may hold a write until the transaction's next statement or commit (SQLite does):
    the rows are there after the commit, read back inside the transaction, and a write that fails
    fails the transaction, with none of its rows kept."""
    db = await started(cleanup, db_url)
    await db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY)")
    async with db.transaction() as conn:
        await conn.defer("INSERT INTO item (id) VALUES ($1)", 1)
        await conn.defer("INSERT INTO item (id) VALUES ($1)", 2)
        assert await conn.fetchval("SELECT COUNT(*) FROM item") == 2  # held writes go first
        await conn.defer("INSERT INTO item (id) VALUES ($1)", 3)
    await db.execute("INSERT INTO item (id) VALUES ($1)", 4)  # (a commit of held writes only)

    async def taken_id_in_the_middle() -> None:
        async with db.transaction() as conn:
            await conn.defer("INSERT INTO item (id) VALUES ($1)", 5)
            await conn.defer("INSERT INTO item (id) VALUES ($1)", 1)  # taken: at once or at commit

    async def fail_before_anything_was_sent(conn: Connection, item: int) -> None:
        async with conn.transaction() as inner:  # a savepoint when conn is in a transaction
            await inner.defer("INSERT INTO item (id) VALUES ($1)", item)
            raise RuntimeError("the handler failed")

    with pytest.raises(Exception, match=r"(?i)unique"):  # the driver's own error, on both
        await taken_id_in_the_middle()
    async with db.acquire() as conn:
        with pytest.raises(RuntimeError):
            await fail_before_anything_was_sent(conn, 6)
    async with db.transaction() as conn:
        await conn.defer("INSERT INTO item (id) VALUES ($1)", 7)
        with pytest.raises(RuntimeError):
            await fail_before_anything_was_sent(conn, 8)  # a savepoint, rolled back while held
        async with conn.transaction() as inner:  # a savepoint kept while held
            await inner.defer("INSERT INTO item (id) VALUES ($1)", 9)
    async with db.acquire() as conn:
        await conn.defer("INSERT INTO item (id) VALUES ($1)", 10)  # no transaction: at once
    assert [row["id"] for row in await db.fetch("SELECT id FROM item ORDER BY id")] == [1, 2, 3, 4, 7, 9, 10]
    async with db.transaction() as conn:  # the connection is usable after all of that
        assert await conn.fetchval("SELECT COUNT(*) FROM item") == 7


async def test_concurrent_transactions_do_not_interleave(db_url: str, cleanup: Cleanup) -> None:
    db = await started(cleanup, db_url)
    await db.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    await db.execute("INSERT INTO counter (id, n) VALUES (1, 0)")

    async def increment() -> None:
        async with db.transaction() as conn:
            if conn.scheme == Scheme.POSTGRES:
                n = await conn.fetchval("SELECT n FROM counter WHERE id = 1 FOR UPDATE")
            else:
                n = await conn.fetchval("SELECT n FROM counter WHERE id = 1")
            await asyncio.sleep(0)
            await conn.execute("UPDATE counter SET n = $1 WHERE id = 1", n + 1)

    await asyncio.gather(*(increment() for _ in range(20)))
    assert await db.fetchval("SELECT n FROM counter WHERE id = 1") == 20


async def test_sqlite_refuses_the_database_inside_its_own_transaction(
    tmp_path: object, cleanup: Cleanup
) -> None:
    db = await started(cleanup, "sqlite:///:memory:")
    async with db.transaction() as conn:
        await conn.execute("SELECT 1")
        async with asyncio.timeout(2):  # (same task: asyncio.wait_for would run it in another)
            with pytest.raises(DatabaseError, match="use that block's connection"):
                await db.execute("SELECT 1")  # would deadlock otherwise


async def test_not_started_and_stop_twice(db_url: str) -> None:
    db = Database.create(db_url, upgrade_table=[], owner=OWNER)
    assert not db.is_running
    with pytest.raises(DatabaseError, match="not connected"):
        await db.fetchval("SELECT 1")
    await db.stop()
    await db.start()
    assert db.is_running
    await db.stop()
    await db.stop()
    assert not db.is_running


def test_bad_urls() -> None:
    for url in ("mysql://u:hunter2@h/db", "sqlite://", "nonsense"):
        with pytest.raises(DatabaseError) as caught:
            Database.create(url, upgrade_table=[], owner=OWNER)
        assert "hunter2" not in str(caught.value)
    with pytest.raises(ValueError, match="owner"):
        Database.create("sqlite:///:memory:", upgrade_table=[], owner="")


def test_redaction() -> None:
    assert (
        redact_url("postgres://bridge:hunter2@db:5432/mm?schema=x")
        == "postgres://bridge:***@db:5432/mm?schema=x"
    )
    assert "s3cret" not in redact_url("postgresql://db/mm?user=u&password=s3cret")
    assert redact_url("sqlite:///a.db") == "sqlite:///a.db"
    db = Database.create("postgres://bridge:hunter2@db/mm", upgrade_table=[], owner=OWNER)
    assert "hunter2" not in repr(db)
    assert "hunter2" not in db.url


async def test_connect_errors_never_show_the_password() -> None:
    # Port 1 on localhost refuses at once.
    db = Database.create("postgres://bridge:hunter2-secret@127.0.0.1:1/mm", upgrade_table=[], owner=OWNER)
    with pytest.raises(DatabaseConnectError) as caught:
        await db.start()
    assert "could not connect to postgres://bridge:***@127.0.0.1:1/mm" in str(caught.value)
    assert "hunter2-secret" not in str(caught.value)
    assert "hunter2-secret" not in repr(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


async def test_missing_schema_is_a_clear_error(db_url: str) -> None:
    if not db_url.startswith("postgres"):
        pytest.skip("schemas are PostgreSQL's")
    url = db_url.split("?")[0] + "?schema=mmbridge_no_such_schema"
    db = Database.create(url, upgrade_table=[], owner=OWNER)
    with pytest.raises(DatabaseConnectError, match="schema 'mmbridge_no_such_schema' does not exist"):
        await db.start()
    assert not db.is_running


async def test_a_new_sqlite_file_is_private_to_its_owner(tmp_path: Path, cleanup: Cleanup) -> None:
    db = cleanup(Database.create(f"sqlite:///{tmp_path / 'tokens.db'}", upgrade_table=[], owner=OWNER))
    await db.start()
    await db.execute("CREATE TABLE t (x TEXT)")
    await db.execute("INSERT INTO t VALUES ('a token')")
    for name in ("tokens.db", "tokens.db-wal"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    existing = tmp_path / "shared.db"
    existing.touch(mode=0o640)
    other = cleanup(Database.create(f"sqlite:///{existing}", upgrade_table=[], owner=OWNER))
    await other.start()
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640  # an operator's choice is kept


async def test_sqlite_sync_level_comes_from_the_url(tmp_path: Path, cleanup: Cleanup) -> None:
    """WAL with ``synchronous=normal`` unless the URL asks for ``full``; the option is not part of
    the file's name, and an unknown option or level is refused before anything is opened."""
    for query, level in (("", 1), ("?synchronous=full", 2), ("?synchronous=NORMAL", 1)):
        db = cleanup(Database.create(f"sqlite:///{tmp_path / 'b.db'}{query}", upgrade_table=[], owner=OWNER))
        await db.start()
        assert await db.fetchval("PRAGMA synchronous") == level, query
        assert str(await db.fetchval("PRAGMA journal_mode")).lower() == "wal"
        await db.stop()
    assert os.listdir(tmp_path) == ["b.db"]  # (the WAL files go at the last close)
    for query, message in (
        ("?synchronous=off", "synchronous must be normal or full"),
        ("?mode=ro", "unknown option mode"),
    ):
        with pytest.raises(DatabaseError, match=message):
            Database.create(f"sqlite:///{tmp_path / 'c.db'}{query}", upgrade_table=[], owner=OWNER)
    assert not (tmp_path / "c.db").exists()


async def test_a_write_waits_for_another_process_without_blocking_the_loop(
    tmp_path: Path, cleanup: Cleanup
) -> None:
    """Statements run on the loop's thread, but one that finds the write lock held by another
    process waits on the database's own thread: the loop goes on, the write lands once the lock
    is free, a caller that gives up leaves the connection usable, and a wait past the busy timeout
    is an error that loses nothing written before."""
    from mmbridge.db.sqlite import SQLiteDatabase
    from mmbridge.db.url import SQLiteTarget

    path = tmp_path / "shared.db"
    url = f"sqlite:///{path}"
    db = cleanup(
        SQLiteDatabase(url, SQLiteTarget(str(path)), upgrade_tables=[], owner=OWNER, busy_timeout_ms=3000)
    )
    await db.start()
    await db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY)")
    other = sqlite3.connect(path, isolation_level=None)  # another process, as far as locks go
    try:
        other.execute("BEGIN IMMEDIATE")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticking = asyncio.create_task(ticker())
        write = asyncio.create_task(db.execute("INSERT INTO item (id) VALUES (1)"))
        await asyncio.sleep(0.3)
        assert not write.done()  # waiting for the lock...
        assert ticks >= 10  # ...and not on the loop
        other.execute("COMMIT")
        assert await asyncio.wait_for(write, 3) == 1
        ticking.cancel()

        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(TimeoutError):  # a caller that gives up: the write runs on
            await asyncio.wait_for(db.execute("INSERT INTO item (id) VALUES (2)"), 0.2)
        reading = asyncio.create_task(db.fetchval("SELECT COUNT(*) FROM item"))
        await asyncio.sleep(0.1)
        assert not reading.done()  # the connection is the waiting write's until it is done
        other.execute("COMMIT")
        assert await asyncio.wait_for(reading, 3) == 2

        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            async with db.transaction() as conn:
                await conn.defer("INSERT INTO item (id) VALUES (3)")
        other.execute("ROLLBACK")
        async with db.transaction() as conn:
            await conn.defer("INSERT INTO item (id) VALUES (4)")
        assert [r["id"] for r in await db.fetch("SELECT id FROM item ORDER BY id")] == [1, 2, 4]
    finally:
        other.close()


async def test_the_write_ahead_log_is_checkpointed(tmp_path: Path, cleanup: Cleanup) -> None:
    """SQLite's own checkpoints are off (they would sync the disk on the loop's thread); the
    backend's, on its thread, keep the log from growing with every write."""
    db = cleanup(Database.create(f"sqlite:///{tmp_path / 'log.db'}", upgrade_table=[], owner=OWNER))
    await db.start()
    await db.execute("CREATE TABLE blob (id INTEGER PRIMARY KEY, data BLOB)")
    for batch in range(200):
        async with db.transaction() as conn:
            for n in range(50):
                await conn.defer("INSERT INTO blob (id, data) VALUES ($1, $2)", batch * 50 + n, b"x" * 1000)
    assert await db.fetchval("SELECT COUNT(*) FROM blob") == 10_000  # 10 MB written
    assert (tmp_path / "log.db-wal").stat().st_size < 5_000_000


async def test_a_failed_held_write_fails_its_whole_transaction(tmp_path: Path, cleanup: Cleanup) -> None:
    """A held write's error comes with a later statement; the transaction can then only be rolled
    back, even if that error is caught, so nothing commits without the write (as on PostgreSQL).
    Raised inside a savepoint for a write of the outer level, it is still the write's own error."""
    db = cleanup(Database.create(f"sqlite:///{tmp_path / 'held.db'}", upgrade_table=[], owner=OWNER))
    await db.start()
    await db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY)")
    await db.execute("INSERT INTO item (id) VALUES (1)")

    async def catch_and_go_on() -> None:
        async with db.transaction() as conn:
            await conn.defer("INSERT INTO item (id) VALUES (1)")  # taken: fails when sent
            await conn.defer("INSERT INTO item (id) VALUES (2)")
            with pytest.raises(sqlite3.IntegrityError):
                await conn.execute("INSERT INTO item (id) VALUES (3)")
            with pytest.raises(DatabaseError, match="can only be rolled back"):
                await conn.execute("INSERT INTO item (id) VALUES (4)")

    with pytest.raises(DatabaseError, match="cannot commit"):
        await catch_and_go_on()

    async def outer_write_fails_inside_a_savepoint() -> None:
        async with db.transaction() as conn:
            await conn.defer("INSERT INTO item (id) VALUES (1)")  # the outer level's
            with pytest.raises(sqlite3.IntegrityError):
                async with conn.transaction() as inner:
                    await inner.execute("INSERT INTO item (id) VALUES (5)")

    with pytest.raises(DatabaseError, match="cannot commit"):
        await outer_write_fails_inside_a_savepoint()
    assert [r["id"] for r in await db.fetch("SELECT id FROM item")] == [1]  # nothing else
    async with db.transaction() as conn:  # and the connection is sound
        await conn.defer("INSERT INTO item (id) VALUES (6)")
    assert await db.fetchval("SELECT COUNT(*) FROM item") == 2


async def test_a_holder_cancelled_twice_never_undoes_the_next_holders_write(
    tmp_path: Path, cleanup: Cleanup
) -> None:
    """A transaction cancelled while its write waits for another process's lock, and cancelled
    again while it rolls back: the next task gets the connection only once that is over, so its
    own write is neither undone nor run inside the cancelled transaction."""
    from mmbridge.db.sqlite import SQLiteDatabase
    from mmbridge.db.url import SQLiteTarget

    path = tmp_path / "twice.db"
    db = cleanup(SQLiteDatabase(f"sqlite:///{path}", SQLiteTarget(str(path)), upgrade_tables=[], owner=OWNER))
    await db.start()
    await db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY)")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")

        async def first() -> None:
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO item (id) VALUES (10)")

        task = asyncio.create_task(first())
        await asyncio.sleep(0.2)  # waiting for the lock on the database's thread
        task.cancel()
        await asyncio.sleep(0.05)
        task.cancel()  # and again, while it rolls back
        with pytest.raises(asyncio.CancelledError):
            await task
        second = asyncio.create_task(db.execute("INSERT INTO item (id) VALUES (20)"))
        await asyncio.sleep(0.1)
        other.execute("COMMIT")
        assert await asyncio.wait_for(second, 5) == 1
        assert [r["id"] for r in await db.fetch("SELECT id FROM item")] == [20]
    finally:
        other.close()
