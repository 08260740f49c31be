"""User preferences (``model.Preference``): a value per user, category and name."""

from __future__ import annotations

import attrs

from .wire import Record


@attrs.define
class Preference(Record):
    """One preference of a user, e.g. category ``flagged_post`` with a post id as name."""

    user_id: str
    category: str
    name: str
    value: str = ""
