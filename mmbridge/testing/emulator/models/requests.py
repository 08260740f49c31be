"""Request bodies read as Go's ``json.Decoder`` reads them into the server's structs.

A request model is an attrs class whose fields are the JSON keys the handler reads. As in Go: a
missing key or ``null`` leaves the field at its default, unknown keys are ignored, and a value of
the wrong JSON type (a number for a string, ``"true"`` for a bool, ``1.5`` for an int) fails the
whole body, which the route answers with 400 ``api.context.invalid_body_param.app_error``.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar, cast

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn

T = TypeVar("T")


class BodyTypeError(ValueError):
    """The body does not decode into the request model."""


def _strict(kind: type[Any], label: str) -> Any:
    def hook(value: object, type_: object) -> Any:
        if value is None:
            return kind()
        # bool is an int in Python, never in JSON.
        if type(value) is kind or (kind is float and type(value) is int):
            return value
        if kind is int and type(value) is float and value.is_integer():
            return int(value)
        raise BodyTypeError(f"expected {label}")

    return hook


def _is_container(type_: Any) -> bool:
    return getattr(type_, "__origin__", None) in (dict, list)


def _container(converter: cattrs.Converter) -> Any:
    def factory(type_: Any) -> Any:
        origin = type_.__origin__
        args: tuple[Any, ...] = getattr(type_, "__args__", ())

        if origin is list:
            (item,) = args
            item_hook = converter.get_structure_hook(item)

            def as_list(value: object, _: object) -> list[Any]:
                if value is None:
                    return []
                if type(value) is not list:
                    raise BodyTypeError("expected an array")
                return [item_hook(v, item) for v in value]

            return as_list

        item = args[1]
        item_hook = converter.get_structure_hook(item)

        def as_dict(value: object, _: object) -> dict[str, Any]:
            if value is None:
                return {}
            if type(value) is not dict:
                raise BodyTypeError("expected an object")
            return {str(k): item_hook(v, item) for k, v in value.items()}

        return as_dict

    return factory


def _passthrough(value: object, _: object) -> object:
    return value


@functools.cache
def _converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_structure_hook(str, _strict(str, "a string"))
    converter.register_structure_hook(int, _strict(int, "an integer"))
    converter.register_structure_hook(float, _strict(float, "a number"))
    converter.register_structure_hook(bool, _strict(bool, "a boolean"))
    converter.register_structure_hook(Any, _passthrough)
    converter.register_structure_hook_factory(_is_container, _container(converter))
    converter.register_structure_hook_factory(
        attrs.has, lambda cls: make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=False)
    )
    return converter


def decode_body(value: Any, cls: type[T]) -> T:
    """Read a decoded JSON value as the request model ``cls``; :class:`BodyTypeError` if it does
    not fit (not an object, or a field of the wrong JSON type)."""
    if type(value) is not dict:
        raise BodyTypeError("expected a JSON object")
    fields = set(attrs.fields_dict(cast(Any, cls)))
    present = {k: v for k, v in value.items() if k in fields and v is not None}
    try:
        return _converter().structure(present, cls)
    except BodyTypeError:
        raise
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
        raise BodyTypeError(str(exc)) from None
