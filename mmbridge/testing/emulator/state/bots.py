"""Bots: (de)activation, owners, icons and conversion between users and bots."""

from __future__ import annotations

from ..errors import AppError
from ..ids import now_ms
from ..models import Bot, User
from .access import AccessState


class BotState(AccessState):
    """The bot changes of ``app/bot.go``."""

    def patch_bot(
        self,
        bot: Bot,
        *,
        username: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
    ) -> None:
        """``PatchBot``: the fields given, on the bot and its user (a username taken by someone
        else is 400 and changes nothing); ``user_updated`` announces it."""
        user = self.user(bot.user_id)
        if username is not None:
            self.require_free_username(username, owner_id=user.id)
            bot.username = user.username = username
        if display_name is not None:
            bot.display_name = user.first_name = display_name
        if description is not None:
            bot.description = user.bot_description = description
        bot.update_at = now_ms()
        self.user_updated(user)

    def set_bot_active(self, bot: Bot, active: bool) -> Bot:
        """``UpdateBotActive``: (de)activate the bot's user, then the bot record."""
        self.set_active(self.user(bot.user_id), active)
        if active and bot.delete_at:
            bot.delete_at = 0
            bot.update_at = now_ms()
        elif not active and not bot.delete_at:
            bot.delete_at = bot.update_at = now_ms()
        return bot

    def assign_bot(self, bot: Bot, owner_id: str) -> Bot:
        """``UpdateBotOwner``: the bot gets a new owner."""
        bot.owner_id = owner_id
        bot.update_at = now_ms()
        return bot

    def set_bot_icon(self, bot: Bot, svg: bytes) -> None:
        """``SetBotIconImage``: store the SVG icon and announce the bot's user."""
        bot.icon = svg
        bot.last_icon_update = bot.update_at = now_ms()
        self.user_updated(self.user(bot.user_id))

    def delete_bot_icon(self, bot: Bot) -> None:
        """``DeleteBotIconImage``: the icon goes, ``last_picture_update`` moves on. Without an
        icon this succeeds as with the S3 file driver (the local driver answers 500
        ``api.bot.delete_bot_icon_image.app_error``, failing to remove the missing file)."""
        bot.icon = None
        bot.last_icon_update = 0
        bot.update_at = now_ms()
        user = self.user(bot.user_id)
        user.last_picture_update = now_ms()
        self.user_updated(user)

    def convert_user_to_bot(self, user: User) -> Bot:
        """``ConvertUserToBot``: a bot record owned by the user itself; all its sessions go."""
        if user.id in self.bots:
            raise AppError(500, "app.bot.createbot.internal_error", "Couldn't create the bot.")
        now = now_ms()
        user.auth_service = user.auth_data = ""
        user.is_bot = True
        bot = Bot(
            user_id=user.id,
            username=user.username,
            owner_id=user.id,
            create_at=now,
            update_at=now,
            display_name=user.username,
        )
        self.bots[user.id] = bot
        self.revoke_all_sessions(user.id)
        return bot

    def convert_bot_to_user(self, bot: Bot, user: User, password: str, set_admin: bool) -> User:
        """``ConvertBotToUser``: the (already patched) user gets a password, the bot record goes."""
        if set_admin and "system_admin" not in user.roles.split():
            user.roles = f"{user.roles} system_admin".strip()
        user.password = password
        user.last_password_update = now_ms()
        user.is_bot = False
        user.bot_description = ""
        del self.bots[bot.user_id]
        self.user_updated(user)
        return user
