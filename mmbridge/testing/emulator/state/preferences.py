"""User preferences (flagged posts, display settings, ...): their changes and events."""

from __future__ import annotations

import attrs

from ..events import Broadcast, EventBus
from ..models import Preference, dumps
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

    def save_preferences(self, user_id: str, preferences: list[Preference]) -> None:
        """``UpdatePreferences``: store (insert or replace) them all and tell that user."""
        for preference in preferences:
            key = (user_id, preference.category, preference.name)
            self.preferences[key] = attrs.evolve(preference, user_id=user_id)
        self._announce_preferences("preferences_changed", user_id, preferences)

    def delete_preferences(self, user_id: str, preferences: list[Preference]) -> None:
        """``DeletePreferences``: remove them (missing ones are no error) and tell that user."""
        for preference in preferences:
            self.preferences.pop((user_id, preference.category, preference.name), None)
        self._announce_preferences("preferences_deleted", user_id, preferences)

    def _announce_preferences(self, event: str, user_id: str, preferences: list[Preference]) -> None:
        # The server first announces a sidebar change (it keeps sidebars in sync with some
        # categories), then the preferences themselves as a JSON string.
        self.events.publish("sidebar_category_updated", {}, Broadcast(user_id=user_id))
        payload = dumps([p.to_json() for p in preferences])
        self.events.publish(event, {"preferences": payload}, Broadcast(user_id=user_id))
