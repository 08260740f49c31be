"""Catch-up: what a channel's handlers missed while the bridge was down or the stream was reset,
read over REST and fed through the dispatcher like live events.

For a channel whose position (:mod:`.ledger`) is ``P``, the server is asked for every post changed
since ``P`` minus a margin (the server's ``GET /channels/{id}/posts?since=``: new posts, edits,
deletions and reaction changes all move ``update_at``). From what it answers:

* a post created in that span and not handled yet becomes a ``posted`` event (with its current
  text);
* a post edited in the span becomes a ``post_edited`` event, unless that edit was handled (also
  for a post that comes now: a crash may have left a copy of its earlier text);
* a deleted post that was bridged becomes a ``post_deleted`` event;
* the reactions of each changed post are compared with the ones handlers have seen: new ones
  become ``reaction_added``, vanished ones ``reaction_removed``;
* edit-history rows (``original_id`` set) and roots pulled in only as roots are skipped.

The server answers at most 1000 changed posts, with no cursor: a full answer is incomplete, so the
new posts are then read again page by page (complete), and the edits or deletions beyond the 1000
are reported as possibly missed. A position older than the catch-up window is caught up from the
window's start only, with a warning. Events go through the dispatcher (echoes and duplicates
dropped, per-channel order), ahead of the channel's live events, which wait in the channel's hold.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator

import attrs

from ..api import ClientAPI
from ..types import (
    Broadcast,
    ChannelID,
    Event,
    Post,
    PostDeletedEvent,
    PostedEvent,
    PostEditedEvent,
    Reaction,
    ReactionAddedEvent,
    ReactionRemovedEvent,
    UserID,
    structure,
)
from .dispatcher import Dispatcher
from .ledger import PRESENT, EventLedger, ledger_key

log = logging.getLogger("mmbridge.catchup")

#: ``GetPostsSince`` answers at most this many posts (``LIMIT 1000``, no cursor).
SERVER_SINCE_LIMIT = 1000
#: Changes this close before a position are read again (events of one channel may be published a
#: little out of ``update_at`` order); the ledger's keys drop what was handled.
DEFAULT_MARGIN_MS = 60_000
#: Pages of 200 read when a ``since`` answer was full (at most 20,000 new posts).
MAX_PAGES = 100
#: Of changes made in the same millisecond: the post first, its deletion last.
_ORDER: dict[type[Event], int] = {PostedEvent: 0, PostEditedEvent: 1, PostDeletedEvent: 3}


@attrs.frozen
class CatchUpReport:
    """What one channel's catch-up found and fed to the dispatcher."""

    channel_id: str
    since: int
    changed: int
    dispatched: int
    window_exceeded: bool = False
    incomplete: bool = False
    first_time: bool = False


@attrs.define
class CatchUpStats:
    """Counters a metrics exporter reads."""

    channels: int = 0
    events: int = 0
    window_exceeded: int = 0
    incomplete: int = 0
    failures: int = 0


async def changed_posts(client: ClientAPI, channel_id: str, since: int) -> tuple[list[Post], bool]:
    """The posts of ``channel_id`` changed after ``since`` (ms), oldest first, edit-history rows and
    roots that only came along with a reply left out; and whether some changes may be missing.

    The server answers ``?since=`` with at most :data:`SERVER_SINCE_LIMIT` posts and no cursor.
    When an answer is full, the channel is also read page by page back to ``since``, so every post
    created since is there; changes to older posts beyond the limit may be missing (the flag).
    """
    listing = await client.posts.get_for_channel(ChannelID(channel_id), since=since)
    # Oldest first: ``order`` is newest first, and sorts below are stable, so posts of one
    # millisecond keep the server's order.
    found = {pid: listing.posts[pid] for pid in reversed(listing.order) if pid in listing.posts}
    incomplete = len(listing.order) >= SERVER_SINCE_LIMIT
    if incomplete:
        for post in reversed(await _new_posts(client, channel_id, since)):
            found.setdefault(post.id, post)
    posts = [p for p in found.values() if not p.original_id and p.update_at > since]
    return posts, incomplete


async def _new_posts(client: ClientAPI, channel_id: str, since: int) -> list[Post]:
    """Posts created after ``since``, page by page (newest first; complete, unlike ``since``)."""
    posts: list[Post] = []
    for page in range(MAX_PAGES):
        listing = await client.posts.get_for_channel(ChannelID(channel_id), page=page, per_page=200)
        batch = listing.ordered()
        posts.extend(p for p in batch if p.create_at > since)
        if len(batch) < 200 or (batch and batch[-1].create_at <= since):
            break
    return posts


class CatchUp:
    """Catches channels up from their ledger position, through the dispatcher.

    Args:
        client: reads the posts (the bridge bot, which must be able to read the channel).
        ledger: positions, handled keys and seen reactions.
        dispatcher: where the missed events go (``origin="catchup"``).
        window_ms: the longest span caught up; older changes are given up, with a warning.
        margin_ms: how far before the position the server is asked again.
    """

    def __init__(
        self,
        client: ClientAPI,
        ledger: EventLedger,
        dispatcher: Dispatcher,
        *,
        window_ms: int = 24 * 3600 * 1000,
        margin_ms: int = DEFAULT_MARGIN_MS,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.dispatcher = dispatcher
        self.window_ms = window_ms
        self.margin_ms = margin_ms
        self.stats = CatchUpStats()
        # Synthesised events get their own negative seq: never a live one's, never each other's.
        self._seq = itertools.count(-2, -1)

    async def channel(self, channel_id: str) -> CatchUpReport:
        """Catch one channel up (a channel seen for the first time just gets its position)."""
        position = await self.ledger.position(channel_id)
        now = int(time.time() * 1000)
        if position is None:
            await self.ledger.start_position(channel_id, now)
            return CatchUpReport(channel_id, since=now, changed=0, dispatched=0, first_time=True)
        since = max(position - self.margin_ms, 0)
        window_exceeded = since < now - self.window_ms
        if window_exceeded:
            since = now - self.window_ms
            self.stats.window_exceeded += 1
            log.warning(
                "channel %s: the bridge last handled it %.1f h ago, more than the catch-up window "
                "(%.1f h); changes before the window are not bridged",
                channel_id,
                (now - position) / 3_600_000,
                self.window_ms / 3_600_000,
            )
        posts, incomplete = await self._changed_posts(channel_id, since)
        events = await self._missed_events(posts, since)
        for event in events:
            await self.dispatcher.dispatch(event, origin="catchup")
        if posts:
            # Handled or dropped, every change up to here needs nothing more (written once the
            # channel's queue is empty, see EventLedger.flush_seen).
            self.ledger.note_seen(channel_id, max(p.update_at for p in posts))
        self.stats.channels += 1
        self.stats.events += len(events)
        if events:
            log.info("channel %s: caught up %d missed event(s)", channel_id, len(events))
        return CatchUpReport(
            channel_id,
            since=since,
            changed=len(posts),
            dispatched=len(events),
            window_exceeded=window_exceeded,
            incomplete=incomplete,
        )

    async def _changed_posts(self, channel_id: str, since: int) -> tuple[list[Post], bool]:
        posts, incomplete = await changed_posts(self.client, channel_id, since)
        if incomplete:
            self.stats.incomplete += 1
            log.warning(
                "channel %s: more than %d posts changed since the bridge last handled it; every "
                "new post is caught up, but edits, deletions and reactions of older posts may be missed",
                channel_id,
                SERVER_SINCE_LIMIT,
            )
        return posts, incomplete

    async def _missed_events(self, posts: list[Post], since: int) -> list[Event]:
        """The events the handlers have not had for these changed posts, in the order they happened."""
        candidates = list(self._candidates(posts, since))
        keys = [k for k in (ledger_key(e) for _, e in candidates) if k is not None]
        bridged = await self.ledger.handled_keys(
            [key for key, _ in keys] + [f"post:{p.id}" for p in posts if p.delete_at]
        )
        known: dict[str, dict[tuple[str, str, str], str]] = {}
        for item, state in (
            await self.ledger.known_reactions([p.id for p in posts if not p.delete_at])
        ).items():
            known.setdefault(item[0], {})[item] = state
        missed: list[tuple[tuple[int, int], Event]] = []
        for when, event in candidates:
            keyed = ledger_key(event)
            if keyed is not None and keyed[0] in bridged:
                continue
            # A post's edit comes even when the post itself comes now, with its current text: a
            # crash may have left a copy of the earlier text, which the post's handler only finds.
            if isinstance(event, PostDeletedEvent):
                created_before = event.post.create_at <= since
                if not created_before and f"post:{event.post.id}" not in bridged:
                    continue  # made and deleted while the bridge was away: never bridged
            missed.append(((when, _ORDER[type(event)]), event))
        for post in posts:
            if post.delete_at:
                continue
            present = {_reaction_id(r): r for r in _reactions(post)}
            seen = known.get(post.id, {})
            # In doubt (handlers started, then the process died): set to what the server shows.
            for rid in sorted(r for r in present if seen.get(r) != PRESENT):
                added = self._event(ReactionAddedEvent, post.channel_id, reaction=present[rid])
                missed.append(((present[rid].create_at, 2), added))
            for _, user_id, emoji_name in sorted(seen.keys() - present.keys()):
                gone = Reaction(user_id=UserID(user_id), post_id=post.id, emoji_name=emoji_name)
                removed = self._event(ReactionRemovedEvent, post.channel_id, reaction=gone)
                missed.append(((post.update_at, 2), removed))
        missed.sort(key=lambda item: item[0])
        return [event for _, event in missed]

    def _candidates(self, posts: list[Post], since: int) -> Iterator[tuple[int, Event]]:
        for post in sorted(posts, key=lambda p: p.create_at):
            if post.delete_at:
                yield post.delete_at, self._event(PostDeletedEvent, post.channel_id, post=post)
                continue
            if post.create_at > since:
                yield post.create_at, self._event(PostedEvent, post.channel_id, post=post, source="catchup")
            if post.edit_at > since:
                yield post.edit_at, self._event(PostEditedEvent, post.channel_id, post=post)

    def _event(self, cls: type[Event], channel_id: str, **fields: object) -> Event:
        return cls(seq=next(self._seq), broadcast=Broadcast(channel_id=channel_id), **fields)


def _reactions(post: Post) -> list[Reaction]:
    raw = post.metadata.get("reactions") or []
    return [structure(item, Reaction) for item in raw if isinstance(item, dict)]


def _reaction_id(reaction: Reaction) -> tuple[str, str, str]:
    return (reaction.post_id, reaction.user_id, reaction.emoji_name)
