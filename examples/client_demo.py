"""A scripted tour of the client alone against the emulator: ``python -m examples.client_demo``.

It starts the emulator on a free loopback port, then uses mmbridge's client the way a bridge
does: as an admin it creates a puppet user and mints its token, then acts as the puppet (joins,
posts, replies, edits, reacts, uploads a file), survives injected faults (a dropped answer, a
503 burst, a 429) without duplicating a post, and reads the channel back. Exit status 0 means
every step did what it should.

It is not what ``make demo`` runs: that is the IRC bridge as a daemon (``examples/irc/demo.py``).
This file uses no bridge, no appservice layer and no daemon, only ``mmbridge.api``.
"""

from __future__ import annotations

import asyncio
import sys

from mmbridge.api import ClientAPI, RetryPolicy
from mmbridge.errors import ValidationError
from mmbridge.testing.emulator import Emulator
from mmbridge.types import ChannelID, TeamID, UserID


def say(step: str, detail: str = "") -> None:
    print(f"  {step:<46} {detail}", flush=True)


async def run() -> None:
    emulator = Emulator()
    await emulator.start(host="127.0.0.1", port=0)
    seed = emulator.seed
    print(f"emulator listening on {emulator.url}")
    retry = RetryPolicy(base_delay=0.05, max_delay=0.5)
    try:
        async with ClientAPI.connect(emulator.url, seed.admin_token, retry=retry) as admin:
            version = await admin.system.version()
            me = await admin.users.me()
            say("server version", version.version)
            say("acting as admin", f"@{me.username}")

            puppet_user = await admin.users.create(
                "irc_marvin", "irc_marvin@bridge.invalid", "not-used-for-login-1", first_name="Marvin"
            )
            token = await admin.tokens.create(puppet_user.id, "mmbridge demo puppet")
            say("created puppet", f"@{puppet_user.username} with its own access token")
            await admin.teams.add_member(TeamID(seed.team_id), puppet_user.id)
            await admin.channels.add_member(ChannelID(seed.channel_id), puppet_user.id)
            say("puppet joined", f"team {seed.team_name}, channel ~{seed.channel_name}")

            puppet = admin.as_user(token.token)
            channel = ChannelID(seed.channel_id)
            root = await puppet.posts.create(channel, "Hello from IRC!")
            say("puppet posted", repr(root.message))
            reply = await puppet.posts.create(channel, "...and a reply in the thread", root_id=root.id)
            say("puppet replied in thread", f"root {root.id[:8]}…")
            edited = await puppet.posts.edit(reply.id, "...and an edited reply in the thread")
            say("puppet edited its reply", repr(edited.message))
            await puppet.reactions.add(puppet_user.id, root.id, "wave")
            say("puppet reacted", ":wave:")
            info = await puppet.files.upload(channel, b"log line 1\nlog line 2\n", "irc.log")
            await puppet.posts.create(channel, "the log", file_ids=[info.id])
            say("puppet uploaded a file", f"{info.name} ({info.size} bytes)")

            emulator.faults.drop_next(1, after_processing=True, method="POST", path_contains="/posts")
            survived = await puppet.posts.create(channel, "sent while the network dropped the answer")
            copies = sum(1 for p in emulator.state.posts.values() if p.message == survived.message)
            say("answer lost, create retried", f"{copies} post on the server")
            assert copies == 1, "a retried create must not duplicate the post"

            emulator.faults.fail_next(2, 503, gateway=True)
            await puppet.users.me()
            say("two 503s from a proxy", "retried with backoff, then OK")
            emulator.faults.rate_limit_next(1, retry_after=1)
            await puppet.users.me()
            say("429 with Retry-After: 1", "waited, then OK")

            try:
                await puppet.posts.create(channel, "x" * 20000)
            except ValidationError as exc:
                say("over-long message refused before sending", str(exc))

            history = await puppet.posts.get_for_channel(channel)
            print(f"\nchannel ~{seed.channel_name}, oldest first:")
            names = {
                UserID(seed.admin_user_id): seed.admin_username,
                UserID(seed.user_id): seed.username,
                puppet_user.id: "irc_marvin",
            }
            for post in history.chronological():
                author = names.get(post.user_id, post.user_id[:8])
                thread = "    ↳ " if post.root_id else ""
                edited_mark = " (edited)" if post.edit_at else ""
                files = f" [{len(post.file_ids)} file]" if post.file_ids else ""
                print(f"  {thread}{author}: {post.message or post.type}{edited_mark}{files}")
            await puppet.posts.delete(root.id)
            print()
            say("puppet deleted its thread", "root and reply gone")
    finally:
        await emulator.stop()
    print("demo finished: every step behaved as expected")


def main() -> None:
    try:
        asyncio.run(run())
    except AssertionError as exc:
        print(f"demo FAILED: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
