"""Sidebar categories of a user on a team."""

from __future__ import annotations

import attrs

from .wire import Record

#: The types of the categories every user gets per team, with their display names and sort orders
#: (``createInitialSidebarCategoriesT``: ``DefaultSidebarSortOrder*``, sorting "" or "recent").
DEFAULT_CATEGORIES: tuple[tuple[str, str, int, str], ...] = (
    ("favorites", "Favorites", 0, ""),
    ("channels", "Channels", 10, ""),
    ("direct_messages", "Direct Messages", 20, "recent"),
)


@attrs.define
class SidebarCategory(Record):
    """``model.SidebarCategoryWithChannels``; ``channel_ids`` holds the stored ``SidebarChannels``
    (the server adds the unsorted channels to the Channels and Direct Messages categories)."""

    id: str
    user_id: str
    team_id: str
    type: str
    display_name: str
    sort_order: int = 0
    sorting: str = ""
    muted: bool = False
    collapsed: bool = False
    channel_ids: list[str] = attrs.field(factory=list)
