"""WebSocket event stream benchmark: events/s into typed events, and post-to-event latency.

Run: .venv/bin/python bench/ws_bench.py [--events 20000] [--latency-posts 500]

Three figures, the emulator in a separate process so it does not share the consumer's CPU:

1. parse only: ``parse_event`` on real ``posted`` frames in a tight loop (one core, no I/O);
2. stream: a burst of ``posted`` events published by the emulator, consumed through
   ``WebSocketStream`` (socket, JSON, seq tracking, typed events), as events/s and consumer CPU
   per event;
3. latency: from the start of ``POST /posts`` (mmbridge client) to the ``posted`` event arriving on
   the bot's stream, p50/p99 over sequential posts.

Plain script, loopback only, bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import multiprocessing.connection
import platform
import statistics
import time
from typing import Any

from mmbridge.api import ClientAPI, WebSocketStream
from mmbridge.types import PostedEvent, parse_event

DEADLINE = 120.0  # seconds any one measurement may take


def posted_data(n: int, channel_id: str, team_id: str, user_id: str) -> dict[str, Any]:
    """The ``data`` of a ``posted`` event as the server sends it (the post as a JSON string)."""
    now = int(time.time() * 1000)
    post = {
        "id": f"{n:026d}",
        "create_at": now,
        "update_at": now,
        "edit_at": 0,
        "delete_at": 0,
        "is_pinned": False,
        "user_id": user_id,
        "channel_id": channel_id,
        "root_id": "",
        "original_id": "",
        "message": "a message of ordinary length, like most chat lines are",
        "type": "",
        "props": {},
        "hashtags": "",
        "file_ids": [],
        "pending_post_id": "",
        "reply_count": 0,
        "last_reply_at": 0,
        "metadata": {},
    }
    return {
        "post": json.dumps(post),
        "channel_type": "O",
        "channel_display_name": "Bridge test",
        "channel_name": "bridge-test",
        "sender_name": "@alice",
        "team_id": team_id,
        "set_online": True,
    }


def _emulator_main(conn: multiprocessing.connection.Connection) -> None:
    asyncio.run(_serve(conn))


async def _serve(conn: multiprocessing.connection.Connection) -> None:
    from mmbridge.testing.emulator import Broadcast, Emulator, EmulatorSettings

    emu = Emulator(EmulatorSettings(ws_ping_interval=None))
    await emu.start(host="127.0.0.1", port=0)
    seed = emu.seed
    conn.send(
        {
            "url": str(emu.url),
            "bot_token": seed.bot_token,
            "token": seed.token,
            "channel_id": seed.channel_id,
            "team_id": seed.team_id,
            "user_id": seed.user_id,
        }
    )
    loop = asyncio.get_running_loop()
    while True:
        command, arg = await loop.run_in_executor(None, conn.recv)
        if command == "stop":
            break
        for n in range(arg):
            data = posted_data(n, seed.channel_id, seed.team_id, seed.user_id)
            emu.events.publish("posted", data, Broadcast(channel_id=seed.channel_id))
            if n % 500 == 499:
                await asyncio.sleep(0)  # let the socket writers run
        conn.send("published")
    await emu.stop()


def parse_only(frames: list[str], rounds: int) -> tuple[float, float]:
    """Events/s and µs per event for json.loads + parse_event on one core."""
    started = time.process_time()
    count = 0
    for _ in range(rounds):
        for frame in frames:
            event = parse_event(json.loads(frame))
            assert isinstance(event, PostedEvent)
            count += 1
    spent = time.process_time() - started
    return count / spent, spent / count * 1e6


async def stream_burst(info: dict[str, Any], conn: Any, events: int) -> tuple[float, float]:
    """Events/s through WebSocketStream and the consumer's CPU µs per event."""
    async with ClientAPI.connect(info["url"], info["bot_token"]) as client:
        stream = WebSocketStream(client.http)
        received = 0
        loop = asyncio.get_running_loop()
        iterator = stream.events().__aiter__()
        await asyncio.wait_for(iterator.__anext__(), 10)  # hello
        await loop.run_in_executor(None, conn.send, ("burst", events))
        wall = time.perf_counter()
        cpu = time.process_time()
        async with asyncio.timeout(DEADLINE):
            while received < events:
                event = await iterator.__anext__()
                if isinstance(event, PostedEvent):
                    received += 1
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        await stream.close()
        await iterator.aclose()
        await loop.run_in_executor(None, conn.recv)  # "published"
    return events / wall, cpu / events * 1e6


async def latency(info: dict[str, Any], posts: int) -> tuple[float, float]:
    """p50 and p99 ms from the start of a post creation to its event on the bot's stream."""
    arrived: dict[str, float] = {}
    async with (
        ClientAPI.connect(info["url"], info["bot_token"]) as bot,
        ClientAPI.connect(info["url"], info["token"]) as alice,
    ):
        stream = WebSocketStream(bot.http)
        ready = asyncio.Event()
        all_arrived = asyncio.Event()
        sent: dict[str, float] = {}

        async def consume() -> None:
            async for event in stream.events():
                ready.set()
                if isinstance(event, PostedEvent):
                    arrived[event.post.id] = time.perf_counter()
                    if len(arrived) >= posts:
                        all_arrived.set()

        consumer = asyncio.create_task(consume())
        await asyncio.wait_for(ready.wait(), 10)
        async with asyncio.timeout(DEADLINE):
            for n in range(posts):
                started = time.perf_counter()
                post = await alice.posts.create(info["channel_id"], f"latency {n}")
                sent[post.id] = started
            await all_arrived.wait()
        await stream.close()
        await consumer
    samples = sorted((arrived[p] - sent[p]) * 1000 for p in sent)
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


async def run(args: argparse.Namespace) -> None:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_emulator_main, args=(child,), daemon=True)
    process.start()
    try:
        info = parent.recv()
        rate, cpu_us = await stream_burst(info, parent, args.events)
        broadcast = {"channel_id": info["channel_id"], "team_id": "", "user_id": "", "omit_users": None}
        frames = [
            json.dumps(
                {
                    "event": "posted",
                    "data": posted_data(n, info["channel_id"], info["team_id"], info["user_id"]),
                    "broadcast": broadcast,
                    "seq": n + 1,
                }
            )
            for n in range(200)
        ]
        parse_rate, parse_us = parse_only(frames, max(1, args.events // len(frames)))
        p50, p99 = await latency(info, args.latency_posts)
    finally:
        parent.send(("stop", 0))
        process.join(10)
    rows = [
        (
            "parse only (json.loads + parse_event), one core",
            f"{parse_rate:,.0f} events/s ({parse_us:.1f} µs each)",
        ),
        (
            f"stream: burst of {args.events:,} posted events",
            f"{rate:,.0f} events/s, consumer CPU {cpu_us:.1f} µs each",
        ),
        (f"latency post -> event, {args.latency_posts} posts", f"p50 {p50:.2f} ms, p99 {p99:.2f} ms"),
    ]
    print(f"python {platform.python_version()}, {multiprocessing.cpu_count()} cores")
    print("| measurement | result |\n|---|---|")
    for name, result in rows:
        print(f"| {name} | {result} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--latency-posts", type=int, default=500)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
