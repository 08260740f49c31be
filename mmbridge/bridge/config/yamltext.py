"""Reading YAML in ruamel's round-trip mode: documents that keep comments and know their lines."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .problems import ConfigFileError

KeyPath = tuple[str | int, ...]


def round_trip_yaml() -> YAML:
    """A round-trip YAML instance: comments, key order and quoting survive a load and a dump."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a user's long values
    return yaml


def load_document(text: str, source: str) -> CommentedMap:
    """Parse ``text``; an empty document is an empty mapping.

    Raises:
        ConfigFileError: the text is not YAML, or its top level is not a mapping.
    """
    try:
        document = round_trip_yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigFileError(f"{source}{line}: not valid YAML: {exc.problem}") from None
    except YAMLError as exc:
        raise ConfigFileError(f"{source}: not valid YAML: {exc}") from None
    if document is None:
        return CommentedMap()
    if not isinstance(document, CommentedMap):
        raise ConfigFileError(f"{source}: the top level must be a mapping of sections (key: value lines)")
    return document


def line_of(document: CommentedMap, path: KeyPath) -> int | None:
    """The 1-based line of the deepest key of ``path`` that exists in ``document``."""
    node: Any = document
    line: int | None = None
    for key in path:
        if isinstance(node, CommentedMap) and key in node:
            line = node.lc.key(key)[0] + 1
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line = node.lc.item(key)[0] + 1
        else:
            return line
        node = node[key]
    return line


def key_positions(node: Any) -> Iterator[tuple[int, int]]:
    """``(line, column)`` (0-based) of every mapping key under ``node``, at any depth."""
    if isinstance(node, CommentedMap):
        for key in node:
            line, column = node.lc.key(key)
            yield line, column
            yield from key_positions(node[key])
    elif isinstance(node, CommentedSeq):
        for item in node:
            yield from key_positions(item)


def plain(node: Any) -> Any:
    """``node`` as plain dicts, lists and scalars (ruamel's scalar subclasses become str/int/...)."""
    if isinstance(node, Mapping):
        return {plain(key): plain(value) for key, value in node.items()}
    if isinstance(node, Sequence) and not isinstance(node, str):
        return [plain(item) for item in node]
    if isinstance(node, bool) or node is None:
        return node
    for kind in (str, int, float):
        if isinstance(node, kind):
            return kind(node)
    return node
