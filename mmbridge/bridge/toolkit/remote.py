"""What a connector pushes into the bridge: typed events of the remote network.

Each names its *portal* (the remote chat), its *sender* (a remote user, or "from me": the remote
account of a Mattermost user logged in through the bridge) and, for messages, the *remote message
id* the message map keys on. They are :class:`~mmbridge.types.Event`\\ s: they ride the bridge's
dispatcher, one ordered queue per portal, deduplicated, and a failing handler is tried again.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable
from typing import ClassVar

import attrs

from ...types import Event


@attrs.frozen
class PortalKey:
    """A remote chat. ``receiver`` is set for chats that exist once per Mattermost user (a direct
    chat as one login sees it): the Mattermost user id it belongs to."""

    id: str = attrs.field(validator=attrs.validators.min_len(1))
    receiver: str = ""

    def __str__(self) -> str:
        return f"{self.id}/{self.receiver}" if self.receiver else self.id


@attrs.frozen
class Sender:
    """Who sent a remote event: a remote user (``remote_id``), or a Mattermost user's own remote
    account (``from_me`` with ``user_id``: their messages then appear as themselves when they gave
    the bridge their Mattermost token, else as their remote puppet)."""

    remote_id: str = ""
    from_me: bool = False
    user_id: str = ""


class ChatKind(enum.StrEnum):
    """What a portal's channel is on Mattermost."""

    PUBLIC = "O"
    PRIVATE = "P"
    DIRECT = "D"
    GROUP = "G"


@attrs.frozen
class RemoteFile:
    """A file attached to a remote message."""

    name: str
    data: bytes = attrs.field(repr=False)
    mime_type: str = ""


@attrs.frozen(kw_only=True)
class RemoteEvent(Event):
    """Base of the events a connector pushes."""

    event_type: ClassVar[str] = "remote"
    retried: ClassVar[bool] = True
    sender: Sender = attrs.field(factory=Sender)
    timestamp: int = 0
    """When it happened on the remote side, in ms since the epoch (0: unknown)."""


@attrs.frozen(kw_only=True)
class PortalEvent(RemoteEvent):
    """A remote event in one chat: the events of a portal are handled in order."""

    portal: PortalKey

    @property
    def queue_key(self) -> str:
        """``portal:<key>``: the events of one portal are handled in order."""
        return f"portal:{self.portal}"


@attrs.frozen(kw_only=True)
class RemoteMessage(PortalEvent):
    """A new message. ``text`` is Mattermost markdown (convert with :mod:`.formatting`);
    ``thread_root`` / ``reply_to`` are remote message ids."""

    event_type: ClassVar[str] = "remote_message"
    message_id: str
    text: str = ""
    files: tuple[RemoteFile, ...] = ()
    thread_root: str = ""
    reply_to: str = ""
    emote: bool = False
    """An action (``/me waves``): shown in italics with the sender's name."""

    def dedupe_key(self) -> Hashable:
        """The portal and the remote message id: a message sent twice is bridged once."""
        return (self.event_type, str(self.portal), self.message_id)


@attrs.frozen(kw_only=True)
class RemoteEdit(PortalEvent):
    """A message's new text."""

    event_type: ClassVar[str] = "remote_edit"
    message_id: str
    text: str
    #: An action's new text (``text`` without the asterisks), as for :class:`RemoteMessage`.
    emote: bool = False


@attrs.frozen(kw_only=True)
class RemoteDelete(PortalEvent):
    """A message was deleted (every post it became goes)."""

    event_type: ClassVar[str] = "remote_delete"
    message_id: str

    def dedupe_key(self) -> Hashable:
        """The portal and the remote message id: a message is deleted once."""
        return (self.event_type, str(self.portal), self.message_id)


@attrs.frozen(kw_only=True)
class RemoteReaction(PortalEvent):
    """The sender reacted to a message with ``emoji`` (a Mattermost emoji name)."""

    event_type: ClassVar[str] = "remote_reaction"
    message_id: str
    emoji: str


@attrs.frozen(kw_only=True)
class RemoteReactionRemove(PortalEvent):
    """The sender took a reaction back."""

    event_type: ClassVar[str] = "remote_reaction_remove"
    message_id: str
    emoji: str


@attrs.frozen(kw_only=True)
class RemoteTyping(PortalEvent):
    """The sender is typing."""

    event_type: ClassVar[str] = "remote_typing"
    retried: ClassVar[bool] = False


@attrs.frozen(kw_only=True)
class RemoteLeave(PortalEvent):
    """The sender left the chat: their puppet leaves the portal's channel (it joins again when it
    next speaks there)."""

    event_type: ClassVar[str] = "remote_leave"


@attrs.frozen(kw_only=True)
class RemoteChatInfo(PortalEvent):
    """What the remote chat is: its name, topic, kind and members (remote user ids)."""

    event_type: ClassVar[str] = "remote_chat_info"
    name: str = ""
    topic: str = ""
    kind: ChatKind = ChatKind.PUBLIC
    members: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class RemoteUserInfo(RemoteEvent):
    """A remote user's profile (the sender's): synced to their puppet only when it changed."""

    event_type: ClassVar[str] = "remote_user_info"
    display_name: str = ""
    avatar: bytes | None = attrs.field(default=None, repr=False)
    username: str = ""
    """What the ghost's username should be made from, when the remote id is not readable (an
    opaque id): used once, when the ghost is made; the name chosen then is kept."""

    @property
    def queue_key(self) -> str:
        """``user:<remote id>``: the updates of one remote user are handled in order."""
        return f"user:{self.sender.remote_id}"
