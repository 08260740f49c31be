"""Custom emoji and user preferences."""

from __future__ import annotations

import attrs

from .ids import UserID
from .serialization import MattermostObject


@attrs.frozen
class Emoji(MattermostObject):
    """A custom emoji of the server (system emoji such as ``smile`` are not objects)."""

    id: str
    name: str = ""
    creator_id: str = ""
    create_at: int = 0
    update_at: int = 0
    delete_at: int = 0


@attrs.frozen
class Preference(MattermostObject):
    """One preference of a user: a value under a category and a name (e.g. ``flagged_post``)."""

    user_id: UserID
    category: str
    name: str
    value: str = ""
