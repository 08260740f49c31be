"""How the emulator's records become the JSON the real server sends: one cattrs converter.

A record is an attrs class. Each field is on the wire under its own name unless it is marked
:func:`internal` (kept by the emulator only: passwords, file bytes, ordering counters) or
:func:`omitempty` (left out at its default, as Go's ``json:",omitempty"``). Values the server
derives from stored ones come from the record's ``wire_extras()``.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

_INTERNAL = "mmbridge_internal"
_OMITEMPTY = "mmbridge_omitempty"


def internal(**kwargs: Any) -> Any:
    """An attrs field the emulator keeps for itself and never sends."""
    return attrs.field(metadata={_INTERNAL: True}, **kwargs)


def omitempty(**kwargs: Any) -> Any:
    """An attrs field left out of the JSON while it holds its default (Go's ``omitempty``)."""
    return attrs.field(metadata={_OMITEMPTY: True}, **kwargs)


def _record_hook(converter: cattrs.Converter, cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
    overrides: dict[str, Any] = {}
    for attribute in attrs.fields(cls):
        if attribute.metadata.get(_INTERNAL):
            overrides[attribute.name] = override(omit=True)
        elif attribute.metadata.get(_OMITEMPTY):
            overrides[attribute.name] = override(omit_if_default=True)
    inner = make_dict_unstructure_fn(cls, converter, **overrides)
    extras = getattr(cls, "wire_extras", None)
    if extras is None:
        return inner

    def unstructure(record: Any) -> dict[str, Any]:
        data: dict[str, Any] = inner(record)
        data.update(record.wire_extras())
        return data

    return unstructure


def _is_container(type_: Any) -> bool:
    return type_ in (dict, list) or getattr(type_, "__origin__", None) in (dict, list)


@functools.cache
def converter() -> cattrs.Converter:
    """The emulator's converter (built once and never changed afterwards)."""
    result = cattrs.Converter()
    # Nested maps and lists (props, notify props) go out as copies, never as the stored objects.
    result.register_unstructure_hook_func(
        lambda t: t in (dict, list) or getattr(t, "__origin__", None) in (dict, list), copy.deepcopy
    )
    result.register_unstructure_hook_factory(attrs.has, functools.partial(_record_hook, result))
    return result


def to_wire(record: Any) -> dict[str, Any]:
    """A record as the server's JSON object."""
    data: dict[str, Any] = converter().unstructure(record)
    return data


class Record:
    """Base of the emulator's records: :meth:`to_json` through the converter."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        """The record as the real server serialises it."""
        return to_wire(self)


def dumps(value: Any) -> str:
    """Compact JSON, as Go's encoder writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(data: str | bytes) -> Any:
    """Decode JSON; a nesting too deep to decode is a :class:`ValueError` like any other bad JSON
    (Go's decoder refuses it too), never a ``RecursionError`` that would become a 500."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
