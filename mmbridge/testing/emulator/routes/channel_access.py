"""What the channel routes share: finding a channel the caller may see, access checks, paging."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..auth import (
    can_read_channel,
    can_view_channel,
    is_team_admin,
)
from ..errors import forbidden, not_found
from ..models import Channel, ChannelMember, User
from ..state import DEFAULT_CHANNELS, State
from .common import (
    paging,
)

DEFAULT_CHANNEL_NAMES = frozenset(name for name, _ in DEFAULT_CHANNELS)


def visible_channel(state: State, caller: User, channel_id: str) -> Channel:
    """The channel ``channel_id`` if ``caller`` may see it; 404 if it does not exist, else 403."""
    channel = state.channel(channel_id)
    if not can_view_channel(state, caller, channel.id):
        raise forbidden()
    return channel


def require_team_access(state: State, caller: User, team_id: str) -> None:
    """``list_team_channels`` / ``view_team``: members of the team, or system admins."""
    if not caller.is_admin and not state.is_team_member(team_id, caller.id):
        raise forbidden()


def require_read(state: State, caller: User, channel: Channel) -> None:
    """``read_channel`` on the channel: its members, or system admins."""
    if not can_read_channel(state, caller, channel.id):
        raise forbidden()


def by_display_name(channels: list[Channel]) -> list[Channel]:
    """The channels sorted by display name (case-insensitive), then name."""
    return sorted(channels, key=lambda c: (c.display_name.lower(), c.name))


def paged(request: web.Request, items: list[Any]) -> list[Any]:
    """The page of ``items`` the request's ``page`` and ``per_page`` ask for."""
    page, per_page = paging(request)
    return items[page * per_page : (page + 1) * per_page]


def with_team_data(state: State, channel: Channel) -> dict[str, Any]:
    """``model.ChannelWithTeamData``."""
    data = channel.to_json()
    team = state.teams.get(channel.team_id)
    data["team_display_name"] = team.display_name if team else ""
    data["team_name"] = team.name if team else ""
    data["team_update_at"] = team.update_at if team else 0
    return data


def is_channel_admin(state: State, caller: User, channel: Channel) -> bool:
    """``manage_channel_roles``: channel admins, team admins and system admins."""
    member = state.channel_members.get((channel.id, caller.id))
    if member is not None and member.scheme_admin:
        return True
    return is_team_admin(state, caller, channel.team_id)


def matches(channel: Channel, term: str) -> bool:
    """Whether the name, the display name or a word of it starts with ``term``."""
    term = term.lower()
    words = [channel.name.lower(), channel.display_name.lower(), *channel.display_name.lower().split()]
    return any(w.startswith(term) for w in words)


def member_of(state: State, user_id: str, channel_id: str) -> ChannelMember:
    """The membership of ``user_id`` in ``channel_id``, or 404 if there is none."""
    member = state.channel_members.get((channel_id, user_id))
    if member is None:
        raise not_found("app.channel.get_member.missing.app_error")
    return member
