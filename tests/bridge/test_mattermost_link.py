"""Mattermost <-> Mattermost end to end: ``mmbridge run`` in its own process linking a channel of
one emulator with a channel of another; posts, threads, edits, deletes, reactions and files cross
both ways as puppets, nothing loops back, and it all still works after a restart."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import attrs
import pytest
import pytest_asyncio

from examples.mattermost_link import LinkBridge
from examples.mirror.verify import Speaker, converse
from mmbridge.api import ClientAPI
from mmbridge.bridge import BridgeSetupError, Registration, write_registration
from mmbridge.testing.emulator import Emulator
from mmbridge.testing.emulator.models import Post
from mmbridge.testing.faults_client import FaultsAPIClient
from mmbridge.types import ChannelID, PostID, UserID

from .conftest import Daemon, free_port, http_status, until

MESSAGES = 160


@attrs.define
class Link:
    """The link's process between ``here`` (its own server) and ``there`` (the other)."""

    here: Emulator
    there: Emulator
    workdir: Path
    port: int
    daemon: Daemon

    async def start(self) -> None:
        await self.daemon.start(
            "run", "-c", str(self.workdir / "config.yaml"), "-r", str(self.workdir / "reg.yaml")
        )
        async with asyncio.timeout(20):
            while await http_status(f"http://127.0.0.1:{self.port}/health") != 200:
                assert self.daemon.process is not None
                if self.daemon.process.returncode is not None:
                    pytest.fail(f"mmbridge run exited:\n{self.daemon.stderr()}")
                await asyncio.sleep(0.05)

    async def restart(self) -> None:
        self.daemon.signal(signal.SIGTERM)
        assert (await self.daemon.wait()).code == 0
        await self.start()

    @staticmethod
    def posts(server: Emulator) -> list[Post]:
        """The live user posts of ~bridge-test on ``server``, oldest first."""
        channel = server.seed.channel_id
        found = [
            p
            for p in server.state.posts.values()
            if p.channel_id == channel and not p.delete_at and not p.type
        ]
        return sorted(found, key=lambda p: (p.create_at, p.seq))

    @staticmethod
    def find(server: Emulator, text: str) -> list[Post]:
        return [p for p in Link.posts(server) if p.message == text]

    @staticmethod
    def author(server: Emulator, post: Post) -> str:
        return server.state.user(post.user_id).username


@pytest_asyncio.fixture
async def link(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Link]:
    there = Emulator(faults_api=True)  # (the test's emulator has it too)
    await there.start(host="127.0.0.1", port=0)
    _, token_here = emulator.create_bridge_bot()
    _, token_there = there.create_bridge_bot()
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(
        f"""\
bridge: examples.mattermost_link:LinkBridge
mattermost: {{url: "{emulator.url}", token: "{token_here}", team: test-team}}
appservice: {{id: link, port: {port}, shutdown_timeout: 10}}
puppets: {{username_template: "{{localpart}}_link"}}
database: {{uri: "sqlite:///{tmp_path / "link.db"}"}}
link:
  url: "{there.url}"
  token: "{token_there}"
  team: test-team
  channels: {{bridge-test: bridge-test}}
"""
    )
    loaded = LinkBridge.load_config(config, env={})
    write_registration(tmp_path / "reg.yaml", Registration.from_config(loaded.core))
    env = {key: value for key, value in os.environ.items() if not key.startswith("MMBRIDGE_")}
    setup = Link(emulator, there, tmp_path, port, Daemon(tmp_path, env))
    try:
        yield setup
    finally:
        await setup.daemon.kill()
        await there.stop()


async def one(server: Emulator, text: str) -> Post:
    """The one post of ``text`` on ``server``, once it is there."""
    await until(lambda: Link.find(server, text))
    [post] = Link.find(server, text)
    return post


async def test_everything_crosses_both_ways_as_puppets_and_nothing_loops(
    link: Link, mm_client_for: Callable[[str], ClientAPI]
) -> None:
    here, there = link.here, link.there
    await link.start()
    alice_here = mm_client_for(here.seed.token)
    async with ClientAPI.connect(there.url, there.seed.token) as alice_there:
        channel_here, channel_there = ChannelID(here.seed.channel_id), ChannelID(there.seed.channel_id)
        # A post each way, by the author's puppet on the other side.
        original = await alice_here.posts.create(channel_here, "hello from **here**")
        copy = await one(there, "hello from **here**")
        assert Link.author(there, copy) == "alice_link"
        theirs = await alice_there.posts.create(channel_there, "hello from there")
        their_copy = await one(here, "hello from there")
        assert Link.author(here, their_copy) == "alice_link"

        # A reply on the other side, to the copy, lands in the original's thread; and back.
        await alice_there.posts.create(channel_there, "a reply over there", root_id=copy.id)
        assert (await one(here, "a reply over there")).root_id == original.id
        await alice_here.posts.create(channel_here, "a reply here", root_id=their_copy.id)
        assert (await one(there, "a reply here")).root_id == theirs.id

        # Edits both ways.
        await alice_here.posts.edit(original.id, "hello from here (edited)")
        await until(lambda: there.state.posts[copy.id].message == "hello from here (edited)")
        await alice_there.posts.edit(theirs.id, "hello from there (edited)")
        await until(lambda: here.state.posts[their_copy.id].message == "hello from there (edited)")

        # Reactions both ways, on the copies, shown on the originals by the puppets.
        await alice_there.reactions.add(UserID(there.seed.user_id), copy.id, "tada")
        await until(lambda: [r.emoji_name for r in here.state.reactions.get(original.id, [])] == ["tada"])
        await alice_here.reactions.add(UserID(here.seed.user_id), PostID(their_copy.id), "eyes")
        await until(lambda: [r.emoji_name for r in there.state.reactions.get(theirs.id, [])] == ["eyes"])
        await alice_here.reactions.remove(UserID(here.seed.user_id), PostID(their_copy.id), "eyes")
        await until(lambda: not there.state.reactions.get(theirs.id))

        # A file.
        info = await alice_here.files.upload(channel_here, b"minutes of the meeting", "notes.txt")
        await alice_here.posts.create(channel_here, "the notes", file_ids=[info.id])
        with_file = await one(there, "the notes")
        [file_id] = with_file.file_ids
        assert there.state.files[file_id].name == "notes.txt"
        async with ClientAPI.connect(there.url, there.seed.token) as reader:
            assert await reader.files.download(file_id) == b"minutes of the meeting"
        info = await alice_there.files.upload(channel_there, b"\x89PNG picture", "photo.png")
        await alice_there.posts.create(channel_there, "a photo", file_ids=[info.id])
        [file_id] = (await one(here, "a photo")).file_ids
        assert here.state.files[file_id].name == "photo.png"
        assert await alice_here.files.download(file_id) == b"\x89PNG picture"

        # Deletes both ways.
        oops = await alice_here.posts.create(channel_here, "sent by mistake here")
        oops_copy = await one(there, "sent by mistake here")
        await alice_here.posts.delete(oops.id)
        await until(lambda: there.state.posts[oops_copy.id].delete_at)
        oops = await alice_there.posts.create(channel_there, "sent by mistake there")
        oops_copy = await one(here, "sent by mistake there")
        await alice_there.posts.delete(oops.id)
        await until(lambda: here.state.posts[oops_copy.id].delete_at)

        # Nothing looped: each side has its people's posts and one copy of each of the other's.
        await asyncio.sleep(0.5)
        for server, other in ((here, there), (there, here)):
            mine = sorted(p.message for p in Link.posts(other) if Link.author(other, p) == "alice")
            copies = sorted(p.message for p in Link.posts(server) if Link.author(server, p) == "alice_link")
            assert copies == mine  # one copy of each, and no copy of a copy
            assert len(Link.posts(server)) == 6


async def test_an_action_crosses_both_ways_as_an_action(link: Link) -> None:
    here, there = link.here, link.there
    await link.start()

    def action(server: Emulator, text: str) -> list[tuple[str, str]]:
        return [(p.type, p.message) for p in server.state.posts.values() if text in p.message]

    await here.type_message(here.seed.token, ChannelID(here.seed.channel_id), "/me waves from here")
    await until(lambda: action(there, "waves from here"))
    assert action(there, "waves from here") == [("me", "*waves from here*")]
    await there.type_message(there.seed.token, ChannelID(there.seed.channel_id), "/me nods from there")
    await until(lambda: action(here, "nods from there"))
    assert action(here, "nods from there") == [("me", "*nods from there*")]


async def test_a_restart_keeps_the_link_of_every_message(
    link: Link, mm_client_for: Callable[[str], ClientAPI]
) -> None:
    here, there = link.here, link.there
    await link.start()
    alice_here = mm_client_for(here.seed.token)
    async with ClientAPI.connect(there.url, there.seed.token) as alice_there:
        original = await alice_here.posts.create(ChannelID(here.seed.channel_id), "before the restart")
        copy = await one(there, "before the restart")
        await link.restart()
        await alice_here.posts.edit(original.id, "edited after the restart")
        await until(lambda: there.state.posts[copy.id].message == "edited after the restart")
        await alice_there.posts.create(ChannelID(there.seed.channel_id), "a reply after", root_id=copy.id)
        assert (await one(here, "a reply after")).root_id == original.id
        puppets = [u for u in there.state.users.values() if u.username == "alice_link"]
        assert len(puppets) == 1


async def test_what_the_other_server_said_while_the_link_was_down_arrives_after(link: Link) -> None:
    here, there = link.here, link.there
    await link.start()
    async with ClientAPI.connect(there.url, there.seed.token) as alice_there:
        channel = ChannelID(there.seed.channel_id)
        edited = await alice_there.posts.create(channel, "to be edited while down")
        deleted = await alice_there.posts.create(channel, "to be deleted while down")
        edited_copy = await one(here, "to be edited while down")
        deleted_copy = await one(here, "to be deleted while down")
        alice = UserID(there.seed.user_id)
        await alice_there.reactions.add(alice, edited.id, "eyes")
        await until(lambda: [r.emoji_name for r in here.state.reactions.get(edited_copy.id, [])] == ["eyes"])
        link.daemon.signal(signal.SIGKILL)
        await link.daemon.wait()
        for i in range(5):
            await alice_there.posts.create(channel, f"while down {i}")
        await alice_there.posts.edit(edited.id, "edited while down")
        await alice_there.posts.delete(deleted.id)
        await alice_there.reactions.remove(alice, edited.id, "eyes")
        await alice_there.reactions.add(alice, edited.id, "tada")
        await link.start()
        for i in range(5):
            await one(here, f"while down {i}")
        await until(lambda: here.state.posts[edited_copy.id].message == "edited while down")
        await until(lambda: here.state.posts[deleted_copy.id].delete_at)
        await until(lambda: [r.emoji_name for r in here.state.reactions.get(edited_copy.id, [])] == ["tada"])
        texts = [p.message for p in Link.posts(here)]
        assert texts == ["edited while down", *[f"while down {i}" for i in range(5)]]


async def test_more_posts_than_one_since_answer_holds_all_arrive_after_downtime(link: Link) -> None:
    """The server answers ``?since=`` with 1000 posts at most and no cursor: 1,100 written on the
    other server while the link was down all arrive, once each, in order."""
    here, there = link.here, link.there
    await link.start()
    async with ClientAPI.connect(there.url, there.seed.token) as alice_there:
        await alice_there.posts.create(ChannelID(there.seed.channel_id), "before the downtime")
    await one(here, "before the downtime")
    link.daemon.signal(signal.SIGTERM)
    assert (await link.daemon.wait()).code == 0
    count = 1100
    start = int(time.time() * 1000) + 1
    for i in range(count):  # written straight into the server's state: quicker than 1,100 requests
        at = start + i
        there.state.save_post(
            Post(
                id=there.state.ids.new_id(),
                channel_id=there.seed.channel_id,
                user_id=there.seed.user_id,
                create_at=at,
                update_at=at,
                message=f"bulk {i}",
            ),
            sender=None,
        )
    await link.start()
    expected = ["before the downtime", *(f"bulk {i}" for i in range(count))]
    await until(lambda: len(Link.posts(here)) >= len(expected), limit=60)
    await asyncio.sleep(0.5)  # (nothing more comes)
    assert [p.message for p in Link.posts(here)] == expected


async def test_sigkills_and_faults_on_both_servers_lose_and_double_nothing(link: Link) -> None:
    """The crash test: a conversation on both servers at a steady rate (replies and edits among
    it), the link SIGKILLed three times and restarted, faults armed on both servers meanwhile
    (5xx bursts on posting, a WebSocket dropped without its replay). Afterwards each side has
    exactly one copy of every post of the other, with its last text and reactions, in its thread,
    in order."""
    here, there = link.here, link.there
    await link.start()
    rng = random.Random(12)
    async with (
        ClientAPI.connect(here.url, here.seed.token) as alice_here,
        ClientAPI.connect(there.url, there.seed.token) as alice_there,
    ):
        talking = asyncio.create_task(
            converse(
                Speaker(alice_here, here.seed.user_id, here.seed.channel_id),
                Speaker(alice_there, there.seed.user_id, there.seed.channel_id),
                MESSAGES,
                pace=0.02,
            )
        )
        for kill in range(3):
            await asyncio.sleep(rng.uniform(0.5, 1.0))
            for server in (here, there):
                faults = FaultsAPIClient(server.url)
                await faults.fail_next(2, 503, method="POST", path_contains="/api/v4/posts")
                await faults.ws_lose_replay()
                await faults.ws_drop()
            await asyncio.sleep(rng.uniform(0.2, 0.5))
            link.daemon.signal(signal.SIGKILL)
            await link.daemon.wait()
            await asyncio.sleep([0.0, 1.0, 2.5][kill])
            await link.start()
        await talking

    def problems() -> list[str]:
        found: list[str] = []
        for side, other in ((here, there), (there, here)):
            originals = [p for p in Link.posts(side) if Link.author(side, p) == "alice"]
            copies = [p for p in Link.posts(other) if Link.author(other, p) == "alice_link"]
            by_text = {p.message: p for p in copies}
            if len(by_text) != len(copies):
                found.append(
                    f"doubled on {other.url}: {sorted(Counter(p.message for p in copies).items())[:3]}"
                )
            ids = {p.id: by_text.get(p.message) for p in originals}
            missing = [p.message for p in originals if ids[p.id] is None]
            if missing:
                found.append(f"missing on {other.url}: {missing[:5]}")
            for post in originals:
                copy = ids[post.id]
                if (
                    copy is not None
                    and post.root_id
                    and (ids.get(post.root_id) is None or copy.root_id != ids[post.root_id].id)
                ):
                    found.append(f"{post.message!r} is not in its thread on {other.url}")
            for post in originals:
                copy = ids[post.id]
                want = {r.emoji_name for r in side.state.reactions.get(post.id, [])}
                got = {r.emoji_name for r in other.state.reactions.get(copy.id, [])} if copy else set()
                if copy is not None and want != got:
                    found.append(f"{post.message!r} has reactions {want} but its copy {got}")
            order = [by_text[p.message].message for p in originals if p.message in by_text]
            if [p.message for p in copies if p.message in {o.message for o in originals}] != order:
                found.append(f"out of order on {other.url}")
            if len(copies) != len(originals):
                found.append(f"{len(copies)} copies of {len(originals)} posts on {other.url}")
        return found

    try:
        await until(lambda: not problems(), limit=30)
    finally:
        print("problems:", problems()[:5])
    assert len([p for p in Link.posts(here) if Link.author(here, p) == "alice"]) == MESSAGES - MESSAGES // 4
    letters = await Daemon(link.workdir, link.daemon.env, "letters").run(
        "dead-letters", "-c", str(link.workdir / "config.yaml")
    )
    assert letters.stdout.strip() == "no dead letters", letters.stderr


async def test_a_channel_missing_on_the_other_server_stops_the_start_with_one_line(link: Link) -> None:
    config = link.workdir / "config.yaml"
    config.write_text(
        config.read_text().replace("channels: {bridge-test: bridge-test}", "channels: {nope: bridge-test}")
    )
    result = await link.daemon.run("run", "-c", str(config), "-r", str(link.workdir / "reg.yaml"))
    assert result.code == BridgeSetupError.exit_code
    [line] = result.error_lines
    assert "no channel 'nope' in the other server's team" in line
    assert "(link.channels)" in line
    assert "Unclosed" not in result.stderr
