"""Teams and team membership, and the bodies of the team routes."""

from __future__ import annotations

from typing import Any

import attrs

from .wire import Record, internal, omitempty

TEAM_OPEN = "O"
TEAM_INVITE = "I"


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
    last_team_icon_update: int = omitempty(default=0)
    scheme_id: str = ""
    group_constrained: bool | None = None
    cloud_limits_archived: bool = False
    #: The stored team icon (``teams/<id>/teamIcon.png``); kept after ``DELETE /image`` as the
    #: real server keeps the file and only resets ``last_team_icon_update``.
    icon: bytes | None = internal(default=None, repr=False)

    @property
    def is_group_constrained(self) -> bool:
        """``IsGroupConstrained``."""
        return bool(self.group_constrained)

    def sync_type_and_open_invite(self) -> None:
        """Keep ``type`` and ``allow_open_invite`` in step, privacy first (``PreUpdate``)."""
        if self.type == TEAM_INVITE:
            self.allow_open_invite = False
        if self.allow_open_invite:
            self.type = TEAM_OPEN
        else:
            self.type = TEAM_INVITE


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


@attrs.define
class TeamUnread(Record):
    """Unread counts of a user in one team: ``model.TeamUnread``."""

    team_id: str
    msg_count: int = 0
    mention_count: int = 0
    mention_count_root: int = 0
    msg_count_root: int = 0
    thread_count: int = 0
    thread_mention_count: int = 0
    thread_urgent_mention_count: int = 0


@attrs.define
class TeamStats(Record):
    """``model.TeamStats``."""

    team_id: str
    total_member_count: int
    active_member_count: int


# ------------------------------------------------------------------ request bodies


@attrs.define
class TeamUpdateBody:
    """``PUT /teams/{team_id}``: a whole ``model.Team``; only the editable fields are used."""

    id: str = ""
    name: str = ""
    display_name: str = ""
    type: str = ""
    description: str = ""
    email: str = ""
    company_name: str = ""
    allowed_domains: str = ""
    invite_id: str = ""
    allow_open_invite: bool = False
    last_team_icon_update: int = 0
    group_constrained: bool | None = None
    create_at: int = 0
    update_at: int = 0
    delete_at: int = 0


@attrs.define
class TeamPatchBody:
    """``model.TeamPatch``: ``None`` leaves a field as it is."""

    display_name: str | None = None
    description: str | None = None
    company_name: str | None = None
    allowed_domains: str | None = None
    allow_open_invite: bool | None = None
    group_constrained: bool | None = None
    cloud_limits_archived: bool | None = None


@attrs.define
class TeamSearchBody:
    """``model.TeamSearch`` (``page``/``per_page`` given together make the search paged)."""

    term: str = ""
    page: int | None = None
    per_page: int | None = None
    allow_open_invite: bool | None = None
    group_constrained: bool | None = None
    exclude_policy_constrained: bool | None = None
    include_group_count: bool | None = None


@attrs.define
class TeamMemberBody:
    """One ``model.TeamMember`` of a request (``team_id`` and ``user_id`` are read)."""

    team_id: str = ""
    user_id: str = ""


@attrs.define
class SchemeRolesBody:
    """``model.SchemeRoles``."""

    scheme_admin: bool = False
    scheme_user: bool = False
    scheme_guest: bool = False


@attrs.define
class SchemeIdBody:
    """``model.SchemeIDPatch`` (``scheme_id`` must be present)."""

    scheme_id: str | None = None
