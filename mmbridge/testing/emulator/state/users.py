"""Users, bots, tokens, sessions and statuses: their changes and events."""

from __future__ import annotations

from typing import Any

import attrs

from ..errors import AppError
from ..events import Broadcast, EventBus
from ..ids import now_ms
from ..models import (
    AccessToken,
    Bot,
    Session,
    User,
    dumps,
)
from ..settings import EmulatorSettings
from .base import StateData

#: ``PasswordRecoverExpiryTime``: a password reset link lasts 24 hours.
PASSWORD_RECOVERY_TTL_MS = 24 * 60 * 60 * 1000
#: ``ServiceSettings.MaximumLoginAttempts`` (real default 10).
MAXIMUM_LOGIN_ATTEMPTS = 10
_TOKEN_SIZE = 64  # model.TokenSize


@attrs.define
class EmailToken:
    """A ``model.Token`` of the password recovery or email verification kind (never sent: the
    emulated server has no email); ``extra`` holds the user id and the address."""

    token: str = attrs.field(repr=False)
    kind: str
    user_id: str
    email: str
    create_at: int


class UserState(StateData):
    """Users, bots, tokens, sessions and statuses: their changes and events."""

    def __init__(self, settings: EmulatorSettings, events: EventBus) -> None:
        super().__init__(settings, events)
        #: Password recovery and email verification tokens by token string.
        self.email_tokens: dict[str, EmailToken] = {}

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
        """Bump ``update_at`` and announce the change, as ``sendUpdatedUserEvent`` does: an
        admin's profile to admins, a profile without what only admins see to everyone else, and
        the whole account to the user themselves (left out of the other two)."""
        user.update_at = max(now_ms(), user.update_at + 1)
        others = {user.id: True}
        self.events.publish(
            "user_updated",
            {"user": user.profile_json(as_admin=True)},
            Broadcast(omit_users=others, contains_sensitive_data=True),
        )
        self.events.publish(
            "user_updated",
            {"user": user.profile_json(as_admin=False)},
            Broadcast(omit_users=dict(others), contains_sanitized_data=True),
        )
        self.events.publish("user_updated", {"user": user.to_json()}, Broadcast(user_id=user.id))

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

    def activation_status_changed(self) -> None:
        """``user_activation_status_change`` (no data, to everyone): what ``PUT /users/{id}/active``
        adds to the deactivation itself; ``DELETE /users/{id}`` does not send it."""
        self.events.publish("user_activation_status_change", {}, Broadcast())

    def user_typing(self, user_id: str, channel_id: str, parent_id: str) -> None:
        """Announce ``typing`` to the channel, the typist left out (REST and WebSocket alike)."""
        self.events.publish(
            "typing",
            {"parent_id": parent_id, "user_id": user_id},
            Broadcast(channel_id=channel_id, omit_users={user_id: True}),
        )

    def open_dialog(self, user_id: str, dialog: dict[str, Any]) -> None:
        """``open_dialog``: the webapp of that user (only) shows the interactive dialog."""
        self.events.publish("open_dialog", {"dialog": dumps(dialog)}, Broadcast(user_id=user_id))

    def update_user(self, user: User, values: dict[str, Any]) -> None:
        """``UpdateUser``: replace the updatable fields (validated by the caller) and announce it.

        As the store does: a new email is unverified, and a new username replaces the old one in
        the mention keys."""
        old_username, old_email = user.username, user.email
        for key, value in values.items():
            setattr(user, key, value)
        if user.email != old_email:
            user.email_verified = False
        if user.username != old_username:
            keys = [k for k in user.notify_props.get("mention_keys", "").split(",") if k]
            if old_username in keys:
                keys = [user.username if k == old_username else k for k in keys]
                user.notify_props["mention_keys"] = ",".join(keys)
        self.user_updated(user)

    def set_user_roles(self, user: User, roles: str) -> None:
        """``UpdateUserRoles``: ``user_role_updated`` goes to that user only."""
        user.roles = roles
        user.update_at = max(now_ms(), user.update_at + 1)
        self.events.publish(
            "user_role_updated", {"user_id": user.id, "roles": roles}, Broadcast(user_id=user.id)
        )

    def set_password(self, user: User, password: str, *, keep_token: str = "") -> None:
        """``UpdatePassword`` (``TerminateSessionsOnPasswordChange``, default on): every login
        session of the user but ``keep_token`` (the caller's own) is revoked. Access tokens stay
        valid: the server makes their sessions again on the next request."""
        user.password = password
        user.last_password_update = now_ms()
        for token, session in list(self.sessions.items()):
            if session.user_id == user.id and not session.is_access_token and token != keep_token:
                del self.sessions[token]

    def check_password(self, user: User, password: str) -> bool:
        """``DoubleCheckPassword``: a wrong password counts as a failed attempt; 401
        ``too_many`` once ``MaximumLoginAttempts`` is reached."""
        if user.failed_attempts >= MAXIMUM_LOGIN_ATTEMPTS:
            raise AppError(
                401,
                "api.user.check_user_login_attempts.too_many.app_error",
                "Your account is locked because of too many failed password attempts.",
            )
        if not user.password or user.password != password:
            user.failed_attempts += 1
            return False
        user.failed_attempts = 0
        return True

    def reset_failed_attempts(self, user: User) -> None:
        """Unlock an account locked by wrong passwords."""
        user.failed_attempts = 0
        self.user_updated(user)

    def reset_profile_image(self, user: User) -> None:
        """``SetDefaultProfileImage``: back to the generated picture (``last_picture_update`` 0)."""
        user.image = None
        user.image_type = "image/png"
        user.last_picture_update = 0
        self.user_updated(user)

    def verify_email(self, user: User) -> None:
        """``VerifyUserEmail``: mark the address verified and announce it."""
        user.email_verified = True
        self.user_updated(user)

    def new_email_token(self, kind: str, user: User) -> EmailToken:
        """Store a recovery (``password_recovery``) or verification (``verify_email``) token; a
        new recovery token replaces the user's earlier ones."""
        if kind == "password_recovery":
            for value, old in list(self.email_tokens.items()):
                if old.kind == kind and old.user_id == user.id:
                    del self.email_tokens[value]
        value = (self.ids.new_id() + self.ids.new_id() + self.ids.new_id())[:_TOKEN_SIZE]
        token = EmailToken(value, kind, user.id, user.email, now_ms())
        self.email_tokens[value] = token
        return token

    def use_email_token(self, token: EmailToken) -> None:
        """Delete a token once it has been used."""
        self.email_tokens.pop(token.token, None)
