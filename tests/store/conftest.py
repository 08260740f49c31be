"""Fixtures for the database layer and the state store: one suite, three backends.

PostgreSQL tests each get a fresh schema (random name) in database ``test`` at 127.0.0.1:5432 and drop
it afterwards. When PostgreSQL is unreachable they skip, or fail when ``CI=true``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from mmbridge.appservice.store import StateStore, create_state_store

from .store_helpers import OWNER, Cleanup


# host:port of the test server; the override exists to exercise the unreachable path.
def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mmbridge.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty SQL database: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return _sqlite_url(tmp_path)
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None (memory), or a URL to an empty SQL database."""
    if request.param == "memory":
        return None
    if request.param == "sqlite":
        return _sqlite_url(tmp_path)
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest_asyncio.fixture
async def store(store_url: str | None) -> AsyncIterator[StateStore]:
    """A started state store on each backend."""
    state_store = create_state_store(store_url, owner=OWNER, bridge_id="tests")
    await state_store.start()
    try:
        yield state_store
    finally:
        await state_store.stop()


@pytest.fixture
def sql_store_url(store_url: str | None) -> str:
    """The store's database URL; skips the memory backend (nothing to share or reopen)."""
    if store_url is None:
        pytest.skip("the memory store has no database to share or reopen")
    return store_url


@pytest_asyncio.fixture
async def cleanup() -> AsyncIterator[Cleanup]:
    """``cleanup(db)`` returns ``db`` and stops it after the test."""
    helper = Cleanup()
    try:
        yield helper
    finally:
        await helper.stop_all()
