"""``MemoryStateStore``: the state store in a few dicts, for tests and throwaway runs."""

from __future__ import annotations

import attrs

from .base import OutboxEntry, PuppetRecord, StateStore, check_txn_count


class MemoryStateStore(StateStore):
    """Everything in memory, lost at exit. The transaction counter is unique only within this process."""

    def __init__(self) -> None:
        self._puppets: dict[str, PuppetRecord] = {}
        self._puppets_by_username: dict[str, str] = {}
        self._team_members: set[tuple[str, str]] = set()
        self._channel_members: set[tuple[str, str]] = set()
        self._real_users: dict[str, str] = {}
        self._next_txn_id = 1
        self._values: dict[str, str] = {}
        self._outbox: dict[str, OutboxEntry] = {}

    def __repr__(self) -> str:
        return f"MemoryStateStore(puppets={len(self._puppets)}, real_users={len(self._real_users)})"

    async def start(self) -> None:
        """Nothing to open."""

    async def stop(self) -> None:
        """Nothing to close (the data stays until the object is dropped)."""

    async def is_healthy(self) -> bool:
        """Always True."""
        return True

    async def get_puppet(self, user_id: str) -> PuppetRecord | None:
        """The puppet with this user id, or None."""
        return self._puppets.get(user_id)

    async def get_puppet_by_username(self, username: str) -> PuppetRecord | None:
        """The puppet with this username, or None."""
        user_id = self._puppets_by_username.get(username)
        return None if user_id is None else self._puppets.get(user_id)

    async def put_puppet(self, record: PuppetRecord) -> None:
        """Insert or replace; drops another user id's record holding the same username."""
        old = self._puppets.get(record.user_id)
        if old is not None and self._puppets_by_username.get(old.username) == record.user_id:
            del self._puppets_by_username[old.username]
        other = self._puppets_by_username.get(record.username)
        if other is not None and other != record.user_id:
            del self._puppets[other]
        self._puppets[record.user_id] = record
        self._puppets_by_username[record.username] = record.user_id

    async def set_puppet_profile(
        self, user_id: str, *, display_name_hash: str | None = None, avatar_hash: str | None = None
    ) -> None:
        """Update the profile digests given."""
        record = self._puppets.get(user_id)
        if record is None:
            return
        if display_name_hash is not None:
            record = attrs.evolve(record, display_name_hash=display_name_hash)
        if avatar_hash is not None:
            record = attrs.evolve(record, avatar_hash=avatar_hash)
        self._puppets[user_id] = record

    async def delete_puppet(self, user_id: str) -> None:
        """Forget the puppet."""
        record = self._puppets.pop(user_id, None)
        if record is not None and self._puppets_by_username.get(record.username) == user_id:
            del self._puppets_by_username[record.username]

    async def is_team_member(self, team_id: str, user_id: str) -> bool:
        """Whether the user is known to be in the team."""
        return (team_id, user_id) in self._team_members

    async def set_team_member(self, team_id: str, user_id: str, member: bool) -> None:
        """Record team membership."""
        if member:
            self._team_members.add((team_id, user_id))
        else:
            self._team_members.discard((team_id, user_id))

    async def is_channel_member(self, channel_id: str, user_id: str) -> bool:
        """Whether the user is known to be in the channel."""
        return (channel_id, user_id) in self._channel_members

    async def set_channel_member(self, channel_id: str, user_id: str, member: bool) -> None:
        """Record channel membership."""
        if member:
            self._channel_members.add((channel_id, user_id))
        else:
            self._channel_members.discard((channel_id, user_id))

    async def forget_user_memberships(self, user_id: str) -> None:
        """Forget every membership of the user (a scan: fine at test sizes)."""
        self._team_members = {pair for pair in self._team_members if pair[1] != user_id}
        self._channel_members = {pair for pair in self._channel_members if pair[1] != user_id}

    async def get_real_user_token(self, user_id: str) -> str | None:
        """The real user's token, or None."""
        return self._real_users.get(user_id)

    async def put_real_user(self, user_id: str, token: str) -> None:
        """Store a real user's token."""
        self._real_users[user_id] = token

    async def delete_real_user(self, user_id: str) -> None:
        """Forget a real user's token."""
        self._real_users.pop(user_id, None)

    async def reserve_txn_ids(self, count: int) -> int:
        """Reserve ``count`` ids (no await inside, so atomic between tasks)."""
        check_txn_count(count)
        start = self._next_txn_id
        self._next_txn_id = start + count
        return start

    async def get_outbox(self, source: str) -> OutboxEntry | None:
        """The outbox entry of ``source``, or None."""
        return self._outbox.get(source)

    async def add_outbox(self, entry: OutboxEntry) -> OutboxEntry:
        """Write ``entry`` unless its source has one; return the stored one."""
        return self._outbox.setdefault(entry.source, entry)

    async def finish_outbox(self, source: str, post_id: str) -> None:
        """Record the post ``source`` became."""
        entry = self._outbox.get(source)
        if entry is not None:
            self._outbox[source] = attrs.evolve(entry, post_id=post_id)

    async def unfinished_outbox(self) -> list[OutboxEntry]:
        """Entries never finished, oldest first."""
        return sorted((e for e in self._outbox.values() if not e.post_id), key=lambda e: e.created_at)

    async def prune_outbox(self, older_than_ms: int) -> int:
        """Forget finished entries older than ``older_than_ms``."""
        old = [s for s, e in self._outbox.items() if e.post_id and e.created_at < older_than_ms]
        for source in old:
            del self._outbox[source]
        return len(old)

    async def get_value(self, key: str) -> str | None:
        """The value under ``key``, or None."""
        return self._values.get(key)

    async def set_value(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        self._values[key] = value
