"""Fixtures for the appservice tests: a state store per backend and an AppServiceAPI on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import FAST_RETRY

from mmbridge.appservice import AppServiceAPI, PuppetNamespace, StateStore, create_state_store
from mmbridge.testing.emulator import Emulator

NAMESPACE = PuppetNamespace("irc_{localpart}")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each backend in turn; PostgreSQL gets a fresh schema (``pg_url`` in tests/conftest.py)."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bridge.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[StateStore]:
    store = create_state_store(store_url, owner="mmbridge-tests", bridge_id="tests")
    await store.start()
    try:
        yield store
    finally:
        await store.stop()


@pytest.fixture
def bridge_bot(emulator: Emulator) -> tuple[str, str]:
    """A bot account with the system admin role: what a bridge's bot needs to make puppets."""
    return emulator.create_user("ircbridge", admin=True, bot=True)


def make_appservice(emulator: Emulator, store: StateStore, token: str, **kwargs: object) -> AppServiceAPI:
    return AppServiceAPI(
        emulator.url,
        token,
        store=store,
        namespace=NAMESPACE,
        team_id=emulator.seed.team_id,
        bridge_id="irc",
        retry=FAST_RETRY,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
async def appservice(
    emulator: Emulator, store: StateStore, bridge_bot: tuple[str, str]
) -> AsyncIterator[AppServiceAPI]:
    appservice = make_appservice(emulator, store, bridge_bot[1])
    await appservice.start()
    try:
        yield appservice
    finally:
        await appservice.close()
