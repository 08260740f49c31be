"""Channels and channel membership."""

from __future__ import annotations

from typing import Any

import attrs

from .wire import Record

CHANNEL_NOTIFY_PROPS: dict[str, str] = {
    "desktop": "default",
    "email": "default",
    "ignore_channel_mentions": "default",
    "mark_unread": "all",
    "push": "default",
}


@attrs.define
class Channel(Record):
    """A channel of any type (O, P, D, G): ``model.Channel``."""

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
    extra_update_at: int = 0


@attrs.define
class ChannelMember(Record):
    """Membership of a user in a channel: ``model.ChannelMember``."""

    channel_id: str
    user_id: str
    last_update_at: int
    last_viewed_at: int = 0
    msg_count: int = 0
    msg_count_root: int = 0
    mention_count: int = 0
    mention_count_root: int = 0
    urgent_mention_count: int = 0
    notify_props: dict[str, str] = attrs.field(factory=lambda: dict(CHANNEL_NOTIFY_PROPS))
    scheme_guest: bool = False
    scheme_user: bool = True
    scheme_admin: bool = False
    explicit_roles: str = ""

    def wire_extras(self) -> dict[str, Any]:
        """``roles``, derived from the scheme flags as the server does."""
        roles = ["channel_guest"] if self.scheme_guest else []
        if self.scheme_user:
            roles.append("channel_user")
        if self.scheme_admin:
            roles.append("channel_admin")
        roles += self.explicit_roles.split()
        return {"roles": " ".join(roles)}


@attrs.define
class ChannelUpdateBody:
    """The body of ``PUT /channels/{id}``: a whole ``model.Channel`` (only these fields count)."""

    id: str = ""
    type: str = ""
    name: str = ""
    display_name: str = ""
    header: str = ""
    purpose: str = ""


@attrs.define
class ChannelViewBody:
    """``model.ChannelView``."""

    channel_id: str = ""
    prev_channel_id: str = ""
    collapsed_threads_supported: bool = False


@attrs.define
class ChannelSchemeRolesBody:
    """``model.SchemeRoles`` for a channel member."""

    scheme_admin: bool = False
    scheme_user: bool = False
    scheme_guest: bool = False


@attrs.define
class ChannelSearchBody:
    """``model.ChannelSearch`` (the fields the emulator filters by)."""

    term: str = ""
    team_ids: list[str] = attrs.field(factory=list)
    public: bool = False
    private: bool = False
    deleted: bool = False
    include_deleted: bool = False
    exclude_default_channels: bool = False
    page: int | None = None
    per_page: int | None = None
