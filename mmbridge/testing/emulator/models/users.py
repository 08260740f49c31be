"""User accounts, bots, access tokens and sessions."""

from __future__ import annotations

from typing import Any

import attrs

from .wire import Record, internal, omitempty

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


@attrs.define
class User(Record):
    """A user account (bots have one too); on the wire, the sanitised ``model.User``."""

    id: str
    username: str
    email: str
    create_at: int
    update_at: int
    delete_at: int = 0
    auth_data: str = ""
    auth_service: str = ""
    email_verified: bool = True
    nickname: str = ""
    first_name: str = ""
    last_name: str = ""
    position: str = ""
    roles: str = "system_user"
    props: dict[str, str] = omitempty(factory=dict)
    notify_props: dict[str, str] = attrs.field(factory=lambda: dict(DEFAULT_NOTIFY_PROPS))
    last_password_update: int = attrs.field(
        default=attrs.Factory(lambda self: self.create_at, takes_self=True)
    )
    last_picture_update: int = omitempty(default=0)
    locale: str = "en"
    timezone: dict[str, str] = attrs.field(factory=lambda: dict(DEFAULT_TIMEZONE))
    disable_welcome_email: bool = False
    is_bot: bool = omitempty(default=False)
    bot_description: str = omitempty(default="")
    remote_id: str | None = omitempty(default=None)
    #: Wrong passwords in a row (``UpdateFailedPasswordAttempts``); reset by a good login.
    failed_attempts: int = omitempty(default=0)
    password: str = internal(default="", repr=False)
    image: bytes | None = internal(default=None, repr=False)
    image_type: str = internal(default="image/png")

    @property
    def is_admin(self) -> bool:
        """Whether the user has the ``system_admin`` role."""
        return "system_admin" in self.roles.split()

    def profile_json(self, *, as_admin: bool) -> dict[str, Any]:
        """The user as someone else sees them (``SanitizeProfile``; the privacy settings at their
        defaults, which show email addresses and full names): no notification settings, no
        verification, password-update or failed-login state, and the sign-in method for admins
        only. What the user themselves, or whoever made or changed the account, gets is
        :meth:`to_json`."""
        data = self.to_json()
        for key in ("notify_props", "email_verified", "last_password_update", "failed_attempts"):
            data.pop(key, None)  # (emptied, and left out as Go's omitempty does)
        if not as_admin:
            data["auth_service"] = ""
        return data


@attrs.define
class Bot(Record):
    """A bot record (its user is a :class:`User` with ``is_bot``): ``model.Bot``."""

    user_id: str
    username: str
    owner_id: str
    create_at: int
    update_at: int
    display_name: str = ""
    description: str = ""
    last_icon_update: int = omitempty(default=0)
    delete_at: int = 0
    icon: bytes | None = internal(default=None, repr=False)


@attrs.define
class AccessToken(Record):
    """A personal access token: ``model.UserAccessToken`` (the token itself only at creation)."""

    id: str
    token: str = internal(repr=False)
    user_id: str = ""
    description: str = ""
    is_active: bool = True
    expires_at: int = 0


@attrs.define
class Session(Record):
    """An authenticated session (``model.Session``): a login session or one behind an access token.

    On the wire as the server sends it after ``Sanitize``: ``token`` is always ``""``;
    ``team_members`` is filled in by the route from the state.
    """

    token: str = internal(repr=False)
    user_id: str = ""
    create_at: int = 0
    token_id: str = internal(default="")
    id: str = ""
    expires_at: int = 0
    last_activity_at: int = 0
    device_id: str = ""
    roles: str = ""
    is_oauth: bool = False
    expired_notify: bool = False
    props: dict[str, str] = attrs.field(factory=dict)
    local: bool = False

    @property
    def is_access_token(self) -> bool:
        """Whether this session comes from a personal access token."""
        return bool(self.token_id)

    def wire_extras(self) -> dict[str, str]:
        """``Session.Sanitize`` blanks the token in every session the API returns."""
        return {"token": ""}
