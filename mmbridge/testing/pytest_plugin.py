"""pytest plugin (entry point ``mmbridge``): the ``emulator`` fixture.

Tests change the server's settings by overriding ``emulator_settings``, for one test with
``@pytest.mark.parametrize("emulator_settings", [EmulatorSettings(...)])``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from mmbridge.testing.emulator import Emulator, EmulatorSettings


@pytest.fixture
def emulator_settings() -> EmulatorSettings:
    """The settings the ``emulator`` fixture starts with (the emulator's defaults)."""
    return EmulatorSettings()


@pytest_asyncio.fixture
async def emulator(emulator_settings: EmulatorSettings) -> AsyncIterator[Emulator]:
    """A started :class:`Emulator` on ``127.0.0.1`` with a free port; stopped afterwards."""
    emu = Emulator(settings=emulator_settings)
    await emu.start(host="127.0.0.1", port=0)
    try:
        yield emu
    finally:
        await emu.stop()
