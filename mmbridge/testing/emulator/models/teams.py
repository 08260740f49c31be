"""Teams and team membership."""

from __future__ import annotations

from typing import Any

import attrs

from .wire import Record


@attrs.define
class Team(Record):
    """A team: ``model.Team``."""

    id: str
    name: str
    display_name: str
    type: str
    create_at: int
    update_at: int
    delete_at: int = 0
    description: str = ""
    email: str = ""
    company_name: str = ""
    allowed_domains: str = ""
    invite_id: str = ""
    allow_open_invite: bool = False
    scheme_id: str = ""
    cloud_limits_archived: bool = False


@attrs.define
class TeamMember(Record):
    """Membership of a user in a team: ``model.TeamMember``."""

    team_id: str
    user_id: str
    delete_at: int = 0
    scheme_guest: bool = False
    scheme_user: bool = True
    scheme_admin: bool = False
    explicit_roles: str = ""

    def wire_extras(self) -> dict[str, Any]:
        """``roles``, derived from the scheme flags as the server does."""
        roles = ["team_guest"] if self.scheme_guest else []
        if self.scheme_user:
            roles.append("team_user")
        if self.scheme_admin:
            roles.append("team_admin")
        roles += self.explicit_roles.split()
        return {"roles": " ".join(roles)}
