"""The data an emulator starts with: an admin, a bot, a team, a channel and a user."""

from __future__ import annotations

from dataclasses import dataclass

from .state import State


@dataclass(frozen=True)
class Seed:
    """Ids, names and tokens of the seeded accounts (throwaway test credentials)."""

    admin_user_id: str
    admin_username: str
    admin_token: str
    bot_user_id: str
    bot_username: str
    bot_token: str
    team_id: str
    team_name: str
    channel_id: str
    channel_name: str
    user_id: str
    username: str
    token: str
    password: str


def seed_state(state: State, password: str) -> Seed:
    """Create the seed data in ``state``.

    ``sysadmin`` (system admin), bot ``bridgebot`` owned by it, team ``test-team`` with
    ``town-square`` and ``off-topic``, open channel ``bridge-test`` (admin, bot and alice are
    members) and the ordinary user ``alice``. Every account gets a personal access token.
    """
    admin = state.add_user(
        "sysadmin",
        "sysadmin@example.com",
        password=password,
        roles="system_admin system_user",
        first_name="System",
        last_name="Admin",
    )
    bot = state.add_bot("bridgebot", "Bridge Bot", "The bridge's bot account", admin.id)
    alice = state.add_user(
        "alice", "alice@example.com", password=password, first_name="Alice", last_name="Liddell"
    )
    team = state.add_team("test-team", "Test Team", "O", admin.id)
    bot_user = state.user(bot.user_id)
    state.add_team_member(team, bot_user, admin.id)
    state.add_team_member(team, alice, alice.id)
    channel = state.create_channel(team, "bridge-test", "Bridge Test", "O", admin)
    state.add_channel_member(channel, bot_user, admin.id)
    state.add_channel_member(channel, alice, alice.id)
    return Seed(
        admin_user_id=admin.id,
        admin_username=admin.username,
        admin_token=state.add_token(admin.id, "seed admin token").token,
        bot_user_id=bot.user_id,
        bot_username=bot.username,
        bot_token=state.add_token(bot.user_id, "seed bot token").token,
        team_id=team.id,
        team_name=team.name,
        channel_id=channel.id,
        channel_name=channel.name,
        user_id=alice.id,
        username=alice.username,
        token=state.add_token(alice.id, "seed user token").token,
        password=password,
    )
