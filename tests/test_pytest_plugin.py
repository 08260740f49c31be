"""The pytest plugin's fixtures, as a bridge author's own tests use them."""

from __future__ import annotations

from collections.abc import Callable

from mmbridge.api import ClientAPI
from mmbridge.testing.emulator import Emulator


async def test_mm_client_acts_as_the_seeded_bot(emulator: Emulator, mm_client: ClientAPI) -> None:
    me = await mm_client.users.me()
    assert me.id == emulator.seed.bot_user_id
    assert me.is_bot


async def test_mm_client_for_any_token(emulator: Emulator, mm_client_for: Callable[[str], ClientAPI]) -> None:
    alice = mm_client_for(emulator.seed.token)
    post = await alice.posts.create(emulator.seed.channel_id, "from a plugin fixture")
    assert post.user_id == emulator.seed.user_id
