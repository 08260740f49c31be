"""Checks run on arguments before a request is sent, so bad input never reaches the server.

Each check raises :class:`~mmbridge.errors.ValidationError` naming the argument. The limits are
the server's own (``server/public/model``): see docs/api.md for the list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, TypeVar

from ..errors import ValidationError
from ..types import names
from ..types.ids import is_valid_id

S = TypeVar("S", bound=str)

MAX_POST_RUNES: Final = 16383
MAX_FILES_PER_POST: Final = 10
MAX_PER_PAGE: Final = 200
MAX_FILE_SIZE: Final = 100 * 1024 * 1024


def require_id(field: str, value: S) -> S:
    """A Mattermost id: 26 lower-case letters and digits."""
    if not is_valid_id(value):
        raise ValidationError(field, f"{_show(value)} is not a Mattermost id (26 letters/digits)")
    return value


def require_ids(field: str, values: Iterable[S], *, minimum: int = 1, maximum: int = 1000) -> list[S]:
    """A list of ids, duplicates removed, with a size between ``minimum`` and ``maximum``."""
    if isinstance(values, str):
        raise ValidationError(field, "expected a list of ids, got a single string")
    unique = list(dict.fromkeys(values))
    for value in unique:
        require_id(field, value)
    if not minimum <= len(unique) <= maximum:
        raise ValidationError(field, f"needs {minimum} to {maximum} distinct ids, got {len(unique)}")
    return unique


def require_username(field: str, value: str) -> str:
    """A username as the server stores it: lower-cased, 1-64 of ``a-z 0-9 . - _``, not reserved.

    Beyond the server's rules, the mention keywords (``here``, ``all``, ``channel``) are refused:
    the server takes ``here`` as a username, but nobody could mention that user alone.
    """
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    lowered = value.lower()
    if not names.USERNAME.fullmatch(lowered):
        raise ValidationError(field, f"{_show(value)} must be 1-64 characters of a-z, 0-9, '.', '-', '_'")
    if lowered in names.RESTRICTED_USERNAMES:
        raise ValidationError(field, f"{_show(value)} is reserved by Mattermost")
    if lowered in names.SPECIAL_MENTIONS:
        raise ValidationError(field, f"{_show(value)} is a mention keyword (@{lowered} notifies many people)")
    return lowered


def require_channel_name(field: str, value: str) -> str:
    """A channel's URL name: 1-64 of ``a-z 0-9 - _``, starting and ending with a letter or digit."""
    if not isinstance(value, str) or not names.is_valid_channel_name(value):
        raise ValidationError(field, f"{_show(value)} must be 1-64 lower-case letters, digits, '-' or '_'")
    return value


def require_team_name(field: str, value: str) -> str:
    """A team's URL name: 2-64 of ``a-z 0-9 -``, starting and ending with a letter or digit, not
    starting with a name the server keeps (``api``, ``admin``, ``login``...)."""
    if not isinstance(value, str) or not names.is_valid_team_name(value):
        raise ValidationError(field, f"{_show(value)} must be 2-64 lower-case letters, digits or '-'")
    if names.is_reserved_team_name(value):
        raise ValidationError(field, f"{_show(value)} starts with a name Mattermost reserves")
    return value


def require_text(field: str, value: str, *, maximum: int, allow_empty: bool = True) -> str:
    """A string of at most ``maximum`` characters (Mattermost counts runes, i.e. code points)."""
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    if not allow_empty and not value.strip():
        raise ValidationError(field, "must not be empty")
    if len(value) > maximum:
        raise ValidationError(field, f"is {len(value)} characters; the server allows {maximum}")
    return value


def require_emoji_name(field: str, value: str) -> str:
    """An emoji name without colons, e.g. ``thumbsup`` or ``+1``."""
    if not isinstance(value, str) or not names.is_valid_emoji_name(value):
        raise ValidationError(field, f"{_show(value)} is not an emoji name (no colons or spaces)")
    return value


def require_page(page: int, per_page: int) -> None:
    """Pagination arguments: ``page`` >= 0, ``per_page`` 1-200 (the server's maximum)."""
    if not isinstance(page, int) or page < 0:
        raise ValidationError("page", "must be an integer >= 0")
    if not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationError("per_page", f"must be an integer from 1 to {MAX_PER_PAGE}")


def require_choice(field: str, value: str, choices: Iterable[str]) -> str:
    """One of a fixed set of strings."""
    allowed = tuple(choices)
    if value not in allowed:
        raise ValidationError(field, f"{_show(value)} must be one of {', '.join(allowed)}")
    return value


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
