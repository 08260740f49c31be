"""Bridge users: the Mattermost people who use the bridge, and their login on the remote network."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import attrs

from ...api import ClientAPI
from ...db import Database
from ...types import User, UserID


@attrs.frozen
class BridgeUser:
    """A Mattermost user as the connector sees them: who, and their remote login (if any)."""

    user_id: str
    username: str
    display_name: str
    remote_id: str = ""
    """Their own account on the remote network, when they logged in through the bridge."""
    login: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    """What the connector keeps of that login (its own data; may hold secrets: never logged)."""
    is_system_admin: bool = False

    @property
    def logged_in(self) -> bool:
        """Whether the user has a remote login."""
        return bool(self.remote_id)


def display_name_of(user: User) -> str:
    """How Mattermost shows a user: their nickname, else their full name, else their username."""
    full = f"{user.first_name} {user.last_name}".strip()
    return user.nickname or full or user.username


class Users:
    """Bridge users by Mattermost user id (profiles read through the bot, cached)."""

    def __init__(self, bot: ClientAPI, db: Database, bridge_id: str, *, cache_size: int = 10_000) -> None:
        self.bot = bot
        self.db = db
        self.bridge_id = bridge_id
        self._profiles: OrderedDict[str, User] = OrderedDict()
        self._users: OrderedDict[str, BridgeUser] = OrderedDict()
        self._cache_size = cache_size

    async def get(self, user_id: str) -> BridgeUser:
        """The user, with their stored login (kept in memory: every change goes through here)."""
        known = self._users.get(user_id)
        if known is not None:
            self._users.move_to_end(user_id)
            return known
        user = await self._read(user_id)
        self._users[user_id] = user
        if len(self._users) > self._cache_size:
            self._users.popitem(last=False)
        return user

    async def _read(self, user_id: str) -> BridgeUser:
        profile = await self._profile(user_id)
        row = await self.db.fetchrow(
            "SELECT remote_id, login FROM mmbridge_bridge_user WHERE bridge_id = $1 AND user_id = $2",
            self.bridge_id,
            user_id,
        )
        remote_id, login = (
            ("", {}) if row is None else (str(row["remote_id"]), json.loads(row["login"] or "{}"))
        )
        return BridgeUser(
            user_id,
            profile.username,
            display_name_of(profile),
            remote_id,
            login,
            is_system_admin=profile.is_system_admin,
        )

    async def set_login(self, user_id: str, remote_id: str, login: Mapping[str, Any]) -> None:
        """Remember the user's remote login."""
        await self.db.execute(
            "INSERT INTO mmbridge_bridge_user (bridge_id, user_id, remote_id, login) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (bridge_id, user_id) DO UPDATE SET "
            "remote_id = excluded.remote_id, login = excluded.login",
            self.bridge_id,
            user_id,
            remote_id,
            json.dumps(dict(login)),
        )
        self._users.pop(user_id, None)

    async def logout(self, user_id: str) -> None:
        """Forget the user's remote login."""
        await self.db.execute(
            "DELETE FROM mmbridge_bridge_user WHERE bridge_id = $1 AND user_id = $2", self.bridge_id, user_id
        )
        self._users.pop(user_id, None)

    async def by_remote_id(self, remote_id: str) -> str | None:
        """The Mattermost user logged in as ``remote_id``, if any."""
        value = await self.db.fetchval(
            "SELECT user_id FROM mmbridge_bridge_user WHERE bridge_id = $1 AND remote_id = $2",
            self.bridge_id,
            remote_id,
        )
        return None if value is None else str(value)

    def forget_profile(self, user_id: str) -> None:
        """Drop a cached profile (the user changed their name)."""
        self._profiles.pop(user_id, None)
        self._users.pop(user_id, None)

    async def _profile(self, user_id: str) -> User:
        profile = self._profiles.get(user_id)
        if profile is None:
            profile = await self.bot.users.get(UserID(user_id))
            self._profiles[user_id] = profile
            if len(self._profiles) > self._cache_size:
                self._profiles.popitem(last=False)
        else:
            self._profiles.move_to_end(user_id)
        return profile
