"""WebSocket events parse into typed objects; unknown or broken ones never raise."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbridge.errors import MalformedResponseError
from mmbridge.types import (
    KNOWN_EVENT_TYPES,
    AddedToTeamEvent,
    ChannelUpdatedEvent,
    Event,
    GroupAddedEvent,
    HelloEvent,
    MalformedEvent,
    PostedEvent,
    ReactionAddedEvent,
    TypingEvent,
    UnknownEvent,
    UserRemovedEvent,
    parse_event,
)

CHANNEL = "c" * 26
USER = "u" * 26
POST = {"id": "p" * 26, "channel_id": CHANNEL, "user_id": USER, "message": "hi", "create_at": 5}


def wire(event: str, data: dict[str, Any], seq: int = 3, **broadcast: Any) -> dict[str, Any]:
    return {"event": event, "data": data, "broadcast": broadcast, "seq": seq}


def test_posted_carries_the_post_parsed_from_its_json_string() -> None:
    event = parse_event(
        wire(
            "posted",
            {
                "post": json.dumps(POST),
                "channel_type": "O",
                "channel_name": "town-square",
                "sender_name": "@alice",
                "team_id": "t" * 26,
                "mentions": json.dumps([USER]),
                "set_online": True,
            },
            channel_id=CHANNEL,
        )
    )
    assert isinstance(event, PostedEvent)
    assert event.post.message == "hi"
    assert event.post.user_id == USER
    assert event.channel_id == CHANNEL
    assert event.mentions == (USER,)
    assert event.seq == 3
    assert event.type == "posted"


def test_nested_objects_are_accepted_as_objects_too() -> None:
    event = parse_event(
        wire("reaction_added", {"reaction": {"user_id": USER, "post_id": "p" * 26, "emoji_name": "+1"}})
    )
    assert isinstance(event, ReactionAddedEvent)
    assert event.reaction.emoji_name == "+1"


@pytest.mark.parametrize(
    ("raw", "cls", "check"),
    [
        (
            wire("hello", {"connection_id": "abc", "server_version": "10.11.0"}, seq=0),
            HelloEvent,
            lambda e: e.connection_id == "abc",
        ),
        (
            wire("typing", {"user_id": USER, "parent_id": ""}, channel_id=CHANNEL, omit_users={USER: True}),
            TypingEvent,
            lambda e: (
                e.user_id == USER and e.channel_id == CHANNEL and e.broadcast.omit_users == {USER: True}
            ),
        ),
        (
            wire("channel_updated", {"channel": json.dumps({"id": CHANNEL, "header": "new"})}),
            ChannelUpdatedEvent,
            lambda e: e.channel.header == "new" and e.channel_id == CHANNEL,
        ),
        (
            wire("group_added", {"teammate_ids": json.dumps([USER, "v" * 26])}),
            GroupAddedEvent,
            lambda e: e.teammate_ids == (USER, "v" * 26),
        ),
        (
            wire("added_to_team", {"team_id": "t" * 26, "user_id": USER}),
            AddedToTeamEvent,
            lambda e: e.team_id == "t" * 26,
        ),
        (
            wire("user_removed", {"channel_id": CHANNEL, "remover_id": USER}, user_id="v" * 26),
            UserRemovedEvent,
            lambda e: e.channel_id == CHANNEL and e.user_id == "v" * 26,
        ),
    ],
)
def test_typed_payloads(raw: dict[str, Any], cls: type[Event], check: Any) -> None:
    event = parse_event(raw)
    assert isinstance(event, cls)
    assert check(event)


def test_unknown_event_types_arrive_as_unknown_events() -> None:
    event = parse_event(wire("plugin_statuses_changed", {"x": 1}))
    assert isinstance(event, UnknownEvent)
    assert event.type == "plugin_statuses_changed"
    assert event.data == {"x": 1}


@pytest.mark.parametrize(
    "raw",
    [
        wire("posted", {"post": "{not json"}),
        wire("posted", {}),
        wire("posted", {"post": json.dumps({"message": "no id"})}),
        wire("typing", {"user_id": 5}),
        wire("group_added", {"teammate_ids": "[1, 2]"}),
    ],
)
def test_broken_data_of_a_known_event_is_a_malformed_event(raw: dict[str, Any]) -> None:
    event = parse_event(raw)
    assert isinstance(event, MalformedEvent)
    assert event.type == raw["event"]
    assert event.problem


def test_a_message_without_an_event_name_is_malformed() -> None:
    with pytest.raises(MalformedResponseError):
        parse_event({"status": "OK", "seq_reply": 1})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@given(
    st.sampled_from(sorted(KNOWN_EVENT_TYPES)),
    st.dictionaries(
        st.sampled_from(["post", "user_id", "channel", "reaction", "team_id", "teammate_ids"]),
        json_values | st.text().map(json.dumps),
    ),
    json_values,
    json_values,
)
def test_any_payload_gives_an_event_never_an_exception(
    name: str, data: Any, seq: Any, broadcast: Any
) -> None:
    event = parse_event({"event": name, "data": data, "seq": seq, "broadcast": broadcast})
    assert isinstance(event, Event)
    assert event.type == name


def test_a_deeply_nested_post_is_a_malformed_event_not_a_crash() -> None:
    for post in ("[" * 100_000 + "]" * 100_000, '{"a": ' * 100 + "1" + "}" * 100):
        event = parse_event({"event": "posted", "seq": 3, "data": {"post": post}})
        assert isinstance(event, MalformedEvent)
        assert "nested" in event.problem
        assert event.seq == 3
