"""The server's rules for names (``server/public/model``): one table for the client and the emulator.

Both the product's argument checks (:mod:`mmbridge.api.validation`) and the emulator's validation
read these, so they cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Final

#: ``model.validUsernameChars``, at most ``UserNameMaxLength`` (64) characters.
USERNAME: Final = re.compile(r"[a-z0-9.\-_]{1,64}")
#: ``model.restrictedUsernames``: names ``IsValidUsername`` refuses.
RESTRICTED_USERNAMES: Final = frozenset({"all", "channel", "matterbot", "system"})
#: Mention keywords the server expands to many people (``@all``, ``@channel``, ``@here``). The
#: server lets a user be called ``here``; nobody could then mention them alone.
SPECIAL_MENTIONS: Final = frozenset({"all", "channel", "here"})

#: ``model.IsValidChannelIdentifier``: lower-case letters, digits, ``-`` and ``_``, starting and
#: ending with a letter or digit (``__`` only as in DM names), 1 to ``ChannelNameMaxLength`` (64).
CHANNEL_NAME: Final = re.compile(r"[a-z0-9]+(?:[a-z\-_0-9]+|(?:__)?)[a-z0-9]*")
CHANNEL_NAME_MAX: Final = 64
#: Names of direct and group channels, which O and P channels may not take.
DIRECT_CHANNEL_NAME: Final = re.compile(r"[a-z0-9]{26}__[a-z0-9]{26}")
GROUP_CHANNEL_NAME: Final = re.compile(r"[a-f0-9]{40}")

#: ``model.IsValidTeamName``: ``isValidAlphaNum``, 2 to ``TeamNameMaxLength`` (64) characters.
TEAM_NAME: Final = re.compile(r"[a-z0-9]+(?:[a-z\-0-9]+|(?:__)?)[a-z0-9]+")
TEAM_NAME_MIN: Final = 2
TEAM_NAME_MAX: Final = 64
#: ``model.reservedName``: a team name may not start with one of these (``IsReservedTeamName``).
RESERVED_TEAM_NAME_PREFIXES: Final = (
    "admin",
    "api",
    "channel",
    "claim",
    "error",
    "files",
    "help",
    "landing",
    "login",
    "mfa",
    "oauth",
    "plug",
    "plugins",
    "post",
    "signup",
    "boards",
    "playbooks",
)

#: ``model.IsValidEmojiName``: 1-64 of letters, digits, ``-``, ``+`` and ``_``.
EMOJI_NAME: Final = re.compile(r"[a-zA-Z0-9\-+_]{1,64}")


def is_valid_username(name: str) -> bool:
    """Whether the server accepts ``name`` (already lower-cased) as a username."""
    return bool(USERNAME.fullmatch(name)) and name not in RESTRICTED_USERNAMES


def is_valid_channel_name(name: str) -> bool:
    """Whether the server accepts ``name`` as the URL name of an open or private channel."""
    if not 1 <= len(name) <= CHANNEL_NAME_MAX or not CHANNEL_NAME.fullmatch(name):
        return False
    return not (DIRECT_CHANNEL_NAME.fullmatch(name) or GROUP_CHANNEL_NAME.fullmatch(name))


def is_valid_team_name(name: str) -> bool:
    """Whether the server accepts ``name`` as a team's URL name (reserved prefixes aside)."""
    return TEAM_NAME_MIN <= len(name) <= TEAM_NAME_MAX and bool(TEAM_NAME.fullmatch(name))


def is_reserved_team_name(name: str) -> bool:
    """``IsReservedTeamName``: whether ``name`` starts with a name the server keeps for itself."""
    return name.lower().startswith(RESERVED_TEAM_NAME_PREFIXES)


def is_valid_emoji_name(name: str) -> bool:
    """Whether ``name`` is an emoji name (without colons)."""
    return bool(EMOJI_NAME.fullmatch(name))
