"""Custom statuses: kept in the user's props, the recent ones in a preference."""

from __future__ import annotations

import json
from typing import Any

from ..errors import AppError
from ..models import Preference, User, dumps
from .preferences import PreferenceState
from .users import UserState

#: ``model.UserPropsKeyCustomStatus``.
CUSTOM_STATUS_PROP = "customStatus"
#: ``model.PreferenceCategoryCustomStatus`` / ``PreferenceNameRecentCustomStatuses``.
CUSTOM_STATUS_CATEGORY = "custom_status"
RECENT_CUSTOM_STATUSES = "recent_custom_statuses"
#: ``RecentCustomStatuses.Add`` keeps this many.
MAX_RECENT = 5


class StatusState(PreferenceState, UserState):
    """Setting and clearing a user's custom status, and the list of recent ones."""

    def set_custom_status(self, user: User, status: dict[str, Any]) -> None:
        """``SetCustomStatus``: the status into the user's props (``user_updated``), then to the
        front of the recent statuses (``preferences_changed``)."""
        user.props[CUSTOM_STATUS_PROP] = dumps(status)
        self.user_updated(user)
        recent = [s for s in self.recent_custom_statuses(user.id) if not _same_text(s, status)]
        self._save_recent(user.id, [status, *recent][:MAX_RECENT])

    def clear_custom_status(self, user: User) -> None:
        """``RemoveCustomStatus``: the prop becomes ``""`` (``user_updated``)."""
        user.props[CUSTOM_STATUS_PROP] = ""
        self.user_updated(user)

    def recent_custom_statuses(self, user_id: str) -> list[dict[str, Any]]:
        """The user's recent custom statuses, newest first."""
        pref = self.preference(user_id, CUSTOM_STATUS_CATEGORY, RECENT_CUSTOM_STATUSES)
        if pref is None or not pref.value:
            return []
        value = json.loads(pref.value)
        return value if isinstance(value, list) else []

    def remove_recent_custom_status(self, user_id: str, status: dict[str, Any]) -> None:
        """``RemoveRecentCustomStatus``: 400 unless that exact status is in the list."""
        pref = self.preference(user_id, CUSTOM_STATUS_CATEGORY, RECENT_CUSTOM_STATUSES)
        if pref is None:
            raise AppError(400, "app.preference.get.app_error", "Unable to get the preference.")
        recent = self.recent_custom_statuses(user_id)
        if status not in recent:
            raise AppError(
                400,
                "api.custom_status.recent_custom_statuses.delete.app_error",
                "Failed to delete the recent custom status.",
            )
        self._save_recent(user_id, [s for s in recent if s != status])

    def _save_recent(self, user_id: str, recent: list[dict[str, Any]]) -> None:
        pref = Preference(user_id, CUSTOM_STATUS_CATEGORY, RECENT_CUSTOM_STATUSES, dumps(recent))
        self.save_preferences(user_id, [pref])


def _same_text(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """``RecentCustomStatuses.Add`` replaces an entry with the same emoji and text."""
    return bool(a.get("emoji") == b.get("emoji") and a.get("text") == b.get("text"))
