"""Tokens and passwords never reach logs, reprs or exception text."""

from __future__ import annotations

import logging

import pytest
from conftest import FAST_RETRY

from mmbridge.api import ClientAPI
from mmbridge.errors import MattermostError
from mmbridge.testing.emulator import Emulator
from mmbridge.types import UserID


async def test_tokens_stay_out_of_logs_reprs_and_errors(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin_token = emulator.seed.admin_token
    password = "correct-horse-battery"
    async with ClientAPI.connect(emulator.url, admin_token, retry=FAST_RETRY) as admin:
        user = await admin.users.create("irc_dave", "dave@bridge.invalid", password)
        minted = await admin.tokens.create(user.id, "puppet")
        puppet = admin.as_user(minted.token)
        await puppet.users.me()
        texts = [repr(admin), repr(admin.http), repr(puppet), repr(puppet.posts), repr(minted), str(minted)]
        errors: list[MattermostError] = []
        for call in (
            lambda: puppet.users.get(UserID("z" * 26)),
            lambda: admin.users.create("irc_dave", "dave@bridge.invalid", password),
            lambda: ClientAPI(admin.http.with_token("bogus-" + admin_token)).users.me(),
            lambda: admin.users.update_active(UserID("z" * 26), True),
        ):
            with pytest.raises(MattermostError) as caught:
                await call()
            errors.append(caught.value)
    texts += [str(e) for e in errors] + [repr(e) for e in errors]
    texts += [record.getMessage() for record in caplog.records]
    assert any("GET /api/v4/users/me" in t for t in texts)  # the log does say what happened
    for secret in (admin_token, minted.token, password):
        assert not any(secret in text for text in texts)
