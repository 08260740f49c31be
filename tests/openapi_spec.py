"""Check HTTP responses against the official Mattermost OpenAPI spec.

The spec is third-party reference data (CC BY-NC-SA 3.0, Mattermost, Inc.) kept outside the
repository; see ``SOURCE.md`` next to it. It is loaded from its per-resource source fragments
(``users.yaml``, ``posts.yaml``, ..., ``definitions.yaml``) rather than the merged
``openapi.yaml``, which repeats one path key.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol

import yaml
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker
from referencing.exceptions import Unresolvable

__all__ = [
    "KNOWN_DEVIATIONS",
    "OpenAPISpec",
    "ResponseRecord",
    "assert_responses_match_spec",
    "find_spec_dir",
]

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_INT: dict[str, Any] = {"type": "integer"}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array_of(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": sorted(properties), "properties": properties}


def _either(*schemas: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": list(schemas)}


# Where the real server differs from the spec. Key: (METHOD, path template, real status), where
# "*" matches any method or path. Value: the documented status whose response schema the body
# must match (a str); the exact non-JSON body the server sends instead (bytes); the schema of what
# the server really sends, with $refs into the spec (a dict); or None for a body the spec does not
# describe at all (a streamed file, an operation missing from the spec).
KNOWN_DEVIATIONS: dict[tuple[str, str, int], str | bytes | dict[str, Any] | None] = {
    # server/channels/api4/file.go (getFile) streams the file with 200; the spec lists no 200 at
    # all for this operation. None: a real answer whose body the spec does not describe.
    ("GET", "/api/v4/files/{file_id}", 200): None,
    # server/channels/api4/reaction.go (saveReaction) writes the reaction without WriteHeader(201).
    ("POST", "/api/v4/reactions", 200): "201",
    # server/channels/api4/user.go (login) writes the user with a plain 200.
    ("POST", "/api/v4/users/login", 200): "201",
    # server/channels/api4/user.go (Logout) answers with ReturnStatusOK: a plain 200.
    ("POST", "/api/v4/users/logout", 200): "201",
    # server/channels/api4/user.go (createUserAccessToken) also writes its result with a plain 200.
    ("POST", "/api/v4/users/{user_id}/tokens", 200): "201",
    # server/channels/api4/webhook.go (updateIncomingHook) writes the hook with StatusCreated.
    ("PUT", "/api/v4/hooks/incoming/{hook_id}", 201): "200",
    # server/channels/api4/command.go (listCommandAutocompleteSuggestions): served, not in the spec.
    **{
        ("GET", "/api/v4/teams/{team_id}/commands/autocomplete_suggestions", s): None for s in (200, 400, 403)
    },
    # server/channels/api4/team.go: getAllTeams answers {teams, total_count} with
    # include_total_count (the spec: an array), searchTeams an array unless paged (the spec: object).
    ("GET", "/api/v4/teams", 200): _either(
        _array_of("Team"), _object(teams=_array_of("Team"), total_count=_INT)
    ),
    ("POST", "/api/v4/teams/search", 200): _either(
        _array_of("Team"), _object(teams=_array_of("Team"), total_count=_INT)
    ),
    # server/channels/api4/channel.go: getAllChannels answers {channels, total_count} with
    # include_total_count (the spec: an array), searchAllChannels an array unless paged (the spec:
    # object) and, with system_console=false, a ChannelList.
    ("GET", "/api/v4/channels", 200): _either(
        _ref("ChannelListWithTeamData"),
        _object(channels=_ref("ChannelListWithTeamData"), total_count=_INT),
    ),
    # server/channels/api4/channel_category.go (getCategoriesForTeamForUser) writes one
    # OrderedSidebarCategories; the spec says an array of them.
    ("GET", "/api/v4/users/{user_id}/teams/{team_id}/channels/categories", 200): _ref(
        "OrderedSidebarCategories"
    ),
    ("POST", "/api/v4/channels/search", 200): _either(
        _array_of("ChannelWithTeamData"),
        _object(channels=_array_of("ChannelWithTeamData"), total_count=_INT),
    ),
    # server/channels/api4/limits.go (getServerLimits) encodes one ServerLimits object; the spec
    # documents an array of them.
    ("GET", "/api/v4/limits/server", 200): _ref("ServerLimits"),
    # server/channels/app/ratelimit.go (RateLimitWriter): http.Error(w, "limit exceeded", 429),
    # so every rate-limited route answers text/plain, whatever the spec documents.
    ("*", "*", 429): b"limit exceeded\n",
    # server/channels/store/sqlstore/post_store.go (search): the database search returns
    # MakePostSearchResults(list, nil), so "matches" is null; the spec has a non-null object.
    ("POST", "/api/v4/teams/{team_id}/posts/search", 200): {
        "allOf": [_ref("PostList"), _object(matches={"enum": [None]})]
    },
    # server/channels/api4/post.go (getFlaggedPostsForUser) writes one PostList; the spec says array.
    ("GET", "/api/v4/users/{user_id}/posts/flagged", 200): _ref("PostList"),
    # server/channels/app/user.go (GetThreadsForUser): with totalsOnly the threads are never read,
    # so "threads" is null; the spec has a non-null array.
    ("GET", "/api/v4/users/{user_id}/teams/{team_id}/threads", 200): _either(
        _ref("UserThreads"), _object(threads={"enum": [None]}, total=_INT)
    ),
    # server/channels/api4/emoji.go: createEmoji writes the emoji with a plain 200; deleteEmoji
    # answers {"status":"OK"}, getEmojisByNames an array of Emoji (the spec says User), and
    # getEmojiImage the image bytes (no 200 in the spec).
    ("POST", "/api/v4/emoji", 200): "201",
    ("DELETE", "/api/v4/emoji/{emoji_id}", 200): _ref("StatusOK"),
    ("POST", "/api/v4/emoji/names", 200): _array_of("Emoji"),
    ("GET", "/api/v4/emoji/{emoji_id}/image", 200): None,
    # server/channels/api4/file.go: thumbnail, preview and public file are streamed with 200 (not in
    # the spec); a bad public-link hash renders the web app's HTML error page (RenderWebAppError);
    # searchFilesForUser writes nothing (200, empty body) unless FeatureFlags.CommandPalette.
    ("GET", "/api/v4/files/{file_id}/thumbnail", 200): None,
    ("GET", "/api/v4/files/{file_id}/preview", 200): None,
    ("GET", "/files/{file_id}/public", 200): None,
    ("GET", "/files/{file_id}/public", 400): None,
    ("POST", "/api/v4/files/search", 200): None,
}

# server/channels/api4/channel.go (addChannelMember): with "user_ids" in the body the answer is
# an array of ChannelMember; the spec documents only the single-member object.
ARRAY_OF_DOCUMENTED: frozenset[tuple[str, str, int]] = frozenset(
    {
        ("POST", "/api/v4/channels/{channel_id}/members", 201),
        # server/channels/api4/channel_category.go (updateCategoriesForTeamForUser) answers the
        # updated []SidebarCategoryWithChannels; the spec documents one SidebarCategory.
        ("PUT", "/api/v4/users/{user_id}/teams/{team_id}/channels/categories", 200),
        # server/channels/api4/emoji.go: getEmojiList and autocompleteEmojis answer []Emoji.
        ("GET", "/api/v4/emoji", 200),
        ("GET", "/api/v4/emoji/autocomplete", 200),
    }
)

_MAX_MESSAGE = 200
APP_ERROR = "#/components/schemas/AppError"


def find_spec_dir() -> Path | None:
    """Return the spec directory, or None when it is not there.

    ``$MMBRIDGE_OPENAPI_DIR`` wins when set; otherwise ``<repo>/../shared/reference/
    mattermost-openapi`` where ``<repo>`` is the parent of ``tests/``.
    """
    env = os.environ.get("MMBRIDGE_OPENAPI_DIR")
    if env:
        candidate = Path(env)
    else:
        repo = Path(__file__).resolve().parent.parent
        candidate = repo.parent / "shared" / "reference" / "mattermost-openapi"
    return candidate if (candidate / "definitions.yaml").is_file() else None


def _is_json(media_type: str) -> bool:
    """Whether a media type (or Content-Type header value) denotes JSON."""
    essence = media_type.split(";", 1)[0].strip().lower()
    return essence == "application/json" or essence.endswith("+json")


def _nullable_refs(node: Any) -> None:
    """Rewrite ``{$ref: X, nullable: true}`` in place into ``anyOf: [{$ref: X}, null]``.

    Strict OAS 3.0.3 ignores siblings of ``$ref``, but the spec uses this form for
    pointer fields (e.g. ``ProductLimits``) that the server does send as ``null``.
    """
    if isinstance(node, dict):
        if "$ref" in node and node.get("nullable") is True:
            ref = node.pop("$ref")
            del node["nullable"]
            node["anyOf"] = [{"$ref": ref}, {"enum": [None]}]
        for value in node.values():
            _nullable_refs(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_refs(value)


class ResponseRecord(Protocol):
    """One recorded HTTP exchange, as ``assert_responses_match_spec`` reads it."""

    method: str
    route: str | None
    status: int
    content_type: str
    body: bytes


class OpenAPISpec:
    """The Mattermost REST API spec, with response and schema validation."""

    _cache: ClassVar[dict[Path, OpenAPISpec]] = {}  # one load per process and directory

    def __init__(self, document: dict[str, Any], load_seconds: float = 0.0) -> None:
        """Wrap an already merged spec document (``paths`` and ``components``)."""
        _nullable_refs(document.get("components"))
        _nullable_refs(document.get("paths"))
        self.document = document
        self.load_seconds = load_seconds
        # The whole document is the root resource, so every "#/components/..." $ref resolves;
        # subschemas are validated with evolve(), exactly as jsonschema descends into them.
        self._root = OAS30ReadValidator(document, format_checker=oas30_format_checker)

    @classmethod
    def load(cls, directory: Path | str) -> OpenAPISpec:
        """Load (once per process and directory) the spec from its source fragments."""
        key = Path(directory).resolve()
        if key not in cls._cache:
            started = time.perf_counter()
            document: dict[str, Any] = {"paths": {}}
            for fragment in sorted(key.glob("*.yaml")):
                if fragment.name == "openapi.yaml":  # merged copy; repeats a path key
                    continue
                data = yaml.load(fragment.read_bytes(), Loader=_Loader)  # noqa: S506 - safe loader
                for name, value in (data or {}).items():
                    if name.startswith("/"):
                        document["paths"].setdefault(name, {}).update(value)
                    elif isinstance(value, dict) and isinstance(document.get(name), dict):
                        document[name].update(value)
                    elif value is not None:
                        document[name] = value
            cls._cache[key] = cls(document, time.perf_counter() - started)
        return cls._cache[key]

    def operation(self, method: str, path_template: str) -> dict[str, Any] | None:
        """Return the operation object for ``method`` on a spec path key, or None."""
        path_item = self.document["paths"].get(path_template)
        if not isinstance(path_item, dict):
            return None
        op = path_item.get(method.lower())
        return op if isinstance(op, dict) else None

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        """Follow local ``$ref`` s (e.g. ``#/components/responses/NotFound``) to their target."""
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _schema_problems(self, schema: dict[str, Any], instance: Any) -> list[str]:
        """Validate ``instance`` against a schema taken from this document."""
        validator = self._root.evolve(schema=schema)
        try:
            errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        except Unresolvable as exc:
            return [f"spec $ref does not resolve: {exc}"]
        problems = []
        for error in errors:
            message = error.message
            if len(message) > _MAX_MESSAGE:
                message = message[:_MAX_MESSAGE] + "..."
            problems.append(f"{error.json_path}: {message}")
        return problems

    def validate_schema(self, schema_name: str, instance: Any) -> list[str]:
        """Validate a decoded JSON value against ``#/components/schemas/<schema_name>``."""
        if schema_name not in self.document["components"]["schemas"]:
            return [f"no schema named {schema_name!r} in the spec"]
        return self._schema_problems({"$ref": f"#/components/schemas/{schema_name}"}, instance)

    def validate_response(
        self, method: str, path_template: str, status: int, body: bytes, content_type: str
    ) -> list[str]:
        """Return human-readable problems with one response (an empty list when it is fine).

        ``path_template`` is a spec path key such as ``/api/v4/users/{user_id}``.
        """
        key = (method.upper(), path_template, status)
        if key in KNOWN_DEVIATIONS and KNOWN_DEVIATIONS[key] is None:
            return []
        op = self.operation(method, path_template)
        if op is None:
            return [f"{method.upper()} {path_template} is not an operation in the spec"]
        problems: list[str] = []
        deviation = KNOWN_DEVIATIONS.get(key, KNOWN_DEVIATIONS.get(("*", "*", status)))
        if isinstance(deviation, bytes) and body == deviation:
            if not content_type.lower().startswith("text/plain"):
                problems.append(f"plain-text body sent with Content-Type {content_type!r}")
            return problems
        if isinstance(deviation, dict):  # the shape the server really sends
            if not _is_json(content_type):
                return [f"a JSON body was expected but Content-Type is {content_type!r}"]
            try:
                return self._schema_problems(deviation, json.loads(body))
            except ValueError:
                return ["a JSON body was expected but the body is not valid JSON"]
        documented = deviation if isinstance(deviation, str) else str(status)
        responses: dict[str, Any] = op.get("responses") or {}
        response = (
            responses.get(documented) or responses.get(f"{documented[0]}XX") or responses.get("default")
        )
        if response is None and status >= 400:
            # The real server answers errors the spec does not list (404s, the dedupe 500, ...),
            # always as AppError JSON: hold undocumented error statuses to that.
            response = {"content": {"application/json": {"schema": {"$ref": APP_ERROR}}}}
        if response is None:
            listed = ", ".join(sorted(responses))
            return [f"status {status} is not documented (the spec lists: {listed})"]
        content: dict[str, Any] = self._deref(response).get("content") or {}
        media = next((m for t, m in content.items() if _is_json(t)), None)
        if media is None:  # no content, or only non-JSON content: nothing to check
            return problems
        if not _is_json(content_type):
            problems.append(f"the spec says JSON but Content-Type is {content_type!r}")
        try:
            instance = json.loads(body)
        except ValueError:
            return [*problems, "the spec says JSON but the body is not valid JSON"]
        if "schema" in media:
            if key in ARRAY_OF_DOCUMENTED and isinstance(instance, list):
                for item in instance:
                    problems += self._schema_problems(media["schema"], item)
            else:
                problems += self._schema_problems(media["schema"], instance)
        return problems


def _problems_of(records: Iterable[ResponseRecord], spec: OpenAPISpec) -> Iterator[str]:
    """Yield one report line per problem found in ``records``."""
    for record in records:
        if record.route is None or not record.route.startswith("/api/") or record.status == 304:
            continue
        problems = spec.validate_response(
            record.method, record.route, record.status, record.body, record.content_type
        )
        for problem in problems:
            body = record.body[:300].decode("utf-8", "replace")
            yield (
                f"{record.method.upper()} {record.route} -> {record.status}: {problem}\n    body: {body!r}"
            )


def assert_responses_match_spec(records: Iterable[ResponseRecord], spec: OpenAPISpec) -> None:
    """Raise AssertionError listing every response in ``records`` that breaks the spec.

    Records whose ``route`` is None (non-API paths) and 304 responses are skipped; an empty
    body is fine where the spec defines no content for the status.
    """
    lines = list(_problems_of(records, spec))
    if lines:
        raise AssertionError(
            f"{len(lines)} problem(s) against the Mattermost OpenAPI spec:\n" + "\n".join(lines)
        )
