"""AppError JSON becomes the right exception, with status and id kept."""

from __future__ import annotations

import json

import pytest

from mmbridge.errors import (
    AlreadyExistsError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    MattermostError,
    NotEnabledError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
    error_from_response,
)


def app_error(error_id: str, message: str = "msg", status: int = 400) -> bytes:
    return json.dumps(
        {
            "id": error_id,
            "message": message,
            "detailed_error": "",
            "request_id": "req1",
            "status_code": status,
        }
    ).encode()


@pytest.mark.parametrize(
    ("status", "error_id", "cls"),
    [
        (400, "api.context.invalid_body_param.app_error", BadRequestError),
        (401, "api.context.session_expired.app_error", UnauthorizedError),
        (403, "api.context.permissions.app_error", ForbiddenError),
        (404, "app.user.missing_account.const", NotFoundError),
        (409, "some.conflict", ConflictError),
        (413, "api.context.request_body_too_large.app_error", PayloadTooLargeError),
        (501, "app.user_access_token.disabled", NotEnabledError),
        (500, "app.something.app_error", ServerError),
        (503, "", ServerError),
        (418, "", BadRequestError),
    ],
)
def test_status_picks_the_class(status: int, error_id: str, cls: type[MattermostError]) -> None:
    error = error_from_response(status, app_error(error_id, status=status), method="GET", path="/x")
    assert type(error) is cls
    assert error.status == status
    assert error.error_id == error_id
    assert error.request_id == "req1"


@pytest.mark.parametrize(
    "error_id",
    ["app.user.save.username_exists.app_error", "store.sql_channel.save_channel.exists.app_error"],
)
def test_duplicates_are_already_exists_whatever_the_status(error_id: str) -> None:
    error = error_from_response(400, app_error(error_id))
    assert isinstance(error, AlreadyExistsError)
    assert isinstance(error, BadRequestError)
    assert isinstance(error, ConflictError)


def test_plain_text_429_keeps_retry_after() -> None:
    error = error_from_response(429, b"limit exceeded\n", retry_after=3.0)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 3.0
    assert error.message == "limit exceeded"


@pytest.mark.parametrize("body", [b"", b"<html>Bad Gateway</html>", b"{not json", b"[1,2]", b"null"])
def test_bodies_that_are_not_app_errors_still_give_a_clear_error(body: bytes) -> None:
    error = error_from_response(502, body, method="POST", path="/api/v4/posts")
    assert isinstance(error, ServerError)
    text = str(error)
    assert "HTTP 502" in text
    assert "POST /api/v4/posts" in text


def test_message_shows_what_went_wrong() -> None:
    error = error_from_response(
        403,
        app_error("api.context.permissions.app_error", "You do not have permission", 403),
        method="DELETE",
        path="/api/v4/posts/abc",
    )
    assert str(error) == (
        "You do not have permission (HTTP 403, api.context.permissions.app_error, request req1) "
        "[DELETE /api/v4/posts/abc]"
    )
    assert "ForbiddenError" in repr(error)
