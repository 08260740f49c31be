"""Field validation rules of the real server (``model.User.IsValid``, ``model.Channel``...)."""

from __future__ import annotations

import re

from ...types import names
from .errors import AppError

_EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+$")


def check_username(username: str) -> str:
    """Lower-case and validate a username; returns it or raises 400."""
    name = username.lower()
    if not names.is_valid_username(name):
        raise AppError(
            400,
            "model.user.is_valid.username.app_error",
            "Username must begin with a letter and contain between 3 to 22 lowercase characters"
            " made up of numbers, letters, and the symbols '.', '-', and '_'.",
        )
    return name


def check_email(email: str) -> str:
    """Validate an email address (required, ≤128, bare address); returns it lower-cased."""
    value = email.lower()
    if not value or len(value) > 128 or not _EMAIL_RE.match(value):
        raise AppError(400, "model.user.is_valid.email.app_error", "Invalid email.")
    return value


def check_short_field(value: str, field_id: str) -> None:
    """Nickname, first and last name: at most 64 runes."""
    if len(value) > 64:
        raise AppError(400, f"model.user.is_valid.{field_id}.app_error", f"Invalid {field_id}.")


def check_password(password: str) -> None:
    """Password: 8 characters at least, 72 bytes at most."""
    if len(password) < 8 or len(password.encode()) > 72:
        raise AppError(
            400,
            "model.user.is_valid.pwd.app_error",
            "Your password must contain at least 8 characters.",
        )


def check_channel_name(name: str, channel_type: str) -> None:
    """Validate an O/P channel name (1-64 chars, pattern, no DM/GM shaped names)."""
    if channel_type in ("O", "P"):
        ok = names.is_valid_channel_name(name)
    else:
        ok = 1 <= len(name) <= names.CHANNEL_NAME_MAX and bool(names.CHANNEL_NAME.fullmatch(name))
    if not ok:
        raise AppError(400, "model.channel.is_valid.name.app_error", "Invalid name.")


def check_channel_fields(display_name: str | None, header: str | None, purpose: str | None) -> None:
    """Length limits of display_name (64), header (1024) and purpose (250)."""
    if display_name is not None and not (1 <= len(display_name) <= 64):
        raise AppError(400, "model.channel.is_valid.display_name.app_error", "Invalid display name.")
    if header is not None and len(header) > 1024:
        raise AppError(400, "model.channel.is_valid.header.app_error", "Invalid header.")
    if purpose is not None and len(purpose) > 250:
        raise AppError(400, "model.channel.is_valid.purpose.app_error", "Invalid purpose.")


def check_team_name(name: str) -> None:
    """Team name, in the order ``Team.IsValid`` checks it: length, reserved prefix, characters."""
    if len(name) > names.TEAM_NAME_MAX:
        raise AppError(400, "model.team.is_valid.url.app_error", "Invalid URL Identifier.")
    if names.is_reserved_team_name(name):
        raise AppError(400, "model.team.is_valid.reserved.app_error", "This URL is unavailable.")
    if not names.is_valid_team_name(name):
        raise AppError(400, "model.team.is_valid.characters.app_error", "Invalid name.")


def is_valid_emoji_name(name: str) -> bool:
    """``model.IsValidEmojiName`` (1-64 of ``[a-zA-Z0-9-+_]``)."""
    return names.is_valid_emoji_name(name)
