"""The state store interface: what the appservice layer remembers between messages and restarts."""

from __future__ import annotations

from abc import ABC, abstractmethod

import attrs


@attrs.frozen
class PuppetRecord:
    """A puppet: the Mattermost account the bridge created for a remote user, and its token.

    ``display_name_hash``/``avatar_hash`` are digests of the profile last set, so the profile is
    only written when it changes. The token never appears in the repr.
    """

    user_id: str
    username: str
    token: str = attrs.field(repr=False)
    token_id: str = ""
    display_name_hash: str = ""
    avatar_hash: str = ""


@attrs.frozen
class OutboxEntry:
    """A post the bridge is about to make (``post_id`` empty) or has made, for one source.

    ``source`` names what the post bridges (``"<remote id>"``, ``"<post id>:<part>"``): one source
    makes at most one post, across retries, crashes and restarts. ``created_at`` is the local
    time in ms the entry was written (how far back a reconciliation looks).
    """

    source: str
    channel_id: str
    pending_post_id: str
    post_id: str = ""
    created_at: int = 0


class StateStore(ABC):
    """Puppets, membership cache, double-puppet tokens, the transaction counter and small key/values.

    Implementations: :class:`~.memory.MemoryStateStore` (tests, throwaway runs) and
    :class:`~.sql.SQLStateStore` (SQLite or PostgreSQL). Every method is safe to call from many
    tasks at once. Reads are primary-key lookups: they sit on the hot path of every bridged message.
    """

    @abstractmethod
    async def start(self) -> None:
        """Open the store and bring its schema up to date (the memory store does nothing)."""

    @abstractmethod
    async def stop(self) -> None:
        """Close the store. Safe to call twice."""

    @abstractmethod
    async def is_healthy(self) -> bool:
        """A cheap check that the store answers (``SELECT 1``); never raises."""

    # ---- puppets ----------------------------------------------------------------------------

    @abstractmethod
    async def get_puppet(self, user_id: str) -> PuppetRecord | None:
        """The puppet with this Mattermost user id, or None."""

    @abstractmethod
    async def get_puppet_by_username(self, username: str) -> PuppetRecord | None:
        """The puppet with this username, or None."""

    @abstractmethod
    async def put_puppet(self, record: PuppetRecord) -> None:
        """Insert or replace the puppet ``record.user_id``.

        A username belongs to one puppet: a record of another user id with the same username
        (a stale one, whose account was deleted and the name reused) is removed.
        """

    @abstractmethod
    async def set_puppet_profile(
        self, user_id: str, *, display_name_hash: str | None = None, avatar_hash: str | None = None
    ) -> None:
        """Update the profile digests given (None leaves one unchanged); no-op for an unknown puppet."""

    @abstractmethod
    async def delete_puppet(self, user_id: str) -> None:
        """Forget the puppet (its memberships stay until :meth:`forget_user_memberships`)."""

    # ---- memberships: the cache the intent layer trusts (healed on 403/404) --------------------

    @abstractmethod
    async def is_team_member(self, team_id: str, user_id: str) -> bool:
        """Whether the user is known to be in the team."""

    @abstractmethod
    async def set_team_member(self, team_id: str, user_id: str, member: bool) -> None:
        """Record that the user is (``member=True``) or is not in the team."""

    @abstractmethod
    async def is_channel_member(self, channel_id: str, user_id: str) -> bool:
        """Whether the user is known to be in the channel."""

    @abstractmethod
    async def set_channel_member(self, channel_id: str, user_id: str, member: bool) -> None:
        """Record that the user is (``member=True``) or is not in the channel."""

    @abstractmethod
    async def forget_user_memberships(self, user_id: str) -> None:
        """Forget every team and channel membership of the user (e.g. its token was revoked)."""

    # ---- double puppeting: real users' own tokens ---------------------------------------------

    @abstractmethod
    async def get_real_user_token(self, user_id: str) -> str | None:
        """The token a real user gave the bridge for double puppeting, or None."""

    @abstractmethod
    async def put_real_user(self, user_id: str, token: str) -> None:
        """Store (or replace) a real user's token."""

    @abstractmethod
    async def delete_real_user(self, user_id: str) -> None:
        """Forget a real user's token."""

    # ---- transaction ids ------------------------------------------------------------------------

    @abstractmethod
    async def reserve_txn_ids(self, count: int) -> int:
        """Atomically reserve the ids ``[start, start + count)`` and return ``start``.

        Blocks never overlap: not between tasks, processes sharing the database, or restarts.
        The first block starts at 1.

        Raises:
            ValueError: ``count`` is less than 1.
        """

    # ---- outbox: exactly-once posts ------------------------------------------------------------

    @abstractmethod
    async def get_outbox(self, source: str) -> OutboxEntry | None:
        """The outbox entry of ``source``, or None."""

    @abstractmethod
    async def add_outbox(self, entry: OutboxEntry) -> OutboxEntry:
        """Write ``entry`` unless ``entry.source`` has one; return the stored entry."""

    @abstractmethod
    async def finish_outbox(self, source: str, post_id: str) -> None:
        """Record that ``source`` became post ``post_id``."""

    @abstractmethod
    async def unfinished_outbox(self) -> list[OutboxEntry]:
        """Entries written but never finished (a crash between the two), oldest first."""

    @abstractmethod
    async def prune_outbox(self, older_than_ms: int) -> int:
        """Forget finished entries written before ``older_than_ms`` (local ms); return how many."""

    # ---- small key/value ------------------------------------------------------------------------

    @abstractmethod
    async def get_value(self, key: str) -> str | None:
        """The value stored under ``key``, or None."""

    @abstractmethod
    async def set_value(self, key: str, value: str) -> None:
        """Store (or replace) ``value`` under ``key``."""


def check_txn_count(count: int) -> None:
    """Refuse a reservation of fewer than one id (or a non-int)."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"reserve_txn_ids needs a count of at least 1, got {count!r}")
