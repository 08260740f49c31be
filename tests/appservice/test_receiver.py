"""The receiver: tokens, body formats, size limits, answers, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmbridge.appservice.dispatcher import Dispatcher
from mmbridge.appservice.receiver import IntegrationTokens, Receiver
from mmbridge.types import (
    ActionEvent,
    ActionResponse,
    CommandResponse,
    DialogResponse,
    DialogSubmissionEvent,
    Event,
    OutgoingWebhookEvent,
    PostedEvent,
    SlashCommandEvent,
)

T = TypeVar("T")
HOOK_TOKEN = "hooktoken1234567890abcdefg"
COMMAND_TOKEN = "cmdtoken1234567890abcdefgh"
SECRET = "actionsecret1234567890abcd"
CHANNEL = "c" * 26
USER = "u" * 26


class Bridge:
    """A receiver with recording handlers, served on loopback."""

    def __init__(self, **options: Any) -> None:
        self.dispatcher = Dispatcher()
        self.seen: list[Event] = []
        tokens = IntegrationTokens()
        tokens.add("webhook", HOOK_TOKEN)
        tokens.add("command", COMMAND_TOKEN)
        tokens.add("action", SECRET)
        self.healthy = True

        async def store_ok() -> bool:
            return self.healthy

        self.receiver = Receiver(
            self.dispatcher, tokens, health_checks={"store": store_ok}, max_body_size=4096, **options
        )
        d = self.dispatcher

        @d.on(PostedEvent, OutgoingWebhookEvent, ActionEvent, DialogSubmissionEvent)
        async def record(event: Event) -> object:
            self.seen.append(event)
            if isinstance(event, OutgoingWebhookEvent) and event.text == "echo please":
                return "echo!"
            if isinstance(event, ActionEvent):
                if event.context.get("boom"):
                    raise RuntimeError("handler bug")
                return ActionResponse(update={"message": "clicked"}, ephemeral_text="done")
            if isinstance(event, DialogSubmissionEvent) and not event.submission.get("name"):
                return DialogResponse(errors={"name": "required"})
            return None

        @d.on(SlashCommandEvent)
        async def command(event: SlashCommandEvent) -> CommandResponse:
            self.seen.append(event)
            return CommandResponse(text=f"you said {event.text}", response_type="in_channel")


@pytest.fixture
async def bridge() -> AsyncIterator[tuple[Bridge, aiohttp.ClientSession]]:
    bridge = Bridge()
    url = await bridge.receiver.start("127.0.0.1", 0)
    async with aiohttp.ClientSession(base_url=url) as session:
        yield bridge, session
    await bridge.receiver.stop()
    await bridge.dispatcher.close()


def webhook_fields(**overrides: str) -> dict[str, str]:
    fields = {
        "token": HOOK_TOKEN,
        "team_id": "t" * 26,
        "team_domain": "team",
        "channel_id": CHANNEL,
        "channel_name": "town-square",
        "timestamp": "1700000000",
        "user_id": USER,
        "user_name": "alice",
        "post_id": "p" * 26,
        "text": "hello",
        "trigger_word": "",
        "file_ids": "",
    }
    fields.update(overrides)
    return fields


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def test_a_form_webhook_is_dispatched_with_its_timestamp_in_ms(
    bridge: tuple[Bridge, aiohttp.ClientSession],
) -> None:
    b, http = bridge
    async with http.post(
        "/mattermost/webhook", data=urlencode(webhook_fields(file_ids="a,b")), headers=FORM
    ) as resp:
        assert resp.status == 200
    hook = next(e for e in b.seen if isinstance(e, OutgoingWebhookEvent))
    assert hook.timestamp == 1_700_000_000_000
    assert hook.file_ids == ("a", "b")
    posted = next(e for e in b.seen if isinstance(e, PostedEvent))
    assert posted.source == "webhook"
    assert posted.post.message == "hello"


async def test_a_json_webhook_keeps_ms_and_the_handler_answer_is_the_reply(
    bridge: tuple[Bridge, aiohttp.ClientSession],
) -> None:
    b, http = bridge
    fields = {**webhook_fields(text="echo please"), "timestamp": 1_700_000_000_123}
    async with http.post("/mattermost/webhook", json=fields) as resp:
        assert resp.status == 200
        assert await resp.json() == {"text": "echo!"}
    hook = next(e for e in b.seen if isinstance(e, OutgoingWebhookEvent))
    assert hook.timestamp == 1_700_000_000_123


@pytest.mark.parametrize("path", ["/mattermost/webhook", "/mattermost/command"])
async def test_a_wrong_token_is_401_and_nothing_is_dispatched(
    bridge: tuple[Bridge, aiohttp.ClientSession], path: str
) -> None:
    b, http = bridge
    fields = webhook_fields(token="wrong") | {"command": "/x"}
    async with http.post(path, data=urlencode(fields), headers=FORM) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"] == "unknown token"
    assert b.seen == []


async def test_a_lone_surrogate_token_is_401_and_counted(
    bridge: tuple[Bridge, aiohttp.ClientSession],
) -> None:
    b, http = bridge
    body = json.dumps(webhook_fields(token="\udc80"))  # the escape decodes to a lone surrogate
    async with http.post(
        "/mattermost/webhook", data=body, headers={"Content-Type": "application/json"}
    ) as resp:
        assert resp.status == 401  # not a 500 from encoding the token
    async with http.get("/metrics") as resp:
        assert 'mmbridge_receiver_requests_total{endpoint="webhook",status="401"} 1.0' in await resp.text()
    assert b.seen == []


async def test_a_slash_command_answer_and_the_authorization_header(
    bridge: tuple[Bridge, aiohttp.ClientSession],
) -> None:
    _b, http = bridge
    fields = {
        "command": "/bridge",
        "text": "status",
        "channel_id": CHANNEL,
        "user_id": USER,
        "trigger_id": "trig1",
    }
    headers = {**FORM, "Authorization": f"Token {COMMAND_TOKEN}"}
    async with http.post("/mattermost/command", data=urlencode(fields), headers=headers) as resp:
        assert resp.status == 200
        assert await resp.json() == {"response_type": "in_channel", "text": "you said status"}
    async with http.get(
        "/mattermost/command", params={**fields, "token": COMMAND_TOKEN, "trigger_id": "t2"}
    ) as resp:
        assert (await resp.json())["text"] == "you said status"


async def test_actions_need_the_secret_and_a_failing_handler_gets_a_polite_answer(
    bridge: tuple[Bridge, aiohttp.ClientSession],
) -> None:
    _b, http = bridge
    body = {
        "user_id": USER,
        "channel_id": CHANNEL,
        "post_id": "p" * 26,
        "type": "button",
        "context": {"mmbridge_secret": SECRET},
    }
    async with http.post("/mattermost/action", json=body) as resp:
        assert await resp.json() == {"update": {"message": "clicked"}, "ephemeral_text": "done"}
    async with http.post("/mattermost/action", json={**body, "context": {"mmbridge_secret": "nope"}}) as resp:
        assert resp.status == 401
    async with http.post(
        "/mattermost/action", json={**body, "context": {"mmbridge_secret": SECRET, "boom": True}}
    ) as resp:
        assert resp.status == 200
        assert "could not" in (await resp.json())["ephemeral_text"]


async def test_dialog_errors_keep_the_dialog_open(bridge: tuple[Bridge, aiohttp.ClientSession]) -> None:
    _, http = bridge
    body = {"user_id": USER, "channel_id": CHANNEL, "state": f"{SECRET}:step1", "submission": {}}
    async with http.post("/mattermost/dialog", json=body) as resp:
        assert await resp.json() == {"errors": {"name": "required"}}
    async with http.post("/mattermost/dialog", json={**body, "submission": {"name": "x"}}) as resp:
        assert await resp.json() == {}


async def test_bodies_over_the_limit_are_413(bridge: tuple[Bridge, aiohttp.ClientSession]) -> None:
    b, http = bridge
    async with http.post(
        "/mattermost/webhook", data=urlencode(webhook_fields(text="x" * 5000)), headers=FORM
    ) as resp:
        assert resp.status == 413
    assert b.seen == []


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (b"{not json", "application/json", "not valid JSON"),
        (b"[1,2]", "application/json", "must be an object"),
        (b"token=" + HOOK_TOKEN.encode(), "application/x-www-form-urlencoded", "'channel_id' is required"),
        (b"<xml/>", "application/xml", "unsupported Content-Type"),
        (b"\xff\xfe", "application/x-www-form-urlencoded", "not UTF-8"),
    ],
)
async def test_malformed_bodies_get_a_400_naming_the_problem(
    bridge: tuple[Bridge, aiohttp.ClientSession], body: bytes, content_type: str, problem: str
) -> None:
    b, http = bridge
    async with http.post("/mattermost/webhook", data=body, headers={"Content-Type": content_type}) as resp:
        assert resp.status == 400
        assert problem in (await resp.json())["error"]
    assert b.seen == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "token",
        "channel_id",
        "user_id",
        "post_id",
        "timestamp",
        "file_ids",
        "command",
        "context",
        "submission",
        "cancelled",
        "state",
        "text",
        "type",
    ]
)
bodies = st.one_of(
    st.binary(max_size=300).map(lambda b: (b, "application/json")),
    st.binary(max_size=300).map(lambda b: (b, "application/x-www-form-urlencoded")),
    st.dictionaries(field_names, json_values, max_size=8).map(
        lambda d: (json.dumps(d).encode(), "application/json")
    ),
    st.dictionaries(field_names, st.text(max_size=30), max_size=8).map(
        lambda d: (urlencode(d).encode(), "application/x-www-form-urlencoded")
    ),
    st.text(max_size=40).map(lambda t: (t.encode(), t[:20] or "text/plain")),
)


class LoopThread:
    """An event loop in a thread serving a Bridge, so a synchronous hypothesis test can use it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.bridge, self.http = self.run(self._start())

    async def _start(self) -> tuple[Bridge, aiohttp.ClientSession]:
        bridge = Bridge()
        url = await bridge.receiver.start("127.0.0.1", 0)
        return bridge, aiohttp.ClientSession(base_url=url)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def close(self) -> None:
        async def stop() -> None:
            await self.http.close()
            await self.bridge.receiver.stop()
            await self.bridge.dispatcher.close()

        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def threaded_bridge() -> Iterator[LoopThread]:
    served = LoopThread()
    yield served
    served.close()


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(endpoint=st.sampled_from(["webhook", "command", "action", "dialog"]), body=bodies)
def test_a_thousand_random_bodies_get_a_4xx_never_a_500(
    threaded_bridge: LoopThread, endpoint: str, body: tuple[bytes, str]
) -> None:
    raw, content_type = body
    status = threaded_bridge.run(post(threaded_bridge.http, endpoint, raw, content_type))
    assert 400 <= status < 500, (endpoint, raw, content_type, status)
    assert threaded_bridge.bridge.seen == []  # nothing random ever carries a valid token


async def post(http: aiohttp.ClientSession, endpoint: str, raw: bytes, content_type: str) -> int:
    sendable = content_type.isascii() and content_type.isprintable()  # else aiohttp refuses to send it
    headers = {"Content-Type": content_type} if sendable else {}
    async with http.post(f"/mattermost/{endpoint}", data=raw, headers=headers) as resp:
        await resp.read()
        return resp.status


async def test_health_and_metrics(bridge: tuple[Bridge, aiohttp.ClientSession]) -> None:
    b, http = bridge
    async with http.get("/health") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok", "checks": {"store": True}}
    b.healthy = False
    async with http.get("/health") as resp:
        assert resp.status == 503
    async with http.get("/health/live") as resp:
        assert resp.status == 200
    async with http.post("/mattermost/webhook", data=urlencode(webhook_fields()), headers=FORM) as resp:
        assert resp.status == 200
    async with http.get("/metrics") as resp:
        text = await resp.text()
    assert 'mmbridge_receiver_requests_total{endpoint="webhook",status="200"} 1.0' in text


async def test_a_body_sent_in_chunks_arrives_whole(bridge: tuple[Bridge, aiohttp.ClientSession]) -> None:
    b, http = bridge
    body = urlencode(webhook_fields(text="y" * 3000)).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 500):
            yield body[start : start + 500]
            await asyncio.sleep(0.005)

    async with http.post("/mattermost/webhook", data=chunks(), headers=FORM) as resp:
        assert resp.status == 200
    hook = next(e for e in b.seen if isinstance(e, OutgoingWebhookEvent))
    assert len(hook.text) == 3000


async def test_deeply_nested_json_is_a_400(bridge: tuple[Bridge, aiohttp.ClientSession]) -> None:
    _, http = bridge
    async with http.post(
        "/mattermost/action", data=b"[" * 3000, headers={"Content-Type": "application/json"}
    ) as resp:
        assert resp.status == 400


async def test_a_closed_dispatcher_makes_webhooks_503_not_500(
    bridge: tuple[Bridge, aiohttp.ClientSession],
) -> None:
    b, http = bridge
    await b.dispatcher.close()
    async with http.post("/mattermost/webhook", data=urlencode(webhook_fields()), headers=FORM) as resp:
        assert resp.status == 503


def test_any_token_text_is_just_a_wrong_token() -> None:
    tokens = IntegrationTokens()
    tokens.add("webhook", "the-real-token")
    for hostile in ("\udc80", "\ud800x", "", "the-real-token\x00", "é" * 1000):
        assert not tokens.accepts("webhook", hostile)
    assert tokens.accepts("webhook", "the-real-token")


@contextlib.asynccontextmanager
async def serving(**options: Any) -> AsyncIterator[tuple[Bridge, aiohttp.ClientSession]]:
    bridge = Bridge(**options)
    url = await bridge.receiver.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession(base_url=url) as session:
            yield bridge, session
    finally:
        await bridge.receiver.stop()
        await bridge.dispatcher.close()


async def open_raw(b: Bridge, head: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw connection to the receiver that has sent ``head`` and then waits."""
    assert b.receiver.url is not None
    reader, writer = await asyncio.open_connection(b.receiver.url.host, b.receiver.url.port)
    writer.write(head)
    await writer.drain()
    return reader, writer


def partial_webhook(sent: bytes = b"token=abcd") -> bytes:
    return (
        b"POST /mattermost/webhook HTTP/1.1\r\nHost: receiver\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n" + sent
    )


async def read_until_closed(reader: asyncio.StreamReader, within: float) -> tuple[bytes, float]:
    started = time.monotonic()
    async with asyncio.timeout(within):
        answer = await reader.read()  # until the server closes the connection
    return answer, time.monotonic() - started


async def test_a_half_sent_body_gets_408_and_the_connection_is_closed() -> None:
    async with serving(read_timeout=0.5) as (b, http):
        reader, writer = await open_raw(b, partial_webhook())  # 10 of 1000 bytes, then nothing
        try:
            answer, elapsed = await read_until_closed(reader, within=5)
        finally:
            writer.close()
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b"did not arrive in time" in answer
        assert 0.4 < elapsed < 3  # the read timeout, then at most as long again draining
        assert b.seen == []
        assert b.receiver.in_flight == 0
        async with http.get("/metrics") as resp:
            text = await resp.text()
        assert 'mmbridge_receiver_requests_total{endpoint="webhook",status="408"} 1.0' in text


async def test_a_half_sent_request_head_is_closed_at_the_read_timeout() -> None:
    async with serving(read_timeout=0.5) as (b, _):
        reader, writer = await open_raw(b, b"POST /mattermost/webhook HTTP/1.1\r\nHost: rec")
        try:
            answer, elapsed = await read_until_closed(reader, within=5)
        finally:
            writer.close()
        assert answer == b""  # closed without an answer: there was no request to answer
        assert elapsed < 3


async def test_requests_over_the_cap_get_503_at_once_and_the_cap_frees_up() -> None:
    fields = urlencode(webhook_fields())
    async with serving(max_concurrent_requests=4, read_timeout=30) as (b, http):
        held = [await open_raw(b, partial_webhook()) for _ in range(4)]
        try:
            async with asyncio.timeout(5):
                while b.receiver.in_flight < 4:  # noqa: ASYNC110 - waits for the server to see them
                    await asyncio.sleep(0.01)
            started = time.monotonic()
            async with http.post("/mattermost/webhook", data=fields, headers=FORM) as resp:
                assert resp.status == 503
                assert resp.headers["Retry-After"] == "1"
            assert time.monotonic() - started < 2  # refused at once, not queued
            async with http.get("/health") as resp:  # health is never refused
                assert resp.status == 200
        finally:
            for _, writer in held:
                writer.close()
        async with asyncio.timeout(5):
            while b.receiver.in_flight:  # noqa: ASYNC110 - the handlers see the clients leave
                await asyncio.sleep(0.01)
        async with http.post("/mattermost/webhook", data=fields, headers=FORM) as resp:
            assert resp.status == 200
        assert len([e for e in b.seen if isinstance(e, OutgoingWebhookEvent)]) == 1
        async with http.get("/metrics") as resp:
            text = await resp.text()
        assert 'mmbridge_receiver_requests_total{endpoint="webhook",status="503"} 1.0' in text


def test_the_receivers_limits_must_be_sensible() -> None:
    with pytest.raises(ValueError, match="read_timeout"):
        Bridge(read_timeout=0)
    with pytest.raises(ValueError, match="max_concurrent_requests"):
        Bridge(max_concurrent_requests=0)
