"""The IRC bridge: IRC channels <-> Mattermost channels, as a connector of the toolkit.

IRC users appear in Mattermost as puppets (``irc_<nick>``), made when they first speak. Mattermost
users appear on IRC through a connection of their own (``irc.mode: puppet``, nick from
``irc.nick_template``, opened when they first post and closed when idle) or through the relay bot's
connection as ``<alice> hello`` (``irc.mode: relay``). The toolkit does the rest: portals, puppets,
the message map, threads, catch-up of what Mattermost said while the bridge was down, exactly-once
posts, the ``/irc`` command.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import irc.client
import irc.strings
from cachetools import LRUCache

from mmbridge.bridge import BridgeSetupError, Secret, SectionSpec, setting
from mmbridge.bridge.config.schema import not_empty, one_of, port, positive
from mmbridge.bridge.toolkit import (
    BridgeUser,
    ChatKind,
    ConnectorBridge,
    MattermostEdit,
    MattermostMessage,
    MattermostReaction,
    NetworkInfo,
    Portal,
    PortalKey,
    RemoteChatInfo,
    RemoteEvent,
    RemoteLeave,
    RemoteMessage,
    RemoteUserInfo,
    Sender,
)
from mmbridge.bridge.toolkit.formatting import irc_to_markdown, markdown_to_irc
from mmbridge.bridge.toolkit.plaintext import correction, fit_lines

from .links import IRCLink

#: What the server adds before a line it relays (``:nick!user@host PRIVMSG target :``): the host
#: is unknown to the sender, so the longest usual one is assumed.
_HOST_ROOM = 63


@attrs.frozen
class IRCSettings:
    """The ``irc`` section."""

    server: str = setting(check=not_empty("name the IRC server"))
    port: int = setting(6667, check=port)
    tls: bool = setting(False)
    tls_verify: bool = setting(True)
    tls_ca_file: str = setting("")
    password: Secret = setting(Secret(""))
    sasl_username: str = setting("")
    sasl_password: Secret = setting(Secret(""))
    nick: str = setting("mmbridge", check=not_empty("give the relay bot's nick"))
    mode: str = setting("puppet", check=one_of("puppet", "relay"))
    nick_template: str = setting("{username}[m]", check=not_empty("give a template with {username}"))
    channels: dict[str, str] = setting(factory=dict)
    idle_timeout: float = setting(900.0, check=positive)
    send_rate: float = setting(2.0, check=positive)
    send_burst: int = setting(5, check=positive)
    max_lines: int = setting(4, check=positive)
    edits: str = setting("meant", check=one_of("meant", "sed", "off"))
    reconnect_max_delay: float = setting(60.0, check=positive)


def _lower(name: str) -> str:
    return str(irc.strings.lower(name))


@attrs.frozen
class _Said:
    """Something ``nick`` did, made into its event once the nick's remote id is known."""

    nick: str
    build: Callable[[str], RemoteEvent]


def _leave_event(portal: PortalKey, remote_id: str) -> RemoteEvent:
    return RemoteLeave(portal=portal, sender=Sender(remote_id=remote_id))


@attrs.frozen
class _Renamed:
    old: str
    new: str


class IRCConnector:
    """IRC as the remote network: the relay bot's connection hears the channels; each Mattermost
    user speaks through their own connection (puppet mode) or the relay bot's (relay mode)."""

    network = NetworkInfo("irc", "IRC")

    def __init__(self, bridge: IRCBridge) -> None:
        self.bridge = bridge
        self.settings = bridge.settings
        self.listener = IRCLink(self.settings, self.settings.nick, self._heard, realname="Mattermost bridge")
        self.puppets: dict[str, IRCLink] = {}  # Mattermost user id -> their connection
        self.identities: dict[str, str] = {}  # lower-case nick -> the remote id it was first seen as
        self.nicks: dict[str, str] = {}  # remote id -> the nick it goes by now
        self.members: defaultdict[str, set[str]] = defaultdict(set)  # channel -> lower-case nicks
        self.texts: LRUCache[str, str] = LRUCache(4096)  # remote message id -> text sent (for edits)
        self._inbox: asyncio.Queue[_Said | _Renamed | None] = asyncio.Queue()  # None: stop
        self._tasks: list[asyncio.Task[None]] = []

    # ---- lifecycle ------------------------------------------------------------------------------

    async def start(self, bridge: ConnectorBridge[Any]) -> None:
        """Connect the relay bot and join every bridged channel."""
        self.listener.channels.update(p.key.id for p in bridge.portals.all() if p.key.id.startswith("#"))
        self.listener.start()
        self._tasks = [asyncio.create_task(self._pump()), asyncio.create_task(self._close_idle())]

    async def stop(self) -> None:
        """Quit every connection (after sending what is queued), then hand the bridge what was
        heard before."""
        await asyncio.gather(
            *[link.close("bridge stopping") for link in [*self.puppets.values(), self.listener]]
        )
        if not self._tasks:
            return  # never started
        pump, *others = self._tasks
        for task in others:
            task.cancel()
        self._inbox.put_nowait(None)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(pump, 10)

    async def portal_linked(self, portal: Portal) -> None:
        """``/irc link #channel``: the relay bot joins it."""
        if portal.key.id.startswith("#"):
            await self.listener.join(portal.key.id)

    async def portal_unlinked(self, portal: Portal) -> None:
        """The relay bot leaves an unlinked channel."""
        self.listener.part(portal.key.id)

    # ---- IRC -> Mattermost ----------------------------------------------------------------------

    # IRC has no user ids: a user is known by the nick they were first seen with, and a nick
    # change is remembered (in the bridge's store, so a restart makes no second puppet).

    def _key(self, what: str, name: str) -> str:
        return f"{self.bridge.bridge_id}:irc:{what}:{name}"

    async def _remote_id(self, nick: str) -> str:
        """The remote id of whoever goes by ``nick`` now."""
        lowered = _lower(nick)
        remote_id = self.identities.get(lowered)
        if remote_id is None:
            stored = await self.bridge.appservice.store.get_value(self._key("nick", lowered))
            remote_id = self.identities[lowered] = stored or lowered
        self.nicks[remote_id] = nick
        return remote_id

    async def _renamed(self, old: str, new: str) -> str:
        remote_id = await self._remote_id(old)
        self.identities.pop(_lower(old), None)
        self.identities[_lower(new)] = remote_id
        self.nicks[remote_id] = new
        store = self.bridge.appservice.store
        await store.set_value(self._key("nick", _lower(new)), remote_id)
        await store.set_value(self._key("nick-of", remote_id), new)
        return remote_id

    async def _nick_of(self, remote_id: str) -> str:
        """The current nick of a remote user."""
        nick = self.nicks.get(remote_id)
        if nick is None:
            nick = await self.bridge.appservice.store.get_value(self._key("nick-of", remote_id)) or remote_id
            self.nicks[remote_id] = nick
        return nick

    def _ours(self, nick: str) -> bool:
        lowered = _lower(nick)
        return lowered == _lower(self.listener.nick) or any(
            _lower(p.nick) == lowered for p in self.puppets.values()
        )

    def _heard(self, link: IRCLink, event: irc.client.Event) -> None:
        """An IRC event on any connection (called by the library, in order)."""
        kind, source = event.type, event.source
        nick = source.nick if isinstance(source, irc.client.NickMask) else ""
        if kind in ("pubmsg", "privmsg", "action") and nick and not self._ours(nick):
            self._message(link, event, nick)
        if link is not self.listener:
            return
        if kind == "namreply":
            channel = _lower(event.arguments[1])
            self.members[channel].update(_lower(n.lstrip("~&@%+")) for n in event.arguments[2].split())
        elif kind == "join":
            self.members[_lower(event.target)].add(_lower(nick))
        elif kind in ("part", "kick"):
            gone = event.arguments[0] if kind == "kick" else nick
            self.members[_lower(event.target)].discard(_lower(gone))
            self._leave(gone, [_lower(event.target)])
        elif kind == "quit":
            self._leave(nick, [c for c, nicks in self.members.items() if _lower(nick) in nicks])
            for nicks in self.members.values():
                nicks.discard(_lower(nick))
        elif kind == "nick" and not self._ours(event.target):
            for nicks in self.members.values():
                if _lower(nick) in nicks:
                    nicks.discard(_lower(nick))
                    nicks.add(_lower(event.target))
            self._inbox.put_nowait(_Renamed(nick, event.target))

    def _message(self, link: IRCLink, event: irc.client.Event, nick: str) -> None:
        target = event.target
        if target.startswith("#"):
            if link is not self.listener:
                return  # the relay bot hears the channels; the others would hear them again
            user_id = ""
        elif link is self.listener:
            return  # a private message to the relay bot: nobody to bridge it to
        else:  # a private message to a Mattermost user's connection: their direct chat with nick
            user_id = next((u for u, p in self.puppets.items() if p is link), "")
        text = event.arguments[0] if event.arguments else ""
        message_id = uuid.uuid4().hex
        self.texts[message_id] = text
        at = int(time.time() * 1000)

        def message(remote_id: str) -> RemoteEvent:
            return RemoteMessage(
                portal=PortalKey(_lower(target))
                if target.startswith("#")
                else PortalKey(f"pm:{remote_id}", user_id),
                sender=Sender(remote_id=remote_id),
                message_id=message_id,
                text=irc_to_markdown(text),
                emote=event.type == "action",
                timestamp=at,
            )

        self._inbox.put_nowait(_Said(nick, message))

    def _leave(self, nick: str, channels: list[str]) -> None:
        if self._ours(nick):
            return
        for channel in channels:
            self._inbox.put_nowait(_Said(nick, functools.partial(_leave_event, PortalKey(channel))))

    async def _pump(self) -> None:
        """Hand what IRC said to the bridge, in the order it was said."""
        while (item := await self._inbox.get()) is not None:
            if isinstance(item, _Renamed):
                remote_id = await self._renamed(item.old, item.new)
                event: RemoteEvent = RemoteUserInfo(sender=Sender(remote_id=remote_id), display_name=item.new)
            else:
                event = item.build(await self._remote_id(item.nick))
            if self._unbridged(event):
                continue  # a channel the relay bot is in but that is not bridged
            if isinstance(event, RemoteUserInfo | RemoteLeave) and not await self._has_puppet(event):
                continue  # never spoke here: no puppet to rename or remove
            await self.bridge.push(event)

    def _unbridged(self, event: RemoteEvent) -> bool:
        return (
            isinstance(event, RemoteMessage | RemoteLeave)
            and event.portal.id.startswith("#")
            and self.bridge.portals.get(event.portal) is None
        )

    async def _has_puppet(self, event: RemoteEvent) -> bool:
        return await self.bridge.ghosts.username_of(event.sender.remote_id) is not None

    async def get_user_info(self, remote_id: str) -> RemoteUserInfo:
        """An IRC user is known by their nick."""
        return RemoteUserInfo(
            sender=Sender(remote_id=remote_id),
            display_name=await self._nick_of(remote_id),
            username=remote_id,
        )

    async def get_chat_info(self, portal: PortalKey) -> RemoteChatInfo | None:
        """A private chat with one IRC user is a direct message channel; channels are linked."""
        if portal.id.startswith("pm:"):
            remote_id = portal.id.removeprefix("pm:")
            return RemoteChatInfo(
                portal=portal, name=await self._nick_of(remote_id), kind=ChatKind.DIRECT, members=(remote_id,)
            )
        return None

    # ---- Mattermost -> IRC ----------------------------------------------------------------------

    async def _link_for(self, user: BridgeUser, target: str) -> IRCLink:
        """The connection ``user`` speaks through, in ``target``."""
        link = self.listener if self.settings.mode == "relay" else self.puppets.get(user.user_id)
        if link is None:
            nick = self.settings.nick_template.format(username=user.username)
            link = self.puppets[user.user_id] = IRCLink(
                self.settings, nick, self._heard, realname=user.display_name
            )
            link.start()
        if target.startswith("#"):
            await link.join(target)
        else:
            await link.ready()
        return link

    async def _target(self, portal: Portal) -> str:
        key = portal.key.id
        return await self._nick_of(key.removeprefix("pm:")) if key.startswith("pm:") else key

    def _name_on_irc(self, user: BridgeUser) -> str:
        link = self.puppets.get(user.user_id)
        if self.settings.mode == "relay" or link is None:
            return (
                user.username
                if self.settings.mode == "relay"
                else self.settings.nick_template.format(username=user.username)
            )
        return link.nick

    async def _say(
        self, user: BridgeUser, portal: Portal, text: str, *, action: bool = False, link_to: str = ""
    ) -> None:
        target = await self._target(portal)
        link = await self._link_for(user, target)
        relay = self.settings.mode == "relay"
        prefix = (f"* {user.username} " if action else f"<{user.username}> ") if relay else ""
        room = 510 - len(f":{link.nick}!{link.nick[:10]}@ PRIVMSG {target} :".encode()) - _HOST_ROOM
        if action and not relay:
            room -= len("\x01ACTION \x01")
        lines = fit_lines(text, room - len(prefix.encode()), self.settings.max_lines, link_to)
        # Done when written to the server: only then is the post handled (and not sent again).
        await asyncio.gather(
            *[link.say(target, prefix + line, action=action and not relay) for line in lines]
        )

    async def handle_message(self, message: MattermostMessage) -> str:
        post, text, action = message.post, message.text, message.emote
        if message.thread_root_sender:
            text = f"{await self._nick_of(message.thread_root_sender)}: {text}"
        elif message.thread_root_user is not None:
            text = f"{self._name_on_irc(message.thread_root_user)}: {text}"
        irc_text = markdown_to_irc(text)
        for info in message.files:
            irc_text += f"\n{info.name}: {self.bridge.permalink(post.id)}"
        await self._say(
            message.sender, message.portal, irc_text, action=action, link_to=self.bridge.permalink(post.id)
        )
        self.texts[post.id] = irc_text
        return post.id  # IRC lines have no ids: the message is known by its post's

    async def handle_edit(self, edit: MattermostEdit) -> None:
        new = markdown_to_irc(edit.text)
        for remote_id in edit.remote_ids:
            line = correction(self.texts.get(remote_id), new, self.settings.edits)
            if line is not None:
                self.texts[remote_id] = new
                await self._say(edit.sender, edit.portal, line, action=line.startswith("meant: "))

    async def handle_reaction(self, reaction: MattermostReaction) -> None:
        if reaction.removed:
            return  # IRC has no reactions to take back
        quoted = (self.texts.get(reaction.remote_id) or "").split("\n")[0][:40]
        await self._say(
            reaction.sender, reaction.portal, f'reacted :{reaction.emoji}: to "{quoted}"', action=True
        )

    # ---- housekeeping ---------------------------------------------------------------------------

    async def _close_idle(self) -> None:
        """Quit the connections of Mattermost users who have been silent for ``idle_timeout``."""
        while True:
            await asyncio.sleep(min(self.settings.idle_timeout / 4, 30))
            cutoff = time.monotonic() - self.settings.idle_timeout
            for user_id, link in list(self.puppets.items()):
                if link.last_used < cutoff:
                    del self.puppets[user_id]
                    await link.close("idle")


class IRCBridge(ConnectorBridge[IRCSettings]):
    """IRC channels (``irc.channels``: ``"#irc-channel": mattermost-channel``) bridged both ways."""

    name = "irc"
    section = SectionSpec("irc", IRCSettings)
    example_section = (Path(__file__).parent / "example-config.yaml").read_text(encoding="utf-8")
    config_defaults = {
        "appservice.id": "irc",
        "puppets.username_template": "irc_{localpart}",
        "commands.trigger": "irc",
    }

    def create_connector(self) -> IRCConnector:
        return IRCConnector(self)

    async def prepare(self) -> None:
        """Bridge the channels of ``irc.channels``."""
        await super().prepare()
        for irc_channel, wanted in self.settings.channels.items():
            if not irc_channel.startswith(("#", "&")):
                raise BridgeSetupError(
                    f"{irc_channel!r} is not an IRC channel name ({self.where('irc', 'channels')})"
                )
            await self.link_configured(PortalKey(_lower(irc_channel)), wanted, "irc", "channels")
