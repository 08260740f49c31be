"""JSON <-> attrs conversion for Mattermost objects.

Every model derives from :class:`MattermostObject`. Reading is lenient where the server is
inconsistent (``null`` for an empty string, map or list) and strict where a wrong type means
the data is broken (a string where a number belongs). Fields this version does not know are
kept in ``extra`` and written back by :func:`unstructure`, so a newer server never breaks us.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ..errors import MalformedResponseError

T = TypeVar("T")


@attrs.frozen
class MattermostObject:
    """Base of all models. ``extra`` holds fields sent by the server that this model does not name."""

    extra: dict[str, Any] = attrs.field(factory=dict, kw_only=True, repr=False, eq=False)


def _structure_str(value: object, _: object) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_int(value: object, _: object) -> int:
    if type(value) is int:
        return value
    if value is None:
        return 0
    if type(value) is float and value.is_integer():
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _structure_bool(value: object, _: object) -> bool:
    if type(value) is bool:
        return value
    if value is None:
        return False
    raise TypeError(f"expected a boolean, got {type(value).__name__}")


def _structure_float(value: object, _: object) -> float:
    if type(value) in (int, float):
        return float(value)  # type: ignore[arg-type]
    if value is None:
        return 0.0
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _is_model(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, MattermostObject)


def _make_converter(*, detailed: bool = False) -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=detailed)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook_factory(_is_container, _container_factory(converter))
    converter.register_structure_hook_factory(_is_model, _model_structure_factory(converter))
    converter.register_unstructure_hook_factory(_is_model, _model_unstructure_factory(converter))
    return converter


def _is_container(type_: Any) -> bool:
    return getattr(type_, "__origin__", None) in (dict, list)


def _container_factory(converter: cattrs.Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    """Lists and maps whose ``null`` means empty; element hooks are looked up once per type."""

    def factory(type_: Any) -> Callable[[Any, Any], Any]:
        origin = type_.__origin__
        args: tuple[Any, ...] = getattr(type_, "__args__", ())
        kind = "object" if origin is dict else "array"
        if all(arg is Any for arg in args):

            def passthrough(value: Any, _: Any) -> Any:
                if value is None:
                    return origin()
                if type(value) is not origin:
                    raise TypeError(f"expected a JSON {kind}")
                return value

            return passthrough
        if origin is list:
            (item_type,) = args
            item_hook = converter.get_structure_hook(item_type)

            def structure_list(value: Any, _: Any) -> Any:
                if value is None:
                    return []
                if type(value) is not list:
                    raise TypeError(f"expected a JSON {kind}")
                return [item_hook(item, item_type) for item in value]

            return structure_list
        key_type, value_type = args
        key_hook = converter.get_structure_hook(key_type)
        value_hook = converter.get_structure_hook(value_type)

        def structure_dict(value: Any, _: Any) -> Any:
            if value is None:
                return {}
            if type(value) is not dict:
                raise TypeError(f"expected a JSON {kind}")
            return {key_hook(k, key_type): value_hook(v, value_type) for k, v in value.items()}

        return structure_dict

    return factory


def _model_structure_factory(
    converter: cattrs.Converter,
) -> Callable[[type[Any]], Callable[[Any, Any], Any]]:
    def factory(cls: type[Any]) -> Callable[[Any, Any], Any]:
        known = frozenset(a.name for a in attrs.fields(cls) if a.name != "extra")
        inner = make_dict_structure_fn(cls, converter, extra=override(omit=True))

        def structure(value: Any, _: Any) -> Any:
            if not isinstance(value, Mapping):
                raise TypeError(f"expected a JSON object for {cls.__name__}")
            unknown = value.keys() - known
            obj = inner(value, cls)
            if unknown:
                obj.extra.update({key: value[key] for key in unknown})
            return obj

        return structure

    return factory


def _model_unstructure_factory(
    converter: cattrs.Converter,
) -> Callable[[type[Any]], Callable[[Any], dict[str, Any]]]:
    def factory(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
        inner = make_dict_unstructure_fn(cls, converter, extra=override(omit=True))

        def unstructure(obj: Any) -> dict[str, Any]:
            data: dict[str, Any] = inner(obj)
            if obj.extra:
                return {**obj.extra, **data}
            return data

        return unstructure

    return factory


@functools.cache
def converter() -> cattrs.Converter:
    """The converter used for every Mattermost model (built once, never changed afterwards)."""
    return _make_converter()


@functools.cache
def _diagnosing_converter() -> cattrs.Converter:
    """A slower converter that records where data went wrong; used only to explain a failure."""
    return _make_converter(detailed=True)


def structure(data: Any, cls: type[T]) -> T:
    """Read ``data`` (decoded JSON) as ``cls``; broken data raises :class:`MalformedResponseError`."""
    try:
        return converter().structure(data, cls)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        name = getattr(cls, "__name__", str(cls))
        raise MalformedResponseError(f"server sent a malformed {name}: {_describe(data, cls, exc)}") from None


def structure_list(data: Any, cls: type[T]) -> list[T]:
    """Read a JSON array of ``cls``."""
    if not isinstance(data, list):
        name = getattr(cls, "__name__", str(cls))
        raise MalformedResponseError(f"server sent {type(data).__name__} where a list of {name} belongs")
    return [structure(item, cls) for item in data]


def unstructure(obj: Any) -> Any:
    """Turn a model back into JSON-ready data, unknown fields included."""
    return converter().unstructure(obj)


def _describe(data: Any, cls: type[Any], exc: BaseException) -> str:
    try:
        _diagnosing_converter().structure(data, cls)
    except cattrs.BaseValidationError as detailed:
        return "; ".join(cattrs.transform_error(detailed, path="$"))
    except Exception:  # noqa: S110 - fall back to the fast path's own message
        pass
    if isinstance(exc, KeyError):
        return f"required field {exc.args[0]!r} is missing"
    return str(exc) or type(exc).__name__
