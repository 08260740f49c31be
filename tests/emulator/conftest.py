"""Fixtures for the emulator's own tests.

The ``emulator`` fixture comes from ``mmbridge.testing.pytest_plugin``; the top-level
conftest validates every response it sent against the OpenAPI spec.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest_asyncio
from aiohttp import ClientSession

from mmbridge.testing.emulator import Emulator

ClientFactory = Callable[[str | None], ClientSession]


@pytest_asyncio.fixture
async def client(emulator: Emulator) -> AsyncIterator[ClientFactory]:
    """``client(token)``: an aiohttp session on the emulator with a Bearer token."""
    sessions: list[ClientSession] = []

    def make(token: str | None) -> ClientSession:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        session = ClientSession(base_url=emulator.url, headers=headers)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        await session.close()
