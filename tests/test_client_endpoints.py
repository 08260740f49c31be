"""Every client method's happy path, against the emulator."""

from __future__ import annotations

import pytest

from mmbridge.api import ClientAPI
from mmbridge.errors import AlreadyExistsError, NotFoundError
from mmbridge.testing.emulator import Emulator
from mmbridge.types import ChannelType, TeamID, UserID


async def test_users(emulator: Emulator, admin: ClientAPI) -> None:
    seed = emulator.seed
    me = await admin.users.me()
    assert me.id == seed.admin_user_id
    assert me.is_system_admin
    alice = await admin.users.get(seed.user_id)
    assert alice.username == seed.username
    assert (await admin.users.get_by_username(seed.username.upper())).id == seed.user_id
    both = await admin.users.get_by_ids([seed.user_id, seed.bot_user_id])
    assert {u.id for u in both} == {seed.user_id, seed.bot_user_id}
    found = await admin.users.search(seed.username[:3])
    assert seed.user_id in {u.id for u in found}

    created = await admin.users.create(
        "irc_bob", "irc_bob@bridge.invalid", "a-long-password", first_name="Bob", props={"k": "v"}
    )
    assert created.username == "irc_bob"
    assert created.props == {"k": "v"}
    with pytest.raises(AlreadyExistsError):
        await admin.users.create("irc_bob", "other@bridge.invalid", "a-long-password")
    patched = await admin.users.patch(created.id, nickname="bobby", last_name="B")
    assert (patched.nickname, patched.last_name) == ("bobby", "B")

    await admin.users.set_profile_image(created.id, PNG, filename="bob.png", content_type="image/png")
    assert (await admin.users.get(created.id)).last_picture_update > 0
    assert await admin.users.get_profile_image(created.id) == PNG

    assert (await admin.users.get_status(created.id)).status == "offline"
    status = await admin.users.update_status(created.id, "away")
    assert (status.status, status.manual) == ("away", True)
    assert (await admin.users.get_status(created.id)).status == "away"

    await admin.users.update_active(created.id, False)
    assert not (await admin.users.get(created.id)).is_active
    await admin.users.update_active(created.id, True)
    assert (await admin.users.get(created.id)).is_active


async def test_bots(emulator: Emulator, admin: ClientAPI) -> None:
    bot = await admin.bots.create("relaybot", "Relay", "relays things")
    assert bot.owner_id == emulator.seed.admin_user_id
    assert (await admin.users.get(bot.user_id)).is_bot
    assert (await admin.bots.get(bot.user_id)).display_name == "Relay"
    assert bot.user_id in {b.user_id for b in await admin.bots.list(per_page=200)}
    patched = await admin.bots.patch(bot.user_id, display_name="Relay 2")
    assert patched.display_name == "Relay 2"


async def test_tokens_act_as_their_user(emulator: Emulator, admin: ClientAPI) -> None:
    user = await admin.users.create("irc_carol", "carol@bridge.invalid", "a-long-password")
    token = await admin.tokens.create(user.id, "bridge puppet")
    assert token.token
    listed = await admin.tokens.list(user.id)
    assert [t.id for t in listed] == [token.id]
    assert listed[0].token == ""  # secrets are shown only once
    puppet = admin.as_user(token.token)
    assert (await puppet.users.me()).id == user.id
    await admin.tokens.revoke(token.id)
    assert await admin.tokens.list(user.id) == []


async def test_teams(emulator: Emulator, admin: ClientAPI) -> None:
    seed = emulator.seed
    team = await admin.teams.get(seed.team_id)
    assert (await admin.teams.get_by_name(team.name)).id == team.id
    new = await admin.teams.create("bridged", "Bridged Team")
    member = await admin.teams.add_member(new.id, seed.user_id)
    assert (member.team_id, member.user_id) == (new.id, seed.user_id)
    again = await admin.teams.add_member(new.id, seed.user_id)
    assert again.user_id == seed.user_id
    assert (await admin.teams.get_member(new.id, seed.user_id)).user_id == seed.user_id
    assert seed.user_id in {m.user_id for m in await admin.teams.get_members(new.id)}
    await admin.teams.remove_member(new.id, seed.user_id)
    members = await admin.teams.get_members(new.id)
    assert seed.user_id not in {m.user_id for m in members if m.delete_at == 0}


async def test_channels(emulator: Emulator, admin: ClientAPI) -> None:
    seed = emulator.seed
    team_id = TeamID(seed.team_id)
    channel = await admin.channels.create(team_id, "irc-libera", "#libera", purpose="bridged")
    assert channel.type == ChannelType.OPEN
    assert (await admin.channels.get(channel.id)).display_name == "#libera"
    assert (await admin.channels.get_by_name(team_id, "irc-libera")).id == channel.id
    assert channel.id in {c.id for c in await admin.channels.search(team_id, "irc")}

    member = await admin.channels.add_member(channel.id, UserID(seed.user_id))
    assert member.channel_id == channel.id
    assert (await admin.channels.get_member(channel.id, UserID(seed.user_id))).user_id == seed.user_id
    assert seed.user_id in {m.user_id for m in await admin.channels.get_members(channel.id)}
    bot_member = await admin.channels.add_members(channel.id, [UserID(seed.bot_user_id)])
    assert [m.user_id for m in bot_member] == [seed.bot_user_id]
    await admin.channels.remove_member(channel.id, UserID(seed.user_id))
    with pytest.raises(NotFoundError):
        await admin.channels.get_member(channel.id, UserID(seed.user_id))

    patched = await admin.channels.patch(channel.id, header="new header")
    assert patched.header == "new header"
    await admin.channels.delete(channel.id)
    assert (await admin.channels.get(channel.id)).delete_at > 0


async def test_direct_and_group_channels(emulator: Emulator, admin: ClientAPI) -> None:
    seed = emulator.seed
    a, b = UserID(seed.admin_user_id), UserID(seed.user_id)
    dm = await admin.channels.create_direct(a, b)
    assert dm.type == ChannelType.DIRECT
    assert dm.name == "__".join(sorted([a, b]))
    assert (await admin.channels.create_direct(b, a)).id == dm.id  # the same channel every time
    group = await admin.channels.create_group([a, b, UserID(seed.bot_user_id)])
    assert group.type == ChannelType.GROUP


async def test_posts_threads_edits_deletes(emulator: Emulator, alice: ClientAPI) -> None:
    channel_id = emulator.seed.channel_id
    root = await alice.posts.create(channel_id, "root message")
    assert root.message == "root message"
    assert root.user_id == emulator.seed.user_id
    assert root.pending_post_id  # the client always sends one
    reply = await alice.posts.create(channel_id, "a reply", root_id=root.id)
    assert reply.root_id == root.id
    thread = await alice.posts.get_thread(root.id)
    assert {p.id for p in thread.ordered()} == {root.id, reply.id}

    edited = await alice.posts.edit(reply.id, "an edited reply")
    assert edited.message == "an edited reply"
    assert edited.edit_at > 0
    pinned = await alice.posts.patch(root.id, is_pinned=True)
    assert pinned.is_pinned
    assert pinned.edit_at == 0  # pinning is not an edit of the text

    page = await alice.posts.get_for_channel(channel_id, per_page=200)
    assert page.order.index(reply.id) < page.order.index(root.id)  # newest first
    since = await alice.posts.get_for_channel(channel_id, since=root.create_at)
    assert reply.id in since.posts
    before = await alice.posts.get_for_channel(channel_id, before=reply.id)
    assert root.id in before.posts
    assert reply.id not in before.posts
    after = await alice.posts.get_for_channel(channel_id, after=root.id)
    assert reply.id in after.posts
    assert root.id not in after.posts

    await alice.posts.delete(root.id)
    with pytest.raises(NotFoundError):
        await alice.posts.get(root.id)
    with pytest.raises(NotFoundError):
        await alice.posts.get(reply.id)  # a root's replies go with it


async def test_reactions(emulator: Emulator, alice: ClientAPI) -> None:
    user_id = UserID(emulator.seed.user_id)
    post = await alice.posts.create(emulator.seed.channel_id, "react to me")
    reaction = await alice.reactions.add(user_id, post.id, "thumbsup")
    assert (reaction.user_id, reaction.post_id, reaction.emoji_name) == (user_id, post.id, "thumbsup")
    await alice.reactions.add(user_id, post.id, "+1")
    assert {r.emoji_name for r in await alice.reactions.list(post.id)} == {"thumbsup", "+1"}
    assert (await alice.posts.get(post.id)).has_reactions
    await alice.reactions.remove(user_id, post.id, "thumbsup")
    assert [r.emoji_name for r in await alice.reactions.list(post.id)] == ["+1"]


async def test_files(emulator: Emulator, alice: ClientAPI) -> None:
    channel_id = emulator.seed.channel_id
    content = b"hello, file\n" * 100
    info = await alice.files.upload(channel_id, content, "notes.txt", content_type="text/plain")
    assert (info.name, info.size, info.extension) == ("notes.txt", len(content), "txt")
    post = await alice.posts.create(channel_id, "", file_ids=[info.id])
    assert post.file_ids == [info.id]
    stored = await alice.files.get_info(info.id)
    assert stored.post_id == post.id
    assert await alice.files.download(info.id) == content


async def test_system(alice: ClientAPI) -> None:
    assert (await alice.system.ping())["status"] == "OK"
    version = await alice.system.version()
    assert version.version.count(".") == 2
    assert alice.http.server_version == version.raw


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000005000157ae7a3e0000000049454e44ae426082"
)


async def test_outgoing_webhooks(emulator: Emulator, admin: ClientAPI) -> None:
    seed = emulator.seed
    hook = await admin.webhooks.create_outgoing(
        seed.team_id, "bridge", ["http://127.0.0.1:9/hook"], channel_id=seed.channel_id
    )
    assert hook.token
    assert hook.callback_urls == ["http://127.0.0.1:9/hook"]
    assert (await admin.webhooks.get_outgoing(hook.id)).id == hook.id
    assert [h.id for h in await admin.webhooks.list_outgoing(channel_id=seed.channel_id)] == [hook.id]
    moved = await admin.webhooks.update_outgoing(hook, callback_urls=["http://127.0.0.1:9/moved"])
    assert moved.callback_urls == ["http://127.0.0.1:9/moved"]
    renewed = await admin.webhooks.regen_outgoing_token(hook.id)
    assert renewed.token != hook.token
    await admin.webhooks.delete_outgoing(hook.id)
    assert await admin.webhooks.list_outgoing(channel_id=seed.channel_id) == []


async def test_slash_commands(emulator: Emulator, admin: ClientAPI) -> None:
    seed = emulator.seed
    command = await admin.commands.create(seed.team_id, "bridge", "http://127.0.0.1:9/cmd", description="d")
    assert command.token
    assert (await admin.commands.get(command.id)).trigger == "bridge"
    assert [c.id for c in await admin.commands.list(seed.team_id)] == [command.id]
    updated = await admin.commands.update(command, description="new")
    assert updated.description == "new"
    new_token = await admin.commands.regen_token(command.id)
    assert new_token != command.token
    await admin.commands.delete(command.id)
    assert await admin.commands.list(seed.team_id) == []
