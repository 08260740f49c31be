"""The records of one emulated server and the lookups every state layer uses."""

from __future__ import annotations

import hashlib
from typing import Any

from ..errors import not_found
from ..events import EventBus
from ..ids import IdGenerator
from ..models import (
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
)
from ..settings import EmulatorSettings

DEFAULT_CHANNELS = (("town-square", "Town Square"), ("off-topic", "Off-Topic"))


def direct_channel_name(user_a: str, user_b: str) -> str:
    """``GetDMNameFromIds``: the smaller id, ``__``, the larger id."""
    low, high = sorted((user_a, user_b))
    return f"{low}__{high}"


def group_channel_name(user_ids: list[str]) -> str:
    """SHA-1 hex of the sorted ids concatenated."""
    return hashlib.sha1("".join(sorted(user_ids)).encode(), usedforsecurity=False).hexdigest()


class StateData:
    """The stored records and how to find them; the state layers above change them."""

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
