"""Shared fixtures: clients against the emulator, and the check that every emulator response
a test touched matches the official OpenAPI spec."""

from __future__ import annotations

import os
import secrets
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from openapi_spec import OpenAPISpec, assert_responses_match_spec, find_spec_dir

from mmbridge.api import ClientAPI, RetryPolicy
from mmbridge.testing.emulator import Emulator

# Fast retries keep the suite quick; the policy's logic is the same at any scale.
FAST_RETRY = RetryPolicy(base_delay=0.01, max_delay=0.05)


@pytest.fixture(scope="session")
def openapi_spec() -> OpenAPISpec | None:
    spec_dir = find_spec_dir()
    if spec_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the OpenAPI spec is missing and CI=true: set MMBRIDGE_OPENAPI_DIR")
        warnings.warn(
            "OpenAPI spec not found (set MMBRIDGE_OPENAPI_DIR): emulator responses are not "
            "checked against it in this run",
            stacklevel=1,
        )
        return None
    return OpenAPISpec.load(spec_dir)


@pytest_asyncio.fixture
async def emulator(
    emulator: Emulator, request: pytest.FixtureRequest, openapi_spec: OpenAPISpec | None
) -> AsyncIterator[Emulator]:
    """The plugin's emulator, plus a check after the test that every response it sent (except
    dropped connections) matches the official spec."""
    yield emulator
    if openapi_spec is None or request.node.get_closest_marker("no_spec_check") is not None:
        return
    assert_responses_match_spec([r for r in emulator.requests if not r.dropped], openapi_spec)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "no_spec_check: the test sends deliberately broken responses (fault injection)"
    )


PG_ADDRESS = os.environ.get("MMBRIDGE_TEST_POSTGRES", "127.0.0.1:5432")
PG_URL = f"postgres://postgres@{PG_ADDRESS}/test"


async def _pg_admin() -> Any:
    import asyncpg

    try:
        return await asyncpg.connect(PG_URL, timeout=5)
    except Exception as exc:  # refused, timeout, auth, missing database
        reason = f"PostgreSQL not reachable at {PG_ADDRESS}: {type(exc).__name__}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run)")
        pytest.skip(reason)


@pytest_asyncio.fixture
async def pg_url() -> AsyncIterator[str]:
    """A URL to a fresh, empty PostgreSQL schema, dropped after the test."""
    schema = f"mmbridge_test_{secrets.token_hex(6)}"
    admin = await _pg_admin()
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await admin.close()
    try:
        yield f"{PG_URL}?schema={schema}"
    finally:
        admin = await _pg_admin()
        try:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await admin.close()


@pytest.fixture
async def admin(emulator: Emulator) -> AsyncIterator[ClientAPI]:
    """A client acting as the emulator's system admin."""
    async with ClientAPI.connect(emulator.url, emulator.seed.admin_token, retry=FAST_RETRY) as client:
        yield client


@pytest.fixture
async def bot(emulator: Emulator) -> AsyncIterator[ClientAPI]:
    """A client acting as the bridge bot."""
    async with ClientAPI.connect(emulator.url, emulator.seed.bot_token, retry=FAST_RETRY) as client:
        yield client


@pytest.fixture
async def alice(emulator: Emulator) -> AsyncIterator[ClientAPI]:
    """A client acting as an ordinary user (team and channel member)."""
    async with ClientAPI.connect(emulator.url, emulator.seed.token, retry=FAST_RETRY) as client:
        yield client
