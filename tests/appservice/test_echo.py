"""The echo filter decides by user id: a person whose name fits the puppet template is bridged,
and a puppet renamed on the server is still recognised."""

from __future__ import annotations

from mmbridge.appservice import EchoFilter, MemoryStateStore, PuppetRecord
from mmbridge.types import OutgoingWebhookEvent, Post, PostedEvent, structure
from mmbridge.types.events import Broadcast

BOT = "b" * 26
PUPPET = "p" * 26
PERSON = "h" * 26


def posted(user_id: str, sender: str, props: dict[str, str] | None = None) -> PostedEvent:
    post = structure({"id": "x" * 26, "channel_id": "c" * 26, "user_id": user_id, "props": props or {}}, Post)
    return PostedEvent(post=post, sender_name=f"@{sender}", broadcast=Broadcast(channel_id="c" * 26))


async def make_filter() -> EchoFilter:
    store = MemoryStateStore()
    await store.put_puppet(PuppetRecord(user_id=PUPPET, username="irc_alice", token="t"))
    return EchoFilter(bridge_id="irc", bot_user_id=BOT, store=store)


async def test_a_person_whose_name_fits_the_template_is_not_an_echo() -> None:
    echoes = await make_filter()
    assert not await echoes(posted(PERSON, "irc_bob"))  # a real user called irc_bob
    hook = OutgoingWebhookEvent(token="t", post_id="x" * 26, user_id=PERSON, user_name="irc_bob")
    assert not await echoes(hook)


async def test_puppets_the_bot_and_stamped_posts_are_echoes_whatever_their_name() -> None:
    echoes = await make_filter()
    assert await echoes(posted(PUPPET, "renamed_by_an_admin"))  # a puppet renamed on the server
    assert await echoes(posted(BOT, "bridgebot"))
    assert await echoes(posted(PERSON, "alice", props={"from_mmbridge": "irc"}))  # double-puppeted
    assert not await echoes(posted(PERSON, "alice", props={"from_mmbridge": "another-bridge"}))
