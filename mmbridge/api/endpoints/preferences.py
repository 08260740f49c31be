"""``/users/{id}/preferences``: a user's preferences."""

from __future__ import annotations

from collections.abc import Iterable

from ...types import Preference, UserID, structure, structure_list, unstructure
from .. import validation as check
from .base import EndpointGroup


class PreferencesAPI(EndpointGroup):
    """A user's preferences (``me`` for the caller): read all or one category, save, delete."""

    __slots__ = ()

    async def get(self, user_id: UserID, category: str = "") -> list[Preference]:
        """The user's preferences, of one category when given."""
        path = ("users", _user(user_id), "preferences", *((category,) if category else ()))
        return structure_list(await self.http.request("GET", path), Preference)

    async def get_one(self, user_id: UserID, category: str, name: str) -> Preference:
        """One preference (``BadRequestError`` when the user has none of that name)."""
        path = ("users", _user(user_id), "preferences", category, "name", name)
        return structure(await self.http.request("GET", path), Preference)

    async def save(self, user_id: UserID, preferences: Iterable[Preference]) -> None:
        """Save preferences of the user (all or none: the server checks them together)."""
        body = [unstructure(p) for p in preferences]
        await self.http.request("PUT", ("users", _user(user_id), "preferences"), json_body=body)

    async def delete(self, user_id: UserID, preferences: Iterable[Preference]) -> None:
        """Delete preferences of the user."""
        body = [unstructure(p) for p in preferences]
        path = ("users", _user(user_id), "preferences", "delete")
        await self.http.request("POST", path, json_body=body, idempotent=True)


def _user(user_id: str) -> str:
    return user_id if user_id == "me" else check.require_id("user_id", user_id)
