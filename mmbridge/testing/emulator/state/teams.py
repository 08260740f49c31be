"""Teams and team membership: their changes, system posts and events."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs

from ..errors import AppError
from ..events import Broadcast
from ..ids import now_ms
from ..models import (
    Team,
    TeamMember,
    TeamStats,
    TeamUnread,
    User,
    dumps,
)
from ..models.teams import TEAM_INVITE
from .base import DEFAULT_CHANNELS
from .channels import ChannelState

_EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+$")

#: ``model.Team.IsValid``: (field, limit, error id suffix); display_name also needs one rune.
_TEAM_LIMITS = (
    ("display_name", 64, "name"),
    ("description", 255, "description"),
    ("company_name", 64, "company"),
    ("allowed_domains", 500, "domains"),
    ("email", 128, "email"),
)


def check_team_fields(team: Team) -> None:
    """400 ``model.team.is_valid.*`` for the editable fields, as the store's ``IsValid``."""
    for name, limit, suffix in _TEAM_LIMITS:
        value: str = getattr(team, name)
        if len(value) > limit or (name == "display_name" and not value):
            raise AppError(400, f"model.team.is_valid.{suffix}.app_error", f"Invalid {name}.")
    if team.email and not _EMAIL_RE.match(team.email):
        raise AppError(400, "model.team.is_valid.email.app_error", "Invalid email.")


class TeamState(ChannelState):
    """Teams and team membership: their changes, system posts and events."""

    def add_team(self, name: str, display_name: str, team_type: str, creator_id: str) -> Team:
        """Create a team with ``town-square`` and ``off-topic``; the creator joins as admin."""
        if self.team_by_name(name) is not None:
            raise AppError(
                400, "store.sql_team.save_team.existing.app_error", "A team with that name exists."
            )
        now = now_ms()
        team = Team(
            id=self.ids.new_id(),
            name=name,
            display_name=display_name,
            type=team_type,
            create_at=now,
            update_at=now,
            invite_id=self.ids.new_id(),
            allow_open_invite=team_type == "O",
            # ``CreateTeamWithUser``: the team's email is its creator's.
            email=self.users[creator_id].email if creator_id in self.users else "",
        )
        self.teams[team.id] = team
        for channel_name, channel_display in DEFAULT_CHANNELS:
            self.add_channel(team.id, channel_name, channel_display, "O", creator_id="")
        if creator_id:
            self.add_team_member(team, self.user(creator_id), creator_id, admin=True)
        return team

    def add_team_member(self, team: Team, user: User, actor_id: str, *, admin: bool = False) -> TeamMember:
        """Join a user to a team and its default channels, with the system posts."""
        existing = self.team_members.get((team.id, user.id))
        if existing is not None and not existing.delete_at:
            return existing
        if len(self.team_member_ids(team.id)) >= self.settings.max_users_per_team:
            raise AppError(
                400,
                "app.team.join_user_to_team.max_accounts.app_error",
                "This team has reached the maximum number of allowed accounts.",
            )
        member = TeamMember(team_id=team.id, user_id=user.id, scheme_admin=admin)
        self.team_members[(team.id, user.id)] = member
        self.events.publish(
            "added_to_team", {"team_id": team.id, "user_id": user.id}, Broadcast(user_id=user.id)
        )
        for channel_name, _ in DEFAULT_CHANNELS:
            channel = self.channel_by_name(team.id, channel_name)
            if channel is None or channel.delete_at:
                continue
            self.add_channel_member(channel, user, actor_id, system_post=False)
            if channel_name == "town-square":
                self._membership_post(channel, user, actor_id, "team")
        return member

    def remove_team_member(self, team: Team, user: User, actor_id: str) -> None:
        """Remove a user from a team and all its channels."""
        member = self.team_members.get((team.id, user.id))
        if member is None or member.delete_at:
            return
        # As the real server: announced before the removal, to the rest of the team and to the
        # leaving user separately (``TeamService.RemoveTeamMember``).
        data = {"team_id": team.id, "user_id": user.id}
        self.events.publish("leave_team", data, Broadcast(team_id=team.id, omit_users={user.id: True}))
        self.events.publish("leave_team", dict(data), Broadcast(user_id=user.id))
        town_square = self.channel_by_name(team.id, "town-square")
        if town_square is not None:
            if actor_id == user.id:
                self.system_post(
                    town_square,
                    user.id,
                    "system_leave_team",
                    f"{user.username} left the team.",
                    {"username": user.username},
                )
            else:
                self.system_post(
                    town_square,
                    actor_id,
                    "system_remove_from_team",
                    f"{user.username} was removed from the team.",
                    {"removedUserId": user.id, "removedUsername": user.username},
                )
        for channel in list(self.channels.values()):
            if channel.team_id == team.id and self.is_channel_member(channel.id, user.id):
                self.remove_channel_member(channel, user, actor_id, system_post=False)
        member.delete_at = now_ms()

    # ------------------------------------------------------------------ team records

    def team_view(self, team: Team, *, full: bool, with_invite_id: bool) -> dict[str, Any]:
        """``SanitizeTeam``: managers see everything, inviters the invite id, others neither."""
        if full:
            return team.to_json()
        invite_id = team.invite_id if with_invite_id else ""
        return attrs.evolve(team, email="", invite_id=invite_id).to_json()

    def team_by_invite_id(self, invite_id: str) -> Team:
        """The team with this invite id, or 404 ``app.team.get_by_invite_id.finding.app_error``."""
        team = next((t for t in self.teams.values() if t.invite_id == invite_id), None)
        if team is None:
            raise AppError(
                404, "app.team.get_by_invite_id.finding.app_error", "Unable to find the existing team."
            )
        return team

    def teams_of_user(self, user_id: str) -> list[Team]:
        """``GetTeamsByUserId``: the undeleted teams the user is an active member of."""
        return [t for t in self.teams.values() if not t.delete_at and self.is_team_member(t.id, user_id)]

    def team_members_of_user(self, user_id: str) -> list[TeamMember]:
        """Every team membership of a user, the left ones (``delete_at`` set) included."""
        return [m for (_, u), m in self.team_members.items() if u == user_id]

    def team_stats(self, team_id: str) -> TeamStats:
        """Members (``total``) and members whose account is active (``active``)."""
        ids = self.team_member_ids(team_id)
        active = [i for i in ids if i in self.users and not self.users[i].delete_at]
        return TeamStats(team_id=team_id, total_member_count=len(ids), active_member_count=len(active))

    def team_unreads(self, user_id: str, exclude_team_id: str = "") -> list[TeamUnread]:
        """``GetTeamsUnreadForUser``: unread counts per team over the user's undeleted channels
        whose team is not ``exclude_team_id`` (so, without it, DMs and GMs are left out)."""
        return self._unreads(user_id, lambda team_id: team_id != exclude_team_id)

    def team_unread(self, team_id: str, user_id: str) -> TeamUnread:
        """``GetTeamUnread``: the unread counts of one team."""
        found = self._unreads(user_id, lambda channel_team: channel_team == team_id)
        return found[0] if found else TeamUnread(team_id=team_id)

    def _unreads(self, user_id: str, keep: Callable[[str], bool]) -> list[TeamUnread]:
        unreads: dict[str, TeamUnread] = {}
        for (channel_id, member_user), member in self.channel_members.items():
            channel = self.channels.get(channel_id)
            if member_user != user_id or channel is None or channel.delete_at or not keep(channel.team_id):
                continue
            unread = unreads.setdefault(channel.team_id, TeamUnread(team_id=channel.team_id))
            unread.mention_count += member.mention_count
            unread.mention_count_root += member.mention_count_root
            # Channels muted to "mention only" count mentions, not messages.
            if member.notify_props.get("mark_unread") != "mention":
                unread.msg_count += channel.total_msg_count - member.msg_count
                unread.msg_count_root += channel.total_msg_count_root - member.msg_count_root
        return list(unreads.values())

    # ------------------------------------------------------------------ team changes

    def _team_event(self, team: Team, event: str) -> None:
        """``sendTeamEvent``: the sanitised team, to the members of the team."""
        sanitized = attrs.evolve(team, email="", invite_id="")
        self.events.publish(event, {"team": dumps(sanitized.to_json())}, Broadcast(team_id=team.id))

    def update_team(self, team: Team, changes: dict[str, Any]) -> Team:
        """``PUT /teams/{id}`` and ``/patch``: apply the changed fields, then ``update_team``."""
        updated = attrs.evolve(team, **changes)
        self._save_team_from(team, updated)
        self._team_event(team, "update_team")
        return team

    def _save_team_from(self, team: Team, updated: Team) -> None:
        """The store's ``Update`` (``PreUpdate``, ``IsValid``): ``team`` takes the values of
        ``updated`` only when they are valid, so a 400 changes nothing."""
        updated.sync_type_and_open_invite()
        check_team_fields(updated)
        updated.update_at = max(now_ms(), team.update_at + 1)
        for field in attrs.fields(Team):
            setattr(team, field.name, getattr(updated, field.name))

    def set_team_privacy(self, team: Team, team_type: str, allow_open_invite: bool) -> Team:
        """``UpdateTeamPrivacy``: a new invite id when the team becomes invite-only."""
        changes: dict[str, Any] = {"type": team_type, "allow_open_invite": allow_open_invite}
        changed = allow_open_invite != team.allow_open_invite or team_type != team.type
        if changed and (not allow_open_invite or team_type == TEAM_INVITE):
            changes["invite_id"] = self.ids.new_id()
        return self.update_team(team, changes)

    def regenerate_team_invite_id(self, team: Team) -> Team:
        """A new invite id (old invite links stop working), with ``update_team``."""
        return self.update_team(team, {"invite_id": self.ids.new_id()})

    def soft_delete_team(self, team: Team) -> None:
        """Archive a team (members and channels are kept) and announce ``delete_team``."""
        self._save_team_from(team, attrs.evolve(team, delete_at=now_ms()))
        self._team_event(team, "delete_team")

    def restore_team(self, team: Team) -> None:
        """Unarchive a team and announce ``restore_team``."""
        self._save_team_from(team, attrs.evolve(team, delete_at=0))
        self._team_event(team, "restore_team")

    def set_team_icon(self, team: Team, image: bytes) -> None:
        """Store the team icon; ``last_team_icon_update`` moves on (``update_team``)."""
        team.icon = image
        # The real store writes only this column: update_at stays as it is.
        team.last_team_icon_update = max(now_ms(), team.last_team_icon_update + 1)
        self._team_event(team, "update_team")

    def remove_team_icon(self, team: Team) -> None:
        """``last_team_icon_update`` back to 0 (the stored file stays), with ``update_team``."""
        team.last_team_icon_update = 0
        self._team_event(team, "update_team")

    def set_team_member_roles(
        self, member: TeamMember, *, guest: bool, user: bool, admin: bool, explicit: str | None = None
    ) -> TeamMember:
        """Change a membership's scheme flags (and explicit roles); ``memberrole_updated`` to
        the member."""
        if guest and user:
            raise AppError(
                400,
                "api.team.update_team_member_roles.guest_and_user.app_error",
                "Invalid team member update: A user must be a guest or a user but not both.",
            )
        member.scheme_guest, member.scheme_user, member.scheme_admin = guest, user, admin
        if explicit is not None:
            member.explicit_roles = explicit
        self.events.publish(
            "memberrole_updated",
            {"member": dumps(member.to_json())},
            Broadcast(user_id=member.user_id),
        )
        return member
