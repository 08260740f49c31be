"""The coverage table in docs/testing.md is generated from the route table and the spec, and true."""

from __future__ import annotations

import pytest
from emulator_coverage import DOC, coverage, document_with
from openapi_spec import OpenAPISpec, find_spec_dir

_SPEC_DIR = find_spec_dir()
pytestmark = pytest.mark.skipif(
    _SPEC_DIR is None, reason="the OpenAPI spec is not found (set MMBRIDGE_OPENAPI_DIR)"
)


def _spec() -> OpenAPISpec:
    assert _SPEC_DIR is not None
    return OpenAPISpec.load(_SPEC_DIR)


def test_the_table_in_the_docs_is_current() -> None:
    document = DOC.read_text()
    expected = document_with(coverage(_spec()).table(), document)
    assert document == expected, "docs/testing.md is stale: run python tests/emulator_coverage.py --write"


def test_at_least_nine_in_ten_user_facing_operations_are_served() -> None:
    served, counted = coverage(_spec()).user_facing_ratio()
    assert served >= 0.9 * counted, f"{served} of {counted} user-facing operations"


def test_every_route_is_an_operation_of_the_spec_or_known_to_be_extra() -> None:
    """A route whose path or parameter names differ from the spec's would be counted as a gap and
    not checked against the spec: each one must be a spec operation or a known extra."""
    spec = _spec()
    extra = {
        ("GET", "/api/v4/websocket"),
        ("GET", "/api/v4/websocket/"),
        ("POST", "/hooks/{hook_id}"),
        ("POST", "/hooks/commands/{id}"),
    }
    unknown = [
        (method, path)
        for method, path in coverage(spec).implemented
        if path.startswith(("/api/", "/hooks", "/files"))
        and spec.operation(method, path) is None
        and (method, path) not in extra
    ]
    assert unknown == []
