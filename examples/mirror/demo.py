"""``make demo``: the mirror bridge end to end on the emulator, with a transcript of both channels.

Alice talks in ``~mirror-a`` and Bob in ``~mirror-b``; the bridge makes ``mirror_alice`` and
``mirror_bob`` and has them redo everything on the other side. Each step is checked; the run
exits 0 only if every copy appears, nothing is copied twice and nothing echoes back.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import aiohttp
from yarl import URL

from mmbridge.api import ClientAPI
from mmbridge.testing.emulator import Emulator, EmulatorSettings
from mmbridge.testing.emulator.models import Post
from mmbridge.types import ChannelID, PostID, TeamID, UserID

from .bridge import MirrorBridge

WAIT = 10.0


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

    async def until(self, what: str, condition: Callable[[], bool]) -> None:
        """Wait for ``condition``; a step that never happens fails the demo."""
        try:
            async with asyncio.timeout(WAIT):
                while not condition():  # noqa: ASYNC110 - polls the emulator for the bridge's effect
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


async def _get(url: URL) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def run(out: Callable[[str], None] = print, database_dir: Path | None = None) -> None:
    """Run the whole scenario; raises :class:`DemoFailed` at the first step that goes wrong."""
    emulator = Emulator(EmulatorSettings(max_users_per_team=500))
    await emulator.start(host="127.0.0.1", port=0)
    seed = emulator.seed
    demo = Demo(emulator, out)
    workdir = tempfile.TemporaryDirectory() if database_dir is None else None
    database = (Path(workdir.name) if workdir else database_dir) / "mirror.db"  # type: ignore[operator]
    bridge: MirrorBridge | None = None
    out(f"emulator on {emulator.url}; bridge database {database}")
    try:
        async with ClientAPI.connect(emulator.url, seed.admin_token) as admin:
            team = TeamID(seed.team_id)
            channel_a = await admin.channels.create(team, "mirror-a", "Mirror A")
            channel_b = await admin.channels.create(team, "mirror-b", "Mirror B")
            bob_id, bob_token = emulator.create_user("bob")
            alice_id = UserID(seed.user_id)
            await admin.channels.add_member(channel_a.id, alice_id)
            await admin.channels.add_member(channel_b.id, UserID(bob_id))
            bot_id, bot_token = emulator.create_user("mirrorbot", admin=True, bot=True)
            demo.names.update({alice_id: "alice", bob_id: "bob", bot_id: "mirrorbot"})

            bridge = MirrorBridge(
                emulator.url,
                bot_token,
                team_id=team,
                channel_a=channel_a.id,
                channel_b=channel_b.id,
                database_url=f"sqlite:///{database}",
            )
            await bridge.start()
            out("bridge started: puppets are made on first use\n")

            async with (
                ClientAPI.connect(emulator.url, seed.token) as alice,
                ClientAPI.connect(emulator.url, bob_token) as bob,
            ):
                a, b = ChannelID(channel_a.id), ChannelID(channel_b.id)

                hello = await alice.posts.create(a, "Hello from **A**!")
                await demo.until(
                    "alice's post appears in B as mirror_alice", lambda: demo.has_copy(b, hello.message)
                )
                copy_in_b = demo.copies_of(b, hello.message)[0]
                demo.names[copy_in_b.user_id] = "mirror_alice"

                hi = await bob.posts.create(b, "Hi from B :wave:")
                await demo.until(
                    "bob's post appears in A as mirror_bob", lambda: demo.has_copy(a, hi.message)
                )
                demo.names[demo.copies_of(a, hi.message)[0].user_id] = "mirror_bob"

                reply = await bob.posts.create(b, "Replying to alice", root_id=copy_in_b.id)
                await demo.until(
                    "bob's reply lands in alice's thread in A",
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

                assert bridge.receiver.url is not None
                status, body = await _get(bridge.receiver.url / "health")
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

            demo.transcript(a, f"~mirror-a ({a})")
            demo.transcript(b, f"~mirror-b ({b})")
    finally:
        if bridge is not None:
            await bridge.stop()
        await emulator.stop()
        if workdir is not None:
            workdir.cleanup()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(run())
    except DemoFailed as exc:
        print(f"\ndemo FAILED: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print("\ndemo finished: every step behaved as expected")


if __name__ == "__main__":
    main()
