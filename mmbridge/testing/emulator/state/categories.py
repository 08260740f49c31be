"""Sidebar categories (``SidebarCategories`` / ``SidebarChannels``): their changes and events."""

from __future__ import annotations

import attrs

from ..errors import AppError
from ..events import Broadcast, EventBus
from ..models import DEFAULT_CATEGORIES, Channel, Preference, SidebarCategory, Team, User, dumps
from ..settings import EmulatorSettings
from .preferences import PreferenceState
from .teams import TeamState

#: ``model.PreferenceCategoryFavoriteChannel``: the Favorites category mirrors these preferences.
FAVORITE_CHANNEL = "favorite_channel"
#: ``model.MinimalSidebarSortDistance``.
SORT_DISTANCE = 10
_CATEGORY_ERROR = "app.channel.sidebar_categories.app_error"


def category_error(status: int) -> AppError:
    """The one error id the sidebar category app layer answers with."""
    return AppError(status, _CATEGORY_ERROR, "Unable to save or get the sidebar categories.")


@attrs.define
class CategoryUpdate:
    """One category of an update request (``SidebarCategoryWithChannels``), as read by a route."""

    id: str
    display_name: str = ""
    sorting: str = ""
    muted: bool = False
    collapsed: bool = False
    channel_ids: list[str] = attrs.field(factory=list)


class CategoryState(PreferenceState, TeamState):
    """Sidebar categories per user and team, created on first use as the server does."""

    def __init__(self, settings: EmulatorSettings, events: EventBus) -> None:
        super().__init__(settings, events)
        self.categories: dict[str, SidebarCategory] = {}

    def _stored_categories(self, user_id: str, team_id: str) -> list[SidebarCategory]:
        found = [c for c in self.categories.values() if c.user_id == user_id and c.team_id == team_id]
        return sorted(found, key=lambda c: c.sort_order)

    def sidebar_categories(self, user_id: str, team_id: str) -> list[SidebarCategory]:
        """The user's categories on a team in order, with their channels; the three default ones
        are made first if the user has none. Empty unless the user is on the (live) team."""
        team = self.teams.get(team_id)
        if team is None or team.delete_at or not self.is_team_member(team_id, user_id):
            return []
        if not self._stored_categories(user_id, team_id):
            self._create_default_categories(user_id, team_id)
        return [self.populated(c) for c in self._stored_categories(user_id, team_id)]

    def _create_default_categories(self, user_id: str, team_id: str) -> None:
        favorites = sorted(
            (
                self.channels[p.name]
                for p in self.preferences_of(user_id, FAVORITE_CHANNEL)
                if p.value == "true"
                and p.name in self.channels
                and self.channels[p.name].team_id in (team_id, "")
                and self.is_channel_member(p.name, user_id)
            ),
            key=lambda c: (c.display_name, c.name),
        )
        for kind, display_name, sort_order, sorting in DEFAULT_CATEGORIES:
            category = SidebarCategory(
                id=f"{kind}_{user_id}_{team_id}",
                user_id=user_id,
                team_id=team_id,
                type=kind,
                display_name=display_name,
                sort_order=sort_order,
                sorting=sorting,
                channel_ids=[c.id for c in favorites] if kind == "favorites" else [],
            )
            self.categories[category.id] = category

    def populated(self, category: SidebarCategory) -> SidebarCategory:
        """A copy with the channels the server adds on reading: the user's live channels of the
        category's kind that no category of that team holds, by display name, first."""
        if category.type not in ("channels", "direct_messages"):
            return attrs.evolve(category, channel_ids=list(category.channel_ids))
        kinds = ("O", "P") if category.type == "channels" else ("D", "G")
        placed = {
            cid for c in self._stored_categories(category.user_id, category.team_id) for cid in c.channel_ids
        }
        loose = sorted(
            (
                c
                for c in self.channels_of_user(category.user_id, category.team_id, include_deleted=False)
                if c.type in kinds and c.id not in placed and (c.type in ("D", "G") or c.team_id)
            ),
            key=lambda c: c.display_name,
        )
        return attrs.evolve(category, channel_ids=[c.id for c in loose] + list(category.channel_ids))

    def category_order(self, user_id: str, team_id: str) -> list[str]:
        """Ids of the user's categories on a team, in sidebar order."""
        return [c.id for c in self._stored_categories(user_id, team_id)]

    def _announce(self, event: str, data: dict[str, object], user_id: str, team_id: str) -> None:
        self.events.publish(event, data, Broadcast(user_id=user_id, team_id=team_id))

    def _reorder(self, order: list[str]) -> None:
        for index, category_id in enumerate(order):
            self.categories[category_id].sort_order = index * SORT_DISTANCE

    def create_category(
        self,
        user_id: str,
        team_id: str,
        display_name: str,
        *,
        sorting: str = "",
        muted: bool = False,
        channel_ids: list[str] | None = None,
    ) -> SidebarCategory:
        """A custom category, placed after Favorites when that comes first (else first); its
        channels leave their previous categories. ``sidebar_category_created`` to the user."""
        existing = self.sidebar_categories(user_id, team_id)
        if not existing:
            raise category_error(404)
        channels = list(dict.fromkeys(channel_ids or []))
        for other in self._stored_categories(user_id, team_id):
            other.channel_ids = [c for c in other.channel_ids if c not in channels]
        category = SidebarCategory(
            id="custom_" + self.ids.new_id(),
            user_id=user_id,
            team_id=team_id,
            type="custom",
            display_name=display_name,
            sorting=sorting,
            muted=muted,
            channel_ids=channels,
        )
        self.categories[category.id] = category
        order = [c.id for c in existing]
        at = 1 if existing[0].type == "favorites" else 0
        self._reorder([*order[:at], category.id, *order[at:]])
        self._announce("sidebar_category_created", {"category_id": category.id}, user_id, team_id)
        return self.populated(category)

    def update_categories(
        self, user_id: str, team_id: str, updates: list[CategoryUpdate]
    ) -> list[SidebarCategory]:
        """``UpdateSidebarCategories``: type, owner and order are kept; only custom categories
        are renamed; the Direct Messages channels are never stored. Favorites rewrite the
        ``favorite_channel`` preferences; muting a category mutes its channels."""
        originals = []
        for update in updates:
            source = self.categories.get(update.id)
            if source is None:
                # The real store fails with a 500 here (only a system admin gets this far).
                raise category_error(404)
            originals.append(attrs.evolve(source, channel_ids=list(source.channel_ids)))
        for update, original in zip(updates, originals, strict=True):
            category = self.categories[update.id]
            category.sorting = update.sorting
            category.collapsed = update.collapsed
            if category.type == "custom":
                category.display_name = update.display_name
            if category.type == "direct_messages":
                category.channel_ids = []
            else:
                category.channel_ids = list(dict.fromkeys(update.channel_ids))
                category.muted = update.muted
            self._sync_favorites(category, original)
        result = [self.populated(self.categories[u.id]) for u in updates]
        self._announce(
            "sidebar_category_updated",
            {"updatedCategories": dumps([c.to_json() for c in result])},
            user_id,
            team_id,
        )
        self._mute_for_categories(user_id, result, originals)
        return result

    def _sync_favorites(self, category: SidebarCategory, original: SidebarCategory) -> None:
        stale = original.channel_ids if category.type == "favorites" else category.channel_ids
        for channel_id in stale:
            self.preferences.pop((category.user_id, FAVORITE_CHANNEL, channel_id), None)
        if category.type == "favorites":
            for channel_id in category.channel_ids:
                self.preferences[(category.user_id, FAVORITE_CHANNEL, channel_id)] = Preference(
                    user_id=category.user_id, category=FAVORITE_CHANNEL, name=channel_id, value="true"
                )

    def _mute_for_categories(
        self, user_id: str, updated: list[SidebarCategory], originals: list[SidebarCategory]
    ) -> None:
        """``muteChannelsForUpdatedCategories``: channels of a category whose mute flipped, and
        channels moved between a muted and an unmuted category, follow the category."""
        mute: dict[str, bool] = {}
        for new, old in zip(updated, originals, strict=True):
            if new.muted != old.muted:
                mute.update(dict.fromkeys(new.channel_ids, new.muted))
        before = {cid: c for c in originals for cid in c.channel_ids}
        after = {cid: c for c in updated for cid in c.channel_ids}
        for channel_id, source in before.items():
            target = after.get(channel_id)
            if target is not None and target.id != source.id and target.muted != source.muted:
                mute[channel_id] = target.muted
        for channel_id, muted in mute.items():
            member = self.channel_members.get((channel_id, user_id))
            if member is not None:
                self.set_member_notify_props(member, {"mark_unread": "mention" if muted else "all"})

    def update_category_order(self, user_id: str, team_id: str, order: list[str]) -> None:
        """Reorder the user's categories (every one of them, once); ``..._order_updated``."""
        existing = self.category_order(user_id, team_id)
        # The real store answers a list of another length with a 500 (a plain error); 400 here.
        if len(existing) != len(order) or set(existing) != set(order):
            raise category_error(400)
        self._reorder(order)
        self._announce("sidebar_category_order_updated", {"order": list(order)}, user_id, team_id)

    def delete_category(self, user_id: str, team_id: str, category_id: str) -> None:
        """Delete a custom category (its channels fall back to Channels / Direct Messages)."""
        category = self.categories.get(category_id)
        if category is None:
            # As in update_categories: a 500 on the real server.
            raise category_error(404)
        if category.type != "custom":
            raise category_error(400)
        del self.categories[category_id]
        self._announce("sidebar_category_deleted", {"category_id": category_id}, user_id, team_id)

    def save_preferences(self, user_id: str, preferences: list[Preference]) -> None:
        """Saved ``favorite_channel`` preferences also move the channel into (``"true"``) or out
        of (``"false"``) the Favorites categories (``UpdateSidebarChannelsByPreferences``)."""
        for preference in preferences:
            if preference.category == FAVORITE_CHANNEL:
                self._favorite(user_id, preference.name, preference.value != "false")
        super().save_preferences(user_id, preferences)

    def delete_preferences(self, user_id: str, preferences: list[Preference]) -> None:
        """Deleted ``favorite_channel`` preferences take the channel out of Favorites."""
        for preference in preferences:
            if preference.category == FAVORITE_CHANNEL:
                self._favorite(user_id, preference.name, False)
        super().delete_preferences(user_id, preferences)

    def _favorite(self, user_id: str, channel_id: str, favorite: bool) -> None:
        channel = self.channels.get(channel_id)
        for category in self.categories.values():
            if category.user_id != user_id or category.type != "favorites":
                continue
            if not favorite:
                category.channel_ids = [c for c in category.channel_ids if c != channel_id]
            elif (
                channel is not None
                and channel.team_id in ("", category.team_id)
                and channel_id not in category.channel_ids
            ):
                # Newly favorited channels come first (a sort order below the others).
                category.channel_ids.insert(0, channel_id)

    def forget_channel_in_sidebars(self, channel_id: str) -> None:
        """A moved channel leaves every category (``UpdateSidebarChannelCategoryOnMove``)."""
        for category in self.categories.values():
            if channel_id in category.channel_ids:
                category.channel_ids.remove(channel_id)

    def remove_channel_member(
        self, channel: Channel, user: User, actor_id: str, *, system_post: bool = True
    ) -> None:
        """A member who leaves a channel also loses it from their categories (``RemoveMembers``
        deletes the ``SidebarChannels`` rows too)."""
        super().remove_channel_member(channel, user, actor_id, system_post=system_post)
        if not self.is_channel_member(channel.id, user.id):
            for category in self.categories.values():
                if category.user_id == user.id and channel.id in category.channel_ids:
                    category.channel_ids.remove(channel.id)

    def remove_team_member(self, team: Team, user: User, actor_id: str) -> None:
        """Leaving a team also drops the user's categories there (``ClearSidebarOnTeamLeave``)."""
        super().remove_team_member(team, user, actor_id)
        for category in self._stored_categories(user.id, team.id):
            del self.categories[category.id]
