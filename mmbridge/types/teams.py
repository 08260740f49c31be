"""Teams and team membership."""

from __future__ import annotations

from enum import StrEnum

import attrs

from .ids import TeamID, UserID
from .serialization import MattermostObject


class TeamType(StrEnum):
    """``O``: anyone may join; ``I``: invite only."""

    OPEN = "O"
    INVITE = "I"


@attrs.frozen
class Team(MattermostObject):
    """A Mattermost team (a workspace's group of channels)."""

    id: TeamID
    name: str = ""
    display_name: str = ""
    description: str = ""
    type: str = TeamType.OPEN.value
    email: str = ""
    create_at: int = 0
    update_at: int = 0
    delete_at: int = 0
    allow_open_invite: bool = False
    allowed_domains: str = ""
    invite_id: str = ""
    group_constrained: bool = False


@attrs.frozen
class TeamMember(MattermostObject):
    """One user's membership of one team."""

    team_id: TeamID
    user_id: UserID
    roles: str = ""
    delete_at: int = 0
    scheme_user: bool = False
    scheme_admin: bool = False
    scheme_guest: bool = False
    explicit_roles: str = ""
