"""Toolkit bridge cost per warm message: HTTP requests, WebSocket frames in, and the daemon's CPU,
against one raw aiohttp POST measured in the same run.

Run: .venv/bin/python bench/toolkit_bench.py [--messages 1000] [--warmup 50]

The mirror bridge (``examples.mirror``, a toolkit connector) runs as ``python -m mmbridge run`` in a
process of its own (as in ``bench/startup_bench.py``) against an emulator served by this process.
After ``--warmup`` messages (the ghost, its token and its memberships exist), alice posts
``--messages`` more in ``~bridge-test``, one at a time, each waited for until its copy exists in
``~off-topic``. Measured over those:

* HTTP requests the daemon made (the emulator's request log, by the bot's and the ghosts' tokens);
* WebSocket frames the daemon received (the emulator's sequence numbers on the bot's connection);
* the daemon's CPU seconds (``/proc/<pid>/stat`` utime + stime, all its threads) per message;
* for reference, in the same run: the CPU per request of a raw aiohttp loop POSTing the same
  number of posts to the same emulator, one at a time, in a child process of its own, once before
  the daemon starts and once after it stops (the ratio uses their mean: this machine's speed
  drifts within a run);
* and the floor: the mirror's work done by a plain aiohttp client in a child process, with no
  framework and no database (a post heard by WebSocket, its copy POSTed, the copy's echo heard and
  dropped), over the same number of messages after the daemon stops.

Plain script, loopback only; it asserts nothing about timings (it exits 1 when a copy is missing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.startup_bench import Daemon, free_port, write_files
from mmbridge.testing.emulator import Emulator, EmulatorSettings

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def copies(emu: Emulator, channel_id: str, prefix: str = "mirror_") -> int:
    """Posts in ``channel_id`` by users whose username starts with ``prefix``."""
    state = emu.state
    return sum(
        1
        for p in state.posts.values()
        if p.channel_id == channel_id and state.user(p.user_id).username.startswith(prefix)
    )


async def post_and_wait(
    emu: Emulator, http: aiohttp.ClientSession, target: str, n: int, expected: int, prefix: str = "mirror_"
) -> None:
    body = {"channel_id": emu.seed.channel_id, "message": f"warm message {n}"}
    async with http.post("/api/v4/posts", json=body) as response:
        response.raise_for_status()
    deadline = time.perf_counter() + 10
    while copies(emu, target, prefix) < expected:
        if time.perf_counter() > deadline:
            raise SystemExit(f"the copy of message {n} did not appear within 10 s")
        await asyncio.sleep(0.0005)


async def raw_post_cpu(emu: Emulator, token: str, count: int) -> float:
    """CPU seconds of this process per raw aiohttp POST /posts (minus the emulator's own share is
    not possible in-process, so the loop runs in a child process)."""
    code = f"""
import asyncio, time, aiohttp
async def main():
    async with aiohttp.ClientSession(base_url={str(emu.url)!r},
            headers={{"Authorization": "Bearer {token}"}}) as http:
        start = time.process_time()
        for n in range({count}):
            async with http.post("/api/v4/posts", json={{"channel_id": {emu.seed.channel_id!r},
                    "message": f"raw {{n}}"}}) as r:
                await r.read()
        print(time.process_time() - start)
asyncio.run(main())
"""
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    return float(out.decode().strip()) / count


FLOOR_CODE = """
import asyncio, json, sys, time, aiohttp
url, token, source, target, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
async def main():
    async with aiohttp.ClientSession(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        me = await (await http.get("/api/v4/users/me")).json()
        for channel in (source, target):
            await (await http.post(f"/api/v4/channels/{channel}/members", json={"user_id": me["id"]})).read()
        async with http.ws_connect("/api/v4/websocket") as ws:
            print("ready", flush=True)
            copied, start = 0, 0.0
            async for frame in ws:
                event = json.loads(frame.data)
                if event.get("event") != "posted":
                    continue
                post = json.loads(event["data"]["post"])
                if post["channel_id"] != source or post["user_id"] == me["id"]:
                    continue  # the echo of a copy
                body = {"channel_id": target, "message": post["message"], "props": {"copy_of": post["id"]}}
                async with http.post("/api/v4/posts", json=body) as response:
                    await response.read()
                copied += 1
                if copied == 1:
                    start = time.process_time()  # from the first copy on: warm
                if copied == count + 1:
                    await asyncio.sleep(0.2)  # the last echo
                    break
    print(time.process_time() - start, flush=True)
asyncio.run(main())
"""


async def floor_cpu(emu: Emulator, http: aiohttp.ClientSession, target: str, count: int) -> float:
    """CPU per message of the mirror's work with no framework and no database: a plain aiohttp
    client in a child process hears alice's post by WebSocket, POSTs its copy, and hears (and
    drops) the copy's echo. What any bridge of this flow costs at least."""
    _, token = emu.create_user("floor-bot", bot=True)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        FLOOR_CODE,
        str(emu.url),
        token,
        emu.seed.channel_id,
        target,
        str(count),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    await process.stdout.readline()  # ready
    await asyncio.sleep(0.2)  # its WebSocket is registered
    for n in range(count + 1):
        await post_and_wait(emu, http, target, n, n + 1, prefix="floor-bot")
    out, _ = await process.communicate()
    return float(out.decode().strip()) / count


async def main(args: argparse.Namespace) -> None:
    emu = Emulator(settings=EmulatorSettings())
    await emu.start(host="127.0.0.1", port=0)
    _, token = emu.create_bridge_bot()
    off_topic = emu.state.channel_by_name(emu.seed.team_id, "off-topic")
    assert off_topic is not None
    with tempfile.TemporaryDirectory(prefix="mmbridge-toolkit-bench-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        config, registration = write_files(workdir, emu, token, port)
        raw_before = await raw_post_cpu(emu, emu.seed.token, args.messages)
        daemon = Daemon(workdir, ["run", "-c", str(config), "-r", str(registration)], "mirror")
        pid = await daemon.start()
        headers = {"Authorization": f"Bearer {emu.seed.token}"}
        async with (
            aiohttp.ClientSession() as probe,
            aiohttp.ClientSession(base_url=emu.url, headers=headers) as http,
        ):
            await daemon.until_healthy(probe, f"http://127.0.0.1:{port}/health")
            made = 0
            for n in range(args.warmup):
                made += 1
                await post_and_wait(emu, http, off_topic.id, n, made)
            bot_conn = next(
                c for c in emu.websocket_connections() if c.user_id != emu.seed.user_id and c.active
            )
            frames0 = bot_conn.next_seq
            emu.clear_requests()
            cpu0 = cpu_seconds(pid)
            wall0 = time.perf_counter()
            for n in range(args.messages):
                made += 1
                await post_and_wait(emu, http, off_topic.id, args.warmup + n, made)
            wall = time.perf_counter() - wall0
            await asyncio.sleep(0.2)  # the last echo reaches the daemon
            cpu = cpu_seconds(pid) - cpu0
            frames = next(
                c for c in emu.websocket_connections() if c.connection_id == bot_conn.connection_id
            ).next_seq
            daemon_requests = [r for r in emu.requests if r.user_id != emu.seed.user_id]
        await daemon.stop()
        raw_after = await raw_post_cpu(emu, emu.seed.token, args.messages)
        async with aiohttp.ClientSession(base_url=emu.url, headers=headers) as http:
            floor = await floor_cpu(emu, http, off_topic.id, args.messages)
    await emu.stop()
    raw = (raw_before + raw_after) / 2
    per = args.messages
    by_kind: dict[str, int] = {}
    for request in daemon_requests:
        key = f"{request.method} {request.route}"
        by_kind[key] = by_kind.get(key, 0) + 1
    print(f"warm messages: {per} (after {args.warmup} to warm up), {per / wall:.0f} messages/s one at a time")
    print(f"daemon HTTP requests per message: {len(daemon_requests) / per:.2f}")
    for key, count in sorted(by_kind.items()):
        print(f"  {key}: {count / per:.2f}")
    print(f"WebSocket frames into the daemon per message: {(frames - frames0) / per:.2f}")
    print(f"daemon CPU per message: {cpu / per * 1000:.2f} ms")
    print(
        f"raw aiohttp POST CPU per request (same run, own process, before and after the daemon): "
        f"{raw * 1000:.2f} ms ({raw_before * 1000:.2f}, {raw_after * 1000:.2f})"
    )
    print(f"ratio: {cpu / per / raw:.1f}x")
    print(
        f"floor (plain aiohttp: WebSocket in, POST out, echo in; no framework, no database): "
        f"{floor * 1000:.2f} ms, {floor / raw:.1f}x"
    )
    print(f"daemon / floor: {cpu / per / floor:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    asyncio.run(main(parser.parse_args()))
