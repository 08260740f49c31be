"""Typed identifiers of Mattermost objects.

Mattermost ids are 26 characters of a base32 alphabet (``model.NewId`` in the server). The NewTypes
below cost nothing at run time and let mypy catch a channel id passed where a user id belongs.
"""

from __future__ import annotations

import re
from typing import NewType

UserID = NewType("UserID", str)
TeamID = NewType("TeamID", str)
ChannelID = NewType("ChannelID", str)
PostID = NewType("PostID", str)
FileID = NewType("FileID", str)
TokenID = NewType("TokenID", str)
CommandID = NewType("CommandID", str)
WebhookID = NewType("WebhookID", str)

ID_LENGTH = 26
_ID_PATTERN = re.compile(r"[a-z0-9]{26}")


def is_valid_id(value: object) -> bool:
    """Tell whether ``value`` has the shape of a Mattermost id (26 lower-case letters and digits)."""
    return isinstance(value, str) and _ID_PATTERN.fullmatch(value) is not None
