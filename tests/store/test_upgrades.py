"""Schema upgrades: versions, refusing a newer schema, rolling back a failed step, the owner check."""

from __future__ import annotations

import asyncio
import re

import pytest

from mmbridge.appservice.store import (
    UPGRADE_TABLE_NAME,
    SQLStateStore,
    appservice_upgrade_table,
    create_state_store,
)
from mmbridge.db import (
    Connection,
    Database,
    OwnerMismatchError,
    SchemaTooNewError,
    Scheme,
    UpgradeError,
    UpgradeTable,
)

from .store_helpers import OWNER, Cleanup


async def table_names(db: Database) -> set[str]:
    if db.scheme == Scheme.SQLITE:
        rows = await db.fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row["name"] for row in rows}
    rows = await db.fetch(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
    )
    return {row["name"] for row in rows}


async def version_of(db: Database, name: str) -> int | None:
    value = await db.fetchval("SELECT version FROM mmbridge_version WHERE name = $1", name)
    return None if value is None else int(value)


def bridge_table(*, steps: int = 2, fail_at: int | None = None) -> UpgradeTable:
    """A test-only table: step k creates table ``bridge_k``; step ``fail_at`` creates it and then fails."""
    table = UpgradeTable("test_bridge")

    def make_step(k: int) -> None:
        @table.register(description=f"create bridge_{k}")
        async def step(conn: Connection, scheme: Scheme) -> None:
            assert scheme in ("sqlite", "postgres")
            await conn.execute(f"CREATE TABLE bridge_{k} (id INTEGER PRIMARY KEY)")
            await conn.execute(f"INSERT INTO bridge_{k} (id) VALUES (1)")  # noqa: S608
            if k == fail_at:
                await conn.execute("INSERT INTO no_such_table (id) VALUES (1)")

    for k in range(1, steps + 1):
        make_step(k)
    return table


async def raw_database(cleanup: Cleanup, url: str) -> Database:
    """The database connected without running any upgrade, to look at or tamper with it."""
    db = cleanup(Database.create(url, upgrade_table=[], owner=OWNER))
    await db.connect()
    return db


async def test_fresh_database_gets_the_latest_version(db_url: str, cleanup: Cleanup) -> None:
    store = cleanup(create_state_store(db_url, owner=OWNER, bridge_id="tests"))
    await store.start()
    raw = await raw_database(cleanup, db_url)
    assert await version_of(raw, UPGRADE_TABLE_NAME) == appservice_upgrade_table().latest_version >= 1
    assert await raw.fetchval("SELECT owner FROM mmbridge_owner") == OWNER
    assert {"mmbridge_puppet", "mmbridge_txn_counter", "mmbridge_version"} <= await table_names(raw)
    await store.stop()
    await store.start()  # a second start finds nothing to do
    assert await version_of(raw, UPGRADE_TABLE_NAME) == appservice_upgrade_table().latest_version


async def test_newer_schema_is_refused_and_left_untouched(db_url: str, cleanup: Cleanup) -> None:
    raw = await raw_database(cleanup, db_url)
    await raw.execute("CREATE TABLE mmbridge_version (name TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    await raw.execute("INSERT INTO mmbridge_version (name, version) VALUES ($1, 99)", UPGRADE_TABLE_NAME)
    before = await table_names(raw)

    store = cleanup(create_state_store(db_url, owner=OWNER, bridge_id="tests"))
    latest = appservice_upgrade_table().latest_version
    message = f"database schema version 99 is newer than this mmbridge knows ({latest}); refusing to start"
    with pytest.raises(SchemaTooNewError, match=re.escape(message)) as caught:
        await store.start()
    assert (caught.value.version, caught.value.latest, caught.value.table) == (99, latest, UPGRADE_TABLE_NAME)
    assert await table_names(raw) == before == {"mmbridge_version"}  # not even the owner table
    assert await version_of(raw, UPGRADE_TABLE_NAME) == 99
    assert isinstance(store, SQLStateStore)
    assert not store.db.is_running  # a refused start leaves nothing open


async def test_failing_upgrade_rolls_back_that_step(db_url: str, cleanup: Cleanup) -> None:
    db = cleanup(Database.create(db_url, upgrade_table=bridge_table(steps=3, fail_at=2), owner=OWNER))
    with pytest.raises(UpgradeError) as caught:
        await db.start()
    error = caught.value
    assert (error.table, error.version, error.description) == ("test_bridge", 2, "create bridge_2")
    assert "to version 2 (create bridge_2) failed" in str(error)
    assert "stays at version 1" in str(error)
    assert error.__cause__ is not None
    assert not db.is_running

    raw = await raw_database(cleanup, db_url)
    assert await version_of(raw, "test_bridge") == 1
    tables = await table_names(raw)
    assert "bridge_1" in tables
    assert "bridge_2" not in tables  # created, then rolled back with the failed step
    assert "bridge_3" not in tables

    fixed = cleanup(Database.create(db_url, upgrade_table=bridge_table(steps=3), owner=OWNER))
    await fixed.start()  # the fixed code carries on from version 1
    assert await version_of(raw, "test_bridge") == 3
    assert {"bridge_1", "bridge_2", "bridge_3"} <= await table_names(raw)


async def test_owner_check(db_url: str, cleanup: Cleanup) -> None:
    first = cleanup(create_state_store(db_url, owner="mmbridge-irc", bridge_id="tests"))
    await first.start()
    await first.stop()
    intruder = cleanup(create_state_store(db_url, owner="mmbridge-xmpp", bridge_id="tests"))
    with pytest.raises(OwnerMismatchError, match=r"belongs to 'mmbridge-irc', not 'mmbridge-xmpp'") as caught:
        await intruder.start()
    assert (caught.value.stored_owner, caught.value.owner) == ("mmbridge-irc", "mmbridge-xmpp")
    again = cleanup(create_state_store(db_url, owner="mmbridge-irc", bridge_id="tests"))
    await again.start()


async def test_independent_tables_share_one_database(db_url: str, cleanup: Cleanup) -> None:
    db = cleanup(Database.create(db_url, upgrade_table=bridge_table(steps=1), owner=OWNER))
    await db.start()
    store = SQLStateStore(db, bridge_id="tests")  # the bridge's database, shared with the appservice store
    await store.start()
    await store.set_value("k", "v")
    await store.stop()
    assert db.is_running  # the store did not open it, so it does not close it
    assert await version_of(db, "test_bridge") == 1
    assert await version_of(db, UPGRADE_TABLE_NAME) == appservice_upgrade_table().latest_version
    await db.stop()

    newer = cleanup(Database.create(db_url, upgrade_table=bridge_table(steps=2), owner=OWNER))
    await newer.start()  # only the bridge's table moves on
    assert await version_of(newer, "test_bridge") == 2
    assert await version_of(newer, UPGRADE_TABLE_NAME) == appservice_upgrade_table().latest_version


async def test_concurrent_start_ups_upgrade_once(db_url: str, cleanup: Cleanup) -> None:
    # Each step would fail if run twice (CREATE TABLE without IF NOT EXISTS).
    dbs = [
        cleanup(Database.create(db_url, upgrade_table=bridge_table(steps=3), owner=OWNER)) for _ in range(3)
    ]
    await asyncio.gather(*(db.start() for db in dbs))
    assert await version_of(dbs[0], "test_bridge") == 3
    assert await dbs[0].fetchval("SELECT COUNT(*) FROM bridge_3") == 1


def test_upgrade_table_registration() -> None:
    table = bridge_table(steps=2)
    assert table.latest_version == 2
    assert [(u.version, u.description) for u in table.upgrades] == [
        (1, "create bridge_1"),
        (2, "create bridge_2"),
    ]
    assert "latest_version=2" in repr(table)
    with pytest.raises(ValueError, match="name"):
        UpgradeTable("")
    with pytest.raises(ValueError, match="description"):
        table.register(description=" ")
    with pytest.raises(ValueError, match="share a name"):
        Database.create("sqlite:///:memory:", upgrade_table=[table, bridge_table()], owner=OWNER)
