"""``/teams``: teams and their members."""

from __future__ import annotations

from ...types import Team, TeamID, TeamMember, TeamType, UserID, structure, structure_list
from .. import validation as check
from .base import EndpointGroup


class TeamsAPI(EndpointGroup):
    """Teams: read, create, and manage membership."""

    __slots__ = ()

    async def get(self, team_id: TeamID) -> Team:
        """One team by id."""
        check.require_id("team_id", team_id)
        return structure(await self.http.request("GET", ("teams", team_id)), Team)

    async def get_by_name(self, name: str) -> Team:
        """One team by its URL name."""
        check.require_team_name("name", name)
        return structure(await self.http.request("GET", ("teams", "name", name)), Team)

    async def for_user(self, user_id: UserID) -> list[Team]:
        """The teams a user is a member of (``me`` for the caller)."""
        if user_id != "me":
            check.require_id("user_id", user_id)
        return structure_list(await self.http.request("GET", ("users", user_id, "teams")), Team)

    async def search(self, term: str) -> list[Team]:
        """Teams whose name or display name starts with ``term``."""
        check.require_text("term", term, maximum=64, allow_empty=False)
        data = await self.http.request("POST", ("teams", "search"), json_body={"term": term}, idempotent=True)
        return structure_list(data, Team)

    async def create(self, name: str, display_name: str, type: str = TeamType.OPEN) -> Team:
        """Create a team; ``type`` is ``O`` (open) or ``I`` (invite only)."""
        body = {
            "name": check.require_team_name("name", name),
            "display_name": check.require_text("display_name", display_name, maximum=64, allow_empty=False),
            "type": check.require_choice("type", str(type), ("O", "I")),
        }
        return structure(await self.http.request("POST", ("teams",), json_body=body), Team)

    async def add_member(self, team_id: TeamID, user_id: UserID) -> TeamMember:
        """Add a user to a team (a member already there is returned unchanged)."""
        check.require_id("team_id", team_id)
        check.require_id("user_id", user_id)
        data = await self.http.request(
            "POST",
            ("teams", team_id, "members"),
            json_body={"team_id": team_id, "user_id": user_id},
            idempotent=True,
        )
        return structure(data, TeamMember)

    async def remove_member(self, team_id: TeamID, user_id: UserID) -> None:
        """Remove a user from a team (and so from its channels)."""
        check.require_id("team_id", team_id)
        check.require_id("user_id", user_id)
        await self.http.request("DELETE", ("teams", team_id, "members", user_id))

    async def get_member(self, team_id: TeamID, user_id: UserID) -> TeamMember:
        """One user's membership of a team; :class:`NotFoundError` if there is none."""
        check.require_id("team_id", team_id)
        check.require_id("user_id", user_id)
        data = await self.http.request("GET", ("teams", team_id, "members", user_id))
        return structure(data, TeamMember)

    async def get_members(self, team_id: TeamID, *, page: int = 0, per_page: int = 60) -> list[TeamMember]:
        """A page of a team's members."""
        check.require_id("team_id", team_id)
        check.require_page(page, per_page)
        data = await self.http.request(
            "GET", ("teams", team_id, "members"), params={"page": page, "per_page": per_page}
        )
        return structure_list(data, TeamMember)

    async def list(self, *, page: int = 0, per_page: int = 60) -> list[Team]:
        """A page of the teams the caller may see (all of them for a system admin)."""
        check.require_page(page, per_page)
        data = await self.http.request("GET", ("teams",), params={"page": page, "per_page": per_page})
        return structure_list(data, Team)
