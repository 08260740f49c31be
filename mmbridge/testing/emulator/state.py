"""The in-memory store and the state changes that the real server's app layer makes.

Every change a real server announces over its WebSocket publishes an event on
:class:`~.events.EventBus`; membership changes also write the system posts the server writes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .errors import AppError, not_found
from .events import Broadcast, EventBus
from .ids import IdGenerator, now_ms
from .models import (
    AccessToken,
    Bot,
    Channel,
    ChannelMember,
    Command,
    FileInfo,
    OutgoingWebhook,
    Post,
    Reaction,
    Session,
    Team,
    TeamMember,
    User,
    dumps,
)
from .settings import EmulatorSettings

DEFAULT_CHANNELS = (("town-square", "Town Square"), ("off-topic", "Off-Topic"))


def direct_channel_name(user_a: str, user_b: str) -> str:
    """``GetDMNameFromIds``: the smaller id, ``__``, the larger id."""
    low, high = sorted((user_a, user_b))
    return f"{low}__{high}"


def group_channel_name(user_ids: list[str]) -> str:
    """SHA-1 hex of the sorted ids concatenated."""
    return hashlib.sha1("".join(sorted(user_ids)).encode(), usedforsecurity=False).hexdigest()


class State:
    """All data of one emulated server."""

    def __init__(self, settings: EmulatorSettings, events: EventBus) -> None:
        self.settings = settings
        self.events = events
        self.users: dict[str, User] = {}
        self.bots: dict[str, Bot] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.sessions: dict[str, Session] = {}
        self.teams: dict[str, Team] = {}
        self.team_members: dict[tuple[str, str], TeamMember] = {}
        self.channels: dict[str, Channel] = {}
        self.channel_members: dict[tuple[str, str], ChannelMember] = {}
        self.posts: dict[str, Post] = {}
        #: Edit history (``Posts`` rows with ``original_id`` set) by id: the version each edit
        #: replaced, with a new id and ``delete_at`` set. Kept apart from :attr:`posts` so that
        #: nothing serves them as live posts; only ``GET /channels/{id}/posts?since=`` returns them.
        self.post_history: dict[str, Post] = {}
        self.reactions: dict[str, list[Reaction]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.files: dict[str, FileInfo] = {}
        #: Outgoing webhooks and custom slash commands by id (deleted ones keep ``delete_at``).
        self.outgoing_hooks: dict[str, OutgoingWebhook] = {}
        self.commands: dict[str, Command] = {}
        self._post_seq = 0
        self.ids = IdGenerator(settings.seed)

    # ----------------------------------------------------------------- lookups
    def status_of(self, user_id: str) -> dict[str, Any]:
        """``model.Status`` of a user (``offline`` until set)."""
        return self.statuses.get(
            user_id, {"user_id": user_id, "status": "offline", "manual": False, "last_activity_at": 0}
        )

    def set_status(self, user_id: str, status: str) -> dict[str, Any]:
        """Set a status by hand and tell the user (the real server no longer broadcasts statuses)."""
        record = {"user_id": user_id, "status": status, "manual": True, "last_activity_at": now_ms()}
        self.statuses[user_id] = record
        self.events.publish(
            "status_change", {"status": status, "user_id": user_id}, Broadcast(user_id=user_id)
        )
        return record

    def user(self, user_id: str) -> User:
        """The user or 404 ``app.user.missing_account.const``."""
        user = self.users.get(user_id)
        if user is None:
            raise not_found("app.user.missing_account.const")
        return user

    def user_by_username(self, username: str) -> User | None:
        """Find a user by (case-insensitive) username."""
        name = username.lower()
        return next((u for u in self.users.values() if u.username == name), None)

    def user_by_email(self, email: str) -> User | None:
        """Find a user by email."""
        value = email.lower()
        return next((u for u in self.users.values() if u.email == value), None)

    def team(self, team_id: str) -> Team:
        """The team or 404 ``app.team.get.find.app_error``."""
        team = self.teams.get(team_id)
        if team is None:
            raise not_found("app.team.get.find.app_error")
        return team

    def team_by_name(self, name: str) -> Team | None:
        """Find a team by name."""
        return next((t for t in self.teams.values() if t.name == name), None)

    def channel(self, channel_id: str) -> Channel:
        """The channel or 404 ``app.channel.get.existing.app_error``."""
        channel = self.channels.get(channel_id)
        if channel is None:
            raise not_found("app.channel.get.existing.app_error")
        return channel

    def channel_by_name(self, team_id: str, name: str) -> Channel | None:
        """Find a channel of a team by name (DMs and GMs have no team)."""
        return next(
            (c for c in self.channels.values() if c.name == name and c.team_id == team_id),
            None,
        )

    def post(self, post_id: str, *, include_deleted: bool = False) -> Post:
        """The post or 404 ``app.post.get.app_error``."""
        post = self.posts.get(post_id)
        if post is None or (post.delete_at and not include_deleted):
            raise not_found("app.post.get.app_error")
        return post

    def is_team_member(self, team_id: str, user_id: str) -> bool:
        """Whether the user is an active member of the team."""
        member = self.team_members.get((team_id, user_id))
        return member is not None and member.delete_at == 0

    def is_channel_member(self, channel_id: str, user_id: str) -> bool:
        """Whether the user is a member of the channel."""
        return (channel_id, user_id) in self.channel_members

    def team_member_ids(self, team_id: str) -> list[str]:
        """Ids of the active members of a team, in join order."""
        return [m.user_id for (t, _), m in self.team_members.items() if t == team_id and not m.delete_at]

    def channel_member_ids(self, channel_id: str) -> list[str]:
        """Ids of the members of a channel, in join order."""
        return [u for (c, u) in self.channel_members if c == channel_id]

    def post_json(self, post: Post, *, pending_post_id: str = "") -> dict[str, Any]:
        """A post with its file and reaction metadata."""
        files = [self.files[f] for f in post.file_ids if f in self.files]
        return post.to_json(
            pending_post_id=pending_post_id,
            files=files,
            reactions=self.reactions.get(post.id, []),
        )

    # ------------------------------------------------------------ users/tokens
    def add_user(
        self,
        username: str,
        email: str,
        *,
        password: str = "",
        roles: str = "system_user",
        is_bot: bool = False,
        first_name: str = "",
        last_name: str = "",
        nickname: str = "",
        position: str = "",
        locale: str = "en",
        props: dict[str, str] | None = None,
    ) -> User:
        """Store a new user (validated by the caller); duplicates are refused with 400."""
        self.require_free_username(username)
        self.require_free_email(email)
        now = now_ms()
        user = User(
            id=self.ids.new_id(),
            username=username.lower(),
            email=email.lower(),
            create_at=now,
            update_at=now,
            password=password,
            roles=roles,
            is_bot=is_bot,
            first_name=first_name,
            last_name=last_name,
            nickname=nickname,
            position=position,
            locale=locale or "en",
            props=dict(props or {}),
        )
        self.users[user.id] = user
        self.events.publish("new_user", {"user_id": user.id}, Broadcast())
        return user

    def require_free_username(self, username: str, *, owner_id: str = "") -> None:
        """400 ``username_exists`` unless ``username`` is free (or already ``owner_id``'s)."""
        other = self.user_by_username(username)
        if other is not None and other.id != owner_id:
            raise AppError(
                400,
                "app.user.save.username_exists.app_error",
                "An account with that username already exists.",
            )

    def require_free_email(self, email: str, *, owner_id: str = "") -> None:
        """400 ``email_exists`` unless ``email`` is free (or already ``owner_id``'s)."""
        other = self.user_by_email(email)
        if other is not None and other.id != owner_id:
            raise AppError(
                400,
                "app.user.save.email_exists.app_error",
                "An account with that email already exists.",
            )

    def add_bot(self, username: str, display_name: str, description: str, owner_id: str) -> Bot:
        """Store a bot and its backing user (email ``<username>@localhost``)."""
        user = self.add_user(username, f"{username.lower()}@localhost", is_bot=True, first_name=display_name)
        user.bot_description = description
        bot = Bot(
            user_id=user.id,
            username=user.username,
            owner_id=owner_id,
            create_at=user.create_at,
            update_at=user.create_at,
            display_name=display_name,
            description=description,
        )
        self.bots[user.id] = bot
        return bot

    def user_updated(self, user: User) -> None:
        """Bump ``update_at`` and announce the change."""
        user.update_at = max(now_ms(), user.update_at + 1)
        self.events.publish("user_updated", {"user": user.to_json()}, Broadcast())

    def add_token(self, user_id: str, description: str) -> AccessToken:
        """Create a personal access token and the session behind it."""
        token = AccessToken(
            id=self.ids.new_id(), token=self.ids.new_token(), user_id=user_id, description=description
        )
        self.tokens[token.id] = token
        self.sessions[token.token] = Session(
            token=token.token, user_id=user_id, create_at=now_ms(), token_id=token.id
        )
        return token

    def revoke_token(self, token_id: str) -> None:
        """Delete a token and kill its session."""
        token = self.tokens.pop(token_id)
        self.sessions.pop(token.token, None)

    def login_session(self, user_id: str) -> Session:
        """Create a login session."""
        session = Session(token=self.ids.new_token(), user_id=user_id, create_at=now_ms())
        self.sessions[session.token] = session
        return session

    def set_active(self, user: User, active: bool) -> None:
        """Activate or deactivate; deactivation kills login sessions and disables owned bots."""
        if active:
            user.delete_at = 0
        else:
            user.delete_at = now_ms()
            for token, session in list(self.sessions.items()):
                if session.user_id == user.id and not session.is_access_token:
                    del self.sessions[token]
            for bot in self.bots.values():
                if bot.owner_id == user.id and not bot.delete_at:
                    bot.delete_at = user.delete_at
                    self.users[bot.user_id].delete_at = user.delete_at
        self.user_updated(user)

    # ------------------------------------------------------------------- teams
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

    # ---------------------------------------------------------------- channels
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

    # ------------------------------------------------------------------- posts
    def _membership_post(self, channel: Channel, user: User, actor_id: str, where: str) -> None:
        """``<user> joined the <where>.`` or ``<user> added to the <where> by <actor>.``"""
        if actor_id in ("", user.id):
            self.system_post(
                channel,
                user.id,
                f"system_join_{where}",
                f"{user.username} joined the {where}.",
                {"username": user.username},
            )
            return
        actor = self.user(actor_id)
        self.system_post(
            channel,
            actor_id,
            f"system_add_to_{where}",
            f"{user.username} added to the {where} by {actor.username}.",
            {
                "userId": actor_id,
                "username": actor.username,
                "addedUserId": user.id,
                "addedUsername": user.username,
            },
        )

    def system_post(
        self, channel: Channel, user_id: str, post_type: str, message: str, props: dict[str, Any]
    ) -> Post:
        """Write a system post (membership, header change...)."""
        now = now_ms()
        post = Post(
            id=self.ids.new_id(),
            channel_id=channel.id,
            user_id=user_id,
            create_at=now,
            update_at=now,
            message=message,
            type=post_type,
            props=dict(props),
        )
        self.save_post(post, sender=self.users.get(user_id))
        return post

    def save_post(
        self,
        post: Post,
        *,
        sender: User | None,
        pending_post_id: str = "",
        set_online: bool = True,
    ) -> None:
        """Store a new post, update the channel and thread, and publish ``posted``."""
        channel = self.channel(post.channel_id)
        self._post_seq += 1
        post.seq = self._post_seq
        self.posts[post.id] = post
        channel.last_post_at = max(channel.last_post_at, post.create_at)
        channel.total_msg_count += 1
        if post.root_id:
            root = self.posts[post.root_id]
            root.update_at = max(root.update_at, post.create_at)
            thread = [root, *(p for p in self.posts.values() if p.root_id == root.id)]
            replies = sum(1 for p in thread if p.root_id and not p.delete_at)
            for item in thread:
                item.reply_count = replies
                item.last_reply_at = max(item.last_reply_at, post.create_at)
        else:
            channel.last_root_post_at = max(channel.last_root_post_at, post.create_at)
            channel.total_msg_count_root += 1
        for file_id in post.file_ids:
            info = self.files.get(file_id)
            if info is not None:
                info.post_id = post.id
        self.events.publish(
            "posted",
            {
                "post": dumps(self.post_json(post, pending_post_id=pending_post_id)),
                "channel_type": channel.type,
                "channel_display_name": channel.display_name,
                "channel_name": channel.name,
                "sender_name": f"@{sender.username}" if sender else "",
                "team_id": channel.team_id,
                "set_online": set_online,
            },
            Broadcast(channel_id=channel.id),
        )

    def post_edited(self, post: Post, previous: Post | None = None) -> None:
        """Store the edit and announce it (``SqlPostStore.Update``, then ``post_edited``).

        ``post`` is already changed, ``update_at`` included. With ``previous`` (the post as it
        was before), the old version is kept as an edit-history row: a new id,
        ``original_id`` = the post, ``delete_at`` = ``update_at`` = the edit time. Every update
        stores one, even one that changes only props or the pin. Editing a reply also bumps its
        root's ``update_at``.
        """
        if previous is not None:
            old = previous.clone()
            old.original_id = post.id
            old.id = self.ids.new_id()
            old.delete_at = post.update_at
            old.update_at = post.update_at
            self.post_history[old.id] = old
        if post.root_id:
            root = self.posts.get(post.root_id)
            if root is not None:
                root.update_at = max(root.update_at, post.update_at)
        self.events.publish(
            "post_edited",
            {"post": dumps(self.post_json(post))},
            Broadcast(channel_id=post.channel_id),
        )

    def delete_post(self, post: Post, actor_id: str) -> None:
        """Soft-delete a post; a root takes its replies along (``WHERE Id=? OR RootId=?``).

        As ``CleanUpAfterPostDeletion``: one ``post_deleted`` for the post only (none for the
        replies), whose ``post`` is the post as read before the deletion (``delete_at`` 0); it
        goes out twice, a sanitised copy to everyone but system admins and a copy with
        ``delete_by`` to system admins only.
        """
        before = dumps(self.post_json(post))
        now = max(now_ms(), post.update_at + 1)
        doomed = [post]
        if not post.root_id:
            doomed += [p for p in self.posts.values() if p.root_id == post.id and not p.delete_at]
        for item in doomed:
            item.delete_at = now
            item.update_at = now
            item.props["deleteBy"] = actor_id
            for file_id in item.file_ids:
                info = self.files.get(file_id)
                if info is not None:
                    info.delete_at = now
        if post.root_id and post.root_id in self.posts:
            thread = [p for p in self.posts.values() if p.root_id == post.root_id]
            replies = sum(1 for p in thread if not p.delete_at)
            self.posts[post.root_id].reply_count = replies
            for item in thread:
                item.reply_count = replies
        self.events.publish(
            "post_deleted",
            {"post": before},
            Broadcast(channel_id=post.channel_id, contains_sanitized_data=True),
        )
        self.events.publish(
            "post_deleted",
            {"post": before, "delete_by": actor_id},
            Broadcast(channel_id=post.channel_id, contains_sensitive_data=True),
        )

    # --------------------------------------------------------------- reactions
    def add_reaction(self, post: Post, user_id: str, emoji_name: str) -> Reaction:
        """Save a reaction; at most 50 distinct emoji per post.

        As ``SqlReactionStore.Save`` (an upsert): saving an existing reaction again is no error;
        the stored one keeps its ``create_at`` and gets a new ``update_at``, while the answer
        and the ``reaction_added`` event (sent again) carry the request's fresh ``create_at``.
        Either way the post's ``update_at`` moves.
        """
        now = now_ms()
        reactions = self.reactions.setdefault(post.id, [])
        reaction = Reaction(
            user_id=user_id,
            post_id=post.id,
            emoji_name=emoji_name,
            channel_id=post.channel_id,
            create_at=now,
        )
        existing = [r for r in reactions if r.user_id == user_id and r.emoji_name == emoji_name]
        if existing:
            existing[0].update_at = now
        else:
            emoji = {r.emoji_name for r in reactions}
            if emoji_name not in emoji and len(emoji) >= 50:
                raise AppError(
                    400,
                    "app.reaction.save.save.too_many_reactions",
                    "Reaction limit has been reached for this post.",
                )
            reactions.append(reaction)
        post.has_reactions = True
        post.update_at = max(now, post.update_at + 1)
        self.events.publish(
            "reaction_added",
            {"reaction": dumps(reaction.to_json())},
            Broadcast(channel_id=post.channel_id),
        )
        return reaction

    def remove_reaction(self, post: Post, user_id: str, emoji_name: str) -> None:
        """Remove a reaction, whether or not it exists (``DeleteReactionForPost``).

        The post's ``update_at`` moves and ``reaction_removed`` is sent in both cases. Its
        reaction is built from the URL, as the server does: ``create_at`` 0, ``update_at`` now,
        no ``channel_id``.
        """
        now = now_ms()
        reactions = self.reactions.get(post.id, [])
        for reaction in reactions:
            if reaction.user_id == user_id and reaction.emoji_name == emoji_name:
                reactions.remove(reaction)
                break
        post.has_reactions = bool(reactions)
        post.update_at = max(now, post.update_at + 1)
        removed = Reaction(
            user_id=user_id,
            post_id=post.id,
            emoji_name=emoji_name,
            channel_id="",
            create_at=0,
            update_at=now,
        )
        self.events.publish(
            "reaction_removed",
            {"reaction": dumps(removed.to_json())},
            Broadcast(channel_id=post.channel_id),
        )
