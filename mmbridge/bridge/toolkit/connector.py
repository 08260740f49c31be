"""The connector: what a bridge author writes, and nothing else.

A connector talks to the remote network. It pushes what happens there into the bridge as
:mod:`.remote` events (``await bridge.push(RemoteMessage(...))``), and is told what happens on
Mattermost, already resolved: the portal, the sending :class:`~.users.BridgeUser`, the post, and
the remote ids the message map holds for its thread and for the message an edit, deletion or
reaction is about. It never touches puppets, intents or the message map.

Only :class:`Connector` is required. Each optional ability is a protocol of its own, found by
``isinstance`` at start (the bridge's capabilities are what the connector implements)::

    class IRCConnector:
        network = NetworkInfo("irc", "IRC")
        async def start(self, bridge): ...
        async def stop(self): ...
        async def handle_message(self, message: MattermostMessage) -> str | None: ...
        async def handle_edit(self, edit: MattermostEdit) -> None: ...   # HandlesEdits
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from ...types import FileInfo, Post
from .portals import Portal
from .remote import PortalKey, RemoteChatInfo, RemoteUserInfo
from .users import BridgeUser

if TYPE_CHECKING:
    from .bridge import ConnectorBridge


@attrs.frozen
class NetworkInfo:
    """The remote network: a short name (``irc``) and how people call it (``IRC``)."""

    name: str
    display_name: str


def action_text(post: Post) -> str | None:
    """The action a post of type ``me`` stands for (``/me waves`` is posted as ``*waves*``: this
    gives ``waves``), or None for any other post."""
    if post.type != "me":
        return None
    text = post.message
    return text[1:-1] if len(text) > 1 and text.startswith("*") and text.endswith("*") else text


@attrs.frozen
class MattermostMessage:
    """A Mattermost post in a portal, for the remote side."""

    portal: Portal
    sender: BridgeUser
    post: Post
    text: str
    """The post's Mattermost markdown (convert with :mod:`.formatting`)."""
    thread_root: str = ""
    """The remote id of the thread's root message ("" when not a reply, or the root is unknown)."""
    files: tuple[FileInfo, ...] = ()
    thread_root_sender: str = ""
    """Who wrote the thread's root, when it came from the remote side: their remote id."""
    thread_root_user: BridgeUser | None = None
    """Who wrote the thread's root, when it came from Mattermost."""
    emote: bool = False
    """An action (``/me waves``, a post of type ``me``): ``text`` is then the action alone
    (``waves``), without the asterisks the server puts around it."""


@attrs.frozen
class MattermostEdit:
    """A post's new text; ``remote_ids`` are the remote messages the post became."""

    portal: Portal
    sender: BridgeUser
    post: Post
    text: str
    remote_ids: tuple[str, ...]
    emote: bool = False
    """The post is an action: ``text`` is the action alone, as in :class:`MattermostMessage`."""


@attrs.frozen
class MattermostDelete:
    """A bridged post was deleted."""

    portal: Portal
    sender: BridgeUser
    post: Post
    remote_ids: tuple[str, ...]


@attrs.frozen
class MattermostReaction:
    """A reaction added (``removed=False``) or taken back on a bridged message."""

    portal: Portal
    sender: BridgeUser
    remote_id: str
    """The remote message reacted to."""
    emoji: str
    removed: bool = False


@runtime_checkable
class Connector(Protocol):
    """The remote network's side of a bridge (the one protocol every connector implements)."""

    network: NetworkInfo

    async def start(self, bridge: ConnectorBridge[Any]) -> None:
        """Connect to the remote network; the bridge is ready to take pushed events."""
        ...

    async def stop(self) -> None:
        """Disconnect (the bridge is stopping; pushed events may still drain)."""
        ...

    async def handle_message(self, message: MattermostMessage) -> str | Sequence[str] | None:
        """Send a Mattermost post to the remote chat; return the remote id(s) of what was made
        (several when it was split), or None when nothing was sent."""
        ...


@runtime_checkable
class HandlesEdits(Protocol):
    """The connector can change a message it sent."""

    async def handle_edit(self, edit: MattermostEdit) -> None:
        """Send a post's new text."""
        ...


@runtime_checkable
class HandlesDeletes(Protocol):
    """The connector can delete a message it sent."""

    async def handle_delete(self, delete: MattermostDelete) -> None:
        """Delete the remote messages of a deleted post."""
        ...


@runtime_checkable
class HandlesReactions(Protocol):
    """The connector can react to remote messages."""

    async def handle_reaction(self, reaction: MattermostReaction) -> None:
        """Add or take back a reaction."""
        ...


@runtime_checkable
class HandlesTyping(Protocol):
    """The connector can show that someone is typing."""

    async def handle_typing(self, portal: Portal, sender: BridgeUser) -> None:
        """A Mattermost user is typing in the portal's channel."""
        ...


@runtime_checkable
class FollowsPortals(Protocol):
    """Told when a portal is linked or unlinked by command (to join or leave the remote chat)."""

    async def portal_linked(self, portal: Portal) -> None:
        """``portal`` is bridged now."""
        ...

    async def portal_unlinked(self, portal: Portal) -> None:
        """``portal`` is no longer bridged."""
        ...


@runtime_checkable
class ProvidesChatInfo(Protocol):
    """The connector can describe a remote chat (asked before its portal is made)."""

    async def get_chat_info(self, portal: PortalKey) -> RemoteChatInfo | None:
        """Name, topic, kind and members of a remote chat."""
        ...


@runtime_checkable
class ProvidesUserInfo(Protocol):
    """The connector can describe a remote user (asked before their puppet first posts)."""

    async def get_user_info(self, remote_id: str) -> RemoteUserInfo | None:
        """Display name and avatar of a remote user."""
        ...


@attrs.frozen
class LoginResult:
    """A remote login that worked: the remote account, what to keep of it, what to tell the user."""

    remote_id: str
    data: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    message: str = ""


@runtime_checkable
class HandlesLogin(Protocol):
    """Users can log in with their own remote account (``/bridge login ...``)."""

    async def login(self, user: BridgeUser, args: Sequence[str]) -> LoginResult:
        """Log ``user`` in with ``args``; raise :class:`~.commands.CommandError` to refuse."""
        ...

    async def logout(self, user: BridgeUser) -> None:
        """Log ``user`` out of the remote network."""
        ...


def capabilities(connector: Connector) -> frozenset[str]:
    """The optional abilities a connector has: ``edits``, ``deletes``, ``reactions``, ``typing``,
    ``chat_info``, ``user_info``, ``login``."""
    found = {
        "edits": HandlesEdits,
        "deletes": HandlesDeletes,
        "reactions": HandlesReactions,
        "typing": HandlesTyping,
        "chat_info": ProvidesChatInfo,
        "user_info": ProvidesUserInfo,
        "login": HandlesLogin,
    }
    return frozenset(name for name, protocol in found.items() if isinstance(connector, protocol))
