"""Receiver, WebSocket and dispatcher together against the emulator, as a bridge runs them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from mmbridge.api import ClientAPI, ReconnectPolicy, WebSocketStream
from mmbridge.appservice import (
    AppServiceAPI,
    CommandSpec,
    Dispatcher,
    EchoFilter,
    IntegrationTokens,
    Provisioner,
    Receiver,
    StateStore,
    WebhookSpec,
)
from mmbridge.testing.emulator import Emulator
from mmbridge.types import CommandResponse, Event, HelloEvent, PostedEvent, SlashCommandEvent, TeamID


class Running:
    """A bridge's inbound side: receiver + WebSocket stream -> one dispatcher."""

    def __init__(self, emulator: Emulator, appservice: AppServiceAPI, store: StateStore) -> None:
        self.emulator = emulator
        self.appservice = appservice
        self.tokens = IntegrationTokens()
        self.dispatcher = Dispatcher(
            drop=EchoFilter(
                bridge_id=appservice.bridge_id,
                bot_user_id=appservice.bot_user_id,
                store=store,
            )
        )
        self.receiver = Receiver(self.dispatcher, self.tokens, post_reader=appservice.bot.posts.get)
        self.stream = WebSocketStream(appservice.bot.http, reconnect=ReconnectPolicy(initial_delay=0.01))
        self.posts: list[PostedEvent] = []
        self.connected = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        url = await self.receiver.start("127.0.0.1", 0)
        self.provisioner = Provisioner(
            self.appservice.bot,
            self.appservice.store,
            self.tokens,
            team_id=self.appservice.team_id,
            public_url=url,
        )
        self._reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self.connected.wait(), 10)

    async def _read(self) -> None:
        async for event in self.stream.events():
            if isinstance(event, HelloEvent):
                self.connected.set()
            await self.dispatcher.dispatch(event)

    async def stop(self) -> None:
        await self.stream.close()
        if self._reader is not None:
            await self._reader
        await self.receiver.stop()
        await self.dispatcher.close()


@pytest.fixture
async def running(emulator: Emulator, appservice: AppServiceAPI, store: StateStore) -> AsyncIterator[Running]:
    await appservice.bot_intent().ensure_joined(emulator.seed.channel_id)  # a bridge's bot is in its channels
    bridge = Running(emulator, appservice, store)
    await bridge.start()
    yield bridge
    await bridge.stop()


async def until(condition: object, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110 - polls other tasks' state
            await asyncio.sleep(0.01)


async def test_a_post_seen_by_websocket_and_webhook_reaches_the_handler_once(
    emulator: Emulator, running: Running
) -> None:
    await running.provisioner.ensure_webhook(WebhookSpec(channel_id=emulator.seed.channel_id))
    seen: list[PostedEvent] = []

    @running.dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        seen.append(event)

    await emulator.type_message(emulator.seed.token, emulator.seed.channel_id, "hello bridge")
    await emulator.integrations_idle()
    await until(lambda: seen)
    await asyncio.sleep(0.2)  # time for a second delivery, were there one
    assert [e.post.message for e in seen] == ["hello bridge"]
    webhook_calls = [c for c in emulator.integration_calls if c.kind == "outgoing_webhook"]
    assert len(webhook_calls) == 1  # it did arrive by both paths
    assert running.dispatcher.stats.dropped_duplicate == 1


async def test_a_puppets_post_never_reaches_a_handler(
    emulator: Emulator, running: Running, appservice: AppServiceAPI
) -> None:
    await running.provisioner.ensure_webhook(WebhookSpec(channel_id=emulator.seed.channel_id))
    seen: list[str] = []

    @running.dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        seen.append(event.post.message)

    await appservice.puppet("echo").send_text(emulator.seed.channel_id, "from the remote side")
    await appservice.bot_intent().send_text(emulator.seed.channel_id, "from the bot")
    await emulator.type_message(emulator.seed.token, emulator.seed.channel_id, "from a person")
    await emulator.integrations_idle()
    await until(lambda: seen)
    await asyncio.sleep(0.2)
    assert seen == ["from a person"]


async def test_a_double_puppets_post_is_an_echo_by_either_path(
    emulator: Emulator, running: Running, appservice: AppServiceAPI
) -> None:
    await running.provisioner.ensure_webhook(WebhookSpec(channel_id=emulator.seed.channel_id))
    seen: list[str] = []

    @running.dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        seen.append(event.post.message)

    alice = await appservice.real_user(emulator.seed.user_id, emulator.seed.token)  # double puppeting
    await alice.send_text(emulator.seed.channel_id, "bridged as alice herself")
    await emulator.type_message(emulator.seed.token, emulator.seed.channel_id, "typed by alice")
    await emulator.integrations_idle()
    await until(lambda: seen)
    await asyncio.sleep(0.2)
    # The webhook's copy of the bridged post has no props; read back from the server it has the
    # bridge's stamp, so neither path lets it through.
    assert seen == ["typed by alice"]
    webhook_calls = [c for c in emulator.integration_calls if c.kind == "outgoing_webhook"]
    assert len(webhook_calls) == 2


async def test_a_slash_command_answer_shows_as_the_server_shows_it(
    emulator: Emulator, running: Running
) -> None:
    await running.provisioner.ensure_command(CommandSpec(trigger="bridge", description="talk to the bridge"))

    @running.dispatcher.on(SlashCommandEvent)
    async def command(event: SlashCommandEvent) -> CommandResponse:
        return CommandResponse(text=f"**{event.user_name}** asked: {event.text}", response_type="in_channel")

    async with ClientAPI.connect(emulator.url, emulator.seed.token) as alice:
        answer = await alice.commands.execute(emulator.seed.channel_id, "/bridge status")
    assert answer["text"] == "**alice** asked: status"
    posts = [p for p in emulator.state.posts.values() if p.message == "**alice** asked: status"]
    assert len(posts) == 1
    assert posts[0].user_id == emulator.seed.user_id  # in_channel answers are posted as the caller
    assert posts[0].props.get("from_webhook") == "true"


async def test_provisioning_is_idempotent_and_follows_a_new_url(
    emulator: Emulator, running: Running, appservice: AppServiceAPI, store: StateStore
) -> None:
    spec = CommandSpec(trigger="bridge")
    first = await running.provisioner.ensure_command(spec)
    hook = await running.provisioner.ensure_webhook(WebhookSpec(channel_id=emulator.seed.channel_id))
    again = await running.provisioner.ensure_command(spec)
    hook_again = await running.provisioner.ensure_webhook(WebhookSpec(channel_id=emulator.seed.channel_id))
    assert (again.id, hook_again.id) == (first.id, hook.id)
    assert (
        len([c for c in emulator.state.commands.values() if c.trigger == "bridge" and not c.delete_at]) == 1
    )

    moved = Provisioner(
        appservice.bot,
        store,
        IntegrationTokens(),
        team_id=appservice.team_id,
        public_url="http://127.0.0.1:9/new",
    )
    updated = await moved.ensure_command(spec)
    assert updated.id == first.id
    assert updated.url == "http://127.0.0.1:9/new/mattermost/command"

    fresh_tokens = IntegrationTokens()
    restarted = Provisioner(
        appservice.bot, store, fresh_tokens, team_id=appservice.team_id, public_url="http://x"
    )
    assert await restarted.load_remembered_tokens() == 2  # accepted before the server is even asked
    assert fresh_tokens.accepts("command", first.token)
    assert fresh_tokens.accepts("webhook", hook.token)


async def test_the_handler_for_any_event_sees_websocket_events(emulator: Emulator, running: Running) -> None:
    kinds: list[str] = []

    @running.dispatcher.on(Event)
    async def everything(event: Event) -> None:
        kinds.append(event.type)

    await emulator.type_message(emulator.seed.token, emulator.seed.channel_id, "x")
    await until(lambda: "posted" in kinds)


async def test_provisioning_leaves_another_bridges_hook_of_the_same_name_alone(
    emulator: Emulator, running: Running, appservice: AppServiceAPI
) -> None:
    foreign = await appservice.bot.webhooks.create_outgoing(
        appservice.team_id,
        "mmbridge",
        ["http://127.0.0.1:9/other-bridge"],
        channel_id=emulator.seed.channel_id,
    )
    ours = await running.provisioner.ensure_webhook(WebhookSpec(channel_id=emulator.seed.channel_id))
    assert ours.id != foreign.id
    assert (await appservice.bot.webhooks.get_outgoing(foreign.id)).callback_urls == [
        "http://127.0.0.1:9/other-bridge"
    ]


async def test_a_forged_webhook_cannot_claim_another_channel_or_author(
    emulator: Emulator, running: Running, appservice: AppServiceAPI
) -> None:
    hook = await running.provisioner.ensure_webhook(WebhookSpec(channel_id=emulator.seed.channel_id))
    seen: list[PostedEvent] = []

    @running.dispatcher.on(PostedEvent)
    async def handle(event: PostedEvent) -> None:
        seen.append(event)

    async with ClientAPI.connect(emulator.url, emulator.seed.admin_token) as admin:
        private = await admin.channels.create(TeamID(emulator.seed.team_id), "secret", "Secret", type="P")
        secret = await admin.posts.create(private.id, "a private post")
    token = hook.token or ""
    assert running.receiver.url is not None
    forged = {
        "token": token,
        "team_id": emulator.seed.team_id,
        "channel_id": emulator.seed.channel_id,
        "channel_name": "bridge-test",
        "user_id": emulator.seed.user_id,
        "user_name": "mirror_evil",
        "post_id": secret.id,
        "text": "a private post",
        "timestamp": 1,
        "trigger_word": "",
        "file_ids": "",
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(running.receiver.url / "mattermost/webhook", json=forged) as response:
            assert response.status == 200
        async with http.post(
            running.receiver.url / "mattermost/webhook", json=forged | {"post_id": "n" * 26}
        ) as response:
            assert response.status == 200  # a post the server does not have: nothing dispatched
    await until(lambda: seen)
    await asyncio.sleep(0.2)
    [event] = seen
    assert event.post.channel_id == private.id  # the server's channel, not the payload's
    assert event.post.user_id == emulator.seed.admin_user_id  # the server's author
