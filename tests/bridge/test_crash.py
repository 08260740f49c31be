"""The crash test: the mirror as its own process (``mmbridge run``), 300 messages at a steady rate
with edits, replies and reactions from both sides, SIGKILL three times with restarts after 0-5 s,
faults armed through the emulator's admin API. Afterwards every message exists exactly once on
the other side, in order per channel, with its edits and reactions, and nothing is parked."""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import AsyncIterator

import pytest_asyncio

from examples.mirror.verify import MirrorVerifier
from mmbridge.api import ClientAPI
from mmbridge.testing.emulator import Emulator, EmulatorSettings
from mmbridge.testing.faults_client import FaultsAPIClient
from mmbridge.types import ChannelID, PostID, UserID

from .conftest import MirrorSetup, until

MESSAGES = 300
KILLS = 3


@pytest_asyncio.fixture
async def emulator(emulator_settings: EmulatorSettings) -> AsyncIterator[Emulator]:
    """The test's emulator, with the fault admin API on (the bridge runs in another process)."""
    emu = Emulator(settings=emulator_settings, faults_api=True)
    await emu.start(host="127.0.0.1", port=0)
    try:
        yield emu
    finally:
        await emu.stop()


async def converse(alice: ClientAPI, alice_id: str, bob: ClientAPI, bob_id: str, a: str, b: str) -> None:
    """300 messages at a steady rate: mostly alice in A, every 4th bob in B; edits, replies,
    reactions added and removed."""
    made: list[tuple[ClientAPI, str, PostID]] = []
    for n in range(MESSAGES):
        client, user, channel = (bob, bob_id, b) if n % 4 == 3 else (alice, alice_id, a)
        roots = [post_id for c, ch, post_id in made[-12:] if ch == channel and c is client]
        root = roots[0] if n % 9 == 8 and roots else ""
        post = await client.posts.create(ChannelID(channel), f"message {n}", root_id=root)
        made.append((client, channel, post.id))
        if n % 10 == 5:
            await client.posts.edit(post.id, f"message {n}, edited")
        if n % 6 == 1:
            await client.reactions.add(UserID(user), post.id, "smile")
        if n % 12 == 7:
            await client.reactions.add(UserID(user), post.id, "tada")
            await client.reactions.remove(UserID(user), post.id, "tada")
        await asyncio.sleep(0.01)


async def test_sigkill_three_times_under_faults_loses_and_doubles_nothing(mirror: MirrorSetup) -> None:
    emulator = mirror.emulator
    seed = emulator.seed
    a, b = seed.channel_id, mirror.off_topic.id
    bob_id, bob_token = emulator.create_user("bob")
    emulator.state.add_channel_member(emulator.state.channel(b), emulator.state.user(bob_id), bob_id)
    alice = ClientAPI.connect(emulator.url, seed.token)
    bob = ClientAPI.connect(emulator.url, bob_token)
    faults = FaultsAPIClient(emulator.url)
    rng = random.Random(10)
    check = MirrorVerifier(emulator.state, {seed.user_id, bob_id})
    try:
        daemon = await mirror.start_healthy()
        talking = asyncio.create_task(converse(alice, seed.user_id, bob, bob_id, a, b))
        for kill in range(KILLS):
            await asyncio.sleep(rng.uniform(0.8, 1.6))
            # Faults from outside the process, while it runs: 5xx bursts, a 429, a dropped
            # WebSocket that comes back without its replay buffer.
            await faults.fail_next(3, 503, method="POST", path_contains="/api/v4/posts")
            await faults.rate_limit_next(1, retry_after=1, path_contains="/reactions")
            await faults.ws_lose_replay()
            await faults.ws_drop()
            await asyncio.sleep(rng.uniform(0.3, 0.8))
            daemon.signal(signal.SIGKILL)
            await daemon.wait()
            await asyncio.sleep([0.0, 2.5, 5.0][kill])
            daemon = await mirror.start_healthy()
        await talking
        await until(lambda: not check.problems(a, b), limit=30)
        letters = await mirror.new_daemon("dead-letters").run("dead-letters", "-c", str(mirror.config))
        assert letters.code == 0, letters.stderr
        assert letters.stdout.strip() == "no dead letters"
        assert len(check.originals(a)) + len(check.originals(b)) == MESSAGES
        daemon.signal(signal.SIGTERM)
        assert (await daemon.wait()).code == 0
    finally:
        print("problems:", check.problems(a, b)[:10])
        await faults.close()
        await alice.close()
        await bob.close()
