"""``/reactions``: emoji reactions on posts."""

from __future__ import annotations

from ...types import PostID, Reaction, UserID, structure, structure_list
from .. import validation as check
from .base import EndpointGroup


class ReactionsAPI(EndpointGroup):
    """Reactions: add, remove and list them. Only the token's own user may react."""

    __slots__ = ()

    async def add(self, user_id: UserID, post_id: PostID, emoji_name: str) -> Reaction:
        """React to a post as ``user_id`` (who must be the token's user). Adding twice is harmless."""
        body = {
            "user_id": check.require_id("user_id", user_id),
            "post_id": check.require_id("post_id", post_id),
            "emoji_name": check.require_emoji_name("emoji_name", emoji_name),
        }
        data = await self.http.request("POST", ("reactions",), json_body=body, idempotent=True)
        return structure(data, Reaction)

    async def remove(self, user_id: UserID, post_id: PostID, emoji_name: str) -> None:
        """Take a reaction back."""
        check.require_id("user_id", user_id)
        check.require_id("post_id", post_id)
        check.require_emoji_name("emoji_name", emoji_name)
        await self.http.request("DELETE", ("users", user_id, "posts", post_id, "reactions", emoji_name))

    async def list(self, post_id: PostID) -> list[Reaction]:
        """Every reaction on a post."""
        check.require_id("post_id", post_id)
        data = await self.http.request("GET", ("posts", post_id, "reactions"))
        return structure_list(data, Reaction)
