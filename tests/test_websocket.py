"""The WebSocket stream against the emulator: scoping, resume without loss, resets, bad frames."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from conftest import FAST_RETRY

from mmbridge.api import ClientAPI, ReconnectPolicy, WebSocketStream
from mmbridge.errors import UnauthorizedError
from mmbridge.testing.emulator import Broadcast, Emulator, EmulatorSettings
from mmbridge.types import (
    AddedToTeamEvent,
    ChannelCreatedEvent,
    ChannelDeletedEvent,
    ChannelID,
    ChannelUpdatedEvent,
    DirectAddedEvent,
    Event,
    GroupAddedEvent,
    HelloEvent,
    LeaveTeamEvent,
    PostDeletedEvent,
    PostedEvent,
    PostEditedEvent,
    ReactionAddedEvent,
    ReactionRemovedEvent,
    StatusChangeEvent,
    StreamReset,
    TeamID,
    TypingEvent,
    UnknownEvent,
    UserAddedEvent,
    UserID,
    UserRemovedEvent,
    UserUpdatedEvent,
)

FAST_RECONNECT = ReconnectPolicy(initial_delay=0.01, max_delay=0.05)
WAIT = 10.0  # seconds; generous bound for loopback


class Consumer:
    """Reads a stream in the background into a list, like a bridge's event loop."""

    def __init__(self, stream: WebSocketStream) -> None:
        self.stream = stream
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for event in self.stream.events():
            self.events.append(event)
            self._changed.set()

    async def wait_for(self, predicate: Callable[[list[Event]], bool]) -> None:
        async with asyncio.timeout(WAIT):
            while not predicate(self.events):
                self._changed.clear()
                if self.task.done():
                    self.task.result()
                    raise AssertionError("the stream ended")
                await self._changed.wait()

    async def first(self, kind: type[Event]) -> Event:
        await self.wait_for(lambda events: any(isinstance(e, kind) for e in events))
        return next(e for e in self.events if isinstance(e, kind))

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]

    async def stop(self) -> None:
        await self.stream.close()
        async with asyncio.timeout(WAIT):
            await self.task


@contextlib.asynccontextmanager
async def consuming(client: ClientAPI) -> AsyncIterator[Consumer]:
    consumer = Consumer(WebSocketStream(client.http, reconnect=FAST_RECONNECT))
    try:
        await consumer.first(HelloEvent)
        yield consumer
    finally:
        await consumer.stop()


async def test_each_action_produces_its_event(emulator: Emulator, admin: ClientAPI, alice: ClientAPI) -> None:
    seed = emulator.seed
    async with consuming(admin) as events:
        channel = ChannelID(seed.channel_id)
        post = await alice.posts.create(channel, "hello")
        await alice.posts.edit(post.id, "hello, edited")
        await alice.reactions.add(UserID(seed.user_id), post.id, "smile")
        await alice.reactions.remove(UserID(seed.user_id), post.id, "smile")
        await alice.posts.delete(post.id)
        new = await admin.channels.create(TeamID(seed.team_id), "ws-test", "WS test")
        await admin.channels.add_member(new.id, UserID(seed.user_id))
        await admin.channels.patch(new.id, header="changed")
        await admin.channels.remove_member(new.id, UserID(seed.user_id))
        await admin.channels.delete(new.id)
        await admin.channels.create_direct(UserID(seed.admin_user_id), UserID(seed.user_id))
        await admin.channels.create_group(
            [UserID(seed.admin_user_id), UserID(seed.user_id), UserID(seed.bot_user_id)]
        )
        team = await admin.teams.create("ws-team", "WS team")
        await admin.teams.add_member(team.id, UserID(seed.admin_user_id))
        await admin.teams.add_member(team.id, UserID(seed.user_id))
        await admin.teams.remove_member(team.id, UserID(seed.user_id))
        await admin.users.patch(UserID(seed.user_id), nickname="ally")
        await admin.users.update_status(UserID(seed.admin_user_id), "dnd")
        await events.wait_for(lambda evs: any(isinstance(e, StatusChangeEvent) for e in evs))

        posted = [e for e in events.of(PostedEvent) if e.post.id == post.id]  # type: ignore[attr-defined]
        assert len(posted) == 1
        assert posted[0].post.message == "hello"  # type: ignore[attr-defined]
        assert events.of(PostEditedEvent)[0].post.message == "hello, edited"  # type: ignore[attr-defined]
        assert events.of(ReactionAddedEvent)[0].reaction.emoji_name == "smile"  # type: ignore[attr-defined]
        assert events.of(ReactionRemovedEvent)[0].reaction.emoji_name == "smile"  # type: ignore[attr-defined]
        assert events.of(PostDeletedEvent)[0].post.id == post.id  # type: ignore[attr-defined]
        assert events.of(ChannelCreatedEvent)[0].channel_id == new.id
        assert any(e.user_id == seed.user_id for e in events.of(UserAddedEvent))  # type: ignore[attr-defined]
        assert any(e.channel.header == "changed" for e in events.of(ChannelUpdatedEvent))  # type: ignore[attr-defined]
        assert any(e.channel_id == new.id for e in events.of(UserRemovedEvent))
        assert events.of(ChannelDeletedEvent)[0].channel_id == new.id
        assert events.of(DirectAddedEvent)
        assert events.of(GroupAddedEvent)
        assert any(e.team_id == team.id for e in events.of(AddedToTeamEvent))  # type: ignore[attr-defined]
        left = [e for e in events.of(LeaveTeamEvent) if e.team_id == team.id]  # type: ignore[attr-defined]
        assert [e.user_id for e in left] == [seed.user_id]  # type: ignore[attr-defined]
        assert events.of(UserUpdatedEvent)[-1].user.nickname == "ally"  # type: ignore[attr-defined]
        status = events.of(StatusChangeEvent)[0]
        assert (status.user_id, status.status) == (seed.admin_user_id, "dnd")  # type: ignore[attr-defined]
        seqs = [e.seq for e in events.events]
        assert seqs == list(range(len(seqs)))  # hello is 0, then one by one, none twice


async def test_typing_reaches_others_but_not_the_typist(
    emulator: Emulator, admin: ClientAPI, alice: ClientAPI
) -> None:
    async with consuming(admin) as admin_events, consuming(alice) as alice_events:
        await alice_events.stream.send_typing(emulator.seed.channel_id)
        typing = await admin_events.first(TypingEvent)
        assert typing.user_id == emulator.seed.user_id  # type: ignore[attr-defined]
        assert typing.channel_id == emulator.seed.channel_id
        await alice.posts.create(ChannelID(emulator.seed.channel_id), "marker")
        await alice_events.first(PostedEvent)
        assert not alice_events.of(TypingEvent)


async def test_a_non_member_never_sees_a_private_channels_posts(
    emulator: Emulator, admin: ClientAPI, alice: ClientAPI
) -> None:
    seed = emulator.seed
    secret = await admin.channels.create(TeamID(seed.team_id), "secret", "Secret", type="P")
    async with consuming(alice) as events:
        await admin.posts.create(secret.id, "private words")
        marker = await admin.posts.create(ChannelID(seed.channel_id), "public marker")
        await events.wait_for(
            lambda evs: any(isinstance(e, PostedEvent) and e.post.id == marker.id for e in evs)
        )
        assert all(e.channel_id != secret.id for e in events.events)


async def test_a_drop_mid_burst_of_1000_posts_loses_and_repeats_nothing(
    emulator: Emulator, bot: ClientAPI, alice: ClientAPI
) -> None:
    channel = ChannelID(emulator.seed.channel_id)
    async with consuming(bot) as events:
        emulator.faults.ws_drop_after(400, user_id=emulator.seed.bot_user_id)
        limit = asyncio.Semaphore(8)

        async def post(n: int) -> str:
            async with limit:
                return (await alice.posts.create(channel, f"burst {n}")).id

        created = await asyncio.gather(*(post(n) for n in range(1000)))
        ids = set(created)

        def burst(evs: list[Event]) -> list[str]:
            return [e.post.id for e in evs if isinstance(e, PostedEvent) and e.post.id in ids]

        await events.wait_for(lambda evs: len(burst(evs)) >= 1000)
        received = burst(events.events)
        assert len(received) == 1000
        assert set(received) == ids  # each exactly once
        by_time = sorted(created, key=lambda i: (emulator.state.posts[i].create_at, received.index(i)))
        assert received == by_time  # in the order the server made them
        assert events.stream.reconnects >= 1
        assert not events.of(StreamReset)
        seqs = [e.seq for e in events.events]
        assert seqs == sorted(set(seqs))


async def test_a_lost_replay_buffer_yields_a_stream_reset(
    emulator: Emulator, bot: ClientAPI, alice: ClientAPI
) -> None:
    async with consuming(bot) as events:
        first_id = events.stream.connection_id
        emulator.faults.ws_lose_replay(user_id=emulator.seed.bot_user_id)
        emulator.faults.ws_drop(user_id=emulator.seed.bot_user_id)
        reset = await events.first(StreamReset)
        assert reset.old_connection_id == first_id  # type: ignore[attr-defined]
        assert reset.new_connection_id != first_id  # type: ignore[attr-defined]
        post = await alice.posts.create(ChannelID(emulator.seed.channel_id), "after the reset")
        await events.wait_for(
            lambda evs: any(isinstance(e, PostedEvent) and e.post.id == post.id for e in evs)
        )
        kinds = [type(e) for e in events.events]
        assert kinds.index(StreamReset) < len(kinds) - 1
        assert kinds[kinds.index(StreamReset) + 1] is HelloEvent


async def test_bad_frames_are_skipped_and_the_stream_goes_on(
    emulator: Emulator, bot: ClientAPI, alice: ClientAPI, caplog: pytest.LogCaptureFixture
) -> None:
    async with consuming(bot) as events:
        emulator.faults.ws_send_raw("{this is not json", user_id=emulator.seed.bot_user_id)
        emulator.faults.ws_send_raw("[1, 2, 3]", user_id=emulator.seed.bot_user_id)
        emulator.events.publish(
            "brand_new_event", {"anything": 1}, Broadcast(user_id=emulator.seed.bot_user_id)
        )
        post = await alice.posts.create(ChannelID(emulator.seed.channel_id), "still flowing")
        await events.wait_for(
            lambda evs: any(isinstance(e, PostedEvent) and e.post.id == post.id for e in evs)
        )
        unknown = events.of(UnknownEvent)
        assert [e.type for e in unknown] == ["brand_new_event"]
        assert events.stream.skipped_frames == 2
        assert events.stream.reconnects == 0
    assert "not JSON" in caplog.text


async def test_deeply_nested_frames_are_skipped_and_the_stream_goes_on(
    emulator: Emulator, bot: ClientAPI, alice: ClientAPI
) -> None:
    async with consuming(bot) as events:
        bot_id = emulator.seed.bot_user_id
        emulator.faults.ws_send_raw("[" * 100_000 + "]" * 100_000, user_id=bot_id)  # RecursionError
        emulator.faults.ws_send_raw(
            '{"event": "x", "data": ' + '{"a": ' * 200 + "1" + "}" * 200 + "}", user_id=bot_id
        )
        post = await alice.posts.create(ChannelID(emulator.seed.channel_id), "still flowing")
        await events.wait_for(
            lambda evs: any(isinstance(e, PostedEvent) and e.post.id == post.id for e in evs)
        )
        assert events.stream.skipped_frames == 2
        assert events.stream.reconnects == 0


async def test_drops_of_a_healthy_server_cost_a_short_wait_each(
    emulator: Emulator, bot: ClientAPI, alice: ClientAPI
) -> None:
    consumer = Consumer(
        WebSocketStream(bot.http, reconnect=ReconnectPolicy(initial_delay=0.2, max_delay=5.0))
    )
    try:
        await consumer.first(HelloEvent)
        started = asyncio.get_running_loop().time()
        for n in range(5):
            post = await alice.posts.create(ChannelID(emulator.seed.channel_id), f"between drops {n}")
            await consumer.wait_for(
                lambda evs, p=post: any(isinstance(e, PostedEvent) and e.post.id == p.id for e in evs)
            )
            emulator.faults.ws_drop(user_id=emulator.seed.bot_user_id)
        last = await alice.posts.create(ChannelID(emulator.seed.channel_id), "after the drops")
        await consumer.wait_for(
            lambda evs: any(isinstance(e, PostedEvent) and e.post.id == last.id for e in evs)
        )
        # Each connection delivered events, so each reconnect waits 0.1-0.2 s; growing waits
        # (0.2, 0.4, 0.8, 1.6, 3.2 s) would take about 4.6 s.
        assert asyncio.get_running_loop().time() - started < 2.5
        assert consumer.stream.reconnects == 5
    finally:
        await consumer.stop()


async def test_a_stalled_server_delivers_everything_after(
    emulator: Emulator, bot: ClientAPI, alice: ClientAPI
) -> None:
    async with consuming(bot) as events:
        emulator.faults.ws_stall(0.3, user_id=emulator.seed.bot_user_id)
        ids = [
            (await alice.posts.create(ChannelID(emulator.seed.channel_id), f"stalled {n}")).id
            for n in range(10)
        ]
        await events.wait_for(
            lambda evs: sum(isinstance(e, PostedEvent) and e.post.id in ids for e in evs) == 10
        )
        assert [e.post.id for e in events.of(PostedEvent) if e.post.id in ids] == ids  # type: ignore[attr-defined]


@pytest.mark.parametrize("emulator_settings", [EmulatorSettings(ws_auth_timeout=0.2)])
async def test_a_bad_token_ends_the_stream_with_unauthorized(emulator: Emulator) -> None:
    """The server upgrades the socket anyway and closes it unauthenticated; the stream then
    learns over REST that the token is refused, and ends instead of reconnecting forever."""
    async with ClientAPI.connect(emulator.url, "wrong-token", retry=FAST_RETRY) as client:
        stream = WebSocketStream(client.http, reconnect=FAST_RECONNECT)

        async def drain() -> None:
            async for _ in stream.events():
                pass

        with pytest.raises(UnauthorizedError):
            await asyncio.wait_for(drain(), WAIT)


async def test_cancelling_the_consumer_closes_the_socket(emulator: Emulator, bot: ClientAPI) -> None:
    consumer = Consumer(WebSocketStream(bot.http, reconnect=FAST_RECONNECT))
    await consumer.first(HelloEvent)
    assert consumer.stream.connected
    consumer.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer.task
    assert not consumer.stream.connected
    async with asyncio.timeout(WAIT):  # the server sees the close a moment later
        while any(c.active for c in emulator.websocket_connections()):  # noqa: ASYNC110 - polls the server
            await asyncio.sleep(0.01)


async def test_the_server_restarting_the_connection_is_a_reset_not_silence(
    emulator: Emulator, bot: ClientAPI
) -> None:
    """Reconnecting after the server forgot the connection must be reported as a reset."""
    async with consuming(bot) as events:
        emulator.faults.ws_lose_replay()
        emulator.faults.ws_drop()
        await events.first(StreamReset)
        assert len(events.of(HelloEvent)) == 2


async def test_close_before_iterating_or_while_waiting_to_reconnect_ends_the_stream(
    emulator: Emulator, bot: ClientAPI
) -> None:
    early = WebSocketStream(bot.http, reconnect=FAST_RECONNECT)
    await early.close()
    assert [event async for event in early.events()] == []

    patient = WebSocketStream(bot.http, reconnect=ReconnectPolicy(initial_delay=30, max_delay=30))
    consumer = Consumer(patient)
    await consumer.first(HelloEvent)
    emulator.faults.ws_drop(user_id=emulator.seed.bot_user_id)
    await asyncio.sleep(0.1)  # now waiting ~15-30 s before reconnecting
    async with asyncio.timeout(2):  # close() cuts that wait short
        await consumer.stop()


async def test_a_sequence_gap_makes_the_stream_ask_for_a_replay(
    emulator: Emulator, bot: ClientAPI, alice: ClientAPI
) -> None:
    async with consuming(bot) as events:
        ahead = events.stream.next_seq + 5
        bogus = f'{{"event":"posted","data":{{}},"broadcast":{{}},"seq":{ahead}}}'
        emulator.faults.ws_send_raw(bogus, user_id=emulator.seed.bot_user_id)
        post = await alice.posts.create(ChannelID(emulator.seed.channel_id), "after the gap")
        await events.wait_for(
            lambda evs: any(isinstance(e, PostedEvent) and e.post.id == post.id for e in evs)
        )
        assert events.stream.reconnects == 1  # it reconnected with connection_id + sequence_number
        assert not events.of(StreamReset)  # the server had everything: nothing was lost
        seqs = [e.seq for e in events.events]
        assert seqs == list(range(len(seqs)))


async def test_an_oversized_frame_makes_the_stream_reconnect_and_go_on(
    emulator: Emulator, bot: ClientAPI, alice: ClientAPI, caplog: pytest.LogCaptureFixture
) -> None:
    assert WebSocketStream(bot.http).max_message_size == 16 * 1024 * 1024  # the default, not 0
    consumer = Consumer(WebSocketStream(bot.http, reconnect=FAST_RECONNECT, max_message_size=64 * 1024))
    try:
        await consumer.first(HelloEvent)
        big = '{"event": "huge", "data": {"blob": "' + "x" * 100_000 + '"}}'
        emulator.faults.ws_send_raw(big, user_id=emulator.seed.bot_user_id)
        post = await alice.posts.create(ChannelID(emulator.seed.channel_id), "after the big frame")
        await consumer.wait_for(
            lambda evs: any(isinstance(e, PostedEvent) and e.post.id == post.id for e in evs)
        )
        assert consumer.stream.oversized_messages == 1
        assert consumer.stream.reconnects == 1  # resumed: the post, sent after, was replayed
        assert not consumer.of(StreamReset)
        seqs = [e.seq for e in consumer.events]
        assert seqs == list(range(len(seqs)))
    finally:
        await consumer.stop()
    assert "over max_message_size (65536 bytes)" in caplog.text


async def test_an_oversized_event_replayed_again_gives_a_reset_not_a_loop(
    emulator: Emulator, bot: ClientAPI, alice: ClientAPI
) -> None:
    consumer = Consumer(WebSocketStream(bot.http, reconnect=FAST_RECONNECT, max_message_size=64 * 1024))
    try:
        await consumer.first(HelloEvent)
        emulator.events.publish(  # an event with a seq: the server replays it on every resume
            "huge_event", {"blob": "x" * 100_000}, Broadcast(user_id=emulator.seed.bot_user_id)
        )
        reset = await consumer.first(StreamReset)
        assert "max_message_size" in reset.reason  # type: ignore[attr-defined]
        post = await alice.posts.create(ChannelID(emulator.seed.channel_id), "after the reset")
        await consumer.wait_for(
            lambda evs: any(isinstance(e, PostedEvent) and e.post.id == post.id for e in evs)
        )
        assert consumer.stream.oversized_messages == 2  # once, then once more on the resume
        assert not any(isinstance(e, UnknownEvent) and e.type == "huge_event" for e in consumer.events)
    finally:
        await consumer.stop()


class FailsOnce(WebSocketStream):
    """A stream whose frame handling has a bug the first time it sees ``boom``."""

    failed = False

    def _accept(self, text: str) -> list[Event]:
        if "boom" in text and not self.failed:
            self.failed = True
            raise RuntimeError("a bug in frame handling")
        return super()._accept(text)


async def test_an_unexpected_reader_failure_is_logged_and_the_stream_reconnects(
    emulator: Emulator, bot: ClientAPI, alice: ClientAPI, caplog: pytest.LogCaptureFixture
) -> None:
    consumer = Consumer(FailsOnce(bot.http, reconnect=FAST_RECONNECT))
    try:
        await consumer.first(HelloEvent)
        emulator.faults.ws_send_raw('{"boom": true}', user_id=emulator.seed.bot_user_id)
        post = await alice.posts.create(ChannelID(emulator.seed.channel_id), "after the failure")
        await consumer.wait_for(
            lambda evs: any(isinstance(e, PostedEvent) and e.post.id == post.id for e in evs)
        )
        assert consumer.stream.reader_failures == 1
        assert consumer.stream.reconnects == 1
        assert not consumer.task.done()
    finally:
        await consumer.stop()
    assert "websocket reader failed (RuntimeError)" in caplog.text
    assert "a bug in frame handling" in caplog.text  # the traceback is in the log


async def test_pings_keep_an_idle_stream_live_and_a_silent_one_is_reconnected(
    emulator: Emulator, bot: ClientAPI, alice: ClientAPI
) -> None:
    stream = WebSocketStream(bot.http, reconnect=FAST_RECONNECT, heartbeat=0.3)
    consumer = Consumer(stream)
    try:
        await consumer.first(HelloEvent)
        await asyncio.sleep(1.5)  # five intervals with no event: the pongs keep it live
        assert stream.is_live()
        assert stream.silent_closes == 0
        # The server stops writing without closing: no pong, no event.
        emulator.faults.ws_stall(3.0, user_id=emulator.seed.bot_user_id)
        async with asyncio.timeout(WAIT):  # noticed within two intervals, long before the 3 s
            while not stream.silent_closes:  # noqa: ASYNC110 - watches the stream's own counter
                await asyncio.sleep(0.02)
        post = await alice.posts.create(ChannelID(emulator.seed.channel_id), "after the silence")
        await consumer.wait_for(
            lambda evs: any(isinstance(e, PostedEvent) and e.post.id == post.id for e in evs)
        )
        assert stream.is_live()
    finally:
        await consumer.stop()
    assert not stream.is_live()
