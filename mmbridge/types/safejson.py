"""JSON from the network, decoded with a bound on nesting.

``json.loads`` raises a bare ``RecursionError`` on a deeply nested document, and structuring a
document just under that limit recurses again; either can end a reader task. Every JSON mmbridge
reads from the server, the WebSocket or the receiver goes through :func:`loads`, which refuses
more than :data:`MAX_DEPTH` levels with a ``ValueError``, as for any other bad JSON.
"""

from __future__ import annotations

import json
from typing import Any

#: Deeper than anything Mattermost sends (a post's props are a few levels).
MAX_DEPTH = 64


class TooDeepError(ValueError):
    """The JSON nests more than :data:`MAX_DEPTH` levels."""


def loads(text: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads``, refusing documents nested deeper than ``max_depth``.

    Raises:
        ValueError: not JSON (``json.JSONDecodeError``), or nested too deeply (:class:`TooDeepError`).
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeepError(f"JSON nested more than {max_depth} levels") from None
    if _openers(text) > max_depth:  # fewer brackets than that cannot nest deeper: nothing to walk
        _check_depth(value, max_depth)
    return value


def _openers(text: str | bytes | bytearray) -> int:
    if isinstance(text, str):
        return text.count("{") + text.count("[")
    return text.count(b"{") + text.count(b"[")


def _check_depth(value: Any, max_depth: int) -> None:
    # Iterative, so the check itself cannot recurse too deeply.
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > max_depth:
            raise TooDeepError(f"JSON nested more than {max_depth} levels")
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
