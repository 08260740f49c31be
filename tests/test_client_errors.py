"""Each error class comes from the right server answer, and bad arguments never leave the client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from conftest import FAST_RETRY

from mmbridge.api import ClientAPI
from mmbridge.errors import (
    BadRequestError,
    ForbiddenError,
    NotEnabledError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    UnauthorizedError,
    ValidationError,
)
from mmbridge.testing.emulator import Emulator, EmulatorSettings
from mmbridge.types import ChannelID, PostID, TeamID, UserID

MISSING = "m" * 26


async def test_401_for_a_bad_token(emulator: Emulator) -> None:
    async with ClientAPI.connect(emulator.url, "not-a-real-token", retry=FAST_RETRY) as client:
        with pytest.raises(UnauthorizedError) as caught:
            await client.users.me()
    assert caught.value.error_id == "api.context.session_expired.app_error"


async def test_403_when_a_user_lacks_permission(emulator: Emulator, alice: ClientAPI) -> None:
    with pytest.raises(ForbiddenError) as caught:
        await alice.tokens.create(UserID(emulator.seed.admin_user_id), "steal admin")
    assert caught.value.status == 403


async def test_404_for_unknown_objects(alice: ClientAPI) -> None:
    with pytest.raises(NotFoundError):
        await alice.users.get(UserID(MISSING))
    with pytest.raises(NotFoundError):
        await alice.posts.get(PostID(MISSING))
    with pytest.raises(NotFoundError):
        await alice.channels.get(ChannelID(MISSING))


async def test_400_from_the_server(emulator: Emulator, alice: ClientAPI) -> None:
    root = await alice.posts.create(emulator.seed.channel_id, "root")
    reply = await alice.posts.create(emulator.seed.channel_id, "reply", root_id=root.id)
    with pytest.raises(BadRequestError) as caught:  # threads are one level deep
        await alice.posts.create(emulator.seed.channel_id, "nested", root_id=reply.id)
    assert caught.value.error_id == "api.post.create_post.root_id.app_error"


async def test_413_for_an_upload_over_the_servers_limit(alice: ClientAPI, emulator: Emulator) -> None:
    emulator.settings.max_file_size = 1000
    with pytest.raises(PayloadTooLargeError):
        await alice.files.upload(emulator.seed.channel_id, b"x" * 2000, "big.bin")


@pytest.mark.parametrize("emulator_settings", [EmulatorSettings(enable_user_access_tokens=False)])
async def test_501_when_tokens_are_disabled(emulator: Emulator, admin: ClientAPI) -> None:
    with pytest.raises(NotEnabledError) as caught:
        await admin.tokens.create(UserID(emulator.seed.user_id), "puppet")
    assert caught.value.error_id == "app.user_access_token.disabled"


async def test_429_raises_after_too_many_waits(emulator: Emulator) -> None:
    emulator.faults.rate_limit_next(3, retry_after=0)
    policy = FAST_RETRY.__class__(max_rate_limited_attempts=2)
    async with ClientAPI.connect(emulator.url, emulator.seed.token, retry=policy) as client:
        with pytest.raises(RateLimitedError) as caught:
            await client.users.me()
    assert caught.value.retry_after == 0
    assert len(emulator.requests) == 3


async def test_429_longer_than_allowed_raises_at_once(emulator: Emulator) -> None:
    emulator.faults.rate_limit_next(1, retry_after=120)
    async with ClientAPI.connect(emulator.url, emulator.seed.token, retry=FAST_RETRY) as client:
        with pytest.raises(RateLimitedError) as caught:
            await client.users.me()
    assert caught.value.retry_after == 120


ID = "a" * 26
BadCall = Callable[[ClientAPI], Awaitable[Any]]
BAD_CALLS: list[tuple[str, BadCall, str]] = [
    ("empty id", lambda c: c.users.get(UserID("")), "user_id"),
    ("path in id", lambda c: c.users.get(UserID("../../admin")), "user_id"),
    ("bad username", lambda c: c.users.get_by_username("no spaces allowed"), "username"),
    ("reserved username", lambda c: c.users.create("all", "a@b.c", "password1"), "username"),
    ("bad email", lambda c: c.users.create("okname", "not-an-email", "password1"), "email"),
    ("unknown patch field", lambda c: c.users.patch(UserID(ID), roles="system_admin"), "roles"),
    ("empty patch", lambda c: c.bots.patch(UserID(ID)), "fields"),
    ("long message", lambda c: c.posts.create(ChannelID(ID), "x" * 16384), "message"),
    ("empty post", lambda c: c.posts.create(ChannelID(ID), ""), "message"),
    (
        "too many files",
        lambda c: c.posts.create(ChannelID(ID), "m", file_ids=[f"{i:026d}" for i in range(11)]),
        "file_ids",
    ),
    ("system post type", lambda c: c.posts.create(ChannelID(ID), "m", type="system_join_channel"), "type"),
    ("bad root", lambda c: c.posts.create(ChannelID(ID), "m", root_id="nope"), "root_id"),
    ("bad emoji", lambda c: c.reactions.add(UserID(ID), PostID(ID), ":smile:"), "emoji_name"),
    ("per_page too big", lambda c: c.posts.get_for_channel(ChannelID(ID), per_page=500), "per_page"),
    ("negative page", lambda c: c.teams.get_members(TeamID(ID), page=-1), "page"),
    (
        "since with before",
        lambda c: c.posts.get_for_channel(ChannelID(ID), since=1, before=PostID(ID)),
        "since",
    ),
    ("bad channel name", lambda c: c.channels.create(TeamID(ID), "Has Spaces", "x"), "name"),
    ("DM channel type", lambda c: c.channels.create(TeamID(ID), "okname", "x", type="D"), "type"),
    ("empty display name", lambda c: c.channels.create(TeamID(ID), "okname", " "), "display_name"),
    ("header too long", lambda c: c.channels.patch(ChannelID(ID), header="h" * 1025), "header"),
    ("group of one", lambda c: c.channels.create_group([UserID(ID)]), "user_ids"),
    ("single string ids", lambda c: c.users.get_by_ids("abc"), "user_ids"),  # type: ignore[arg-type]
    ("token without description", lambda c: c.tokens.create(UserID(ID), ""), "description"),
    ("file with a path", lambda c: c.files.upload(ChannelID(ID), b"x", "../etc/passwd"), "filename"),
    ("bad team name", lambda c: c.teams.create("A", "Team"), "name"),
]


@pytest.mark.parametrize(("case", "call", "field"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
async def test_bad_arguments_are_refused_before_any_request(
    emulator: Emulator, alice: ClientAPI, case: str, call: BadCall, field: str
) -> None:
    emulator.clear_requests()
    with pytest.raises(ValidationError) as caught:
        await call(alice)
    assert caught.value.field == field, case
    assert field in str(caught.value)
    assert emulator.requests == []
