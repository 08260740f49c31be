"""Channels and channel membership."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import attrs

from .ids import ChannelID, TeamID, UserID
from .serialization import MattermostObject


class ChannelType(StrEnum):
    """Channel types. Newer servers add more; :attr:`Channel.type` stays a plain string for them."""

    OPEN = "O"
    PRIVATE = "P"
    DIRECT = "D"
    GROUP = "G"


@attrs.frozen
class Channel(MattermostObject):
    """A channel: open, private, direct message (two users) or group message (3-8 users)."""

    id: ChannelID
    team_id: TeamID = TeamID("")
    type: str = ChannelType.OPEN.value
    name: str = ""
    display_name: str = ""
    header: str = ""
    purpose: str = ""
    creator_id: str = ""
    create_at: int = 0
    update_at: int = 0
    delete_at: int = 0
    last_post_at: int = 0
    last_root_post_at: int = 0
    total_msg_count: int = 0
    extra_update_at: int = 0
    group_constrained: bool = False
    shared: bool = False
    props: dict[str, Any] = attrs.field(factory=dict)

    @property
    def is_direct(self) -> bool:
        """True for direct (``D``) and group (``G``) message channels."""
        return self.type in (ChannelType.DIRECT, ChannelType.GROUP)


@attrs.frozen
class ChannelMember(MattermostObject):
    """One user's membership of one channel."""

    channel_id: ChannelID
    user_id: UserID
    roles: str = ""
    last_viewed_at: int = 0
    msg_count: int = 0
    mention_count: int = 0
    last_update_at: int = 0
    notify_props: dict[str, Any] = attrs.field(factory=dict)
    scheme_user: bool = False
    scheme_admin: bool = False
    explicit_roles: str = ""
