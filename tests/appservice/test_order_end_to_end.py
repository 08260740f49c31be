"""Per-channel order through the whole path: REST posts -> emulator -> WebSocket -> dispatcher."""

from __future__ import annotations

import asyncio
import random

from mmbridge.api import ClientAPI, ReconnectPolicy, WebSocketStream
from mmbridge.appservice import Dispatcher
from mmbridge.testing.emulator import Emulator
from mmbridge.types import ChannelID, HelloEvent, PostedEvent, TeamID

CHANNELS = 20
POSTS_PER_CHANNEL = 200


async def test_order_holds_per_channel_with_a_randomly_slow_handler(
    emulator: Emulator, admin: ClientAPI
) -> None:
    team = TeamID(emulator.seed.team_id)
    channels = [await admin.channels.create(team, f"order-{n}", f"Order {n}") for n in range(CHANNELS)]
    dispatcher = Dispatcher(max_pending=200)
    rng = random.Random(42)
    received: dict[str, list[int]] = {c.id: [] for c in channels}
    running = 0
    most_at_once = 0

    @dispatcher.on(PostedEvent)
    async def slow(event: PostedEvent) -> None:
        nonlocal running, most_at_once
        running += 1
        most_at_once = max(most_at_once, running)
        await asyncio.sleep(rng.random() * 0.003)
        received[event.channel_id].append(int(event.post.message))
        running -= 1

    stream = WebSocketStream(admin.http, reconnect=ReconnectPolicy(initial_delay=0.01))
    hello = asyncio.Event()

    async def read() -> None:
        async for event in stream.events():
            if isinstance(event, HelloEvent):
                hello.set()
            await dispatcher.dispatch(event)

    reader = asyncio.create_task(read())
    await asyncio.wait_for(hello.wait(), 10)
    limit = asyncio.Semaphore(16)

    async def post(channel_id: str, number: int) -> None:
        async with limit:
            await admin.posts.create(ChannelID(channel_id), str(number))

    # Posts of one channel are created in order (each waits for the previous one of its channel),
    # channels interleave freely.
    async def channel_sequence(channel_id: str) -> None:
        for number in range(POSTS_PER_CHANNEL):
            await post(channel_id, number)

    await asyncio.gather(*(channel_sequence(c.id) for c in channels))
    async with asyncio.timeout(60):
        while sum(len(v) for v in received.values()) < CHANNELS * POSTS_PER_CHANNEL:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    await stream.close()
    await reader
    await dispatcher.close()
    for channel in channels:
        assert received[channel.id] == list(range(POSTS_PER_CHANNEL)), channel.name
    assert most_at_once > 1  # the channels' handlers did overlap
