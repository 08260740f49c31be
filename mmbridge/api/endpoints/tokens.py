"""``/users/{id}/tokens``: personal access tokens, the way a bridge acts as its puppets."""

from __future__ import annotations

from ...types import TokenID, UserAccessToken, UserID, structure, structure_list
from .. import validation as check
from .base import EndpointGroup


class TokensAPI(EndpointGroup):
    """Personal access tokens: create one for a user, list and revoke them."""

    __slots__ = ()

    async def create(self, user_id: UserID, description: str) -> UserAccessToken:
        """Create a token for ``user_id``. Its secret (``.token``) is only in this answer."""
        check.require_id("user_id", user_id)
        check.require_text("description", description, maximum=255, allow_empty=False)
        data = await self.http.request(
            "POST", ("users", user_id, "tokens"), json_body={"description": description}
        )
        return structure(data, UserAccessToken)

    async def list(self, user_id: UserID, *, page: int = 0, per_page: int = 60) -> list[UserAccessToken]:
        """A page of a user's tokens (secrets blanked)."""
        check.require_id("user_id", user_id)
        check.require_page(page, per_page)
        data = await self.http.request(
            "GET", ("users", user_id, "tokens"), params={"page": page, "per_page": per_page}
        )
        return structure_list(data, UserAccessToken)

    async def revoke(self, token_id: TokenID) -> None:
        """Delete a token and end the session it opened."""
        check.require_id("token_id", token_id)
        await self.http.request("POST", ("users", "tokens", "revoke"), json_body={"token_id": token_id})
