"""Users, bots, tokens, sessions and statuses: their changes and events."""

from __future__ import annotations

from typing import Any

from ..errors import AppError
from ..events import Broadcast
from ..ids import now_ms
from ..models import (
    AccessToken,
    Bot,
    Session,
    User,
    dumps,
)
from .base import StateData


class UserState(StateData):
    """Users, bots, tokens, sessions and statuses: their changes and events."""

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
