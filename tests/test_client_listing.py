"""The client's listing, search and common-client methods, against the emulator."""

from __future__ import annotations

import attrs
import pytest

from mmbridge.api import ClientAPI
from mmbridge.errors import NotFoundError, ValidationError
from mmbridge.testing.emulator import Emulator
from mmbridge.testing.emulator.images import default_png
from mmbridge.types import Preference, TeamID, UserID


async def test_users_list_with_the_servers_filters(emulator: Emulator, admin: ClientAPI) -> None:
    seed = emulator.seed
    outsider, _ = emulator.create_user("outsider")
    team = await admin.teams.create("other-team", "Other")
    await admin.teams.remove_member(TeamID(seed.team_id), UserID(outsider))
    everyone = {u.id for u in await admin.users.list(per_page=200)}
    assert {seed.user_id, seed.admin_user_id, outsider} <= everyone
    in_team = {u.id for u in await admin.users.list(in_team=seed.team_id, per_page=200)}
    assert seed.user_id in in_team
    assert outsider not in in_team
    assert outsider in {u.id for u in await admin.users.list(not_in_team=seed.team_id, per_page=200)}
    in_channel = {u.id for u in await admin.users.list(in_channel=seed.channel_id)}
    assert in_channel == set(emulator.state.channel_member_ids(seed.channel_id))
    assert outsider in {u.id for u in await admin.users.list(without_team=True)}
    await admin.users.update_active(UserID(outsider), False)
    assert outsider not in {u.id for u in await admin.users.list(active=True, per_page=200)}
    assert {u.id for u in await admin.users.list(active=False)} == {outsider}
    admins = await admin.users.list(role="system_admin", per_page=200)
    assert seed.admin_user_id in {u.id for u in admins}
    assert seed.user_id not in {u.id for u in admins}
    assert team.name == "other-team"
    with pytest.raises(ValidationError):
        await admin.users.list(sort="random")


async def test_users_by_email_usernames_autocomplete_and_statuses(
    emulator: Emulator, admin: ClientAPI
) -> None:
    seed = emulator.seed
    alice = await admin.users.get(UserID(seed.user_id))
    assert (await admin.users.get_by_email(alice.email)).id == seed.user_id
    with pytest.raises(NotFoundError):
        await admin.users.get_by_email("nobody@example.com")
    found = await admin.users.get_by_usernames([seed.username, "no-such-user"])
    assert [u.id for u in found] == [seed.user_id]
    suggestions = await admin.users.autocomplete(seed.username[:2], team_id=seed.team_id)
    assert seed.user_id in {u.id for u in suggestions.users}
    in_channel = await admin.users.autocomplete(
        seed.username[:2], team_id=seed.team_id, channel_id=seed.channel_id
    )
    assert seed.user_id in {u.id for u in in_channel.users}
    await admin.users.update_status(UserID(seed.user_id), "dnd")
    statuses = await admin.users.get_statuses([seed.user_id, seed.admin_user_id])
    assert {s.user_id: s.status for s in statuses}[seed.user_id] == "dnd"


async def test_teams_list_for_user_and_search(emulator: Emulator, admin: ClientAPI, alice: ClientAPI) -> None:
    seed = emulator.seed
    other = await admin.teams.create("second-team", "Second")
    assert {seed.team_id, other.id} <= {t.id for t in await admin.teams.list()}
    mine = await alice.teams.for_user(UserID("me"))
    assert [t.id for t in mine] == [seed.team_id]
    assert [t.id for t in await admin.teams.search("second")] == [other.id]


async def test_channels_for_user_public_by_team_name_view_and_pinned(
    emulator: Emulator, admin: ClientAPI, alice: ClientAPI
) -> None:
    seed = emulator.seed
    mine = {c.id for c in await alice.channels.for_user(UserID("me"), TeamID(seed.team_id))}
    assert seed.channel_id in mine
    public = {c.id for c in await alice.channels.public(TeamID(seed.team_id))}
    assert seed.channel_id in public
    channel = await alice.channels.get_by_team_name(seed.team_name, seed.channel_name)
    assert channel.id == seed.channel_id
    post = await admin.posts.create(seed.channel_id, "read me")
    viewed = await alice.channels.view(UserID("me"), seed.channel_id)
    assert viewed["status"] == "OK"
    member = emulator.state.channel_members[(seed.channel_id, seed.user_id)]
    assert member.last_viewed_at >= post.create_at
    await admin.posts.pin(post.id)
    pinned = await alice.channels.get_pinned(seed.channel_id)
    assert pinned.order == [post.id]
    await admin.posts.unpin(post.id)
    assert (await alice.channels.get_pinned(seed.channel_id)).order == []


async def test_posts_search_by_ids_and_ephemeral(
    emulator: Emulator, admin: ClientAPI, alice: ClientAPI
) -> None:
    seed = emulator.seed
    first = await alice.posts.create(seed.channel_id, "the quick brown fox")
    second = await admin.posts.create(seed.channel_id, "a lazy dog")
    found = await alice.posts.search(TeamID(seed.team_id), "quick")
    assert found.order == [first.id]
    assert (await alice.posts.search(TeamID(seed.team_id), '"brown fox"')).order == [first.id]
    assert (await alice.posts.search(TeamID(seed.team_id), f"from:{seed.admin_username} dog")).order == [
        second.id
    ]
    both = await alice.posts.get_by_ids([first.id, second.id])
    assert {p.id for p in both} == {first.id, second.id}
    ephemeral = await admin.posts.create_ephemeral(UserID(seed.user_id), seed.channel_id, "only you")
    assert ephemeral.message == "only you"
    assert ephemeral.id not in emulator.state.posts
    sent = emulator.events.of_type("ephemeral_message")
    assert [e.broadcast.user_id for e in sent] == [seed.user_id]


async def test_incoming_webhooks(emulator: Emulator, admin: ClientAPI) -> None:
    seed = emulator.seed
    hook = await admin.webhooks.create_incoming(seed.channel_id, display_name="Alerts")
    assert hook.channel_id == seed.channel_id
    assert (await admin.webhooks.get_incoming(hook.id)).display_name == "Alerts"
    assert hook.id in {h.id for h in await admin.webhooks.list_incoming(team_id=seed.team_id)}
    renamed = await admin.webhooks.update_incoming(attrs.evolve(hook, display_name="Pager"))
    assert renamed.display_name == "Pager"
    await admin.webhooks.delete_incoming(hook.id)
    with pytest.raises(NotFoundError):
        await admin.webhooks.get_incoming(hook.id)


async def test_custom_emoji(emulator: Emulator, admin: ClientAPI, alice: ClientAPI) -> None:
    seed = emulator.seed
    png = default_png()
    created = await alice.emoji.create("party-parrot", png, UserID(seed.user_id))
    assert created.name == "party-parrot"
    assert created.creator_id == seed.user_id
    assert (await admin.emoji.get(created.id)).name == "party-parrot"
    assert (await admin.emoji.get_by_name("party-parrot")).id == created.id
    assert [e.id for e in await admin.emoji.get_by_names(["party-parrot", "nope"])] == [created.id]
    assert created.id in {e.id for e in await admin.emoji.list(sort_by_name=True)}
    assert await admin.emoji.get_image(created.id) == png
    with pytest.raises(ValidationError):
        await alice.emoji.create("bad name", png, UserID(seed.user_id))
    await alice.emoji.delete(created.id)
    with pytest.raises(NotFoundError):
        await admin.emoji.get(created.id)


async def test_preferences(emulator: Emulator, alice: ClientAPI) -> None:
    me = UserID(emulator.seed.user_id)
    flag = Preference(me, "display_settings", "use_military_time", "true")
    await alice.preferences.save(me, [flag])
    assert flag in await alice.preferences.get(UserID("me"), "display_settings")
    assert (await alice.preferences.get_one(me, "display_settings", "use_military_time")).value == "true"
    sent = emulator.events.of_type("preferences_changed")
    assert [e.broadcast.user_id for e in sent] == [me]
    await alice.preferences.delete(me, [flag])
    assert flag not in await alice.preferences.get(me)
