"""The state store contract, run against memory, SQLite and PostgreSQL (the ``store`` fixture)."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3

import pytest

from mmbridge.appservice.store import (
    MemoryStateStore,
    PuppetRecord,
    SQLStateStore,
    StateStore,
    create_state_store,
)

from .store_helpers import OWNER, Cleanup

ALICE = PuppetRecord(
    user_id="u" * 26, username="irc_alice", token="tok-alice-secret", token_id="t1", display_name_hash="dn1"
)


def assert_disjoint(blocks: list[tuple[int, int]]) -> None:
    """No two ``(start, count)`` blocks share an id."""
    ordered = sorted(blocks)
    for (start, count), (next_start, _) in itertools.pairwise(ordered):
        assert start + count <= next_start, f"blocks overlap: {ordered}"


async def test_is_healthy(store: StateStore) -> None:
    assert await store.is_healthy()


async def test_factory_picks_the_backend(store_url: str | None, store: StateStore) -> None:
    assert isinstance(store, MemoryStateStore if store_url is None else SQLStateStore)
    assert isinstance(create_state_store("memory://", OWNER, bridge_id="tests"), MemoryStateStore)


async def test_puppet_round_trip_and_replace(store: StateStore) -> None:
    assert await store.get_puppet(ALICE.user_id) is None
    assert await store.get_puppet_by_username(ALICE.username) is None
    await store.put_puppet(ALICE)
    assert await store.get_puppet(ALICE.user_id) == ALICE
    assert await store.get_puppet_by_username(ALICE.username) == ALICE

    renamed = PuppetRecord(user_id=ALICE.user_id, username="irc_alice2", token="tok-new", token_id="t2")
    await store.put_puppet(renamed)
    assert await store.get_puppet(ALICE.user_id) == renamed
    assert await store.get_puppet_by_username("irc_alice2") == renamed
    assert await store.get_puppet_by_username("irc_alice") is None  # the old name is free again


async def test_a_username_belongs_to_one_puppet(store: StateStore) -> None:
    await store.put_puppet(ALICE)
    successor = PuppetRecord(user_id="v" * 26, username=ALICE.username, token="tok-v")
    await store.put_puppet(successor)  # the old account was deleted and the name reused
    assert await store.get_puppet_by_username(ALICE.username) == successor
    assert await store.get_puppet(ALICE.user_id) is None


async def test_puppet_profile_and_delete(store: StateStore) -> None:
    await store.put_puppet(ALICE)
    await store.set_puppet_profile(ALICE.user_id, avatar_hash="av1")
    record = await store.get_puppet(ALICE.user_id)
    assert record is not None
    assert (record.display_name_hash, record.avatar_hash, record.token) == ("dn1", "av1", ALICE.token)
    await store.set_puppet_profile(ALICE.user_id, display_name_hash="dn2")
    record = await store.get_puppet(ALICE.user_id)
    assert record is not None
    assert (record.display_name_hash, record.avatar_hash) == ("dn2", "av1")
    await store.set_puppet_profile("nobody", display_name_hash="x")  # unknown puppet: no-op
    assert await store.get_puppet("nobody") is None

    await store.delete_puppet(ALICE.user_id)
    assert await store.get_puppet(ALICE.user_id) is None
    assert await store.get_puppet_by_username(ALICE.username) is None
    await store.delete_puppet(ALICE.user_id)  # twice is fine


async def test_tokens_stay_out_of_reprs(store: StateStore) -> None:
    await store.put_puppet(ALICE)
    await store.put_real_user("r" * 26, "tok-real-secret")
    record = await store.get_puppet(ALICE.user_id)
    texts = [repr(ALICE), str(ALICE), repr(record), repr(store)]
    for text in texts:
        assert "tok-alice-secret" not in text
        assert "tok-real-secret" not in text
    assert "irc_alice" in repr(ALICE)


async def test_memberships(store: StateStore) -> None:
    user, other = "a" * 26, "b" * 26
    assert not await store.is_team_member("team1", user)
    await store.set_team_member("team1", user, True)
    await store.set_team_member("team1", user, True)  # idempotent
    await store.set_team_member("team2", other, True)
    await store.set_channel_member("chan1", user, True)
    await store.set_channel_member("chan2", user, True)
    await store.set_channel_member("chan1", other, True)
    assert await store.is_team_member("team1", user)
    assert not await store.is_team_member("team2", user)
    assert not await store.is_channel_member("team1", user)  # teams and channels are separate
    assert await store.is_channel_member("chan1", user)

    await store.set_channel_member("chan1", user, False)
    await store.set_channel_member("chan1", user, False)  # idempotent
    assert not await store.is_channel_member("chan1", user)
    assert await store.is_channel_member("chan2", user)

    await store.forget_user_memberships(user)
    assert not await store.is_team_member("team1", user)
    assert not await store.is_channel_member("chan2", user)
    assert await store.is_team_member("team2", other)  # other users keep theirs
    assert await store.is_channel_member("chan1", other)


async def test_real_users(store: StateStore) -> None:
    user = "r" * 26
    assert await store.get_real_user_token(user) is None
    await store.put_real_user(user, "tok1")
    assert await store.get_real_user_token(user) == "tok1"
    await store.put_real_user(user, "tok2")
    assert await store.get_real_user_token(user) == "tok2"
    await store.delete_real_user(user)
    assert await store.get_real_user_token(user) is None
    await store.delete_real_user(user)


async def test_key_values(store: StateStore) -> None:
    assert await store.get_value("webhook:chan1") is None
    await store.set_value("webhook:chan1", "hook-a")
    await store.set_value("webhook:chan2", "")
    await store.set_value("webhook:chan1", "hook-b")
    assert await store.get_value("webhook:chan1") == "hook-b"
    assert await store.get_value("webhook:chan2") == ""


async def test_txn_blocks_are_consecutive_and_checked(store: StateStore) -> None:
    first = await store.reserve_txn_ids(10)
    assert first == 1
    assert await store.reserve_txn_ids(1) == 11
    assert await store.reserve_txn_ids(5) == 12
    for bad in (0, -3):
        with pytest.raises(ValueError, match="at least 1"):
            await store.reserve_txn_ids(bad)
    assert await store.reserve_txn_ids(1) == 17  # a refused call reserved nothing


async def test_concurrent_txn_reservations_never_overlap(store: StateStore) -> None:
    counts = [(i % 7) + 1 for i in range(20)]
    starts = await asyncio.gather(*(store.reserve_txn_ids(count) for count in counts))
    assert_disjoint(list(zip(starts, counts, strict=True)))


async def test_two_stores_on_one_database_never_overlap(
    store: StateStore, sql_store_url: str, cleanup: Cleanup
) -> None:
    other = cleanup(create_state_store(sql_store_url, owner=OWNER, bridge_id="tests"))
    await other.start()
    counts = [(i % 5) + 1 for i in range(40)]
    starts = await asyncio.gather(
        *((store if i % 2 else other).reserve_txn_ids(count) for i, count in enumerate(counts))
    )
    assert_disjoint(list(zip(starts, counts, strict=True)))


async def test_data_survives_a_restart(store: StateStore, sql_store_url: str, cleanup: Cleanup) -> None:
    await store.put_puppet(ALICE)
    await store.set_team_member("team1", ALICE.user_id, True)
    await store.set_channel_member("chan1", ALICE.user_id, True)
    await store.put_real_user("r" * 26, "tok-real")
    await store.set_value("k", "v")
    last = await store.reserve_txn_ids(100)
    await store.stop()
    assert not await store.is_healthy()

    reopened = cleanup(create_state_store(sql_store_url, owner=OWNER, bridge_id="tests"))
    await reopened.start()
    assert await reopened.get_puppet(ALICE.user_id) == ALICE
    assert await reopened.is_team_member("team1", ALICE.user_id)
    assert await reopened.is_channel_member("chan1", ALICE.user_id)
    assert await reopened.get_real_user_token("r" * 26) == "tok-real"
    assert await reopened.get_value("k") == "v"
    assert await reopened.reserve_txn_ids(1) == last + 100  # the counter never goes back


async def test_a_store_that_cannot_write_is_not_healthy(sql_store_url: str, cleanup: Cleanup) -> None:
    if not sql_store_url.startswith("sqlite"):
        pytest.skip("the write lock is held through a second SQLite connection")
    store = cleanup(create_state_store(sql_store_url, owner=OWNER, bridge_id="tests"))
    await store.start()
    store.health_timeout = 0.5  # type: ignore[attr-defined]
    assert await store.is_healthy()
    holder = sqlite3.connect(sql_store_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock: reads still work
        assert await store.get_value("anything") is None
        assert not await store.is_healthy()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert await store.is_healthy()
