"""The mirror bridge: what one user does in channel A, their puppet ``mirror_<username>`` redoes in
channel B, and the other way round: posts, replies, edits, deletes, reactions and files.

Everything bridge-specific is here; the rest is mmbridge: intents make and join the puppets,
the dispatcher drops the bridge's own echoes (so copies are never copied back), orders events per
channel, and hears each post once although it arrives by WebSocket and by outgoing webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from yarl import URL

from mmbridge.api import ReconnectPolicy, WebSocketStream
from mmbridge.appservice import (
    AppServiceAPI,
    BridgeMetrics,
    CommandSpec,
    Dispatcher,
    EchoFilter,
    IntegrationTokens,
    IntentAPI,
    Provisioner,
    PuppetNamespace,
    Receiver,
    SQLStateStore,
    WebhookSpec,
)
from mmbridge.appservice.store import appservice_upgrade_table
from mmbridge.db import Database
from mmbridge.errors import NotFoundError
from mmbridge.types import (
    ChannelID,
    CommandResponse,
    PostDeletedEvent,
    PostedEvent,
    PostEditedEvent,
    ReactionAddedEvent,
    ReactionRemovedEvent,
    SlashCommandEvent,
    StreamReset,
    UserID,
)

from .message_map import MessageMap, mirror_upgrade_table

NAMESPACE = PuppetNamespace("mirror_{localpart}")


class MirrorBridge:
    """Mirror ``channel_a`` and ``channel_b`` (both on ``team_id``) of the server at ``url``.

    ``bot_token`` is the bridge bot's (it needs to create users and tokens and manage the team's
    integrations). ``database_url`` holds puppets, memberships and the message map.
    """

    def __init__(
        self,
        url: str | URL,
        bot_token: str,
        *,
        team_id: str,
        channel_a: str,
        channel_b: str,
        database_url: str,
        receiver_host: str = "127.0.0.1",
        receiver_port: int = 0,
        log: logging.Logger | None = None,
    ) -> None:
        self.log = log or logging.getLogger("mirror")
        self.other = {channel_a: channel_b, channel_b: channel_a}
        self.db = Database.create(
            database_url, upgrade_table=[appservice_upgrade_table(), mirror_upgrade_table()], owner="mirror"
        )
        self.store = SQLStateStore(self.db, bridge_id="mirror")
        self.messages = MessageMap(self.db)
        self.metrics = BridgeMetrics()
        self.appservice = AppServiceAPI(
            url,
            bot_token,
            store=self.store,
            namespace=NAMESPACE,
            team_id=team_id,
            bridge_id="mirror",
            observer=self.metrics.observe_request,
        )
        self.tokens = IntegrationTokens()
        self.echoes = EchoFilter(bridge_id="mirror", bot_user_id="", namespace=NAMESPACE, store=self.store)
        self.dispatcher = Dispatcher(drop=self.echoes, on_handled=self.metrics.observe_handled)
        self.stream = WebSocketStream(self.appservice.bot.http, reconnect=ReconnectPolicy(initial_delay=0.05))
        self.receiver = Receiver(
            self.dispatcher,
            self.tokens,
            metrics=self.metrics,
            health_checks={"store": self.store.is_healthy, "websocket": self._websocket_connected},
        )
        self._receiver_address = (receiver_host, receiver_port)
        self._usernames: dict[str, str] = {}
        self._channel_names: dict[str, str] = {}
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._register_handlers()

    async def start(self) -> None:
        """Migrate the database, learn who the bot is, join the channels, provision the
        integrations, and start listening (WebSocket and receiver)."""
        await self.db.start()
        await self.store.start()
        bot = await self.appservice.start()
        self.echoes.bot_user_id = bot.id
        for channel in self.other:
            await self.appservice.bot_intent().ensure_joined(channel)
            self._channel_names[channel] = (await self.appservice.bot.channels.get(ChannelID(channel))).name
        url = await self.receiver.start(*self._receiver_address)
        provisioner = Provisioner(
            self.appservice.bot, self.store, self.tokens, team_id=self.appservice.team_id, public_url=url
        )
        await provisioner.load_remembered_tokens()
        for channel in self.other:
            await provisioner.ensure_webhook(
                WebhookSpec(channel_id=channel, display_name=f"mirror {channel}")
            )
        await provisioner.ensure_command(CommandSpec(trigger="mirror", description="mirror bridge status"))
        self._reader = asyncio.create_task(self._read(), name="mirror websocket")
        await asyncio.wait_for(self._connected.wait(), 30)
        self.log.info("mirroring ~%s <-> ~%s", *self._channel_names.values())

    async def stop(self) -> None:
        """Stop listening, finish what is queued, close everything."""
        await self.stream.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.receiver.stop()
        await self.dispatcher.close()
        await self.appservice.close()
        await self.store.stop()
        await self.db.stop()

    async def _websocket_connected(self) -> bool:
        connected = self.stream.connected
        self.metrics.websocket_connected.set(1 if connected else 0)
        return connected

    async def _read(self) -> None:
        async for event in self.stream.events():
            self._connected.set()
            if isinstance(event, StreamReset):
                self.log.warning("events may have been missed while disconnected: %s", event.reason)
            await self.dispatcher.dispatch(event)

    # ---- handlers ---------------------------------------------------------------------------

    def _register_handlers(self) -> None:
        on = self.dispatcher.on
        on(PostedEvent)(self.on_post)
        on(PostEditedEvent)(self.on_edit)
        on(PostDeletedEvent)(self.on_delete)
        on(ReactionAddedEvent, ReactionRemovedEvent)(self.on_reaction)
        on(SlashCommandEvent)(self.on_command)

    async def on_post(self, event: PostedEvent) -> None:
        post = event.post
        target = self.other.get(post.channel_id)
        if target is None or post.is_system:
            return
        if event.sender_name:
            self._usernames[post.user_id] = event.sender_name.removeprefix("@")
        if event.source == "webhook":
            # An outgoing webhook says nothing of threads or props: read the whole post.
            post = await self.appservice.bot.posts.get(post.id)
        puppet = await self._puppet_of(post.user_id)
        root = ""
        if post.root_id:
            mapped_root = await self.messages.counterpart(post.root_id)
            root = mapped_root[0] if mapped_root else ""
        file_ids = []
        if post.file_ids:
            await puppet.ensure_joined(target)
            client = await puppet.ensure_registered()
            for file_id in post.file_ids:
                info = await self.appservice.bot.files.get_info(file_id)
                data = await self.appservice.bot.files.download(file_id)
                uploaded = await client.files.upload(
                    ChannelID(target), data, info.name, content_type=info.mime_type
                )
                file_ids.append(uploaded.id)
        copy = await puppet.send_markdown(target, post.message, root_id=root, file_ids=file_ids)
        await self.messages.add(post.id, post.channel_id, copy.id, target)

    async def on_edit(self, event: PostEditedEvent) -> None:
        mapped = await self.messages.counterpart(event.post.id)
        if mapped is None:
            return
        puppet = await self._puppet_of(event.post.user_id)
        await puppet.edit(mapped[0], event.post.message, markdown=True)

    async def on_delete(self, event: PostDeletedEvent) -> None:
        mapped = await self.messages.counterpart(event.post.id)
        if mapped is None:
            return
        puppet = await self._puppet_of(event.post.user_id)
        with contextlib.suppress(NotFoundError):  # a deleted root takes its replies' copies along
            await puppet.delete(mapped[0])

    async def on_reaction(self, event: ReactionAddedEvent | ReactionRemovedEvent) -> None:
        reaction = event.reaction
        mapped = await self.messages.counterpart(reaction.post_id)
        if mapped is None:
            return
        copy_id, copy_channel = mapped
        puppet = await self._puppet_of(reaction.user_id)
        if isinstance(event, ReactionAddedEvent):
            await puppet.react(copy_id, reaction.emoji_name, channel_id=copy_channel)
        else:
            with contextlib.suppress(NotFoundError):
                await puppet.unreact(copy_id, reaction.emoji_name)

    async def on_command(self, event: SlashCommandEvent) -> CommandResponse:
        channels = " <-> ".join(f"~{self._channel_names.get(channel, channel)}" for channel in self.other)
        count = await self.messages.count()
        return CommandResponse(text=f"Mirroring {channels}: {count} messages mirrored so far.")

    async def _puppet_of(self, user_id: str) -> IntentAPI:
        username = self._usernames.get(user_id)
        if username is None:
            username = (await self.appservice.bot.users.get(UserID(user_id))).username
            self._usernames[user_id] = username
        return self.appservice.puppet(username)
