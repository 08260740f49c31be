"""Intents make a puppet able to act lazily and once; the steady state is one request a message."""

from __future__ import annotations

import asyncio

import pytest

from mmbridge.api import ClientAPI
from mmbridge.appservice import (
    BRIDGE_PROP,
    PUPPET_MARKER,
    AppServiceAPI,
    IntentError,
    MemoryStateStore,
    NotInNamespaceError,
    PuppetConflictError,
    StateStore,
)
from mmbridge.testing.emulator import Emulator
from mmbridge.types import ChannelID, TeamID, UserID

from .conftest import make_appservice

FIRST_MESSAGE = [
    ("POST", "/api/v4/users"),
    ("POST", "/api/v4/users/{user_id}/tokens"),
    ("POST", "/api/v4/teams/{team_id}/members"),
    ("POST", "/api/v4/channels/{channel_id}/members"),
    ("POST", "/api/v4/posts"),
]


def calls(emulator: Emulator) -> list[tuple[str, str | None]]:
    return [(r.method, r.route) for r in emulator.requests]


async def test_first_message_sets_up_the_puppet_then_one_request_each(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    channel = emulator.seed.channel_id
    emulator.clear_requests()
    intent = appservice.puppet("alice")
    post = await intent.send_text(channel, "hello *world*")
    assert calls(emulator) == FIRST_MESSAGE
    user = emulator.state.users[post.user_id]
    assert user.username == "irc_alice"
    assert post.message == "hello \\*world\\*"  # plain text shows as written
    assert post.props[BRIDGE_PROP] == "irc"

    emulator.clear_requests()
    await intent.send_text(channel, "second")
    await appservice.puppet("alice").send_markdown(channel, "third, **bold**")
    assert calls(emulator) == [("POST", "/api/v4/posts")] * 2


async def test_puppet_accounts_are_marked_and_unusable_for_login(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    intent = appservice.puppet("bob")
    await intent.ensure_registered()
    user = emulator.state.users[intent.user_id]
    assert user.props[PUPPET_MARKER] == "irc"
    assert user.email.endswith(".invalid")


async def test_fifty_concurrent_first_messages_make_one_user_and_one_token(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    emulator.clear_requests()
    intent = appservice.puppet("carol")
    posts = await asyncio.gather(*(intent.send_text(emulator.seed.channel_id, f"m{n}") for n in range(50)))
    assert len({p.id for p in posts}) == 50
    made = calls(emulator)
    assert made.count(("POST", "/api/v4/users")) == 1
    assert made.count(("POST", "/api/v4/users/{user_id}/tokens")) == 1
    assert made.count(("POST", "/api/v4/teams/{team_id}/members")) == 1
    assert made.count(("POST", "/api/v4/channels/{channel_id}/members")) == 1
    assert made.count(("POST", "/api/v4/posts")) == 50
    assert sum(1 for u in emulator.state.users.values() if u.username == "irc_carol") == 1


async def test_restart_with_the_same_store_recreates_nothing(
    emulator: Emulator, store_url: str, bridge_bot: tuple[str, str]
) -> None:
    if store_url == "memory://":
        pytest.skip("a memory store does not outlive its process")
    from mmbridge.appservice import create_state_store

    first_ids: list[str] = []
    for run in range(2):
        store = create_state_store(store_url, owner="mmbridge-tests", bridge_id="tests")
        await store.start()
        appservice = make_appservice(emulator, store, bridge_bot[1])
        await appservice.start()
        emulator.clear_requests()
        post = await appservice.puppet("dave").send_text(emulator.seed.channel_id, f"run {run}")
        first_ids.append(post.pending_post_id)
        if run == 1:
            assert calls(emulator) == [("POST", "/api/v4/posts")]
        await appservice.close()
        await store.stop()
    assert first_ids[0] != first_ids[1]  # the counter continues across restarts


async def test_intents_outside_the_namespace_are_refused(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    with pytest.raises(NotInNamespaceError):
        appservice.intent(username=emulator.seed.username)  # alice is a real person
    stranger = appservice.intent(user_id=emulator.seed.user_id)
    with pytest.raises(NotInNamespaceError):
        await stranger.send_text(emulator.seed.channel_id, "pretending to be alice")
    assert appservice.intent(username="IRC_Someone").username == "irc_someone"
    assert appservice.bot_intent().kind == "bot"


async def test_a_puppet_removed_behind_the_bridges_back_rejoins_on_next_send(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    channel = ChannelID(emulator.seed.channel_id)
    intent = appservice.puppet("erin")
    await intent.send_text(channel, "before")
    await appservice.bot.channels.remove_member(channel, intent.user_id)
    emulator.clear_requests()
    post = await intent.send_text(channel, "after")
    assert post.channel_id == channel
    assert calls(emulator) == [
        ("POST", "/api/v4/posts"),  # 403: not a member any more
        ("POST", "/api/v4/channels/{channel_id}/members"),
        ("POST", "/api/v4/posts"),
    ]
    assert [r.status for r in emulator.requests] == [403, 201, 201]


async def test_a_revoked_token_is_replaced(
    emulator: Emulator, appservice: AppServiceAPI, store: StateStore
) -> None:
    intent = appservice.puppet("frank")
    await intent.send_text(emulator.seed.channel_id, "before")
    record = await store.get_puppet(intent.user_id)
    assert record is not None
    await appservice.bot.tokens.revoke(record.token_id)
    await intent.send_text(emulator.seed.channel_id, "after")
    renewed = await store.get_puppet(intent.user_id)
    assert renewed is not None
    assert renewed.token != record.token


async def test_profile_is_sent_only_when_it_changes(emulator: Emulator, appservice: AppServiceAPI) -> None:
    intent = appservice.puppet("gina")
    assert await intent.set_display_name("Gina G.")
    emulator.clear_requests()
    assert not await intent.set_display_name("Gina G.")
    assert emulator.requests == []
    assert await intent.set_display_name("Gina Green")
    assert emulator.state.users[intent.user_id].nickname == "Gina Green"
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    assert await intent.set_avatar(png, content_type="image/png")
    emulator.clear_requests()
    assert not await intent.set_avatar(png, content_type="image/png")
    assert emulator.requests == []


async def test_replies_edits_deletes_reactions_files_and_typing(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    channel = emulator.seed.channel_id
    intent = appservice.puppet("hank")
    root = await intent.send_text(channel, "root")
    reply = await intent.reply(root, "reply")
    nested = await intent.reply(reply, "reply to the reply")
    assert reply.root_id == root.id
    assert nested.root_id == root.id  # threads are one level deep
    by_id = await intent.reply(root.id, "reply by id")
    assert by_id.root_id == root.id
    edited = await intent.edit(reply.id, "edited reply")
    assert edited.message == "edited reply"
    await intent.react(root.id, "tada")
    assert [r.emoji_name for r in await appservice.bot.reactions.list(root.id)] == ["tada"]
    await intent.unreact(root.id, "tada")
    file_post = await intent.send_file(channel, b"data", "data.bin", message="a file")
    assert len(file_post.file_ids) == 1
    await intent.typing(channel)
    typing = emulator.events.of_type("typing")
    assert typing[-1].data["user_id"] == intent.user_id
    await intent.delete(root.id)
    assert emulator.state.posts[root.id].delete_at > 0


async def test_dms_groups_and_leaving(emulator: Emulator, appservice: AppServiceAPI) -> None:
    seed = emulator.seed
    intent = appservice.puppet("ivy")
    dm = await intent.create_dm(seed.user_id)
    emulator.clear_requests()
    await intent.send_text(dm.id, "hi in private")
    assert calls(emulator) == [("POST", "/api/v4/posts")]  # no join attempt for a DM
    group = await intent.create_group([seed.user_id, seed.admin_user_id])
    await intent.send_text(group.id, "hi, group")
    await intent.send_text(seed.channel_id, "public")
    await intent.leave(seed.channel_id)
    assert not emulator.state.is_channel_member(seed.channel_id, intent.user_id)


async def test_a_channel_in_another_team_is_joined_through_its_team(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    other_team = await appservice.bot.teams.create("elsewhere", "Elsewhere")
    channel = await appservice.bot.channels.create(other_team.id, "far-away", "Far away")
    post = await appservice.puppet("jack").send_text(channel.id, "found it")
    assert post.channel_id == channel.id
    assert emulator.state.is_team_member(other_team.id, post.user_id)


async def test_a_username_taken_by_someone_else_is_a_conflict(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    emulator.create_user("irc_kate")  # a human registered the name first
    with pytest.raises(PuppetConflictError):
        await appservice.puppet("kate").send_text(emulator.seed.channel_id, "hi")


async def test_a_lost_store_adopts_the_bridges_own_puppet(
    emulator: Emulator, appservice: AppServiceAPI, bridge_bot: tuple[str, str]
) -> None:
    first = await appservice.puppet("liam").send_text(emulator.seed.channel_id, "before")
    from mmbridge.appservice import MemoryStateStore

    fresh = make_appservice(emulator, MemoryStateStore(), bridge_bot[1])
    await fresh.start()
    again = await fresh.puppet("liam").send_text(emulator.seed.channel_id, "after")
    await fresh.close()
    assert again.user_id == first.user_id


async def test_bot_puppets(emulator: Emulator, store: StateStore) -> None:
    appservice = make_appservice(emulator, store, emulator.seed.admin_token, puppet_kind="bot")
    await appservice.start()
    post = await appservice.puppet("mona").send_text(emulator.seed.channel_id, "beep")
    await appservice.close()
    assert emulator.state.users[post.user_id].is_bot
    assert post.props.get("from_bot") == "true"


async def test_double_puppeting_uses_the_real_users_token_and_stamps_posts(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    seed = emulator.seed
    real = await appservice.real_user(seed.user_id, seed.token)
    post = await real.send_text(seed.channel_id, "from my other client")
    assert post.user_id == seed.user_id
    assert post.props[BRIDGE_PROP] == "irc"
    again = appservice.intent(user_id=seed.user_id)
    assert (await again.send_text(seed.channel_id, "again")).user_id == seed.user_id
    with pytest.raises(IntentError):
        await real.set_display_name("not allowed")
    with pytest.raises(IntentError):
        await appservice.real_user(seed.user_id, seed.admin_token)


async def test_children_share_one_transaction_counter(emulator: Emulator, appservice: AppServiceAPI) -> None:
    posts = await asyncio.gather(
        *(appservice.puppet(f"p{n}").send_text(emulator.seed.channel_id, "x") for n in range(5)),
        appservice.bot_intent().send_text(emulator.seed.channel_id, "bot"),
    )
    pending = [p.pending_post_id for p in posts]
    assert len(set(pending)) == len(pending)
    assert all(p.startswith("mmbridge:irc:") for p in pending)
    assert TeamID(emulator.seed.team_id) == appservice.team_id
    assert UserID(appservice.bot_user_id)


class CountingStore(MemoryStateStore):
    """A memory store that counts membership reads (to see what the hot path asks)."""

    def __init__(self) -> None:
        super().__init__()
        self.membership_reads = 0

    async def is_channel_member(self, channel_id: str, user_id: str) -> bool:
        self.membership_reads += 1
        return await super().is_channel_member(channel_id, user_id)


async def test_warm_sends_do_not_ask_the_store_and_stale_memberships_still_heal(
    emulator: Emulator, bridge_bot: tuple[str, str]
) -> None:
    store = CountingStore()
    appservice = make_appservice(emulator, store, bridge_bot[1])
    await appservice.start()
    intent = appservice.puppet("nora")
    channel = ChannelID(emulator.seed.channel_id)
    await intent.send_text(channel, "first")
    reads = store.membership_reads
    for n in range(5):
        await intent.send_text(channel, f"warm {n}")
    assert store.membership_reads == reads
    await appservice.bot.channels.remove_member(channel, intent.user_id)
    emulator.clear_requests()
    await intent.send_text(channel, "after removal")
    assert [r.status for r in emulator.requests] == [403, 201, 201]
    await appservice.close()


async def test_a_puppet_posts_in_a_dm_someone_else_opened(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    puppet = appservice.puppet("olga")
    await puppet.ensure_registered()
    async with ClientAPI.connect(emulator.url, emulator.seed.token) as alice:
        dm = await alice.channels.create_direct(UserID(emulator.seed.user_id), puppet.user_id)
    post = await puppet.send_text(dm.id, "hello, alice")
    assert post.channel_id == dm.id
    emulator.clear_requests()
    await puppet.send_text(dm.id, "again")
    assert calls(emulator) == [("POST", "/api/v4/posts")]


async def test_concurrent_401s_mint_one_new_token(
    emulator: Emulator, appservice: AppServiceAPI, store: StateStore
) -> None:
    puppet = appservice.puppet("pete")
    await puppet.send_text(emulator.seed.channel_id, "before")
    record = await store.get_puppet(puppet.user_id)
    assert record is not None
    await appservice.bot.tokens.revoke(record.token_id)
    emulator.clear_requests()
    await asyncio.gather(*(puppet.send_text(emulator.seed.channel_id, f"after {n}") for n in range(10)))
    assert calls(emulator).count(("POST", "/api/v4/users/{user_id}/tokens")) == 1
    assert len(await appservice.bot.tokens.list(puppet.user_id)) == 1


async def test_a_person_who_sets_the_marker_prop_is_not_adopted(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    user_id, token = emulator.create_user("irc_quinn")
    async with ClientAPI.connect(emulator.url, token) as quinn:
        await quinn.users.patch(UserID(user_id), props={PUPPET_MARKER: "irc"})
    with pytest.raises(PuppetConflictError):
        await appservice.puppet("quinn").send_text(emulator.seed.channel_id, "hi")


async def test_client_for_a_known_puppet_or_real_user_only(
    emulator: Emulator, appservice: AppServiceAPI
) -> None:
    puppet = appservice.puppet("rita")
    await puppet.ensure_registered()
    client = await appservice.client_for(puppet.user_id)
    assert (await client.users.me()).username == "irc_rita"
    with pytest.raises(NotInNamespaceError):
        await appservice.client_for(emulator.seed.user_id)
