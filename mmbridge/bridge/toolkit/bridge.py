"""``ConnectorBridge``: a :class:`~mmbridge.bridge.Bridge` whose remote side is a connector.

The bridge does everything but the network: portals (made on demand, remembered), ghosts
(puppets with readable stable usernames), the message map (both directions, parts, threads),
Mattermost users and their logins, and both directions of messages, edits, deletions, reactions
and typing. Remote events ride the bridge's dispatcher (one ordered queue per portal, duplicates
dropped, failures tried again then parked), as Mattermost events do (one queue per channel)::

    class IRCBridge(ConnectorBridge[IRCSettings]):
        name = "irc"
        section = SectionSpec("irc", IRCSettings)

        def create_connector(self) -> Connector:
            return IRCConnector(self.settings)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Sequence
from typing import Any, TypeVar

from ...api.validation import MAX_POST_RUNES
from ...appservice import BRIDGE_PROP, CommandSpec, Dispatcher, IntentAPI
from ...appservice.outbox import SOURCE_PROP
from ...db import UpgradeTable
from ...errors import NotFoundError
from ...types import (
    ChannelID,
    ChannelType,
    CommandResponse,
    FileID,
    PostDeletedEvent,
    PostedEvent,
    PostEditedEvent,
    PostID,
    ReactionAddedEvent,
    ReactionRemovedEvent,
    SlashCommandEvent,
    TeamID,
    TypingEvent,
    UserUpdatedEvent,
)
from ..bridge import Bridge
from ..config import LoadedConfig
from ..errors import BridgeSetupError
from .builtin_commands import register_builtin_commands
from .commands import CommandContext, CommandError, CommandRegistry, parse
from .connector import (
    Connector,
    FollowsPortals,
    HandlesDeletes,
    HandlesEdits,
    HandlesReactions,
    HandlesTyping,
    MattermostDelete,
    MattermostEdit,
    MattermostMessage,
    MattermostReaction,
    ProvidesChatInfo,
    ProvidesUserInfo,
    action_text,
    capabilities,
)
from .direct import DirectListeners
from .formatting import split_message
from .ghosts import Ghosts
from .messages import MessageMap, MessagePart
from .portals import Portal, Portals
from .remote import (
    ChatKind,
    PortalEvent,
    PortalKey,
    RemoteChatInfo,
    RemoteDelete,
    RemoteEdit,
    RemoteEvent,
    RemoteLeave,
    RemoteMessage,
    RemoteReaction,
    RemoteReactionRemove,
    RemoteTyping,
    RemoteUserInfo,
    Sender,
)
from .schema import toolkit_upgrade_table
from .users import Users

SettingsT = TypeVar("SettingsT")


class ConnectorBridge(Bridge[SettingsT]):
    """A bridge made of a :class:`~.connector.Connector` and the toolkit. Subclass it and return
    the connector from :meth:`create_connector`."""

    dead_letter_events = (
        RemoteMessage,
        RemoteEdit,
        RemoteDelete,
        RemoteReaction,
        RemoteReactionRemove,
        RemoteChatInfo,
        RemoteUserInfo,
        RemoteLeave,
    )

    def __init__(self, config: LoadedConfig[SettingsT], **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.portals = Portals(self.appservice, self.db, self.bridge_id)
        self.ghosts = Ghosts(self.appservice, self.db, self.bridge_id)
        self.message_map = MessageMap(self.db, self.bridge_id)
        self.users = Users(self.appservice.bot, self.db, self.bridge_id)
        self.connector = self.create_connector()
        #: What the connector can do beyond messages (``edits``, ``reactions``, ...).
        self.capabilities = capabilities(self.connector)
        #: The ``/bridge`` commands; a bridge adds its own in :meth:`register_commands`.
        self.commands_registry = CommandRegistry(self.config.commands.trigger)
        register_builtin_commands(self.commands_registry)
        if "login" not in self.capabilities:  # nothing to log in to: not offered in help
            self.commands_registry.remove("login")
        self.register_commands(self.commands_registry)
        #: The puppets' streams that hear direct and group portals (the bot is not in them).
        self.direct = DirectListeners(self.dispatcher.dispatch, self.catch_up)
        self._profiled: set[str] = set()
        self._names: dict[str, str] = {}
        self._override_allowed = False

    # ---- hooks ----------------------------------------------------------------------------------

    def register_commands(self, registry: CommandRegistry) -> None:
        """Add the bridge's own ``/bridge`` commands (called once, in ``__init__``, after the
        built-in ones and the connector), e.g. ``@registry.command("nick", "change your nick")``.
        The default adds none."""

    def create_connector(self) -> Connector:
        """The bridge's connector (called once, in ``__init__``, after the toolkit's pieces)."""
        raise NotImplementedError(f"{type(self).__name__} must return its connector from create_connector()")

    def connector_tables(self) -> Sequence[UpgradeTable]:
        """The connector's own tables, migrated with the toolkit's."""
        return ()

    def upgrade_tables(self) -> Sequence[UpgradeTable]:
        """The toolkit's tables (portals, ghosts, message map, ...), then the connector's."""
        return [toolkit_upgrade_table(), *self.connector_tables()]

    def register_handlers(self, dispatcher: Dispatcher) -> None:
        """Route Mattermost events and the connector's remote events to the toolkit's handlers."""
        on = dispatcher.on
        on(PostedEvent)(self._from_post)
        on(PostEditedEvent)(self._from_edit)
        on(PostDeletedEvent)(self._from_delete)
        on(ReactionAddedEvent, ReactionRemovedEvent)(self._from_reaction)
        on(TypingEvent)(self._from_typing)
        on(RemoteMessage)(self._remote_message)
        on(RemoteEdit)(self._remote_edit)
        on(RemoteDelete)(self._remote_delete)
        on(RemoteReaction, RemoteReactionRemove)(self._remote_reaction)
        on(RemoteTyping)(self._remote_typing)
        on(RemoteChatInfo)(self._remote_chat_info)
        on(RemoteLeave)(self._remote_leave)
        on(RemoteUserInfo)(self._remote_user_info)
        on(SlashCommandEvent)(self._on_command)
        on(UserUpdatedEvent)(self._user_updated)

    def commands(self) -> Sequence[CommandSpec]:
        """The bridge's one slash command, named after the remote network (``/<trigger> help``)."""
        network = self.connector.network.display_name
        return [
            CommandSpec(
                trigger=self.commands_registry.trigger,
                description=f"the {network} bridge",
                display_name=f"{network} bridge",
                auto_complete_hint="help",
                auto_complete_desc=f"talk to the {network} bridge (help lists what it does)",
            )
        ]

    async def prepare(self) -> None:
        """Load the portals and read whether the server lets posts override the username."""
        await self.portals.load()
        settings = await self.appservice.bot.system.client_config()
        self._override_allowed = settings.get("EnablePostUsernameOverride") == "true"

    def watched_channels(self) -> Sequence[str]:
        """The channels of every portal."""
        return [portal.channel_id for portal in self.portals.all()]

    async def started(self) -> None:
        """Listen to the direct and group portals, then start the connector."""
        for portal in self.portals.all():
            if portal.kind in (ChatKind.DIRECT, ChatKind.GROUP):
                await self._listen_direct(portal)
        await self.connector.start(self)
        self.log.info(
            "%s connector started (%s)",
            self.connector.network.display_name,
            ", ".join(sorted(self.capabilities)) or "messages only",
        )

    async def stopping(self) -> None:
        """Close the direct-message listeners and stop the connector."""
        await self.direct.close()
        await self.connector.stop()

    # ---- the connector's entry point ------------------------------------------------------------

    async def push(self, event: RemoteEvent, *, wait: bool = False) -> None:
        """Hand a remote event to the bridge (waits when the bridge is busy: backpressure).

        With ``wait``, return only once it was handled (raising what its handler raised, after
        the retries): a connector whose remote network cannot replay what a crash lost (pushing
        from a Mattermost handler, say) then acknowledges nothing before it is bridged.
        """
        future = await self.dispatcher.dispatch(event)
        if wait and future is not None:
            await asyncio.shield(future)

    async def link_portal(self, key: PortalKey, channel_id: str, *, kind: ChatKind, name: str = "") -> Portal:
        """Bridge the channel ``channel_id`` to the remote chat ``key`` (what ``/bridge link``
        does): the bot joins it, it is watched, and a connector that follows portals is told."""
        portal = await self.portals.link(key, channel_id, kind=kind, name=name)
        await self.appservice.bot_intent().ensure_joined(channel_id)
        self.watch(channel_id)
        if isinstance(self.connector, FollowsPortals):
            await self.connector.portal_linked(portal)
        return portal

    async def link_configured(self, key: PortalKey, wanted: str, *where: str) -> Portal:
        """Bridge ``key`` to the channel a config names (``wanted``: a name on the bridge's team, or
        an id), from :meth:`prepare`: the portal follows the config when it names another channel,
        and the bot joins it. ``where`` is the config key (``"irc", "channels"``) a setup error names.

        Raises:
            BridgeSetupError: no such channel, or it is another portal's.
        """
        assert self.team is not None
        bot = self.appservice.bot
        try:
            if len(wanted) == 26 and wanted.isalnum():
                channel = await bot.channels.get(ChannelID(wanted))
            else:
                channel = await bot.channels.get_by_name(TeamID(self.team.id), wanted)
        except NotFoundError:
            raise BridgeSetupError(
                f"no channel {wanted!r} in team {self.team.name!r} ({self.where(*where)})"
            ) from None
        other = self.portals.by_channel(channel.id)
        if other is not None and other.key != key:
            raise BridgeSetupError(
                f"~{channel.name} is bridged to {other.key} already, and cannot be to {key} too "
                f"({self.where(*where)})"
            )
        portal = self.portals.get(key)
        if portal is None or portal.channel_id != channel.id:
            kind = ChatKind.PRIVATE if channel.type == ChannelType.PRIVATE else ChatKind.PUBLIC
            portal = await self.portals.link(key, channel.id, kind=kind, name=channel.name)
        await self.appservice.bot_intent().ensure_joined(channel.id)
        return portal

    async def unlink_portal(self, key: PortalKey) -> Portal | None:
        """Stop bridging ``key``; the unlinked portal, or None when it was not bridged."""
        portal = await self.portals.unlink(key)
        if portal is not None and isinstance(self.connector, FollowsPortals):
            await self.connector.portal_unlinked(portal)
        return portal

    def permalink(self, post_id: str) -> str:
        """The link that opens a post in the webapp (``https://chat.example.com/team/pl/<id>``): what
        a network without files or long messages can show instead."""
        team = self.team.name if self.team is not None else ""
        return f"{self.config.mattermost.url.rstrip('/')}/{team}/pl/{post_id}"

    async def intent_for(self, sender: Sender) -> IntentAPI:
        """Who posts for ``sender``: a logged-in user's own account when they gave the bridge
        their token (double puppeting), else the remote user's ghost."""
        store = self.appservice.store
        if sender.from_me and sender.user_id and await store.get_real_user_token(sender.user_id) is not None:
            return self.appservice.intent(user_id=sender.user_id)
        return await self._ghost(sender.remote_id)

    # ---- remote -> Mattermost -------------------------------------------------------------------

    async def _portal_of(self, event: PortalEvent) -> Portal:
        portal = self.portals.get(event.portal)
        if portal is not None:
            return portal
        info = None
        if isinstance(self.connector, ProvidesChatInfo):
            info = await self.connector.get_chat_info(event.portal)
        members: list[str] = []
        kind = (
            info.kind if info is not None else (ChatKind.DIRECT if event.portal.receiver else ChatKind.PUBLIC)
        )
        if kind in (ChatKind.DIRECT, ChatKind.GROUP):
            remote_members = (
                list(info.members) if info is not None and info.members else [event.sender.remote_id]
            )
            for remote_id in remote_members:
                ghost = await self._ghost(remote_id)
                await ghost.ensure_registered()
                members.append(ghost.user_id)
        if event.portal.receiver:
            members.append(event.portal.receiver)
        portal = await self.portals.ensure(event.portal, info, members)
        self.watch(portal.channel_id)
        if kind in (ChatKind.DIRECT, ChatKind.GROUP):
            await self._listen_direct(portal)
        return portal

    async def _listen_direct(self, portal: Portal) -> None:
        """Hear a direct or group portal through one of its puppets."""
        if self.direct.listening(portal.channel_id):
            return
        members = await self.appservice.bot.channels.get_members(ChannelID(portal.channel_id))
        for member in members:
            remote_id = await self.ghosts.remote_id_of(member.user_id)
            if remote_id is not None:
                await self.direct.listen(await self.ghosts.intent(remote_id), portal.channel_id)
                return
        self.log.warning("no puppet in the direct portal %s: what is written there is not heard", portal.key)

    async def _remote_name(self, remote_id: str) -> str:
        """How a remote user is called (asked of the connector once)."""
        name = self._names.get(remote_id)
        if name is None:
            info = None
            if isinstance(self.connector, ProvidesUserInfo):
                info = await self.connector.get_user_info(remote_id)
            name = info.display_name if info is not None and info.display_name else remote_id
            self._names[remote_id] = name
        return name

    async def _ghost(self, remote_id: str) -> IntentAPI:
        if remote_id in self._profiled:
            return await self.ghosts.intent(remote_id)
        info = None
        if isinstance(self.connector, ProvidesUserInfo):
            info = await self.connector.get_user_info(remote_id)
        intent = await self.ghosts.intent(remote_id, hint=info.username if info is not None else "")
        if remote_id not in self._profiled:
            self._profiled.add(remote_id)
            name = info.display_name if info is not None and info.display_name else remote_id
            self._names[remote_id] = name
            await intent.set_display_name(self.display_name(name, remote_id=remote_id))
            if info is not None and info.avatar:
                await intent.set_avatar(info.avatar)
        return intent

    async def _remote_message(self, event: RemoteMessage) -> None:
        key = str(event.portal)
        if await self.message_map.parts(key, event.message_id):
            return  # bridged already (the connector saw its message twice)
        portal = await self._portal_of(event)
        thread_root, root_post = await self._thread_of(key, event.thread_root or event.reply_to)
        text = event.text
        action = event.emote
        parts: list[MessagePart] = []
        props: dict[str, Any] = {}
        if not portal.relay:
            intent = await self.intent_for(event.sender)
        else:  # the bot posts, as itself, saying who spoke: no puppet is made
            name = await self._remote_name(event.sender.remote_id)
            intent = self.appservice.bot_intent()
            if self._override_allowed:
                props = {"override_username": name, "from_webhook": "true"}
            elif text:
                text = self.config.relay.format.format(
                    displayname=name, message=f"*{text}*" if action else text
                )
                action = False  # (an action is the sender's own words only)
        chunks = _action_parts(text) if action else split_message(text) if text else [""]
        file_ids = await self._upload(intent, portal.channel_id, event) if event.files else []
        post_type = "me" if action else ""
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1  # the files go with the last part of the text
            post = await intent.send_markdown(
                portal.channel_id,
                chunk,
                root_id=root_post,
                file_ids=file_ids if last else (),
                props=props,
                source=f"{key}:{event.message_id}:{index}",
                post_type=post_type,
            )
            parts.append(self._part(key, event, index, post.id, portal.channel_id, thread_root))
        await self.message_map.add(parts)

    async def _upload(self, intent: IntentAPI, channel_id: str, event: RemoteMessage) -> list[FileID]:
        """Upload a message's files as its sender (at most 10 go with one post)."""
        client = await intent.ensure_registered()
        await intent.ensure_joined(channel_id)
        file_ids: list[FileID] = []
        for remote_file in event.files[:10]:
            info = await client.files.upload(
                ChannelID(channel_id), remote_file.data, remote_file.name, content_type=remote_file.mime_type
            )
            file_ids.append(info.id)
        return file_ids

    def _part(
        self, key: str, event: RemoteMessage, index: int, post_id: str, channel_id: str, thread_root: str
    ) -> MessagePart:
        return MessagePart(
            key, event.message_id, index, post_id, channel_id, event.sender.remote_id, thread_root
        )

    async def _thread_of(self, key: str, remote_id: str) -> tuple[str, str]:
        """The thread a reply to ``remote_id`` goes in: (the thread root's remote id, its post id).
        Mattermost threads are one level deep: a reply to a reply goes under the root."""
        if not remote_id:
            return "", ""
        target = await self._parts(key, remote_id)
        if not target:
            return "", ""
        root_remote = target[0].thread_root or remote_id
        root_post = await self.message_map.first_post(key, root_remote) or target[0].post_id
        return root_remote, root_post

    async def _parts(self, key: str, remote_id: str, sender: str = "") -> list[MessagePart]:
        """The posts a remote message became: from the map, or, when the bridge was stopped
        between making them and recording them, from the outbox (and recorded now)."""
        parts = await self.message_map.parts(key, remote_id)
        if parts:
            return parts
        store = self.appservice.store
        for index in itertools.count():
            entry = await store.get_outbox(f"{key}:{remote_id}:{index}")
            if entry is None or not entry.post_id:
                break
            parts.append(MessagePart(key, remote_id, index, entry.post_id, entry.channel_id, sender))
        if parts:
            await self.message_map.add(parts)
        return parts

    async def _remote_edit(self, event: RemoteEdit) -> None:
        parts = await self._parts(str(event.portal), event.message_id, event.sender.remote_id)
        if not parts:
            return
        intent = await self.intent_for(event.sender)
        chunks = _action_parts(event.text) if event.emote else split_message(event.text)
        for part, chunk in zip(parts, chunks, strict=False):
            await intent.edit(part.post_id, chunk, markdown=True)

    async def _remote_delete(self, event: RemoteDelete) -> None:
        await self._parts(str(event.portal), event.message_id, event.sender.remote_id)
        parts = await self.message_map.remove(str(event.portal), event.message_id)
        if not parts:
            return
        intent = await self.intent_for(Sender(remote_id=parts[0].sender)) if parts[0].sender else None
        for part in parts:
            with contextlib.suppress(NotFoundError):
                if intent is not None:
                    await intent.delete(part.post_id)
                else:
                    await self.appservice.bot.posts.delete(PostID(part.post_id))

    async def _remote_reaction(self, event: RemoteReaction | RemoteReactionRemove) -> None:
        parts = await self._parts(str(event.portal), event.message_id)
        post_id = parts[0].post_id if parts else None
        portal = self.portals.get(event.portal)
        if post_id is None or portal is None:
            return
        intent = await self.intent_for(event.sender)
        if isinstance(event, RemoteReaction):
            await intent.react(post_id, event.emoji, channel_id=portal.channel_id)
        else:
            with contextlib.suppress(NotFoundError):
                await intent.unreact(post_id, event.emoji)

    async def _remote_typing(self, event: RemoteTyping) -> None:
        portal = self.portals.get(event.portal)
        if portal is not None:
            await (await self.intent_for(event.sender)).typing(portal.channel_id)

    async def _remote_chat_info(self, event: RemoteChatInfo) -> None:
        portal = self.portals.get(event.portal)
        if portal is None:
            portal = await self.portals.ensure(
                event.portal, event, [event.portal.receiver] if event.portal.receiver else []
            )
            self.watch(portal.channel_id)
        else:
            portal = await self.portals.sync(portal, event)
        if portal.kind in (ChatKind.PUBLIC, ChatKind.PRIVATE) and not portal.relay:
            for remote_id in event.members:  # the chat's people are in the channel as ghosts
                await (await self._ghost(remote_id)).ensure_joined(portal.channel_id)

    async def _remote_leave(self, event: RemoteLeave) -> None:
        portal = self.portals.get(event.portal)
        remote_id = event.sender.remote_id
        if portal is not None and await self.ghosts.username_of(remote_id) is not None:
            await (await self.ghosts.intent(remote_id)).leave(portal.channel_id)  # no puppet made to leave

    async def _remote_user_info(self, event: RemoteUserInfo) -> None:
        intent = await self.ghosts.intent(event.sender.remote_id, hint=event.username)
        self._profiled.add(event.sender.remote_id)
        if event.display_name:
            self._names[event.sender.remote_id] = event.display_name
            await intent.set_display_name(
                self.display_name(event.display_name, remote_id=event.sender.remote_id)
            )
        if event.avatar:
            await intent.set_avatar(event.avatar)

    # ---- commands -------------------------------------------------------------------------------

    async def _on_command(self, event: SlashCommandEvent) -> CommandResponse:
        registry = self.commands_registry
        try:
            name, args = parse(event.text)
            command = registry.get(name)
            if command is None:
                raise CommandError(f"no command {name!r}: `/{registry.trigger} help` lists them")
            if command.secret_args:
                for arg in args:
                    self.secrets.add(arg)
            user = await self.users.get(event.user_id)
            is_admin = user.is_system_admin or user.username in self.config.commands.admins
            if command.level == "admin" and not is_admin:
                raise CommandError(f"`{name}` is for bridge admins")
            portal = self.portals.by_channel(event.channel_id)
            text = await command.handler(CommandContext(self, event, user, portal, args, is_admin))
        except CommandError as exc:
            text = str(exc)
        return CommandResponse(text=text)

    # ---- Mattermost -> remote -------------------------------------------------------------------

    async def _from_post(self, event: PostedEvent) -> None:
        post = event.post
        portal = self.portals.by_channel(post.channel_id)
        if portal is None or post.is_system:
            return  # (what the bridge posted itself never gets here: it is an echo, by author or stamp)
        sender = await self.users.get(post.user_id)
        thread_root, root_sender, root_user = "", "", None
        root = await self._part_of(post.root_id) if post.root_id else None
        if root is not None:
            thread_root, root_sender = root.remote_id, root.sender
            if not root_sender:  # the root came from Mattermost: who wrote it
                root_post = await self.appservice.bot.posts.get(PostID(post.root_id))
                root_user = await self.users.get(root_post.user_id)
        files = tuple([await self.appservice.bot.files.get_info(file_id) for file_id in post.file_ids])
        action = action_text(post)
        text = post.message if action is None else action
        made = await self.connector.handle_message(
            MattermostMessage(
                portal,
                sender,
                post,
                text,
                thread_root,
                files,
                root_sender,
                root_user,
                emote=action is not None,
            )
        )
        remote_ids = [made] if isinstance(made, str) else list(made or ())
        parts = [
            MessagePart(str(portal.key), remote_id, 0, post.id, post.channel_id, "", thread_root)
            for remote_id in remote_ids[:1]
        ]
        async with self.ledger.transaction(event) as conn:  # the map and "handled" together
            await self.message_map.add(parts, conn=conn)

    async def _from_edit(self, event: PostEditedEvent) -> None:
        portal, part = await self._bridged(event.post.channel_id, event.post.id)
        if portal is None or part is None or not isinstance(self.connector, HandlesEdits):
            return
        sender = await self.users.get(event.post.user_id)
        action = action_text(event.post)
        text = event.post.message if action is None else action
        await self.connector.handle_edit(
            MattermostEdit(portal, sender, event.post, text, (part.remote_id,), emote=action is not None)
        )

    async def _from_delete(self, event: PostDeletedEvent) -> None:
        portal, part = await self._bridged(event.post.channel_id, event.post.id)
        if portal is None or part is None:
            return
        if isinstance(self.connector, HandlesDeletes):
            sender = await self.users.get(event.post.user_id)
            await self.connector.handle_delete(
                MattermostDelete(portal, sender, event.post, (part.remote_id,))
            )
        await self.message_map.remove(part.portal, part.remote_id)

    async def _from_reaction(self, event: ReactionAddedEvent | ReactionRemovedEvent) -> None:
        reaction = event.reaction
        if event.channel_id and self.portals.by_channel(event.channel_id) is None:
            return  # not a portal: nothing to look up
        part = await self._part_of(reaction.post_id)
        portal = self.portals.by_channel(part.channel_id) if part is not None else None
        if part is None or portal is None or not isinstance(self.connector, HandlesReactions):
            return
        sender = await self.users.get(reaction.user_id)
        await self.connector.handle_reaction(
            MattermostReaction(
                portal,
                sender,
                part.remote_id,
                reaction.emoji_name,
                removed=isinstance(event, ReactionRemovedEvent),
            )
        )

    async def _user_updated(self, event: UserUpdatedEvent) -> None:
        self.users.forget_profile(event.user.id)  # a new name or role: read again when next needed

    async def _from_typing(self, event: TypingEvent) -> None:
        portal = self.portals.by_channel(event.channel_id)
        if portal is not None and isinstance(self.connector, HandlesTyping):
            await self.connector.handle_typing(portal, await self.users.get(event.user_id))

    async def _bridged(self, channel_id: str, post_id: str) -> tuple[Portal | None, MessagePart | None]:
        portal = self.portals.by_channel(channel_id)
        if portal is None:
            return None, None
        return portal, await self._part_of(post_id)

    async def _part_of(self, post_id: str) -> MessagePart | None:
        """The message a post belongs to: from the map, or, for a post the bridge made whose row
        is not written yet (its handler is still running), from its source stamp."""
        part = await self.message_map.by_post(post_id)
        if part is not None:
            return part
        try:
            post = await self.appservice.bot.posts.get(PostID(post_id))
        except NotFoundError:
            return None
        source = post.props.get(SOURCE_PROP)
        if post.props.get(BRIDGE_PROP) != self.bridge_id or not isinstance(source, str):
            return None
        # The toolkit's sources are "<portal>:<remote message id>:<part>".
        portal = self.portals.by_channel(post.channel_id)
        prefix = f"{portal.key}:" if portal is not None else ""
        remote_id, _, part_number = source.removeprefix(prefix).rpartition(":")
        if portal is None or not source.startswith(prefix) or not remote_id or not part_number.isdigit():
            return None
        return MessagePart(str(portal.key), remote_id, int(part_number), post.id, post.channel_id)


def _action_parts(text: str) -> list[str]:
    """An action as the server's own ``/me`` posts it, ``*text*``: each part of a long one in
    its own asterisks (each part a ``me`` post)."""
    return [f"*{chunk}*" for chunk in split_message(text, MAX_POST_RUNES - 2)] if text else ["**"]
