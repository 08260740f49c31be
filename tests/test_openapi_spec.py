"""Tests that the OpenAPI validator in ``openapi_spec`` both passes and fails responses."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest
from openapi_spec import OpenAPISpec, assert_responses_match_spec, find_spec_dir

SPEC_DIR = find_spec_dir()
if SPEC_DIR is None:
    _reason = (
        "Mattermost OpenAPI spec not found: set MMBRIDGE_OPENAPI_DIR or provide "
        "../shared/reference/mattermost-openapi next to the repository"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(_reason, pytrace=False)
    pytest.skip(_reason, allow_module_level=True)

JSON = "application/json"
USER = "/api/v4/users/{user_id}"
VALID_USER: dict[str, Any] = {
    "id": "u1xxxxxxxxxxxxxxxxxxxxxxxx",
    "create_at": 1700000000000,
    "username": "alice",
    "email": "alice@example.com",
    "roles": "system_user",
    "props": {},
    "notify_props": {"email": "true"},
    "timezone": {"useAutomaticTimezone": "true"},
}
VALID_POST: dict[str, Any] = {
    "id": "p1",
    "create_at": 1,
    "user_id": "u1",
    "channel_id": "c1",
    "message": "hello",
    "props": {},
}


@dataclass
class Record:
    """A minimal recorded exchange, as the emulator's recorder would give."""

    method: str
    route: str | None
    status: int
    body: bytes
    content_type: str = JSON


@pytest.fixture(scope="module")
def spec() -> OpenAPISpec:
    """The spec, loaded once per process."""
    assert SPEC_DIR is not None
    return OpenAPISpec.load(SPEC_DIR)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_load_is_cached_and_complete(spec: OpenAPISpec) -> None:
    assert SPEC_DIR is not None
    assert OpenAPISpec.load(SPEC_DIR) is spec
    assert len(spec.document["paths"]) == 409  # as counted in SOURCE.md
    assert "AppError" in spec.document["components"]["schemas"]


def test_valid_user_passes(spec: OpenAPISpec) -> None:
    assert spec.validate_response("GET", USER, 200, _json(VALID_USER), JSON) == []
    assert spec.validate_schema("User", VALID_USER) == []


def test_extra_properties_are_allowed_unless_the_spec_forbids_them(spec: OpenAPISpec) -> None:
    assert spec.validate_schema("User", {**VALID_USER, "not_in_spec": 1}) == []


def test_user_with_int_id_fails(spec: OpenAPISpec) -> None:
    problems = spec.validate_response("GET", USER, 200, _json({**VALID_USER, "id": 42}), JSON)
    assert len(problems) == 1
    assert problems[0].startswith("$.id:")
    assert spec.validate_schema("User", {"id": 42})


def test_undocumented_success_status_fails(spec: OpenAPISpec) -> None:
    problems = spec.validate_response("GET", USER, 204, b"", "text/plain")
    assert problems == ["status 204 is not documented (the spec lists: 200, 400, 401, 404)"]


def test_undocumented_error_status_must_be_an_app_error(spec: OpenAPISpec) -> None:
    app_error = b'{"id":"x.app_error","message":"m","detailed_error":"","status_code":500}'
    assert spec.validate_response("GET", USER, 500, app_error, JSON) == []
    assert spec.validate_response("GET", USER, 500, b"oops", "text/plain")


def test_unknown_operation_fails(spec: OpenAPISpec) -> None:
    assert spec.validate_response("GET", "/api/v4/no/such/thing", 200, b"{}", JSON)
    # A known path with a method it does not have.
    assert spec.validate_response("PATCH", "/api/v4/reactions", 200, b"{}", JSON)


def test_error_bodies_are_checked_against_app_error(spec: OpenAPISpec) -> None:
    error = {"id": "app.user.missing", "message": "nope", "request_id": "r", "status_code": 404}
    assert spec.validate_response("GET", USER, 404, _json(error), JSON) == []
    bad = spec.validate_response("GET", USER, 404, _json({**error, "status_code": "404"}), JSON)
    assert bad == ["$.status_code: '404' is not of type 'integer'"]


def test_non_json_body_fails_where_the_spec_says_json(spec: OpenAPISpec) -> None:
    problems = spec.validate_response("GET", USER, 200, b"<html>", "text/html")
    assert len(problems) == 2  # wrong Content-Type, and not JSON


def test_rate_limit_plain_text_is_accepted(spec: OpenAPISpec) -> None:
    text = "text/plain; charset=utf-8"
    assert spec.validate_response("GET", USER, 429, b"limit exceeded\n", text) == []
    assert spec.validate_response("GET", USER, 429, b"slow down", text)


def test_reaction_answered_200_is_checked_against_the_201_schema(spec: OpenAPISpec) -> None:
    reaction = {"user_id": "u1", "post_id": "p1", "emoji_name": "smile", "create_at": 1}
    for status in (200, 201):
        assert spec.validate_response("POST", "/api/v4/reactions", status, _json(reaction), JSON) == []
    bad = _json({**reaction, "create_at": "yesterday"})
    problems = spec.validate_response("POST", "/api/v4/reactions", 200, bad, JSON)
    assert problems == ["$.create_at: 'yesterday' is not of type 'integer'"]
    # Without a deviation entry, 200 on a 201-only operation is still an error.
    assert spec.validate_response("POST", "/api/v4/users", 200, _json(VALID_USER), JSON)


def test_nullable(spec: OpenAPISpec) -> None:
    # `nullable: true` next to a type, and next to a $ref (ProductLimits.boards).
    assert spec.validate_schema("BoardsLimits", {"cards": None, "views": 3}) == []
    assert spec.validate_schema("ProductLimits", {"boards": None, "teams": {"active": 1}}) == []
    assert spec.validate_schema("ProductLimits", {"boards": {"cards": "many"}})
    # Not nullable: null is an error.
    assert spec.validate_schema("User", {**VALID_USER, "username": None})


def test_refs_resolve_through_nested_schemas(spec: OpenAPISpec) -> None:
    route = "/api/v4/channels/{channel_id}/posts"
    good = {"order": ["p1"], "posts": {"p1": VALID_POST}, "next_post_id": "", "prev_post_id": ""}
    assert spec.validate_response("GET", route, 200, _json(good), JSON) == []
    bad = {**good, "posts": {"p1": {**VALID_POST, "message": 7}}}
    problems = spec.validate_response("GET", route, 200, _json(bad), JSON)
    assert problems == ["$.posts.p1.message: 7 is not of type 'string'"]


def test_unknown_schema_name(spec: OpenAPISpec) -> None:
    assert spec.validate_schema("NoSuchSchema", {}) == ["no schema named 'NoSuchSchema' in the spec"]


def test_assert_responses_match_spec(spec: OpenAPISpec) -> None:
    fine = [
        Record("GET", USER, 200, _json(VALID_USER)),
        Record("GET", None, 200, b"<html>", "text/html"),  # not an API route: skipped
        Record("GET", USER, 304, b""),  # not modified: skipped
        Record("DELETE", "/api/v4/users/{user_id}/image", 200, _json({"status": "OK"})),
    ]
    assert_responses_match_spec(fine, spec)

    bad = [*fine, Record("GET", USER, 200, _json({"id": 1})), Record("GET", USER, 418, b"x" * 500)]
    with pytest.raises(AssertionError) as caught:
        assert_responses_match_spec(bad, spec)
    message = str(caught.value)
    assert message.startswith("2 problem(s)")
    assert "GET /api/v4/users/{user_id} -> 200: $.id: 1 is not of type 'string'" in message
    assert "GET /api/v4/users/{user_id} -> 418: the spec says JSON but" in message
    assert "x" * 300 in message
    assert "x" * 301 not in message


def test_a_deviation_with_the_servers_shape_is_still_checked(spec: OpenAPISpec) -> None:
    # getServerLimits writes one ServerLimits object where the spec documents an array of them:
    # the object passes, the documented array (what the server never sends) does not.
    route = ("GET", "/api/v4/limits/server", 200)
    assert spec.validate_response(*route, b'{"activeUserCount": 3, "maxUsersLimit": 2500}', JSON) == []
    assert spec.validate_response(*route, b"[]", JSON) != []
    assert spec.validate_response(*route, b"not json", JSON) != []
