"""Channels and channel membership: their changes, system posts and events."""

from __future__ import annotations

from ..errors import AppError
from ..events import Broadcast
from ..ids import now_ms
from ..models import (
    Channel,
    ChannelMember,
    Team,
    User,
    dumps,
)
from .base import direct_channel_name, group_channel_name
from .reactions import ReactionState


class ChannelState(ReactionState):
    """Channels and channel membership: their changes, system posts and events."""

    def add_channel(
        self,
        team_id: str,
        name: str,
        display_name: str,
        channel_type: str,
        creator_id: str,
        *,
        header: str = "",
        purpose: str = "",
    ) -> Channel:
        """Store a channel; a duplicate name in the team is 400."""
        if self.channel_by_name(team_id, name) is not None:
            raise AppError(
                400,
                "store.sql_channel.save_channel.exists.app_error",
                "A channel with that name already exists on the same team.",
            )
        now = now_ms()
        channel = Channel(
            id=self.ids.new_id(),
            team_id=team_id,
            type=channel_type,
            name=name,
            display_name=display_name,
            creator_id=creator_id,
            create_at=now,
            update_at=now,
            header=header,
            purpose=purpose,
        )
        self.channels[channel.id] = channel
        return channel

    def create_channel(
        self,
        team: Team,
        name: str,
        display_name: str,
        channel_type: str,
        creator: User,
        *,
        header: str = "",
        purpose: str = "",
    ) -> Channel:
        """``POST /channels``: create and make the creator a (channel admin) member."""
        channel = self.add_channel(
            team.id, name, display_name, channel_type, creator.id, header=header, purpose=purpose
        )
        self.channel_members[(channel.id, creator.id)] = ChannelMember(
            channel_id=channel.id, user_id=creator.id, last_update_at=now_ms(), scheme_admin=True
        )
        self.events.publish(
            "channel_created",
            {"channel_id": channel.id, "team_id": team.id},
            Broadcast(user_id=creator.id),
        )
        return channel

    def direct_channel(self, creator: User, other: User) -> tuple[Channel, bool]:
        """Get or create the DM between two users; returns (channel, created)."""
        name = direct_channel_name(creator.id, other.id)
        existing = self.channel_by_name("", name)
        if existing is not None:
            return existing, False
        channel = self.add_channel("", name, "", "D", creator.id)
        now = now_ms()
        for user_id in dict.fromkeys((creator.id, other.id)):
            self.channel_members[(channel.id, user_id)] = ChannelMember(
                channel_id=channel.id, user_id=user_id, last_update_at=now
            )
        self.events.publish(
            "direct_added",
            {"creator_id": creator.id, "teammate_id": other.id},
            Broadcast(channel_id=channel.id),
        )
        return channel, True

    def group_channel(self, creator: User, users: list[User]) -> tuple[Channel, bool]:
        """Get or create the GM of these users; returns (channel, created)."""
        ids = [u.id for u in users]
        name = group_channel_name(ids)
        existing = self.channel_by_name("", name)
        if existing is not None:
            return existing, False
        display = ", ".join(sorted(u.username for u in users))
        channel = self.add_channel("", name, display, "G", creator.id)
        now = now_ms()
        for user_id in ids:
            self.channel_members[(channel.id, user_id)] = ChannelMember(
                channel_id=channel.id, user_id=user_id, last_update_at=now
            )
        self.events.publish("group_added", {"teammate_ids": dumps(ids)}, Broadcast(channel_id=channel.id))
        return channel, True

    def add_channel_member(
        self, channel: Channel, user: User, actor_id: str, *, system_post: bool = True
    ) -> ChannelMember:
        """Add a member (an existing member is returned as is), with the system post."""
        existing = self.channel_members.get((channel.id, user.id))
        if existing is not None:
            return existing
        member = ChannelMember(channel_id=channel.id, user_id=user.id, last_update_at=now_ms())
        self.channel_members[(channel.id, user.id)] = member
        if system_post:
            self._membership_post(channel, user, actor_id, "channel")
        self.events.publish(
            "user_added",
            {"user_id": user.id, "team_id": channel.team_id},
            Broadcast(channel_id=channel.id),
        )
        return member

    def remove_channel_member(
        self, channel: Channel, user: User, actor_id: str, *, system_post: bool = True
    ) -> None:
        """Remove a member, with the system post and both ``user_removed`` events."""
        if self.channel_members.pop((channel.id, user.id), None) is None:
            return
        # As the real server: after the removal (so the channel-wide event reaches the remaining
        # members only), a second one to the removed user, then the system post.
        self.events.publish(
            "user_removed",
            {"user_id": user.id, "remover_id": actor_id},
            Broadcast(channel_id=channel.id),
        )
        self.events.publish(
            "user_removed",
            {"channel_id": channel.id, "remover_id": actor_id},
            Broadcast(user_id=user.id),
        )
        if system_post:
            if actor_id == user.id:
                self.system_post(
                    channel,
                    user.id,
                    "system_leave_channel",
                    f"{user.username} left the channel.",
                    {"username": user.username},
                )
            else:
                self.system_post(
                    channel,
                    actor_id,
                    "system_remove_from_channel",
                    f"{user.username} was removed from the channel.",
                    {"removedUserId": user.id, "removedUsername": user.username},
                )

    def channel_updated(self, channel: Channel) -> None:
        """Bump ``update_at`` and announce the change."""
        channel.update_at = max(now_ms(), channel.update_at + 1)
        self.events.publish(
            "channel_updated", {"channel": dumps(channel.to_json())}, Broadcast(channel_id=channel.id)
        )

    def archive_channel(self, channel: Channel, actor: User) -> None:
        """Soft-delete a channel: the system post, then ``channel_deleted`` to the team (or, for
        DMs and GMs, the channel)."""
        self.system_post(
            channel,
            actor.id,
            "system_channel_deleted",
            f"{actor.username} archived the channel",
            {"username": actor.username},
        )
        channel.delete_at = now_ms()
        channel.update_at = channel.delete_at
        broadcast = (
            Broadcast(team_id=channel.team_id) if channel.team_id else Broadcast(channel_id=channel.id)
        )
        self.events.publish(
            "channel_deleted", {"channel_id": channel.id, "delete_at": channel.delete_at}, broadcast
        )
