"""User preferences (flagged posts, display settings, ...): their changes and events."""

from __future__ import annotations

from ..events import EventBus
from ..models import Preference
from ..settings import EmulatorSettings
from .base import StateData

#: The category whose preferences flag posts (``model.PreferenceCategoryFlaggedPost``).
FLAGGED_POST = "flagged_post"


class PreferenceState(StateData):
    """User preferences, keyed by (user id, category, name)."""

    def __init__(self, settings: EmulatorSettings, events: EventBus) -> None:
        super().__init__(settings, events)
        self.preferences: dict[tuple[str, str, str], Preference] = {}

    def preferences_of(self, user_id: str, category: str = "") -> list[Preference]:
        """A user's preferences, of one category when given, in the order they were saved."""
        return [
            p
            for (owner, cat, _), p in self.preferences.items()
            if owner == user_id and (not category or cat == category)
        ]

    def preference(self, user_id: str, category: str, name: str) -> Preference | None:
        """One preference, or None."""
        return self.preferences.get((user_id, category, name))
