"""pytest plugin (entry point ``mmbridge``): a fresh emulator per test, and clients for it.

Fixtures:

* ``emulator``: a started :class:`Emulator` on ``127.0.0.1`` with a free port.
* ``emulator_settings``: the settings it starts with; override per test with
  ``@pytest.mark.parametrize("emulator_settings", [EmulatorSettings(...)])``.
* ``mm_client``: a :class:`~mmbridge.api.ClientAPI` acting as the seeded bridge bot.
* ``mm_client_for``: ``mm_client_for(token)`` makes a client for any token (closed after the test).

The async fixtures need pytest-asyncio (``pip install 'mmbridge[testing]'``) and async tests it runs:
``asyncio_mode = "auto"`` in the pytest config, or ``@pytest.mark.asyncio`` on each test. Without
pytest-asyncio the plugin still loads (so an unrelated test suite in the same environment runs),
and a test asking for these fixtures fails saying what to install.

The emulator itself knows nothing of the client; these fixtures only join the two over HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from mmbridge.api import ClientAPI
from mmbridge.testing.emulator import Emulator, EmulatorSettings

MISSING_ASYNCIO = "the mmbridge fixtures need pytest-asyncio: pip install 'mmbridge[testing]'"


def _async_fixture(function: Callable[..., Any]) -> Any:
    """``pytest_asyncio.fixture``, or a fixture that fails with what to install."""
    try:
        import pytest_asyncio
    except ImportError:
        pass
    else:
        return pytest_asyncio.fixture(function)

    def unavailable() -> None:
        pytest.fail(MISSING_ASYNCIO)

    unavailable.__name__ = function.__name__
    unavailable.__doc__ = function.__doc__
    return pytest.fixture(unavailable, name=function.__name__)


@pytest.fixture
def emulator_settings() -> EmulatorSettings:
    """The settings the ``emulator`` fixture starts with (the emulator's defaults)."""
    return EmulatorSettings()


@_async_fixture
async def emulator(emulator_settings: EmulatorSettings) -> AsyncIterator[Emulator]:
    """A started :class:`Emulator` on ``127.0.0.1`` with a free port; stopped afterwards."""
    emu = Emulator(settings=emulator_settings)
    await emu.start(host="127.0.0.1", port=0)
    try:
        yield emu
    finally:
        await emu.stop()


@_async_fixture
async def mm_client_for(emulator: Emulator) -> AsyncIterator[Callable[[str], ClientAPI]]:
    """A factory of clients for the emulator, one per token; all are closed after the test."""
    made: list[ClientAPI] = []

    def make(token: str) -> ClientAPI:
        client = ClientAPI.connect(emulator.url, token)
        made.append(client)
        return client

    try:
        yield make
    finally:
        for client in made:
            await client.close()


@pytest.fixture
def mm_client(emulator: Emulator, mm_client_for: Callable[[str], ClientAPI]) -> ClientAPI:
    """A client acting as the emulator's seeded bridge bot."""
    return mm_client_for(emulator.seed.bot_token)
