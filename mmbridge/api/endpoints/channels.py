"""``/channels``: channels, direct and group messages, and membership."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...errors import ValidationError
from ...types import (
    Channel,
    ChannelID,
    ChannelMember,
    ChannelType,
    PostList,
    TeamID,
    UserID,
    structure,
    structure_list,
)
from .. import validation as check
from .base import EndpointGroup


class ChannelsAPI(EndpointGroup):
    """Channels: read, create, change, delete, search, and manage membership."""

    __slots__ = ()

    async def get(self, channel_id: ChannelID) -> Channel:
        """One channel by id."""
        check.require_id("channel_id", channel_id)
        return structure(await self.http.request("GET", ("channels", channel_id)), Channel)

    async def get_by_name(self, team_id: TeamID, name: str) -> Channel:
        """One channel of a team by its URL name."""
        check.require_id("team_id", team_id)
        check.require_channel_name("name", name)
        data = await self.http.request("GET", ("teams", team_id, "channels", "name", name))
        return structure(data, Channel)

    async def create(
        self,
        team_id: TeamID,
        name: str,
        display_name: str,
        *,
        type: str = ChannelType.OPEN,
        purpose: str = "",
        header: str = "",
    ) -> Channel:
        """Create an open (``O``) or private (``P``) channel; the caller becomes a member."""
        body = {
            "team_id": check.require_id("team_id", team_id),
            "name": check.require_channel_name("name", name),
            "display_name": check.require_text("display_name", display_name, maximum=64, allow_empty=False),
            "type": check.require_choice("type", str(type), ("O", "P")),
            "purpose": check.require_text("purpose", purpose, maximum=250),
            "header": check.require_text("header", header, maximum=1024),
        }
        return structure(await self.http.request("POST", ("channels",), json_body=body), Channel)

    async def create_direct(self, user_id: UserID, other_user_id: UserID) -> Channel:
        """The direct message channel of two users (created if needed; the same one every time)."""
        ids = [
            check.require_id("user_id", user_id),
            check.require_id("other_user_id", other_user_id),
        ]
        data = await self.http.request("POST", ("channels", "direct"), json_body=ids, idempotent=True)
        return structure(data, Channel)

    async def create_group(self, user_ids: Iterable[UserID]) -> Channel:
        """The group message channel of 3-8 users, the caller included."""
        ids = check.require_ids("user_ids", user_ids, minimum=2, maximum=8)
        data = await self.http.request("POST", ("channels", "group"), json_body=ids, idempotent=True)
        return structure(data, Channel)

    async def add_member(self, channel_id: ChannelID, user_id: UserID) -> ChannelMember:
        """Add a user (already on the channel's team) to an open or private channel."""
        check.require_id("channel_id", channel_id)
        check.require_id("user_id", user_id)
        data = await self.http.request(
            "POST",
            ("channels", channel_id, "members"),
            json_body={"user_id": user_id},
            idempotent=True,
        )
        return structure(data, ChannelMember)

    async def add_members(self, channel_id: ChannelID, user_ids: Iterable[UserID]) -> list[ChannelMember]:
        """Add several users at once."""
        check.require_id("channel_id", channel_id)
        ids = check.require_ids("user_ids", user_ids)
        data = await self.http.request(
            "POST",
            ("channels", channel_id, "members"),
            json_body={"user_ids": ids},
            idempotent=True,
        )
        return structure_list(data, ChannelMember)

    async def remove_member(self, channel_id: ChannelID, user_id: UserID) -> None:
        """Remove a user from a channel (the user's own id: leave it)."""
        check.require_id("channel_id", channel_id)
        check.require_id("user_id", user_id)
        await self.http.request("DELETE", ("channels", channel_id, "members", user_id))

    async def get_member(self, channel_id: ChannelID, user_id: UserID) -> ChannelMember:
        """One user's membership; :class:`NotFoundError` if the user is not in the channel."""
        check.require_id("channel_id", channel_id)
        check.require_id("user_id", user_id)
        data = await self.http.request("GET", ("channels", channel_id, "members", user_id))
        return structure(data, ChannelMember)

    async def get_members(
        self, channel_id: ChannelID, *, page: int = 0, per_page: int = 60
    ) -> list[ChannelMember]:
        """A page of a channel's members."""
        check.require_id("channel_id", channel_id)
        check.require_page(page, per_page)
        data = await self.http.request(
            "GET", ("channels", channel_id, "members"), params={"page": page, "per_page": per_page}
        )
        return structure_list(data, ChannelMember)

    async def patch(
        self,
        channel_id: ChannelID,
        *,
        name: str | None = None,
        display_name: str | None = None,
        header: str | None = None,
        purpose: str | None = None,
    ) -> Channel:
        """Change a channel's name, display name, header or purpose."""
        check.require_id("channel_id", channel_id)
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = check.require_channel_name("name", name)
        if display_name is not None:
            body["display_name"] = check.require_text(
                "display_name", display_name, maximum=64, allow_empty=False
            )
        if header is not None:
            body["header"] = check.require_text("header", header, maximum=1024)
        if purpose is not None:
            body["purpose"] = check.require_text("purpose", purpose, maximum=250)
        if not body:
            raise ValidationError("fields", "nothing to change")
        data = await self.http.request("PUT", ("channels", channel_id, "patch"), json_body=body)
        return structure(data, Channel)

    async def delete(self, channel_id: ChannelID) -> None:
        """Archive a channel (a soft delete: ``delete_at`` is set)."""
        check.require_id("channel_id", channel_id)
        await self.http.request("DELETE", ("channels", channel_id))

    async def search(self, team_id: TeamID, term: str) -> list[Channel]:
        """Open channels of a team whose name or display name starts with ``term``."""
        check.require_id("team_id", team_id)
        check.require_text("term", term, maximum=64, allow_empty=False)
        data = await self.http.request(
            "POST",
            ("teams", team_id, "channels", "search"),
            json_body={"term": term},
            idempotent=True,
        )
        return structure_list(data, Channel)

    async def for_user(
        self, user_id: UserID, team_id: TeamID, *, include_deleted: bool = False
    ) -> list[Channel]:
        """The channels of a team a user is a member of, direct and group messages included."""
        if user_id != "me":
            check.require_id("user_id", user_id)
        check.require_id("team_id", team_id)
        params: dict[str, str | int] = {"include_deleted": "true"} if include_deleted else {}
        data = await self.http.request("GET", ("users", user_id, "teams", team_id, "channels"), params=params)
        return structure_list(data, Channel)

    async def public(self, team_id: TeamID, *, page: int = 0, per_page: int = 60) -> list[Channel]:
        """A page of a team's open channels."""
        check.require_id("team_id", team_id)
        check.require_page(page, per_page)
        params: dict[str, str | int] = {"page": page, "per_page": per_page}
        return structure_list(
            await self.http.request("GET", ("teams", team_id, "channels"), params=params), Channel
        )

    async def get_by_team_name(self, team_name: str, channel_name: str) -> Channel:
        """One channel by its team's URL name and its own."""
        check.require_team_name("team_name", team_name)
        check.require_channel_name("channel_name", channel_name)
        path = ("teams", "name", team_name, "channels", "name", channel_name)
        return structure(await self.http.request("GET", path), Channel)

    async def view(
        self, user_id: UserID, channel_id: ChannelID, *, prev_channel_id: str = ""
    ) -> dict[str, Any]:
        """Mark a channel read for a user (as opening it in the webapp does); the answer holds the
        new ``last_viewed_at_times`` per channel."""
        if user_id != "me":
            check.require_id("user_id", user_id)
        body: dict[str, str] = {"channel_id": check.require_id("channel_id", channel_id)}
        if prev_channel_id:
            body["prev_channel_id"] = check.require_id("prev_channel_id", prev_channel_id)
        data = await self.http.request(
            "POST", ("channels", "members", user_id, "view"), json_body=body, idempotent=True
        )
        return data if isinstance(data, dict) else {}

    async def get_pinned(self, channel_id: ChannelID) -> PostList:
        """The channel's pinned posts."""
        check.require_id("channel_id", channel_id)
        return structure(await self.http.request("GET", ("channels", channel_id, "pinned")), PostList)
