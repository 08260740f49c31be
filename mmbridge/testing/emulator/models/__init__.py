"""In-memory records of the emulator, one module per resource, serialised by :mod:`.wire`."""

from __future__ import annotations

from .categories import DEFAULT_CATEGORIES, SidebarCategory
from .channels import CHANNEL_NOTIFY_PROPS, Channel, ChannelMember
from .emoji import Emoji
from .integrations import (
    COMMAND_SANITIZED_FIELDS,
    Command,
    CommandWebhook,
    IncomingWebhook,
    IncomingWebhookBody,
    IncomingWebhookRequest,
    OutgoingWebhook,
)
from .posts import FileInfo, Post, Reaction, generate_action_ids, hashtags_of
from .preferences import Preference
from .teams import Team, TeamMember, TeamStats, TeamUnread
from .threads import ThreadMembership
from .users import DEFAULT_NOTIFY_PROPS, DEFAULT_TIMEZONE, AccessToken, Bot, Session, User
from .wire import Record, dumps, internal, loads, omitempty, to_wire

__all__ = [
    "CHANNEL_NOTIFY_PROPS",
    "COMMAND_SANITIZED_FIELDS",
    "DEFAULT_CATEGORIES",
    "DEFAULT_NOTIFY_PROPS",
    "DEFAULT_TIMEZONE",
    "AccessToken",
    "Bot",
    "Channel",
    "ChannelMember",
    "Command",
    "CommandWebhook",
    "Emoji",
    "FileInfo",
    "IncomingWebhook",
    "IncomingWebhookBody",
    "IncomingWebhookRequest",
    "OutgoingWebhook",
    "Post",
    "Preference",
    "Reaction",
    "Record",
    "Session",
    "SidebarCategory",
    "Team",
    "TeamMember",
    "TeamStats",
    "TeamUnread",
    "ThreadMembership",
    "User",
    "dumps",
    "generate_action_ids",
    "hashtags_of",
    "internal",
    "loads",
    "omitempty",
    "to_wire",
]
