"""Field validation rules of the real server (``model.User.IsValid``, ``model.Channel``...)."""

from __future__ import annotations

import re

from .errors import AppError

_USERNAME_RE = re.compile(r"^[a-z0-9.\-_]+$")
_RESERVED_USERNAMES = frozenset({"all", "channel", "matterbot", "system"})
_CHANNEL_NAME_RE = re.compile(r"^[a-z0-9]+([a-z\-_0-9]+|(__)?)[a-z0-9]*$")
_DM_NAME_RE = re.compile(r"^[a-z0-9]{26}__[a-z0-9]{26}$")
_GM_NAME_RE = re.compile(r"^[a-f0-9]{40}$")
_EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+$")
_EMOJI_RE = re.compile(r"^[a-zA-Z0-9\-+_]+$")


def check_username(username: str) -> str:
    """Lower-case and validate a username; returns it or raises 400."""
    name = username.lower()
    if not (1 <= len(name) <= 64) or not _USERNAME_RE.match(name) or name in _RESERVED_USERNAMES:
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
    ok = 1 <= len(name) <= 64 and bool(_CHANNEL_NAME_RE.match(name))
    if channel_type in ("O", "P") and (_DM_NAME_RE.match(name) or _GM_NAME_RE.match(name)):
        ok = False
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
    """Team name: 2-64 chars, the channel name pattern."""
    if not (2 <= len(name) <= 64) or not _CHANNEL_NAME_RE.match(name):
        raise AppError(400, "model.team.is_valid.name.app_error", "Invalid name.")


def is_valid_emoji_name(name: str) -> bool:
    """``model.IsValidEmojiName`` (1-64 of ``[a-zA-Z0-9-+_]``)."""
    return 1 <= len(name) <= 64 and bool(_EMOJI_RE.match(name))
