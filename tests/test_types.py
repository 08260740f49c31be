"""Models read what the server sends, keep what they do not know, and refuse broken data clearly."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbridge.errors import MalformedResponseError
from mmbridge.types import (
    Channel,
    ChannelType,
    Post,
    PostList,
    ServerVersion,
    User,
    UserAccessToken,
    structure,
    structure_list,
    unstructure,
)

POST_ID = "p" * 26
OTHER_ID = "q" * 26


def test_unknown_fields_are_kept_and_written_back() -> None:
    data = {"id": POST_ID, "message": "hi", "brand_new_field": {"nested": [1, 2]}}
    post = structure(data, Post)
    assert post.extra == {"brand_new_field": {"nested": [1, 2]}}
    assert unstructure(post)["brand_new_field"] == {"nested": [1, 2]}
    assert unstructure(post)["message"] == "hi"


def test_null_means_empty_for_strings_lists_and_maps() -> None:
    post = structure({"id": POST_ID, "message": None, "file_ids": None, "props": None}, Post)
    assert post.message == ""
    assert post.file_ids == []
    assert post.props == {}


def test_missing_optional_fields_take_defaults() -> None:
    user = structure({"id": "u" * 26}, User)
    assert user.username == ""
    assert user.is_active
    assert not user.is_bot


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"message": "no id"}, "$.id"),
        ({"id": POST_ID, "create_at": "yesterday"}, "$.create_at"),
        ({"id": POST_ID, "props": ["not", "a", "map"]}, "$.props"),
        ({"id": POST_ID, "is_pinned": "yes"}, "$.is_pinned"),
        ({"id": 12345}, "$.id"),
    ],
)
def test_malformed_data_names_the_field(data: dict[str, object], where: str) -> None:
    with pytest.raises(MalformedResponseError) as caught:
        structure(data, Post)
    assert where in str(caught.value)
    assert "Post" in str(caught.value)


def test_a_list_where_an_object_belongs_is_malformed() -> None:
    with pytest.raises(MalformedResponseError):
        structure([], Post)
    with pytest.raises(MalformedResponseError):
        structure_list({"id": POST_ID}, Post)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=10,
)
post_keys = st.sampled_from(["id", "message", "create_at", "props", "file_ids", "is_pinned", "x"])


@given(st.dictionaries(post_keys, json_values) | json_values)
def test_any_json_either_reads_or_raises_malformed(data: object) -> None:
    """Whatever the server sends, the caller sees a Post or a MattermostError, nothing else."""
    try:
        post = structure(data, Post)
    except MalformedResponseError:
        return  # any other exception fails the test
    assert isinstance(post, Post)
    json.dumps(unstructure(post))


def test_post_list_orders_posts() -> None:
    older = {"id": OTHER_ID, "create_at": 1}
    newer = {"id": POST_ID, "create_at": 2}
    posts = structure({"order": [POST_ID, OTHER_ID], "posts": {POST_ID: newer, OTHER_ID: older}}, PostList)
    assert [p.id for p in posts.ordered()] == [POST_ID, OTHER_ID]
    assert [p.id for p in posts.chronological()] == [OTHER_ID, POST_ID]


def test_post_helpers() -> None:
    reply = structure({"id": POST_ID, "root_id": OTHER_ID, "props": {"from_bot": "true"}}, Post)
    assert reply.is_reply
    assert reply.thread_root_id == OTHER_ID
    assert reply.from_bot
    root = structure({"id": OTHER_ID, "type": "system_join_channel"}, Post)
    assert root.thread_root_id == OTHER_ID
    assert root.is_system


def test_channel_type_accepts_unknown_kinds() -> None:
    direct = structure({"id": "c" * 26, "type": "D"}, Channel)
    assert direct.type == ChannelType.DIRECT
    assert direct.is_direct
    future = structure({"id": "c" * 26, "type": "BO"}, Channel)
    assert future.type == "BO"
    assert not future.is_direct


def test_token_secret_is_not_in_repr() -> None:
    token = structure({"id": "t" * 26, "token": "s3cr3t-value", "user_id": "u" * 26}, UserAccessToken)
    assert token.token == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(token)
    assert "s3cr3t-value" not in str(token)


def test_server_version_parts() -> None:
    version = ServerVersion("10.11.0.10.11.0.abcdef.true")
    assert version.version == "10.11.0"
    assert version.licensed


def test_json_depth_bound_is_exact_whatever_the_brackets() -> None:
    """64 levels are read and 65 refused, with or without brackets inside strings, and a wide
    document with many brackets (but shallow) is read."""
    from mmbridge.types.safejson import MAX_DEPTH, TooDeepError, loads

    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(TooDeepError):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    with pytest.raises(TooDeepError):
        loads(("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).encode())
    assert loads('{"a": "' + "{[" * 100 + '"}') == {"a": "{[" * 100}  # brackets in a string
    wide = loads("[" + ",".join(['{"x": [1]}'] * 500) + "]")
    assert len(wide) == 500
