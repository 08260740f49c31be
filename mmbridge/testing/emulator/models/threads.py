"""Collapsed reply threads: a user's membership of a thread (``model.ThreadMembership``)."""

from __future__ import annotations

import attrs

from .wire import Record


@attrs.define
class ThreadMembership(Record):
    """A user's relation to a thread (its root post): following, last view, unread mentions."""

    post_id: str
    user_id: str
    following: bool = True
    last_update_at: int = 0
    last_view_at: int = 0
    unread_mentions: int = 0
