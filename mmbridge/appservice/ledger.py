"""The event ledger: what the bridge has handled, kept in the database so a restart knows it.

Per channel it keeps a **position** (the highest server ``update_at`` of a change handled there),
the **keys** of the post events handled (``post:<id>``, ``edit:<id>:<edit_at>:<digest>``,
``delete:<id>``), the **reactions** handlers have seen present, and the **dead letters** (events
whose handlers kept failing). Catch-up (:mod:`.catchup`) reads all of it to feed handlers what they
missed, and only that. An event counts as handled once its handlers returned and the ledger wrote
it; a handler may write its own rows (a message map) in the same transaction with
:meth:`EventLedger.transaction`.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import attrs

from ..db import Connection, Database
from ..types import (
    Event,
    PostDeletedEvent,
    PostedEvent,
    PostEditedEvent,
    ReactionAddedEvent,
    ReactionRemovedEvent,
    structure,
    text_digest,
    unstructure,
)

log = logging.getLogger("mmbridge.ledger")

#: The events the ledger records, retries and parks; the others (commands, typing...) are
#: answered once or not at all.
DURABLE_EVENTS: tuple[type[Event], ...] = (
    PostedEvent,
    PostEditedEvent,
    PostDeletedEvent,
    ReactionAddedEvent,
    ReactionRemovedEvent,
)
#: A reaction's states in the ledger: handled present; or in doubt, its handlers started.
PRESENT, ADDING, REMOVING = "present", "adding", "removing"
_SELECT_LETTERS = (
    "SELECT letter_id, channel_id, event_type, event, error, attempts, failed_at, replay "
    "FROM mmbridge_dead_letter WHERE bridge_id = $1 {where}ORDER BY failed_at, letter_id"
)
#: Rows asked about in one ``IN (...)`` (SQLite allows 32766 parameters; stay far below).
_CHUNK = 500


def is_durable(event: Event) -> bool:
    """Whether the ledger records (and the dispatcher retries) this event."""
    return isinstance(event, DURABLE_EVENTS)


#: A short stable digest of a message text (the same in every process).
message_digest = text_digest


def ledger_key(event: Event) -> tuple[str, int] | None:
    """The durable key of a post event and the server time it is about; None for others."""
    if isinstance(event, PostedEvent):
        return f"post:{event.post.id}", event.post.create_at
    if isinstance(event, PostEditedEvent):
        post = event.post
        return f"edit:{post.id}:{post.edit_at}:{message_digest(post.message)}", post.edit_at or post.update_at
    if isinstance(event, PostDeletedEvent):
        post = event.post
        return f"delete:{post.id}", post.delete_at or post.update_at
    return None


def position_of(event: Event) -> int:
    """The server time up to which handling ``event`` moves its channel's position (0: none).

    A deletion carries the post as it was before (its old ``update_at``) and a removed reaction no
    time at all, so neither moves it; catch-up finds them by their own ``update_at`` anyway.
    """
    if isinstance(event, PostedEvent | PostEditedEvent):
        return event.post.update_at
    if isinstance(event, ReactionAddedEvent):
        return event.reaction.create_at
    return 0


@attrs.frozen
class DeadLetter:
    """An event whose handlers failed every try, parked with the last error."""

    letter_id: str
    channel_id: str
    event_type: str
    error: str
    attempts: int
    failed_at: int
    replay_requested: bool
    event: Event | None = attrs.field(repr=False, default=None)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _placeholders(start: int, count: int) -> str:
    return ", ".join(f"${n}" for n in range(start, start + count))


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for offset in range(0, len(items), _CHUNK):
        yield items[offset : offset + _CHUNK]


class EventLedger:
    """The durable record of handled events of one bridge (rows scoped by ``bridge_id``)."""

    def __init__(self, db: Database, bridge_id: str, *, event_classes: Iterable[type[Event]] = ()) -> None:
        self.db = db
        self.bridge_id = bridge_id
        #: The event classes a dead letter may hold (the durable ones, and any a bridge adds).
        self.event_classes = {cls.__name__: cls for cls in (*DURABLE_EVENTS, *event_classes)}
        #: Keys recorded inside a handler's own transaction, so the dispatcher does not again.
        self._recorded: set[int] = set()
        #: Highest update_at seen per channel but not yet written (echoes, catch-up rows).
        self._seen: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"EventLedger({self.db!r}, bridge_id={self.bridge_id!r})"

    # ---- recording ------------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self, event: Event) -> AsyncIterator[Connection]:
        """A transaction in which a handler writes its own rows; ``event`` is recorded as handled
        in it, so both are written or neither::

            async with ledger.transaction(event) as conn:
                await message_map.add(..., conn=conn)
        """
        async with self.db.transaction() as conn:
            yield conn
            await self._write(conn, event)
        self._recorded.add(id(event))

    async def record(self, event: Event) -> None:
        """Record ``event`` as handled (nothing if a handler already did, or it is not durable)."""
        if self.take_recorded(event) or not is_durable(event):
            return
        async with self.db.transaction() as conn:
            await self._write(conn, event)

    async def starting(self, event: Event) -> bool:
        """``event``'s handlers are about to run; False when they need not (a reaction added that
        handlers saw present, or removed that they never saw: the server re-sends adds and sends
        removals of reactions that never were).

        A reaction becomes "in doubt" until they return: killed in between, the other side may or
        may not have it, and catch-up then sets it to what the server shows (reaction handlers
        are idempotent: adding one twice or removing a missing one changes nothing)."""
        if not isinstance(event, ReactionAddedEvent | ReactionRemovedEvent):
            return True
        r = event.reaction
        state = await self.reaction_state(r.post_id, r.user_id, r.emoji_name)
        if isinstance(event, ReactionAddedEvent):
            if state == PRESENT:
                return False
            await self._set_reaction(self.db, event, ADDING)
        else:
            if state is None:
                return False
            await self._set_reaction(self.db, event, REMOVING)
        return True

    async def _set_reaction(self, conn: Connection | Database, event: Event, state: str) -> None:
        assert isinstance(event, ReactionAddedEvent | ReactionRemovedEvent)
        reaction = event.reaction
        await conn.execute(
            "INSERT INTO mmbridge_reaction (bridge_id, post_id, user_id, emoji_name, state) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (bridge_id, post_id, user_id, emoji_name) "
            "DO UPDATE SET state = excluded.state",
            self.bridge_id,
            reaction.post_id,
            reaction.user_id,
            reaction.emoji_name,
            state,
        )

    def take_recorded(self, event: Event) -> bool:
        """Whether a handler already recorded ``event`` in its transaction (and forget that)."""
        if id(event) in self._recorded:
            self._recorded.discard(id(event))
            return True
        return False

    async def _write(self, conn: Connection, event: Event) -> None:
        channel = event.channel_id
        keys = [ledger_key(event)]
        if isinstance(event, PostedEvent) and event.post.edit_at:
            # Posted with its current text: its edit so far needs no event of its own.
            keys.append(ledger_key(PostEditedEvent(post=event.post, broadcast=event.broadcast)))
        for keyed in keys:
            if keyed is None:
                continue
            key, event_time = keyed
            await conn.defer(
                "INSERT INTO mmbridge_handled (bridge_id, event_key, channel_id, event_time) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT (bridge_id, event_key) DO NOTHING",
                self.bridge_id,
                key,
                channel,
                event_time,
            )
        if isinstance(event, ReactionAddedEvent):
            await self._set_reaction(conn, event, PRESENT)
        elif isinstance(event, ReactionRemovedEvent):
            reaction = event.reaction
            await conn.defer(
                "DELETE FROM mmbridge_reaction "
                "WHERE bridge_id = $1 AND post_id = $2 AND user_id = $3 AND emoji_name = $4",
                self.bridge_id,
                reaction.post_id,
                reaction.user_id,
                reaction.emoji_name,
            )
        position = position_of(event)
        if position:
            await self._advance(conn, channel, position)

    async def _advance(self, conn: Connection, channel_id: str, update_at: int) -> None:
        await conn.defer(
            "INSERT INTO mmbridge_position (bridge_id, channel_id, update_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (bridge_id, channel_id) DO UPDATE SET update_at = CASE "
            "WHEN excluded.update_at > mmbridge_position.update_at THEN excluded.update_at "
            "ELSE mmbridge_position.update_at END",
            self.bridge_id,
            channel_id,
            update_at,
        )

    def note_seen(self, channel_id: str, update_at: int) -> None:
        """Remember that the channel's changes up to ``update_at`` need nothing more (echoes
        dropped, catch-up rows already handled); written by :meth:`flush_seen` once the channel
        is idle (never by :meth:`record`: events queued before it would be passed)."""
        if update_at > self._seen.get(channel_id, 0):
            self._seen[channel_id] = update_at

    def noted_channels(self) -> list[str]:
        """Channels with a noted position not written yet."""
        return list(self._seen)

    async def flush_seen(self, idle: Iterable[str] | None = None) -> None:
        """Write the positions noted for the channels in ``idle`` (all when None): only channels
        with nothing queued may move past what they saw, or a crash would skip queued events."""
        wanted = set(self._seen) if idle is None else set(idle) & set(self._seen)
        if not wanted:
            return
        noted = {channel: self._seen.pop(channel) for channel in wanted}
        try:
            async with self.db.transaction() as conn:
                for channel, update_at in noted.items():
                    await self._advance(conn, channel, update_at)
        except BaseException:
            for channel, update_at in noted.items():
                self.note_seen(channel, update_at)
            raise

    # ---- reading --------------------------------------------------------------------------------

    async def position(self, channel_id: str) -> int | None:
        """The channel's position, or None when the bridge never handled anything there."""
        value = await self.db.fetchval(
            "SELECT update_at FROM mmbridge_position WHERE bridge_id = $1 AND channel_id = $2",
            self.bridge_id,
            channel_id,
        )
        return None if value is None else int(value)

    async def positions(self) -> dict[str, int]:
        """Every channel's position."""
        rows = await self.db.fetch(
            "SELECT channel_id, update_at FROM mmbridge_position WHERE bridge_id = $1", self.bridge_id
        )
        return {str(row["channel_id"]): int(row["update_at"]) for row in rows}

    async def start_position(self, channel_id: str, update_at: int) -> None:
        """Give a channel its first position (a channel the bridge starts watching now)."""
        await self.db.execute(
            "INSERT INTO mmbridge_position (bridge_id, channel_id, update_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (bridge_id, channel_id) DO NOTHING",
            self.bridge_id,
            channel_id,
            update_at,
        )

    async def handled_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` are recorded as handled."""
        found: set[str] = set()
        for chunk in _chunks(list(keys)):
            rows = await self.db.fetch(
                "SELECT event_key FROM mmbridge_handled WHERE bridge_id = $1 "  # noqa: S608 - placeholders only
                f"AND event_key IN ({_placeholders(2, len(chunk))})",
                self.bridge_id,
                *chunk,
            )
            found.update(str(row["event_key"]) for row in rows)
        return found

    async def known_reactions(self, post_ids: Sequence[str]) -> dict[tuple[str, str, str], str]:
        """The reactions (post id, user id, emoji) of these posts that handlers have seen, with
        their state: :data:`PRESENT`, or in doubt (:data:`ADDING`, :data:`REMOVING`)."""
        found: dict[tuple[str, str, str], str] = {}
        for chunk in _chunks(list(post_ids)):
            rows = await self.db.fetch(
                "SELECT post_id, user_id, emoji_name, state FROM mmbridge_reaction "  # noqa: S608
                f"WHERE bridge_id = $1 AND post_id IN ({_placeholders(2, len(chunk))})",
                self.bridge_id,
                *chunk,
            )
            for r in rows:
                found[(str(r["post_id"]), str(r["user_id"]), str(r["emoji_name"]))] = str(r["state"])
        return found

    async def reaction_state(self, post_id: str, user_id: str, emoji_name: str) -> str | None:
        """What the ledger knows of this reaction: :data:`PRESENT`, in doubt, or None."""
        value = await self.db.fetchval(
            "SELECT state FROM mmbridge_reaction "
            "WHERE bridge_id = $1 AND post_id = $2 AND user_id = $3 AND emoji_name = $4",
            self.bridge_id,
            post_id,
            user_id,
            emoji_name,
        )
        return None if value is None else str(value)

    async def prune(self, keep_ms: int) -> int:
        """Forget handled keys older than their channel's position minus ``keep_ms`` (catch-up
        never asks about them again); returns how many were removed."""
        return await self.db.execute(
            "DELETE FROM mmbridge_handled WHERE bridge_id = $1 AND event_time < "
            "(SELECT p.update_at FROM mmbridge_position p WHERE p.bridge_id = mmbridge_handled.bridge_id "
            "AND p.channel_id = mmbridge_handled.channel_id) - $2",
            self.bridge_id,
            keep_ms,
        )

    # ---- dead letters ---------------------------------------------------------------------------

    async def park(self, event: Event, error: BaseException, attempts: int) -> str:
        """Keep an event whose handlers kept failing; returns its letter id."""
        letter_id = secrets.token_hex(6)
        await self.db.execute(
            "INSERT INTO mmbridge_dead_letter "
            "(bridge_id, letter_id, channel_id, event_type, event, error, attempts, failed_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            self.bridge_id,
            letter_id,
            event.queue_key,
            event.type,
            json.dumps({"class": type(event).__name__, "data": unstructure(event)}, default=_encode_bytes),
            f"{type(error).__name__}: {error}"[:2000],
            attempts,
            _now_ms(),
        )
        return letter_id

    async def dead_letters(self, *, with_events: bool = False) -> list[DeadLetter]:
        """The parked events, oldest first."""
        rows = await self.db.fetch(_SELECT_LETTERS.format(where=""), self.bridge_id)
        return [self._letter(row, with_events=with_events) for row in rows]

    async def dead_letter_count(self) -> int:
        """How many events are parked."""
        value = await self.db.fetchval(
            "SELECT COUNT(*) FROM mmbridge_dead_letter WHERE bridge_id = $1", self.bridge_id
        )
        return int(value or 0)

    async def request_replay(self, letter_ids: Sequence[str] | None = None) -> int:
        """Ask the running bridge to handle these parked events again (all when None)."""
        return await self._update_letters("UPDATE mmbridge_dead_letter SET replay = 1", letter_ids)

    async def discard(self, letter_ids: Sequence[str] | None = None) -> int:
        """Drop parked events for good (all when None); returns how many."""
        return await self._update_letters("DELETE FROM mmbridge_dead_letter", letter_ids)

    async def _update_letters(self, statement: str, letter_ids: Sequence[str] | None) -> int:
        if letter_ids is None:
            return await self.db.execute(f"{statement} WHERE bridge_id = $1", self.bridge_id)
        changed = 0
        for chunk in _chunks(list(letter_ids)):
            changed += await self.db.execute(
                f"{statement} WHERE bridge_id = $1 AND letter_id IN ({_placeholders(2, len(chunk))})",
                self.bridge_id,
                *chunk,
            )
        return changed

    async def replays(self) -> list[DeadLetter]:
        """The parked events whose replay was asked for, with their events."""
        rows = await self.db.fetch(_SELECT_LETTERS.format(where="AND replay = 1 "), self.bridge_id)
        letters = []
        for row in rows:
            try:
                letters.append(self._letter(row, with_events=True))
            except ValueError as exc:  # a class this version no longer has: it stays, listed
                log.warning("dead letter %s cannot be replayed: %s", row["letter_id"], exc)
                await self.db.execute(
                    "UPDATE mmbridge_dead_letter SET replay = 0 WHERE bridge_id = $1 AND letter_id = $2",
                    self.bridge_id,
                    row["letter_id"],
                )
        return letters

    async def park_again(self, letter_id: str, error: BaseException, attempts: int) -> None:
        """A replayed event failed again: its letter stays, with the new error."""
        await self.db.execute(
            "UPDATE mmbridge_dead_letter SET error = $3, attempts = attempts + $4, failed_at = $5, "
            "replay = 0 WHERE bridge_id = $1 AND letter_id = $2",
            self.bridge_id,
            letter_id,
            f"{type(error).__name__}: {error}"[:2000],
            attempts,
            _now_ms(),
        )

    async def replayed(self, letter_id: str) -> None:
        """A replayed event was handled: its letter goes."""
        await self.db.execute(
            "DELETE FROM mmbridge_dead_letter WHERE bridge_id = $1 AND letter_id = $2",
            self.bridge_id,
            letter_id,
        )

    def _letter(self, row: Any, *, with_events: bool) -> DeadLetter:
        event: Event | None = None
        if with_events:
            event = load_event(str(row["event"]), self.event_classes)
        return DeadLetter(
            letter_id=str(row["letter_id"]),
            channel_id=str(row["channel_id"]),
            event_type=str(row["event_type"]),
            error=str(row["error"]),
            attempts=int(row["attempts"]),
            failed_at=int(row["failed_at"]),
            replay_requested=bool(row["replay"]),
            event=event,
        )


class LedgerDelivery:
    """The dispatcher's :class:`~.dispatcher.Delivery` on a ledger: handled events are recorded,
    failed ones parked, and a replayed dead letter goes once its event is handled."""

    def __init__(self, ledger: EventLedger) -> None:
        self.ledger = ledger
        self._replaying: dict[int, str] = {}

    async def starting(self, event: Event) -> bool:
        """The handlers of ``event`` are about to run: whether they need to."""
        return await self.ledger.starting(event)

    def replaying(self, event: Event, letter_id: str) -> None:
        """``event`` is the dead letter ``letter_id`` being handled again."""
        self._replaying[id(event)] = letter_id

    def forget(self, event: Event) -> None:
        """``event`` will not reach its handlers after all (dropped on replay)."""
        self._replaying.pop(id(event), None)

    async def handled(self, event: Event) -> None:
        """Record the event; a replayed letter is then removed."""
        await self.ledger.record(event)
        letter_id = self._replaying.pop(id(event), None)
        if letter_id is not None:
            await self.ledger.replayed(letter_id)

    async def failed(self, event: Event, error: BaseException, attempts: int) -> None:
        """Park the event (a replayed letter keeps its id and gets the new error)."""
        self.ledger.take_recorded(event)
        letter_id = self._replaying.get(id(event))
        if letter_id is not None:
            await self.ledger.park_again(letter_id, error, attempts)
        else:
            await self.ledger.park(event, error, attempts)
        self._replaying.pop(id(event), None)

    def dropped(self, event: Event) -> None:
        """An echo or duplicate needs nothing: the channel's position may pass it once idle."""
        update_at = position_of(event)
        if update_at:
            self.ledger.note_seen(event.channel_id, update_at)


def load_event(text: str, classes: Mapping[str, type[Event]] | None = None) -> Event:
    """An event as :meth:`EventLedger.park` stored it (``classes``: the classes it may be, by
    name; the durable ones by default).

    Raises:
        ValueError: the text is not a stored event of a known class.
    """
    known = classes if classes is not None else {cls.__name__: cls for cls in DURABLE_EVENTS}
    stored = json.loads(text, object_hook=_decode_bytes)
    cls = known.get(stored.get("class", "")) if isinstance(stored, dict) else None
    if cls is None:
        raise ValueError("not a stored event of a known class")
    return structure(stored["data"], cls)


def _encode_bytes(value: object) -> dict[str, str]:
    """JSON for the bytes an event may hold (a remote file's data)."""
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"{type(value).__name__} cannot be stored in a dead letter")


def _decode_bytes(value: dict[str, Any]) -> Any:
    return base64.b64decode(value["__bytes__"]) if set(value) == {"__bytes__"} else value
