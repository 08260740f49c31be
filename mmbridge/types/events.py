"""Events from Mattermost's WebSocket, as typed objects.

On the wire every event is ``{"event", "data", "broadcast", "seq"}``. :func:`parse_event` turns
one into the matching class below; an event type this version does not know becomes an
:class:`UnknownEvent` (never an exception), and a known type with broken data becomes a
:class:`MalformedEvent` carrying the problem, so one bad frame cannot stop a bridge.

Several payloads carry objects as JSON *strings* (``posted``'s ``post``, ``reaction_added``'s
``reaction``, ``channel_updated``'s ``channel``...): they arrive here already parsed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

import attrs

from ..errors import MalformedResponseError
from . import safejson
from .channels import Channel
from .ids import ChannelID, TeamID, UserID
from .posts import Post, Reaction
from .serialization import structure
from .users import User

E = TypeVar("E", bound="Event")


@attrs.frozen
class Broadcast:
    """Who the server sent an event to: a channel, a team, a user, minus ``omit_users``."""

    channel_id: str = ""
    team_id: str = ""
    user_id: str = ""
    omit_users: Mapping[str, bool] = attrs.field(factory=dict)
    connection_id: str = ""


@attrs.frozen(kw_only=True)
class Event:
    """Base of every event. ``seq`` is the server's per-connection sequence number.

    Events describe themselves, so the dispatcher and the echo filter need no type switches:
    :meth:`dedupe_key` (what identifies a copy of it), :attr:`author_id` (who caused it),
    :attr:`queue_key` (the ordered queue it joins) and :attr:`retried` (whether a failing
    handler is tried again).
    """

    event_type: ClassVar[str] = ""
    #: Whether a failing handler of this event is tried again (then the event parked).
    retried: ClassVar[bool] = False
    seq: int = -1
    broadcast: Broadcast = attrs.field(factory=Broadcast)

    @property
    def type(self) -> str:
        """The event's wire name (``posted``, ``reaction_added``, ...)."""
        return self.event_type

    @property
    def channel_id(self) -> str:
        """The channel the event concerns, when it concerns one (else ``""``)."""
        return self.broadcast.channel_id

    @property
    def author_id(self) -> str:
        """The Mattermost user who caused the event, when one did (else ``""``)."""
        return ""

    @property
    def queue_key(self) -> str:
        """Events with the same key are handled one after another, in order (the channel)."""
        return self.channel_id

    def dedupe_key(self) -> Hashable | None:
        """What identifies this event when it can arrive twice (WebSocket and webhook, a replay,
        a catch-up); None for events that cannot."""
        return None


def text_digest(text: str) -> str:
    """A short digest of a text that is the same in every process (keys outlive the process,
    so not ``hash()``)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


@attrs.frozen(kw_only=True)
class HelloEvent(Event):
    """The first event on a new connection. A new ``connection_id`` means nothing was replayed."""

    event_type: ClassVar[str] = "hello"
    server_version: str = ""
    connection_id: str = ""


@attrs.frozen(kw_only=True)
class PostedEvent(Event):
    """A post was created. The author receives its own posts too: bridges must drop echoes."""

    event_type: ClassVar[str] = "posted"
    post: Post
    channel_type: str = ""
    channel_name: str = ""
    channel_display_name: str = ""
    sender_name: str = ""
    team_id: str = ""
    mentions: tuple[str, ...] = ()
    source: str = "websocket"
    """``websocket``; ``webhook`` for a post learned from an outgoing webhook first (read back
    from the server when the receiver has a ``post_reader``, else only the payload's fields);
    ``catchup`` for a post read over REST after downtime."""
    retried: ClassVar[bool] = True

    @property
    def channel_id(self) -> str:
        """The post's channel."""
        return self.post.channel_id

    @property
    def author_id(self) -> str:
        """The post's author."""
        return self.post.user_id

    def dedupe_key(self) -> Hashable:
        """The post id: the same post from the WebSocket, a webhook or a catch-up is handled once."""
        return ("post", self.post.id)


@attrs.frozen(kw_only=True)
class PostEditedEvent(Event):
    """A post's text, props or files changed."""

    event_type: ClassVar[str] = "post_edited"
    retried: ClassVar[bool] = True
    post: Post

    @property
    def channel_id(self) -> str:
        """The post's channel."""
        return self.post.channel_id

    @property
    def author_id(self) -> str:
        """The post's author (not necessarily who edited it)."""
        return self.post.user_id

    def dedupe_key(self) -> Hashable:
        """The post id, its ``edit_at`` and a digest of its text: each edit once."""
        # Not update_at: a pin or a reaction bumps it without changing the text. Two edits in one
        # millisecond share edit_at; their texts tell them apart.
        return ("edit", self.post.id, self.post.edit_at, text_digest(self.post.message))


@attrs.frozen(kw_only=True)
class PostDeletedEvent(Event):
    """A post was deleted. ``delete_by`` is only sent to admins."""

    event_type: ClassVar[str] = "post_deleted"
    retried: ClassVar[bool] = True
    post: Post
    delete_by: str = ""

    @property
    def channel_id(self) -> str:
        """The post's channel."""
        return self.post.channel_id

    @property
    def author_id(self) -> str:
        """The post's author (who deleted it is ``delete_by``)."""
        return self.post.user_id

    def dedupe_key(self) -> Hashable:
        """The post id: a post is deleted once."""
        return ("delete", self.post.id)


@attrs.frozen(kw_only=True)
class ReactionAddedEvent(Event):
    """Someone reacted to a post."""

    event_type: ClassVar[str] = "reaction_added"
    retried: ClassVar[bool] = True
    reaction: Reaction

    @property
    def author_id(self) -> str:
        """Who reacted."""
        return self.reaction.user_id

    def dedupe_key(self) -> Hashable:
        """The post, the user, the emoji and the reaction's ``create_at``."""
        r = self.reaction
        return (self.event_type, r.post_id, r.user_id, r.emoji_name, r.create_at)


@attrs.frozen(kw_only=True)
class ReactionRemovedEvent(Event):
    """Someone took a reaction back."""

    event_type: ClassVar[str] = "reaction_removed"
    retried: ClassVar[bool] = True
    reaction: Reaction

    @property
    def author_id(self) -> str:
        """Who took the reaction back."""
        return self.reaction.user_id

    def dedupe_key(self) -> Hashable:
        """The post, the user, the emoji and the stream position (the server sends ``create_at`` 0)."""
        # The server builds a removed reaction from the URL, with create_at 0 (api4/reaction.go):
        # only the stream's position tells a second removal from a replay of the first.
        r = self.reaction
        return (self.event_type, r.post_id, r.user_id, r.emoji_name, self.seq)


@attrs.frozen(kw_only=True)
class TypingEvent(Event):
    """A user is typing in the broadcast's channel (``parent_id``: in that thread)."""

    event_type: ClassVar[str] = "typing"
    user_id: UserID
    parent_id: str = ""

    @property
    def author_id(self) -> str:
        """Who is typing."""
        return self.user_id


@attrs.frozen(kw_only=True)
class UserAddedEvent(Event):
    """A user joined or was added to the broadcast's channel."""

    event_type: ClassVar[str] = "user_added"
    user_id: UserID
    team_id: str = ""


@attrs.frozen(kw_only=True)
class UserRemovedEvent(Event):
    """A user left or was removed from a channel.

    The server sends it twice: to the channel (``user_id`` set) and to the removed user
    (``removed_channel_id`` set, ``user_id`` is then the broadcast's user).
    """

    event_type: ClassVar[str] = "user_removed"
    user_id: str = ""
    remover_id: str = ""
    removed_channel_id: str = ""

    @property
    def channel_id(self) -> str:
        """The channel left: ``removed_channel_id`` when set, else the broadcast's channel."""
        return self.removed_channel_id or self.broadcast.channel_id


@attrs.frozen(kw_only=True)
class ChannelCreatedEvent(Event):
    """A channel was created (sent to its creator)."""

    event_type: ClassVar[str] = "channel_created"
    created_channel_id: ChannelID
    team_id: str = ""

    @property
    def channel_id(self) -> str:
        """The new channel."""
        return self.created_channel_id


@attrs.frozen(kw_only=True)
class ChannelUpdatedEvent(Event):
    """A channel's name, header, purpose or other fields changed."""

    event_type: ClassVar[str] = "channel_updated"
    channel: Channel

    @property
    def channel_id(self) -> str:
        """The updated channel."""
        return self.channel.id


@attrs.frozen(kw_only=True)
class ChannelDeletedEvent(Event):
    """A channel was archived."""

    event_type: ClassVar[str] = "channel_deleted"
    deleted_channel_id: ChannelID
    delete_at: int = 0

    @property
    def channel_id(self) -> str:
        """The archived channel."""
        return self.deleted_channel_id


@attrs.frozen(kw_only=True)
class DirectAddedEvent(Event):
    """A direct message channel was created (``broadcast.channel_id`` is the DM)."""

    event_type: ClassVar[str] = "direct_added"
    creator_id: str = ""
    teammate_id: str = ""


@attrs.frozen(kw_only=True)
class GroupAddedEvent(Event):
    """A group message channel was created (``broadcast.channel_id`` is the GM)."""

    event_type: ClassVar[str] = "group_added"
    teammate_ids: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class AddedToTeamEvent(Event):
    """The receiving user was added to a team."""

    event_type: ClassVar[str] = "added_to_team"
    team_id: TeamID
    user_id: UserID


@attrs.frozen(kw_only=True)
class LeaveTeamEvent(Event):
    """A user left or was removed from a team."""

    event_type: ClassVar[str] = "leave_team"
    team_id: TeamID
    user_id: UserID


@attrs.frozen(kw_only=True)
class UserUpdatedEvent(Event):
    """A user's profile changed (sanitised: no email for most receivers)."""

    event_type: ClassVar[str] = "user_updated"
    user: User


@attrs.frozen(kw_only=True)
class NewUserEvent(Event):
    """A user account was created."""

    event_type: ClassVar[str] = "new_user"
    user_id: UserID


@attrs.frozen(kw_only=True)
class StatusChangeEvent(Event):
    """A user's status changed (``online``, ``away``, ``dnd``, ``offline``)."""

    event_type: ClassVar[str] = "status_change"
    user_id: UserID
    status: str = ""


@attrs.frozen(kw_only=True)
class UnknownEvent(Event):
    """An event type this version has no class for; ``name`` and ``data`` are as sent."""

    name: str
    data: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def type(self) -> str:
        """The event type as sent (``name``)."""
        return self.name


@attrs.frozen(kw_only=True)
class MalformedEvent(Event):
    """A known event type whose data could not be read; ``problem`` says why."""

    name: str
    problem: str
    data: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def type(self) -> str:
        """The event type as sent (``name``)."""
        return self.name


@attrs.frozen(kw_only=True)
class StreamReset(Event):
    """Not from the server: events may have been lost (the server could not replay what was
    missed across a reconnect). A bridge should re-sync its channels over REST."""

    event_type: ClassVar[str] = "mmbridge_stream_reset"
    reason: str
    old_connection_id: str = ""
    new_connection_id: str = ""


def _nested(data: Mapping[str, Any], key: str) -> Any:
    """A nested object that the server sends either as a JSON string or as an object."""
    value = data[key]
    if isinstance(value, str):
        return safejson.loads(value)
    return value


def _ids(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = safejson.loads(value) if value else []
    if isinstance(value, dict):
        value = list(value)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError("expected a list of ids")
    return tuple(value)


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{key} must be a string")
    return value


def _required(data: Mapping[str, Any], key: str) -> str:
    value = _text(data, key)
    if not value:
        raise KeyError(key)
    return value


Common = dict[str, Any]
Parser = Callable[[Mapping[str, Any], Common], Event]


def _posted(d: Mapping[str, Any], c: Common) -> Event:
    mentions = d.get("mentions")
    return PostedEvent(
        post=structure(_nested(d, "post"), Post),
        channel_type=_text(d, "channel_type"),
        channel_name=_text(d, "channel_name"),
        channel_display_name=_text(d, "channel_display_name"),
        sender_name=_text(d, "sender_name"),
        team_id=_text(d, "team_id"),
        mentions=_ids(mentions) if mentions else (),
        **c,
    )


_PARSERS: Mapping[str, Parser] = MappingProxyType(
    {
        "hello": lambda d, c: HelloEvent(
            server_version=_text(d, "server_version"), connection_id=_text(d, "connection_id"), **c
        ),
        "posted": _posted,
        "post_edited": lambda d, c: PostEditedEvent(post=structure(_nested(d, "post"), Post), **c),
        "post_deleted": lambda d, c: PostDeletedEvent(
            post=structure(_nested(d, "post"), Post), delete_by=_text(d, "delete_by"), **c
        ),
        "reaction_added": lambda d, c: ReactionAddedEvent(
            reaction=structure(_nested(d, "reaction"), Reaction), **c
        ),
        "reaction_removed": lambda d, c: ReactionRemovedEvent(
            reaction=structure(_nested(d, "reaction"), Reaction), **c
        ),
        "typing": lambda d, c: TypingEvent(
            user_id=UserID(_required(d, "user_id")), parent_id=_text(d, "parent_id"), **c
        ),
        "user_added": lambda d, c: UserAddedEvent(
            user_id=UserID(_required(d, "user_id")), team_id=_text(d, "team_id"), **c
        ),
        "user_removed": lambda d, c: UserRemovedEvent(
            user_id=_text(d, "user_id") or c["broadcast"].user_id,
            remover_id=_text(d, "remover_id"),
            removed_channel_id=_text(d, "channel_id"),
            **c,
        ),
        "channel_created": lambda d, c: ChannelCreatedEvent(
            created_channel_id=ChannelID(_required(d, "channel_id")), team_id=_text(d, "team_id"), **c
        ),
        "channel_updated": lambda d, c: ChannelUpdatedEvent(
            channel=structure(_nested(d, "channel"), Channel), **c
        ),
        "channel_deleted": lambda d, c: ChannelDeletedEvent(
            deleted_channel_id=ChannelID(_required(d, "channel_id")),
            delete_at=int(d.get("delete_at") or 0),
            **c,
        ),
        "direct_added": lambda d, c: DirectAddedEvent(
            creator_id=_text(d, "creator_id"), teammate_id=_text(d, "teammate_id"), **c
        ),
        "group_added": lambda d, c: GroupAddedEvent(teammate_ids=_ids(d.get("teammate_ids")), **c),
        "added_to_team": lambda d, c: AddedToTeamEvent(
            team_id=TeamID(_required(d, "team_id")), user_id=UserID(_required(d, "user_id")), **c
        ),
        "leave_team": lambda d, c: LeaveTeamEvent(
            team_id=TeamID(_required(d, "team_id")), user_id=UserID(_required(d, "user_id")), **c
        ),
        "user_updated": lambda d, c: UserUpdatedEvent(user=structure(_nested(d, "user"), User), **c),
        "new_user": lambda d, c: NewUserEvent(user_id=UserID(_required(d, "user_id")), **c),
        "status_change": lambda d, c: StatusChangeEvent(
            user_id=UserID(_required(d, "user_id")), status=_text(d, "status"), **c
        ),
    }
)

KNOWN_EVENT_TYPES: frozenset[str] = frozenset(_PARSERS)
"""Event types :func:`parse_event` has a class for."""


def _broadcast(raw: Any) -> Broadcast:
    if not isinstance(raw, dict):
        return Broadcast()
    omit = raw.get("omit_users")
    return Broadcast(
        channel_id=raw.get("channel_id") or "",
        team_id=raw.get("team_id") or "",
        user_id=raw.get("user_id") or "",
        omit_users=omit if isinstance(omit, dict) else {},
        connection_id=raw.get("connection_id") or "",
    )


def parse_event(message: Mapping[str, Any]) -> Event:
    """Turn one decoded WebSocket event into a typed :class:`Event`.

    Raises :class:`MalformedResponseError` only when ``message`` is not an event at all (no
    ``event`` name); broken data of a named event gives a :class:`MalformedEvent`.
    """
    name = message.get("event")
    if not isinstance(name, str) or not name:
        raise MalformedResponseError("WebSocket message has no event name")
    seq = message.get("seq")
    data = message.get("data")
    if not isinstance(data, dict):
        data = {}
    common: Common = {
        "seq": seq if type(seq) is int else -1,
        "broadcast": _broadcast(message.get("broadcast")),
    }
    parser = _PARSERS.get(name)
    if parser is None:
        return UnknownEvent(name=name, data=data, **common)
    try:
        return parser(data, common)
    except (MalformedResponseError, KeyError, TypeError, ValueError) as exc:
        problem = f"missing {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
        return MalformedEvent(name=name, problem=problem, data=data, **common)
