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

#: The changes a channel patch writes a system post for (``system_<kind>_change``).
CHANGE_POSTS = frozenset({"displayname", "header", "purpose"})


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

    def change_channel(
        self,
        channel: Channel,
        actor: User,
        *,
        name: str | None = None,
        display_name: str | None = None,
        header: str | None = None,
        purpose: str | None = None,
        change_posts: frozenset[str] = CHANGE_POSTS,
    ) -> None:
        """``UpdateChannel`` with the fields given (validated by the caller): store them, announce
        ``channel_updated``, then write the ``system_<kind>_change`` post of each change whose kind
        is in ``change_posts``. A name another channel of the team has is 400 and changes nothing."""
        if name is not None and name != channel.name:
            if self.channel_by_name(channel.team_id, name) is not None:
                raise AppError(
                    400,
                    "store.sql_channel.update.exists.app_error",
                    "A channel with that handle already exists.",
                )
            channel.name = name
        changed = []
        for kind, attr, new in (
            ("displayname", "display_name", display_name),
            ("header", "header", header),
            ("purpose", "purpose", purpose),
        ):
            old = getattr(channel, attr)
            if new is not None and new != old:
                setattr(channel, attr, new)
                changed.append((kind, old, new))
        self.channel_updated(channel)
        for kind, old, new in changed:
            if kind in change_posts:
                self._change_post(channel, actor, kind, old, new)

    def _change_post(self, channel: Channel, actor: User, kind: str, old: str, new: str) -> None:
        """The ``system_*_change`` post for a header, display name or purpose change."""
        labels = {"header": "channel header", "displayname": "display name", "purpose": "purpose"}
        label = labels[kind]
        if kind == "displayname":
            message = f"{actor.username} updated the channel display name from: {old} to: {new}"
        elif not new:
            message = f"{actor.username} removed the channel {label} (was: {old})"
        elif not old:
            message = f"{actor.username} updated the channel {label} to: {new}"
        else:
            message = f"{actor.username} updated the channel {label} from: {old} to: {new}"
        self.system_post(
            channel,
            actor.id,
            f"system_{kind}_change",
            message,
            {"username": actor.username, f"old_{kind}": old, f"new_{kind}": new},
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

    # --- reads shared by the channel routes -------------------------------------------------

    def channels_of_user(self, user_id: str, team_id: str | None, *, include_deleted: bool) -> list[Channel]:
        """The channels a user is a member of: of one team plus DMs and GMs (``team_id`` given), or
        of every team (``None``); ordered by id as the store pages them."""
        found = [self.channels[cid] for (cid, uid) in self.channel_members if uid == user_id]
        found = [
            c
            for c in found
            if (team_id is None or c.team_id in (team_id, "")) and (include_deleted or not c.delete_at)
        ]
        return sorted(found, key=lambda c: c.id)

    def active_member_ids(self, channel_id: str) -> list[str]:
        """Members of a channel whose accounts are active (what ``member_count`` counts)."""
        return [u for u in self.channel_member_ids(channel_id) if not self.user(u).delete_at]

    # --- membership changes -----------------------------------------------------------------

    def member_updated(self, member: ChannelMember) -> None:
        """``updateChannelMember``: bump ``last_update_at`` and tell that user's sessions."""
        member.last_update_at = max(now_ms(), member.last_update_at + 1)
        self.events.publish(
            "channel_member_updated",
            {"channelMember": dumps(member.to_json())},
            Broadcast(user_id=member.user_id),
        )

    def set_member_notify_props(self, member: ChannelMember, props: dict[str, str]) -> None:
        """Merge the given notify props into the member's and announce the member."""
        member.notify_props.update(props)
        self.member_updated(member)

    def set_member_roles(
        self, member: ChannelMember, *, scheme_user: bool, scheme_admin: bool, explicit_roles: str = ""
    ) -> None:
        """Set the scheme flags (and explicit roles) of a member and announce the member."""
        member.scheme_user = scheme_user
        member.scheme_admin = scheme_admin
        member.explicit_roles = explicit_roles
        self.member_updated(member)

    def view_channels(self, user_id: str, channel_ids: list[str]) -> dict[str, int]:
        """``MarkChannelsAsViewed``: the user's memberships of these channels read up to their
        last post; ``channel_viewed`` to the user for each. Returns each channel's last post time
        (400 when none of the ids is a channel, as ``UpdateLastViewedAt``)."""
        ids = list(dict.fromkeys(channel_ids))
        times = {i: self.channels[i].last_post_at for i in ids if i in self.channels}
        if not times:
            raise AppError(
                400,
                "app.channel.update_last_viewed_at.app_error",
                "Unable to update the last viewed at time.",
            )
        for channel_id, last_post_at in times.items():
            member = self.channel_members.get((channel_id, user_id))
            if member is None:
                continue
            channel = self.channels[channel_id]
            member.last_viewed_at = max(member.last_viewed_at, last_post_at)
            member.last_update_at = max(member.last_update_at, member.last_viewed_at)
            member.msg_count = max(member.msg_count, channel.total_msg_count)
            member.msg_count_root = max(member.msg_count_root, channel.total_msg_count_root)
            member.mention_count = member.mention_count_root = member.urgent_mention_count = 0
        for channel_id in ids:
            self.events.publish("channel_viewed", {"channel_id": channel_id}, Broadcast(user_id=user_id))
        return times

    # --- channel changes --------------------------------------------------------------------

    def restore_channel(self, channel: Channel, actor: User) -> None:
        """Unarchive: ``channel_restored`` to the team, then the ``system_channel_restored`` post."""
        channel.delete_at = 0
        channel.update_at = max(now_ms(), channel.update_at + 1)
        self.events.publish(
            "channel_restored", {"channel_id": channel.id}, Broadcast(team_id=channel.team_id)
        )
        self.system_post(
            channel,
            actor.id,
            "system_channel_restored",
            f"{actor.username} unarchived the channel",
            {"username": actor.username},
        )

    def convert_channel(self, channel: Channel, channel_type: str, actor: User) -> None:
        """Change O <-> P: ``channel_updated``, the privacy post, then ``channel_converted``."""
        channel.type = channel_type
        self.channel_updated(channel)
        message = (
            "This channel has been converted to a Public Channel and can be joined by any team member."
            if channel_type == "O"
            else "This channel has been converted to a Private Channel."
        )
        self.system_post(
            channel, actor.id, "system_change_chan_privacy", message, {"username": actor.username}
        )
        self.events.publish(
            "channel_converted", {"channel_id": channel.id}, Broadcast(team_id=channel.team_id)
        )

    def move_channel(self, channel: Channel, team: Team, actor: User, *, force: bool) -> None:
        """``MoveChannel``: drop deactivated members (and, with ``force``, those not on the new
        team), move the channel, write the move post and announce the channel."""
        for user_id in self.channel_member_ids(channel.id):
            user = self.user(user_id)
            if user.delete_at or (force and not self.is_team_member(team.id, user_id)):
                self.remove_channel_member(channel, user, actor.id)
        strangers = [u for u in self.channel_member_ids(channel.id) if not self.is_team_member(team.id, u)]
        if strangers:
            raise AppError(
                400,
                "app.channel.move_channel.members_do_not_match.error",
                "Unable to move a channel unless all its members are on the destination team.",
            )
        if self.channel_by_name(team.id, channel.name) is not None:
            raise AppError(
                400,
                "store.sql_channel.update.exists.app_error",
                "A channel with that handle already exists.",
            )
        old_team = self.team(channel.team_id)
        channel.team_id = team.id
        self.forget_channel_in_sidebars(channel.id)
        self.system_post(
            channel,
            actor.id,
            "system_move_channel",
            f"This channel has been moved to this team from {old_team.display_name}.",
            {},
        )
        self.channel_updated(channel)

    def forget_channel_in_sidebars(self, channel_id: str) -> None:
        """Hook for the sidebar layer (``UpdateSidebarChannelCategoryOnMove``); nothing here."""
