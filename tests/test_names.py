"""The product's name checks and the emulator's come from one table of the server's rules."""

from __future__ import annotations

import pytest

from mmbridge.api.validation import require_channel_name, require_team_name, require_username
from mmbridge.errors import ValidationError
from mmbridge.testing.emulator.errors import AppError
from mmbridge.testing.emulator.validation import check_channel_name, check_team_name, check_username
from mmbridge.types import names

USERNAMES = [
    "alice",
    "a",
    "Alice",
    "al.ice-_",
    "x" * 64,
    "x" * 65,
    "",
    "al ice",
    "élise",
    "system",
    "all",
    "channel",
    "matterbot",
    "here",
    "here2",
    "a@b",
]
CHANNEL_NAMES = [
    "town-square",
    "a",
    "ab",
    "a_b",
    "a__b",
    "-ab",
    "ab-",
    "A",
    "x" * 64,
    "x" * 65,
    "a b",
    "a" * 26 + "__" + "b" * 26,
    "0" * 40,
    "ab_",
]
TEAM_NAMES = [
    "test-team",
    "a",
    "ab",
    "a-b",
    "a_b",
    "a__b",
    "-ab",
    "x" * 64,
    "x" * 65,
    "api",
    "apiary",
    "signup-here",
    "boards",
    "playbooks2",
    "my-api",
    "Team",
]


def _accepts_product(check: object, value: str) -> bool:
    try:
        check("name", value)  # type: ignore[operator]
    except ValidationError:
        return False
    return True


def _accepts_emulator(check: object, *args: str) -> bool:
    try:
        check(*args)  # type: ignore[operator]
    except AppError:
        return False
    return True


@pytest.mark.parametrize("username", USERNAMES)
def test_usernames_agree(username: str) -> None:
    product = _accepts_product(require_username, username)
    emulator = _accepts_emulator(check_username, username)
    if username.lower() in names.SPECIAL_MENTIONS - names.RESTRICTED_USERNAMES:
        # The server takes "here"; the product refuses it on purpose (nobody could mention them).
        assert emulator
        assert not product
    else:
        assert product == emulator


def test_here_is_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="mention keyword"):
        require_username("username", "here")


@pytest.mark.parametrize("name", CHANNEL_NAMES)
def test_channel_names_agree(name: str) -> None:
    assert _accepts_product(require_channel_name, name) == _accepts_emulator(check_channel_name, name, "O")


@pytest.mark.parametrize("name", TEAM_NAMES)
def test_team_names_agree(name: str) -> None:
    assert _accepts_product(require_team_name, name) == _accepts_emulator(check_team_name, name)


def test_reserved_team_names_are_the_servers() -> None:
    assert names.is_reserved_team_name("apiary")  # a prefix, as IsReservedTeamName
    assert not names.is_reserved_team_name("my-api")
    with pytest.raises(AppError) as caught:
        check_team_name("playbooks")
    assert caught.value.error_id == "model.team.is_valid.reserved.app_error"
