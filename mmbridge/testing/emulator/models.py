"""In-memory records and their JSON forms (as the real server serialises them)."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .ids import new_id

DEFAULT_NOTIFY_PROPS: dict[str, str] = {
    "channel": "true",
    "comments": "never",
    "desktop": "mention",
    "desktop_sound": "true",
    "desktop_threads": "all",
    "email": "true",
    "email_threads": "all",
    "first_name": "false",
    "mention_keys": "",
    "push": "mention",
    "push_status": "away",
    "push_threads": "all",
}

DEFAULT_TIMEZONE: dict[str, str] = {
    "automaticTimezone": "",
    "manualTimezone": "",
    "useAutomaticTimezone": "true",
}

CHANNEL_NOTIFY_PROPS: dict[str, str] = {
    "desktop": "default",
    "email": "default",
    "ignore_channel_mentions": "default",
    "mark_unread": "all",
    "push": "default",
}


@dataclass
class User:
    """A user account (bots have one too)."""

    id: str
    username: str
    email: str
    create_at: int
    update_at: int
    password: str = ""
    delete_at: int = 0
    first_name: str = ""
    last_name: str = ""
    nickname: str = ""
    position: str = ""
    locale: str = "en"
    roles: str = "system_user"
    is_bot: bool = False
    bot_description: str = ""
    props: dict[str, str] = field(default_factory=dict)
    notify_props: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_NOTIFY_PROPS))
    timezone: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TIMEZONE))
    last_picture_update: int = 0
    remote_id: str | None = None
    image: bytes | None = None
    image_type: str = "image/png"

    @property
    def is_admin(self) -> bool:
        """Whether the user has the ``system_admin`` role."""
        return "system_admin" in self.roles.split()

    def to_json(self) -> dict[str, Any]:
        """The sanitised ``model.User`` (no password)."""
        out: dict[str, Any] = {
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.update_at,
            "delete_at": self.delete_at,
            "username": self.username,
            "auth_data": "",
            "auth_service": "",
            "email": self.email,
            "email_verified": True,
            "nickname": self.nickname,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "position": self.position,
            "roles": self.roles,
            "props": dict(self.props),
            "notify_props": dict(self.notify_props),
            "last_password_update": self.create_at,
            "last_picture_update": self.last_picture_update,
            "locale": self.locale,
            "timezone": dict(self.timezone),
            "disable_welcome_email": False,
        }
        if self.is_bot:
            out["is_bot"] = True
            out["bot_description"] = self.bot_description
        if self.remote_id is not None:
            out["remote_id"] = self.remote_id
        return out


@dataclass
class Bot:
    """A bot record (its user is a :class:`User` with ``is_bot``)."""

    user_id: str
    username: str
    owner_id: str
    create_at: int
    update_at: int
    display_name: str = ""
    description: str = ""
    delete_at: int = 0

    def to_json(self) -> dict[str, Any]:
        """``model.Bot``."""
        return {
            "user_id": self.user_id,
            "username": self.username,
            "display_name": self.display_name,
            "description": self.description,
            "owner_id": self.owner_id,
            "last_icon_update": 0,
            "create_at": self.create_at,
            "update_at": self.update_at,
            "delete_at": self.delete_at,
        }


@dataclass
class AccessToken:
    """A personal access token."""

    id: str
    token: str
    user_id: str
    description: str
    is_active: bool = True

    def to_json(self, *, with_token: bool = False) -> dict[str, Any]:
        """``model.UserAccessToken``; the token itself only at creation."""
        out: dict[str, Any] = {
            "id": self.id,
            "user_id": self.user_id,
            "description": self.description,
            "is_active": self.is_active,
            "expires_at": 0,
        }
        if with_token:
            out["token"] = self.token
        return out


@dataclass
class Session:
    """An authenticated session: a login session or one behind an access token."""

    token: str
    user_id: str
    create_at: int
    token_id: str = ""

    @property
    def is_access_token(self) -> bool:
        """Whether this session comes from a personal access token."""
        return bool(self.token_id)


@dataclass
class Team:
    """A team."""

    id: str
    name: str
    display_name: str
    type: str
    create_at: int
    update_at: int
    delete_at: int = 0
    description: str = ""
    email: str = ""
    invite_id: str = ""
    allow_open_invite: bool = False

    def to_json(self) -> dict[str, Any]:
        """``model.Team``."""
        return {
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.update_at,
            "delete_at": self.delete_at,
            "display_name": self.display_name,
            "name": self.name,
            "description": self.description,
            "email": self.email,
            "type": self.type,
            "company_name": "",
            "allowed_domains": "",
            "invite_id": self.invite_id,
            "allow_open_invite": self.allow_open_invite,
            "scheme_id": "",
            "cloud_limits_archived": False,
        }


@dataclass
class TeamMember:
    """Membership of a user in a team."""

    team_id: str
    user_id: str
    scheme_admin: bool = False
    delete_at: int = 0

    def to_json(self) -> dict[str, Any]:
        """``model.TeamMember``."""
        roles = "team_user team_admin" if self.scheme_admin else "team_user"
        return {
            "team_id": self.team_id,
            "user_id": self.user_id,
            "roles": roles,
            "delete_at": self.delete_at,
            "scheme_guest": False,
            "scheme_user": True,
            "scheme_admin": self.scheme_admin,
            "explicit_roles": "",
        }


@dataclass
class Channel:
    """A channel of any type (O, P, D, G)."""

    id: str
    team_id: str
    type: str
    name: str
    display_name: str
    creator_id: str
    create_at: int
    update_at: int
    delete_at: int = 0
    header: str = ""
    purpose: str = ""
    last_post_at: int = 0
    last_root_post_at: int = 0
    total_msg_count: int = 0
    total_msg_count_root: int = 0

    def to_json(self) -> dict[str, Any]:
        """``model.Channel``."""
        return {
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.update_at,
            "delete_at": self.delete_at,
            "team_id": self.team_id,
            "type": self.type,
            "display_name": self.display_name,
            "name": self.name,
            "header": self.header,
            "purpose": self.purpose,
            "last_post_at": self.last_post_at,
            "last_root_post_at": self.last_root_post_at,
            "total_msg_count": self.total_msg_count,
            "total_msg_count_root": self.total_msg_count_root,
            "extra_update_at": 0,
            "creator_id": self.creator_id,
        }


@dataclass
class ChannelMember:
    """Membership of a user in a channel."""

    channel_id: str
    user_id: str
    last_update_at: int
    scheme_admin: bool = False
    last_viewed_at: int = 0
    msg_count: int = 0
    mention_count: int = 0

    def to_json(self) -> dict[str, Any]:
        """``model.ChannelMember``."""
        roles = "channel_user channel_admin" if self.scheme_admin else "channel_user"
        return {
            "channel_id": self.channel_id,
            "user_id": self.user_id,
            "roles": roles,
            "last_viewed_at": self.last_viewed_at,
            "msg_count": self.msg_count,
            "msg_count_root": 0,
            "mention_count": self.mention_count,
            "mention_count_root": 0,
            "urgent_mention_count": 0,
            "notify_props": dict(CHANNEL_NOTIFY_PROPS),
            "last_update_at": self.last_update_at,
            "scheme_guest": False,
            "scheme_user": True,
            "scheme_admin": self.scheme_admin,
            "explicit_roles": "",
        }


@dataclass
class Reaction:
    """An emoji reaction on a post."""

    user_id: str
    post_id: str
    emoji_name: str
    channel_id: str
    create_at: int
    #: 0 means "as ``create_at``" (a reaction never saved again).
    update_at: int = 0

    def to_json(self) -> dict[str, Any]:
        """``model.Reaction``."""
        return {
            "user_id": self.user_id,
            "post_id": self.post_id,
            "emoji_name": self.emoji_name,
            "create_at": self.create_at,
            "update_at": self.update_at or self.create_at,
            "delete_at": 0,
            "remote_id": "",
            "channel_id": self.channel_id,
        }


@dataclass
class FileInfo:
    """An uploaded file and its bytes."""

    id: str
    user_id: str
    channel_id: str
    name: str
    extension: str
    mime_type: str
    data: bytes
    create_at: int
    post_id: str = ""
    delete_at: int = 0
    width: int = 0
    height: int = 0

    def to_json(self) -> dict[str, Any]:
        """``model.FileInfo``."""
        out: dict[str, Any] = {
            "id": self.id,
            "user_id": self.user_id,
            "post_id": self.post_id,
            "channel_id": self.channel_id,
            "create_at": self.create_at,
            "update_at": self.create_at,
            "delete_at": self.delete_at,
            "name": self.name,
            "extension": self.extension,
            "size": len(self.data),
            "mime_type": self.mime_type,
            "has_preview_image": False,
            "remote_id": "",
            "archived": False,
        }
        if self.width or self.height:
            out["width"] = self.width
            out["height"] = self.height
        return out


@dataclass
class Post:
    """A post (message); system posts included."""

    id: str
    channel_id: str
    user_id: str
    create_at: int
    update_at: int
    message: str = ""
    type: str = ""
    root_id: str = ""
    edit_at: int = 0
    delete_at: int = 0
    is_pinned: bool = False
    props: dict[str, Any] = field(default_factory=dict)
    file_ids: list[str] = field(default_factory=list)
    hashtags: str = ""
    reply_count: int = 0
    last_reply_at: int = 0
    has_reactions: bool = False
    priority: dict[str, Any] | None = None
    #: Set only on an edit-history row: the id of the post this is an old version of.
    original_id: str = ""
    #: Insertion order, to order posts created within the same millisecond.
    seq: int = 0

    def clone(self) -> Post:
        """A deep copy."""
        return copy.deepcopy(self)

    def to_json(
        self,
        *,
        pending_post_id: str = "",
        files: list[FileInfo] | None = None,
        reactions: list[Reaction] | None = None,
    ) -> dict[str, Any]:
        """``model.Post`` with its metadata."""
        metadata: dict[str, Any] = {}
        if files:
            metadata["files"] = [f.to_json() for f in files]
        if reactions:
            metadata["reactions"] = [r.to_json() for r in reactions]
        if self.priority:
            metadata["priority"] = dict(self.priority)
        out: dict[str, Any] = {
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.update_at,
            "edit_at": self.edit_at,
            "delete_at": self.delete_at,
            "is_pinned": self.is_pinned,
            "user_id": self.user_id,
            "channel_id": self.channel_id,
            "root_id": self.root_id,
            "original_id": self.original_id,
            "message": self.message,
            "type": self.type,
            "props": copy.deepcopy(self.props),
            "hashtags": self.hashtags,
            "file_ids": list(self.file_ids),
            "pending_post_id": pending_post_id,
            "reply_count": self.reply_count,
            "last_reply_at": self.last_reply_at,
            "metadata": metadata,
        }
        if self.has_reactions:
            out["has_reactions"] = True
        return out


@dataclass
class OutgoingWebhook:
    """An outgoing webhook (``model.OutgoingWebhook``)."""

    id: str
    token: str
    create_at: int
    update_at: int
    creator_id: str
    team_id: str
    channel_id: str = ""
    trigger_words: list[str] = field(default_factory=list)
    trigger_when: int = 0
    callback_urls: list[str] = field(default_factory=list)
    display_name: str = ""
    description: str = ""
    content_type: str = ""
    username: str = ""
    icon_url: str = ""
    delete_at: int = 0

    def to_json(self) -> dict[str, Any]:
        """``model.OutgoingWebhook`` (the token included, as the server sends it)."""
        return {
            "id": self.id,
            "token": self.token,
            "create_at": self.create_at,
            "update_at": self.update_at,
            "delete_at": self.delete_at,
            "creator_id": self.creator_id,
            "channel_id": self.channel_id,
            "team_id": self.team_id,
            "trigger_words": list(self.trigger_words),
            "trigger_when": self.trigger_when,
            "callback_urls": list(self.callback_urls),
            "display_name": self.display_name,
            "description": self.description,
            "content_type": self.content_type,
            "username": self.username,
            "icon_url": self.icon_url,
        }


@dataclass
class Command:
    """A custom slash command (``model.Command``)."""

    id: str
    token: str
    create_at: int
    update_at: int
    creator_id: str
    team_id: str
    trigger: str
    method: str
    url: str
    username: str = ""
    icon_url: str = ""
    auto_complete: bool = False
    auto_complete_desc: str = ""
    auto_complete_hint: str = ""
    display_name: str = ""
    description: str = ""
    delete_at: int = 0

    def to_json(self, *, sanitized: bool = False) -> dict[str, Any]:
        """``model.Command``; ``sanitized`` blanks what ``Command.Sanitize`` blanks."""
        out: dict[str, Any] = {
            "id": self.id,
            "token": self.token,
            "create_at": self.create_at,
            "update_at": self.update_at,
            "delete_at": self.delete_at,
            "creator_id": self.creator_id,
            "team_id": self.team_id,
            "trigger": self.trigger,
            "method": self.method,
            "username": self.username,
            "icon_url": self.icon_url,
            "auto_complete": self.auto_complete,
            "auto_complete_desc": self.auto_complete_desc,
            "auto_complete_hint": self.auto_complete_hint,
            "display_name": self.display_name,
            "description": self.description,
            "url": self.url,
            "plugin_id": "",
        }
        if sanitized:
            for key in ("token", "creator_id", "method", "url", "username", "icon_url"):
                out[key] = ""
        return out


_HASHTAG_RE = re.compile(r"(?<![\w#])#([A-Za-z][\w.\-]*[\w])")


def hashtags_of(message: str) -> str:
    """The ``hashtags`` field the server derives from a message."""
    return " ".join(f"#{tag}" for tag in dict.fromkeys(_HASHTAG_RE.findall(message)))


def generate_action_ids(props: dict[str, Any]) -> None:
    """``Post.GenerateActionIds``: give every attachment action without an id a fresh one."""
    attachments = props.get("attachments")
    if not isinstance(attachments, list):
        return
    for attachment in attachments:
        actions = attachment.get("actions") if isinstance(attachment, dict) else None
        if not isinstance(actions, list):
            continue
        for action in actions:
            if isinstance(action, dict) and not action.get("id"):
                action["id"] = new_id()


def dumps(value: Any) -> str:
    """Compact JSON, as Go's encoder writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
