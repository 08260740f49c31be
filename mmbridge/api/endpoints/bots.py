"""``/bots``: bot accounts."""

from __future__ import annotations

from typing import Any

from ...errors import ValidationError
from ...types import Bot, UserID, structure, structure_list
from .. import validation as check
from .base import EndpointGroup


class BotsAPI(EndpointGroup):
    """Bot accounts: create, read, list and change them."""

    __slots__ = ()

    async def create(self, username: str, display_name: str = "", description: str = "") -> Bot:
        """Create a bot owned by the caller (needs ``EnableBotAccountCreation`` on the server)."""
        body = {
            "username": check.require_username("username", username),
            "display_name": check.require_text("display_name", display_name, maximum=64),
            "description": check.require_text("description", description, maximum=1024),
        }
        return structure(await self.http.request("POST", ("bots",), json_body=body), Bot)

    async def get(self, bot_user_id: UserID, *, include_deleted: bool = False) -> Bot:
        """One bot by its user id."""
        check.require_id("bot_user_id", bot_user_id)
        params = {"include_deleted": "true"} if include_deleted else None
        return structure(await self.http.request("GET", ("bots", bot_user_id), params=params), Bot)

    async def list(self, *, page: int = 0, per_page: int = 60, include_deleted: bool = False) -> list[Bot]:
        """A page of the bots the caller may see."""
        check.require_page(page, per_page)
        params: dict[str, str | int] = {"page": page, "per_page": per_page}
        if include_deleted:
            params["include_deleted"] = "true"
        return structure_list(await self.http.request("GET", ("bots",), params=params), Bot)

    async def patch(
        self,
        bot_user_id: UserID,
        *,
        username: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
    ) -> Bot:
        """Change a bot's username, display name or description."""
        check.require_id("bot_user_id", bot_user_id)
        body: dict[str, Any] = {}
        if username is not None:
            body["username"] = check.require_username("username", username)
        if display_name is not None:
            body["display_name"] = check.require_text("display_name", display_name, maximum=64)
        if description is not None:
            body["description"] = check.require_text("description", description, maximum=1024)
        if not body:
            raise ValidationError("fields", "nothing to change")
        return structure(await self.http.request("PUT", ("bots", bot_user_id), json_body=body), Bot)
