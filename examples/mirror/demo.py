"""``make demo``: the mirror bridge as a daemon (``mmbridge run``) on the emulator, with a transcript.

The demo starts the emulator, writes the bridge's registration and runs
``mmbridge run -c examples/mirror/config.yaml`` as a process of its own, with the server's address,
the bot's token, a free receiver port and a temporary SQLite database given by environment
variables. Alice talks in ``~bridge-test`` and Bob in ``~off-topic``; the bridge makes
``mirror_alice`` and ``mirror_bob`` and has them redo everything on the other side. Each step is
checked; at the end the daemon gets SIGTERM and must exit 0. The run exits 0 only if every copy
appears, nothing is copied twice and nothing echoes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from yarl import URL

from mmbridge.api import ClientAPI
from mmbridge.testing.emulator import Emulator, EmulatorSettings
from mmbridge.testing.emulator.models import Post
from mmbridge.types import ChannelID, PostID, TeamID, UserID

WAIT = 10.0
REPO = Path(__file__).resolve().parents[2]
CONFIG = "examples/mirror/config.yaml"


class DemoFailed(Exception):
    """A step did not do what it should."""


class Demo:
    """The emulator, two people, the bridge, and a way to check what the server holds."""

    def __init__(self, emulator: Emulator, out: Callable[[str], None]) -> None:
        self.emulator = emulator
        self.out = out
        self.names: dict[str, str] = {}

    def posts(self, channel_id: str) -> list[Post]:
        """The channel's non-system posts, oldest first (deleted ones included)."""
        found = [p for p in self.emulator.state.posts.values() if p.channel_id == channel_id and not p.type]
        return sorted(found, key=lambda p: (p.create_at, p.seq))

    async def until(self, what: str, condition: Callable[[], bool | Awaitable[bool]]) -> None:
        """Wait for ``condition``; a step that never happens fails the demo."""
        try:
            async with asyncio.timeout(WAIT):
                while True:
                    result = condition()
                    if await result if isinstance(result, Awaitable) else result:
                        break
                    await asyncio.sleep(0.02)
        except TimeoutError:
            raise DemoFailed(f"{what}: did not happen within {WAIT:.0f} s") from None
        self.out(f"  ok  {what}")

    def has_copy(self, channel_id: str, message: str) -> bool:
        return bool(self.copies_of(channel_id, message))

    def copies_of(self, channel_id: str, message: str) -> list[Post]:
        return [p for p in self.posts(channel_id) if p.message == message and not p.delete_at]

    def transcript(self, channel_id: str, title: str) -> None:
        self.out(f"\n{title}")
        for post in self.posts(channel_id):
            author = self.names.get(post.user_id) or self.emulator.state.user(post.user_id).username
            indent = "    ↳ " if post.root_id else "  "
            marks = []
            if post.edit_at:
                marks.append("edited")
            if post.delete_at:
                marks.append("deleted")
            if post.file_ids:
                marks.append(f"{len(post.file_ids)} file")
            reactions = self.emulator.state.reactions.get(post.id, [])
            if reactions:
                marks.append(
                    " ".join(f":{r.emoji_name}: by {self.names.get(r.user_id, r.user_id)}" for r in reactions)
                )
            suffix = f"  ({'; '.join(marks)})" if marks else ""
            text = "[deleted]" if post.delete_at else post.message
            self.out(f"{indent}{author}: {text}{suffix}")


class Daemon:
    """``python -m mmbridge ...`` as child processes of the demo, their output in one log file."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.env = env
        self.log_path = workdir / "bridge.log"
        self.process: asyncio.subprocess.Process | None = None

    async def _spawn(self, *args: str) -> asyncio.subprocess.Process:
        with self.log_path.open("ab") as log:
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "mmbridge", *args, env=self.env, stdout=log, stderr=log, cwd=REPO
            )

    async def command(self, *args: str) -> int:
        """Run ``mmbridge <args>`` to its end; its exit code."""
        return await (await self._spawn(*args)).wait()

    async def start(self, *args: str) -> int:
        """Start ``mmbridge <args>`` in the background; its pid."""
        self.process = await self._spawn(*args)
        return self.process.pid

    @property
    def exited(self) -> int | None:
        """The exit code, once the background process has ended."""
        return None if self.process is None else self.process.returncode

    async def stop(self) -> int | None:
        """SIGTERM, then wait; the exit code (None when it had to be killed after 15 s)."""
        process = self.process
        if process is None or process.returncode is not None:
            return self.exited
        process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()
            return None

    def tail(self, lines: int = 15) -> str:
        """The last lines the processes printed."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


async def _get(url: URL) -> tuple[int, str]:
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status, await response.text()
    except aiohttp.ClientError:
        return 0, ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run(out: Callable[[str], None] = print, workdir: Path | None = None) -> None:
    """Run the whole scenario; raises :class:`DemoFailed` at the first step that goes wrong."""
    emulator = Emulator(EmulatorSettings(max_users_per_team=500))
    await emulator.start(host="127.0.0.1", port=0)
    seed = emulator.seed
    demo = Demo(emulator, out)
    temporary = tempfile.TemporaryDirectory() if workdir is None else None
    folder = Path(temporary.name) if temporary is not None else workdir
    assert folder is not None
    port = _free_port()
    bot_id, bot_token = emulator.create_bridge_bot()
    env = dict(os.environ)
    env.update(
        MMBRIDGE_MATTERMOST_URL=str(emulator.url),
        MMBRIDGE_MATTERMOST_TOKEN=bot_token,
        MMBRIDGE_APPSERVICE_PORT=str(port),
        MMBRIDGE_DATABASE_URI=f"sqlite:///{folder / 'mirror.db'}",
    )
    daemon = Daemon(folder, env)
    registration = str(folder / "registration.yaml")
    out(f"emulator on {emulator.url}; bridge workdir {folder}")
    try:
        async with ClientAPI.connect(emulator.url, seed.admin_token) as admin:
            a = ChannelID(seed.channel_id)  # ~bridge-test, where alice is
            b = ChannelID((await admin.channels.get_by_name(TeamID(seed.team_id), "off-topic")).id)
            bob_id, bob_token = emulator.create_user("bob")  # in ~off-topic with the team
            alice_id = UserID(seed.user_id)
            demo.names.update({alice_id: "alice", bob_id: "bob", bot_id: "mmbridge-bot"})

            if await daemon.command("generate-registration", "-c", CONFIG, "-r", registration) != 0:
                raise DemoFailed(f"generate-registration failed:\n{daemon.tail()}")
            out(f"  ok  mmbridge generate-registration -c {CONFIG}")
            pid = await daemon.start("run", "-c", CONFIG, "-r", registration, "--no-update")
            health = URL(f"http://127.0.0.1:{port}/health")

            async def ready() -> bool:
                if daemon.exited is not None:
                    raise DemoFailed(f"mmbridge run exited with {daemon.exited}:\n{daemon.tail()}")
                return (await _get(health))[0] == 200

            await demo.until(f"mmbridge run -c {CONFIG} is up and healthy (pid {pid})", ready)
            out("")

            async with (
                ClientAPI.connect(emulator.url, seed.token) as alice,
                ClientAPI.connect(emulator.url, bob_token) as bob,
            ):
                hello = await alice.posts.create(a, "Hello from **A**!")
                await demo.until(
                    "alice's post appears in ~off-topic as mirror_alice",
                    lambda: demo.has_copy(b, hello.message),
                )
                copy_in_b = demo.copies_of(b, hello.message)[0]
                demo.names[copy_in_b.user_id] = "mirror_alice"

                hi = await bob.posts.create(b, "Hi from B :wave:")
                await demo.until(
                    "bob's post appears in ~bridge-test as mirror_bob", lambda: demo.has_copy(a, hi.message)
                )
                demo.names[demo.copies_of(a, hi.message)[0].user_id] = "mirror_bob"

                reply = await bob.posts.create(b, "Replying to alice", root_id=copy_in_b.id)
                await demo.until(
                    "bob's reply lands in alice's thread",
                    lambda: any(p.root_id == hello.id for p in demo.copies_of(a, reply.message)),
                )

                await alice.posts.edit(hello.id, "Hello from **A** (edited)")
                await demo.until(
                    "alice's edit reaches the copy",
                    lambda: emulator.state.posts[copy_in_b.id].message == "Hello from **A** (edited)",
                )

                await bob.reactions.add(UserID(bob_id), PostID(copy_in_b.id), "thumbsup")
                await demo.until(
                    "bob's reaction on the copy shows on alice's original",
                    lambda: any(
                        r.emoji_name == "thumbsup" for r in emulator.state.reactions.get(hello.id, [])
                    ),
                )

                info = await alice.files.upload(
                    a, b"line one\nline two\n", "notes.txt", content_type="text/plain"
                )
                with_file = await alice.posts.create(a, "with a file", file_ids=[info.id])
                await demo.until(
                    "alice's file is re-uploaded by mirror_alice",
                    lambda: any(p.file_ids for p in demo.copies_of(b, with_file.message)),
                )

                oops = await alice.posts.create(a, "a message sent by mistake")
                await demo.until("it is mirrored", lambda: demo.has_copy(b, oops.message))
                await alice.posts.delete(oops.id)
                await demo.until(
                    "alice's delete removes the copy", lambda: not demo.copies_of(b, oops.message)
                )

                answer = await emulator.type_message(seed.token, a, "/mirror status")
                out(f"  ok  /mirror status answers: {answer.get('text', answer)}")

                status, body = await _get(health)
                if status != 200:
                    raise DemoFailed(f"the bridge reports itself unhealthy: {body}")
                out(f"  ok  /health: {body}")

                await asyncio.sleep(0.5)  # let any echo that would loop show itself
                originals = [p for p in demo.posts(a) + demo.posts(b) if p.user_id in (alice_id, bob_id)]
                copies = [
                    p
                    for p in demo.posts(a) + demo.posts(b)
                    if demo.names.get(p.user_id, "").startswith("mirror_")
                ]
                if len(copies) != len(originals):
                    raise DemoFailed(f"{len(originals)} posts were made but {len(copies)} copies exist")
                out(f"  ok  no echo loops: {len(originals)} posts, {len(copies)} copies")

            code = await daemon.stop()
            if code != 0:
                raise DemoFailed(f"the daemon exited with {code} on SIGTERM:\n{daemon.tail()}")
            out("  ok  SIGTERM: the daemon drained its queues and exited 0")

            demo.transcript(a, f"~bridge-test ({a})")
            demo.transcript(b, f"~off-topic ({b})")
    finally:
        await daemon.stop()
        await emulator.stop()
        if temporary is not None:
            temporary.cleanup()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(run())
    except DemoFailed as exc:
        print(f"\ndemo FAILED: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:  # the finally blocks above have stopped the daemon and the emulator
        with contextlib.suppress(Exception):
            print("\ndemo interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    print("\ndemo finished: every step behaved as expected")


if __name__ == "__main__":
    main()
