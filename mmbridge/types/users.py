"""Users, bots and personal access tokens."""

from __future__ import annotations

from typing import Any

import attrs

from .ids import TokenID, UserID
from .serialization import MattermostObject


@attrs.frozen
class User(MattermostObject):
    """A Mattermost user (a person, a bot's backing user, or a bridge puppet)."""

    id: UserID
    username: str = ""
    create_at: int = 0
    update_at: int = 0
    delete_at: int = 0
    email: str = ""
    email_verified: bool = False
    nickname: str = ""
    first_name: str = ""
    last_name: str = ""
    position: str = ""
    roles: str = ""
    locale: str = ""
    auth_service: str = ""
    props: dict[str, Any] = attrs.field(factory=dict)
    notify_props: dict[str, Any] = attrs.field(factory=dict)
    timezone: dict[str, Any] = attrs.field(factory=dict)
    last_picture_update: int = 0
    last_password_update: int = 0
    is_bot: bool = False
    bot_description: str = ""
    remote_id: str = ""

    @property
    def is_active(self) -> bool:
        """False once the user is deactivated."""
        return self.delete_at == 0

    @property
    def is_system_admin(self) -> bool:
        """True when the user holds the ``system_admin`` role."""
        return "system_admin" in self.roles.split()

    @property
    def display_name(self) -> str:
        """The name Mattermost shows by default: full name, else nickname, else username."""
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.nickname or self.username


@attrs.frozen
class Bot(MattermostObject):
    """A bot account; ``user_id`` is the id of its backing :class:`User`."""

    user_id: UserID
    username: str = ""
    display_name: str = ""
    description: str = ""
    owner_id: str = ""
    create_at: int = 0
    update_at: int = 0
    delete_at: int = 0


@attrs.frozen
class UserAccessToken(MattermostObject):
    """A personal access token. ``token`` is only filled in the answer to its creation."""

    id: TokenID
    user_id: UserID = UserID("")
    description: str = ""
    is_active: bool = True
    expires_at: int = 0
    token: str = attrs.field(default="", repr=False)


@attrs.frozen
class UserStatus(MattermostObject):
    """A user's presence: ``online``, ``away``, ``dnd`` or ``offline``; ``manual`` if set by hand."""

    user_id: UserID
    status: str = "offline"
    manual: bool = False
    last_activity_at: int = 0


@attrs.frozen
class Role(MattermostObject):
    """A role (``system_admin``, ``team_user``, ...) and the permissions it grants."""

    id: str
    name: str = ""
    display_name: str = ""
    description: str = ""
    permissions: list[str] = attrs.field(factory=list)
    scheme_managed: bool = False
    built_in: bool = False


@attrs.frozen
class UserAutocomplete(MattermostObject):
    """``GET /users/autocomplete``: matching users, and (with a channel) those outside it."""

    users: list[User] = attrs.field(factory=list)
    out_of_channel: list[User] = attrs.field(factory=list)
