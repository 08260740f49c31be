"""Teams and team membership: their changes, system posts and events."""

from __future__ import annotations

from ..errors import AppError
from ..events import Broadcast
from ..ids import now_ms
from ..models import (
    Team,
    TeamMember,
    User,
)
from .base import DEFAULT_CHANNELS
from .channels import ChannelState


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
