"""In-memory records of the emulator, one module per resource, serialised by :mod:`.wire`."""

from __future__ import annotations

from .channels import CHANNEL_NOTIFY_PROPS, Channel, ChannelMember
from .integrations import COMMAND_SANITIZED_FIELDS, Command, OutgoingWebhook
from .posts import FileInfo, Post, Reaction, generate_action_ids, hashtags_of
from .preferences import Preference
from .teams import Team, TeamMember
from .users import DEFAULT_NOTIFY_PROPS, DEFAULT_TIMEZONE, AccessToken, Bot, Session, User
from .wire import Record, dumps, internal, omitempty, to_wire

__all__ = [
    "CHANNEL_NOTIFY_PROPS",
    "COMMAND_SANITIZED_FIELDS",
    "DEFAULT_NOTIFY_PROPS",
    "DEFAULT_TIMEZONE",
    "AccessToken",
    "Bot",
    "Channel",
    "ChannelMember",
    "Command",
    "FileInfo",
    "OutgoingWebhook",
    "Post",
    "Preference",
    "Reaction",
    "Record",
    "Session",
    "Team",
    "TeamMember",
    "User",
    "dumps",
    "generate_action_ids",
    "hashtags_of",
    "internal",
    "omitempty",
    "to_wire",
]
