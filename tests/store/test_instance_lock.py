"""The instance lock: one process per bridge id and database, released however the holder ends."""

from __future__ import annotations

import asyncio
import sys

import pytest

from mmbridge.db import Database, DatabaseLockedError

from .store_helpers import OWNER, Cleanup

HOLD = """
import asyncio, sys
from mmbridge.db import Database

async def main():
    db = Database.create(sys.argv[1], upgrade_table=[], owner="{owner}")
    await db.start()
    async with db.instance_lock("irc"):
        print("locked", flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_a_second_holder_is_refused_until_the_first_lets_go(db_url: str, cleanup: Cleanup) -> None:
    first = cleanup(Database.create(db_url, upgrade_table=[], owner=OWNER))
    second = cleanup(Database.create(db_url, upgrade_table=[], owner=OWNER))
    await first.start()
    await second.start()
    async with first.instance_lock("irc"):
        with pytest.raises(DatabaseLockedError, match=r"another process .* is running bridge .irc."):
            async with second.instance_lock("irc"):
                pass
        async with second.instance_lock("xmpp"):  # another bridge id is another lock
            pass
    async with second.instance_lock("irc"):
        pass


async def test_the_lock_dies_with_a_killed_process(db_url: str, cleanup: Cleanup) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD.format(owner=OWNER), db_url, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 15) == b"locked\n"
        db = cleanup(Database.create(db_url, upgrade_table=[], owner=OWNER))
        await db.start()
        with pytest.raises(DatabaseLockedError):
            async with db.instance_lock("irc"):
                pass
        holder.kill()
        await holder.wait()
        async with asyncio.timeout(10):  # PostgreSQL notices the closed connection at once on loopback
            while True:
                try:
                    async with db.instance_lock("irc"):
                        break
                except DatabaseLockedError:
                    await asyncio.sleep(0.05)
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()


async def test_the_lock_takes_no_connection_of_the_pool(db_url: str, cleanup: Cleanup) -> None:
    if not db_url.startswith("postgres"):
        pytest.skip("SQLite has no pool")
    db = cleanup(Database.create(f"{db_url}&max_size=1", upgrade_table=[], owner=OWNER))
    await db.start()
    async with db.instance_lock("irc"):
        assert await asyncio.wait_for(db.fetchval("SELECT 1"), 5) == 1  # the one pooled connection is free
