"""Exactly-once posts: each bridged post names its source, written down before it is sent.

Before a post with a ``source`` is created, the state store gets an outbox entry (source, target
channel, ``pending_post_id``); the post carries the source in ``props.mmbridge_source``. Sending the
same source again (the event was handled again after a crash) then makes no second post:

* entry finished: the post recorded is the answer, nothing is sent;
* entry unfinished (the process died between writing it and recording the post): the channel is
  searched for a post stamped with the source. Found: it is recorded. Not found: it is sent, with
  the same ``pending_post_id`` (within the server's 30 s window the server itself deduplicates).

The server keeps ``pending_post_id`` for 30 s, per cluster node; the stamp is what makes a send
safe after that.
"""

from __future__ import annotations

from ..api import ClientAPI
from ..errors import ForbiddenError, NotFoundError
from ..types import ChannelID, Post

SOURCE_PROP = "mmbridge_source"
"""The post prop naming what a bridged post bridges (the ``source`` it was sent with)."""
#: How far before an entry was written a reconciliation looks (clocks of bridge and server differ).
RECONCILE_MARGIN_MS = 5 * 60 * 1000
#: Pages of 200 posts searched for a stamped post, at most.
RECONCILE_PAGES = 25


async def find_stamped(
    client: ClientAPI, channel_id: str, *, bridge_id: str, source: str, since_ms: int
) -> Post | None:
    """The post of ``channel_id`` this bridge stamped with ``source``, made after ``since_ms``
    (minus a margin), or None. Reads the channel newest first, page by page."""
    oldest = since_ms - RECONCILE_MARGIN_MS
    for page in range(RECONCILE_PAGES):
        listing = await client.posts.get_for_channel(ChannelID(channel_id), page=page, per_page=200)
        batch = listing.ordered()
        for post in batch:
            if post.props.get(SOURCE_PROP) == source and post.props.get("from_mmbridge") == bridge_id:
                return post
        if len(batch) < 200 or batch[-1].create_at < oldest:
            return None
    return None


async def search_quietly(
    client: ClientAPI, channel_id: str, *, bridge_id: str, source: str, since_ms: int
) -> Post | None:
    """:func:`find_stamped`, with None for a channel the client cannot read."""
    try:
        return await find_stamped(client, channel_id, bridge_id=bridge_id, source=source, since_ms=since_ms)
    except (ForbiddenError, NotFoundError):
        return None
