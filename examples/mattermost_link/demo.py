"""``make demo-link``: two Mattermost servers (two emulators) with ``~bridge-test`` linked.

Starts both emulators on free loopback ports and ``mmbridge run`` with the link's config (written
to a temporary folder, with a SQLite database), as a process of its own. Alice is on the first
server ("here"), Bea on the second ("there"). A post, a thread reply, an edit, a reaction, a file
and a delete cross both ways; the link is killed (SIGKILL) while Bea goes on talking, and restarted:
what she said meanwhile arrives. Each step is checked; the demo ends with a two-column transcript of
both channels and exits 0 only if every step did what it should.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from examples.demokit import (
    DemoFailed,
    Processes,
    columns,
    free_port,
    generate_registration,
    main,
    start_bridge,
    until,
)
from mmbridge.api import ClientAPI
from mmbridge.testing.emulator import Emulator
from mmbridge.types import ChannelID, PostID, UserID


def _config(
    folder: Path, here: Emulator, there: Emulator, here_token: str, there_token: str, port: int
) -> str:
    path = folder / "config.yaml"
    path.write_text(
        f"""\
bridge: examples.mattermost_link:LinkBridge
mattermost:
  url: "{here.url}"
  token: "{here_token}"
  team: test-team
appservice:
  id: link
  port: {port}
puppets:
  username_template: "{{localpart}}_link"
database:
  uri: "sqlite:///{folder / "link.db"}"
link:
  url: "{there.url}"
  token: "{there_token}"
  team: test-team
  channels:
    bridge-test: bridge-test
"""
    )
    return str(path)


def _side(server: Emulator, since: float) -> list[tuple[float, str]]:
    state, channel = server.state, server.seed.channel_id
    rows = []
    for post in state.posts.values():
        if post.channel_id != channel or post.type or post.create_at / 1000 < since:
            continue
        marks = " (edited)" if post.edit_at else ""
        marks += "".join(f" :{r.emoji_name}:" for r in state.reactions.get(post.id, []))
        marks += f" [{len(post.file_ids)} file]" if post.file_ids else ""
        thread = "↳ " if post.root_id else ""
        text = "[deleted]" if post.delete_at else post.message
        rows.append((post.create_at / 1000, f"{thread}{state.user(post.user_id).username}: {text}{marks}"))
    return rows


async def run(out: Callable[[str], None] = print, workdir: Path | None = None) -> None:
    """Run the whole scenario; raises :class:`DemoFailed` at the first step that goes wrong."""
    started = time.time() - 1
    here, there = Emulator(), Emulator()
    await here.start(host="127.0.0.1", port=0)
    await there.start(host="127.0.0.1", port=0)
    temporary = tempfile.TemporaryDirectory() if workdir is None else None
    folder = Path(temporary.name) if temporary is not None else workdir
    assert folder is not None
    port = free_port()
    config = _config(folder, here, there, here.create_bridge_bot()[1], there.create_bridge_bot()[1], port)
    bea_id, bea_token = there.create_user("bea")
    state = there.state
    state.add_channel_member(state.channel(there.seed.channel_id), state.user(bea_id), bea_id)
    processes = Processes(folder, dict(os.environ))
    registration = folder / "registration.yaml"
    out(f"here: {here.url}, there: {there.url}; workdir {folder}")

    def find(server: Emulator, text: str) -> list[str]:
        channel = server.seed.channel_id
        return [p.id for p in server.state.posts.values() if p.channel_id == channel and p.message == text]

    try:
        await generate_registration(processes, config, registration)
        bridge = await start_bridge(processes, config, registration, port)
        out(f"  ok  mmbridge run: the link is up (pid {bridge.pid})\n")
        async with (
            ClientAPI.connect(here.url, here.seed.token) as alice,
            ClientAPI.connect(there.url, bea_token) as bea,
        ):
            here_channel, there_channel = ChannelID(here.seed.channel_id), ChannelID(there.seed.channel_id)
            hello = await alice.posts.create(here_channel, "Hello from **here**!")
            await until(
                "alice's post appears there, by the puppet alice_link",
                lambda: find(there, hello.message),
                out,
            )
            copy = find(there, hello.message)[0]
            await bea.posts.create(there_channel, "Hi alice, Bea from over there", root_id=PostID(copy))
            await until(
                "bea's reply to the copy lands in alice's thread here",
                lambda: [
                    p
                    for p in find(here, "Hi alice, Bea from over there")
                    if here.state.posts[p].root_id == hello.id
                ],
                out,
            )
            await alice.posts.edit(hello.id, "Hello from **here** (edited)")
            await until(
                "alice's edit reaches the copy",
                lambda: there.state.posts[copy].message == "Hello from **here** (edited)",
                out,
            )
            await bea.reactions.add(UserID(bea_id), PostID(copy), "tada")
            await until(
                "bea's reaction on the copy shows on alice's post",
                lambda: [r.emoji_name for r in here.state.reactions.get(hello.id, [])] == ["tada"],
                out,
            )
            info = await bea.files.upload(there_channel, b"agenda: 1. the link", "agenda.txt")
            await bea.posts.create(there_channel, "the agenda", file_ids=[info.id])
            await until(
                "bea's file is copied here",
                lambda: [p for p in find(here, "the agenda") if here.state.posts[p].file_ids],
                out,
            )
            oops = await alice.posts.create(here_channel, "sent by mistake")
            await until("it is copied", lambda: find(there, "sent by mistake"), out)
            await alice.posts.delete(oops.id)
            await until(
                "alice's delete removes the copy",
                lambda: all(there.state.posts[p].delete_at for p in find(there, "sent by mistake")),
                out,
            )

            bridge.send_signal(signal.SIGKILL)
            await bridge.wait()
            out("  ok  SIGKILL: the link is down")
            for i in range(3):
                await bea.posts.create(there_channel, f"said while the link was down ({i + 1})")
            bridge = await start_bridge(processes, config, registration, port)
            await until(
                "restarted: what bea said meanwhile arrives, once each",
                lambda: all(
                    len(find(here, f"said while the link was down ({i + 1})")) == 1 for i in range(3)
                ),
                out,
            )
            await asyncio.sleep(0.5)  # a loop would show by now
            counts = [
                len(find(here, t)) + len(find(there, t))
                for t in ("Hi alice, Bea from over there", "the agenda")
            ]
            if counts != [2, 2]:
                raise DemoFailed(f"copies of copies: {counts}")
            out("  ok  no loop: each post exists once on each side")

        code = await processes.stop(bridge)
        if code != 0:
            raise DemoFailed(f"the link exited with {code} on SIGTERM:\n{processes.tail()}")
        out("  ok  SIGTERM: exit 0\n")
        left = [(at, text, "") for at, text in _side(here, started)]
        right = [(at, "", text) for at, text in _side(there, started)]
        for line in columns("here: ~bridge-test", "there: ~bridge-test", left + right):
            out(line)
    finally:
        await processes.stop_all()
        await here.stop()
        await there.stop()
        if temporary is not None:
            temporary.cleanup()


if __name__ == "__main__":
    main(run)
