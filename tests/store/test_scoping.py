"""Several bridges in one database: every row is scoped by bridge id, a bridge id is bound to one
server, and a database made before scoping keeps its data."""

from __future__ import annotations

import pytest

from mmbridge.appservice.store import (
    UPGRADE_TABLE_NAME,
    PuppetRecord,
    SQLStateStore,
    appservice_upgrade_table,
    create_state_store,
)
from mmbridge.db import Database, ServerMismatchError, UpgradeTable

from .store_helpers import OWNER, Cleanup

USER = "u" * 26


def _record(username: str, token: str) -> PuppetRecord:
    return PuppetRecord(user_id=USER, username=username, token=token)


async def test_two_bridges_share_a_database_without_meeting(db_url: str, cleanup: Cleanup) -> None:
    left = cleanup(create_state_store(db_url, owner=OWNER, bridge_id="left"))
    right = cleanup(create_state_store(db_url, owner=OWNER, bridge_id="right"))
    await left.start()
    await right.start()
    await left.bind_server("https://a.example")  # type: ignore[attr-defined]
    await right.bind_server("https://b.example")  # type: ignore[attr-defined]

    # The same user id and username on both sides (two servers may well have them).
    await left.put_puppet(_record("link_alice", "left-token"))
    await right.put_puppet(_record("link_alice", "right-token"))
    assert (await left.get_puppet(USER)).token == "left-token"  # type: ignore[union-attr]
    assert (await right.get_puppet_by_username("link_alice")).token == "right-token"  # type: ignore[union-attr]

    await left.set_channel_member("chan", USER, True)
    await left.set_team_member("team", USER, True)
    assert not await right.is_channel_member("chan", USER)
    assert not await right.is_team_member("team", USER)
    await right.forget_user_memberships(USER)
    assert await left.is_channel_member("chan", USER)

    await left.set_value("mmbridge.tokens.webhook", "hook=left")
    assert await right.get_value("mmbridge.tokens.webhook") is None
    await left.put_real_user(USER, "real-left")
    assert await right.get_real_user_token(USER) is None

    # Each bridge has its own counter: both start at 1 and never move each other.
    assert await left.reserve_txn_ids(10) == 1
    assert await right.reserve_txn_ids(1) == 1
    assert await left.reserve_txn_ids(1) == 11

    await right.delete_puppet(USER)
    assert await left.get_puppet(USER) is not None


async def test_a_bridge_id_is_bound_to_its_server(db_url: str, cleanup: Cleanup) -> None:
    first = cleanup(SQLStateStore(Database.create(db_url, upgrade_table=[], owner=OWNER), bridge_id="irc"))
    await first.start()
    await first.bind_server("https://a.example/")
    await first.put_puppet(_record("irc_alice", "tok"))
    await first.stop()

    again = cleanup(SQLStateStore(Database.create(db_url, upgrade_table=[], owner=OWNER), bridge_id="irc"))
    await again.start()
    await again.bind_server("HTTPS://A.example:443")  # the same server, written another way
    assert await again.get_puppet(USER) is not None
    with pytest.raises(
        ServerMismatchError, match=r"'irc' belongs to the Mattermost server https://a\.example"
    ):
        await again.bind_server("https://b.example")
    other_id = cleanup(
        SQLStateStore(Database.create(db_url, upgrade_table=[], owner=OWNER), bridge_id="irc-b")
    )
    await other_id.start()
    await other_id.bind_server("https://b.example")  # another id may serve another server


async def test_rows_from_before_scoping_are_kept_by_the_first_bridge(db_url: str, cleanup: Cleanup) -> None:
    # A database at schema version 1 (unscoped), as an earlier mmbridge left it.
    version_1 = UpgradeTable(UPGRADE_TABLE_NAME)
    first_step = appservice_upgrade_table().upgrades[0]
    version_1.register(description=first_step.description)(first_step.func)
    old = cleanup(Database.create(db_url, upgrade_table=version_1, owner=OWNER))
    await old.start()
    await old.execute(
        "INSERT INTO mmbridge_puppet (user_id, username, token) VALUES ($1, 'mirror_bob', 'old-token')", USER
    )
    await old.execute("INSERT INTO mmbridge_channel_member (channel_id, user_id) VALUES ('chan', $1)", USER)
    await old.execute("INSERT INTO mmbridge_kv (name, value) VALUES ('k', 'v')")
    await old.execute("UPDATE mmbridge_txn_counter SET next_id = 500")
    await old.stop()

    db = cleanup(Database.create(db_url, upgrade_table=appservice_upgrade_table(), owner=OWNER))
    store = SQLStateStore(db, bridge_id="mirror")
    await store.start()
    assert (await store.get_puppet(USER)) == _record("mirror_bob", "old-token")
    assert await store.is_channel_member("chan", USER)
    assert await store.get_value("k") == "v"
    assert await store.reserve_txn_ids(1) == 500  # the counter never goes back

    newcomer = SQLStateStore(db, bridge_id="second")
    await newcomer.start()
    assert await newcomer.get_puppet(USER) is None
    assert await newcomer.get_value("k") is None
    assert await newcomer.reserve_txn_ids(1) == 1
