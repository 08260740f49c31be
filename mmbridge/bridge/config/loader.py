"""Loading a config file into typed sections, with every problem reported at once.

Steps: the YAML is read in round-trip mode (so lines are known); secrets are taken from
``<key>_file`` files, ``MMBRIDGE_<PATH>`` environment variables and ``${VAR}`` references; unknown
keys are refused with a suggestion; cattrs structures each section (strict types: ``port: "80"`` is
text, not a number); then each field's check runs. Problems name the key path and the line, and
never show the value of a secret.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Generic, Literal, TypeGuard, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    BaseValidationError,
    ForbiddenExtraKeysError,
    IterableValidationNote,
)
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from .problems import ConfigError, ConfigFileError, ConfigProblem
from .schema import CoreConfig, field_check
from .secret import Secret
from .yamltext import KeyPath, line_of, load_document, plain

T = TypeVar("T")
ENV_PREFIX = "MMBRIDGE_"
SECRET_FILE_SUFFIX = "_file"  # noqa: S105 - a key suffix, not a secret
_REFERENCE = re.compile(r"\$(\$?)\{([^}]*)\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@attrs.frozen
class LoadedConfig(Generic[T]):
    """A loaded config: mmbridge's sections (:attr:`core`) and the bridge's own (:attr:`section`)."""

    core: CoreConfig
    section: T
    path: Path
    document: CommentedMap = attrs.field(repr=False, eq=False)

    @property
    def directory(self) -> Path:
        """The folder of the config file (relative paths in it start there)."""
        return self.path.parent


@attrs.frozen
class SectionSpec(Generic[T]):
    """A bridge's own config section: its top-level key and its attrs class."""

    key: str
    cls: type[T]


def env_name(path: KeyPath) -> str:
    """The environment variable that overrides the key at ``path``: ``MMBRIDGE_MATTERMOST_TOKEN``."""
    return ENV_PREFIX + "_".join(str(part) for part in path).upper().replace("-", "_")


def expand_references(text: str, env: Mapping[str, str]) -> str:
    """``text`` with each ``${VAR}`` replaced by the variable's value (``$${`` is a literal ``${``).

    Raises:
        KeyError: a variable is not set (its name is the key).
    """

    def replace(match: re.Match[str]) -> str:
        escaped, name = match.group(1), match.group(2)
        if escaped:
            return "${" + name + "}"
        return env[name]

    return _REFERENCE.sub(replace, text)


def is_attrs_class(kind: Any) -> TypeGuard[type[Any]]:
    """Whether ``kind`` is an attrs class (a section with fields of its own; a secret is a value)."""
    return isinstance(kind, type) and attrs.has(kind) and kind is not Secret


def section_fields(cls: type[Any]) -> tuple[attrs.Attribute[Any], ...]:
    """The fields of a section class, with their types resolved."""
    attrs.resolve_types(cls)
    return tuple(attrs.fields(cls))


def read_config_file(path: Path) -> str:
    """The text of the config file.

    Raises:
        ConfigFileError: it is missing, a folder, unreadable, or not UTF-8.
    """
    try:
        with path.open(encoding="utf-8", newline="") as file:  # "\r\n" kept: upgrades keep it too
            return file.read()
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: no such file (write one with `mmbridge generate-config`)") from None
    except IsADirectoryError:
        raise ConfigFileError(f"{path}: is a folder, not a config file") from None
    except PermissionError:
        raise ConfigFileError(f"{path}: not readable by this user") from None
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot be read: {exc.strerror}") from None


def load_config(
    path: Path | str,
    section: SectionSpec[T] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    text: str | None = None,
) -> LoadedConfig[T | None]:
    """Load and check the config at ``path`` (or ``text``, read as if it were that file).

    Raises:
        ConfigFileError: the file is missing, unreadable or not YAML.
        ConfigError: the values are not right; ``problems`` lists all of them.
    """
    path = Path(path)
    source = str(path)
    document = load_document(read_config_file(path) if text is None else text, source)
    loader = _Loader(source, document, os.environ if env is None else env, path.parent)
    core_data = loader.resolve_section(
        CoreConfig, document, (), extra_keys=() if section is None else (section.key,)
    )
    core = loader.structure_section(CoreConfig, core_data, ())
    bridge_section: Any = None
    if section is not None:
        node = document.get(section.key)
        data = loader.resolve_section(section.cls, node, (section.key,))
        bridge_section = loader.structure_section(section.cls, data, (section.key,))
    if loader.problems:
        raise ConfigError(source, loader.problems)
    assert core is not None
    return LoadedConfig(core=core, section=bridge_section, path=path, document=document)


def load_typed(path: Path | str, cls: type[T], *, text: str | None = None) -> T:
    """Load a YAML file of the shape ``cls`` (an attrs class), with the same checks and messages as
    the config, but no environment overrides (the registration file, for instance).

    Raises:
        ConfigFileError: the file is missing, unreadable or not YAML.
        ConfigError: the values are not right.
    """
    path = Path(path)
    document = load_document(read_config_file(path) if text is None else text, str(path))
    loader = _Loader(str(path), document, {}, path.parent)
    value = loader.structure_section(cls, loader.resolve_section(cls, document, ()), ())
    if loader.problems or value is None:
        raise ConfigError(str(path), loader.problems)
    return value


class _Loader:
    def __init__(self, source: str, document: CommentedMap, env: Mapping[str, str], base_dir: Path) -> None:
        self.source = source
        self.document = document
        self.env = env
        self.base_dir = base_dir
        self.problems: list[ConfigProblem] = []
        self.converter = _strict_converter()
        self._env_paths: set[KeyPath] = set()

    # ---- problems -----------------------------------------------------------------------------

    def problem(self, path: KeyPath, message: str) -> None:
        if path in self._env_paths:
            where = f"environment variable {env_name(path)}"
        else:
            line = line_of(self.document, path)
            where = f"{self.source}:{line}" if line is not None else self.source
        self.problems.append(ConfigProblem(_dotted(path), message, where))

    # ---- step 1: raw values, secrets, environment ---------------------------------------------

    def resolve_section(
        self, cls: type[Any], node: Any, path: KeyPath, *, extra_keys: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The plain data of a section, with secrets and ``${VAR}`` references resolved."""
        if node is None:
            node = {}
        if not isinstance(node, Mapping):
            self.problem(path, "must be a mapping of keys (key: value lines)")
            return {}
        fields = section_fields(cls)
        names = {field.name for field in fields}
        secret_files = {field.name + SECRET_FILE_SUFFIX for field in fields if field.type is Secret}
        for key in node:
            if key in names or key in secret_files or key in extra_keys:
                continue
            if not isinstance(key, str):
                self.problem(path, f"has a key that is not text: {key!r}")
                continue
            hint = difflib.get_close_matches(key, sorted(names | secret_files), n=1, cutoff=0.6)
            suggestion = (
                f"; did you mean {hint[0]!r}?" if hint else f"; known keys: {', '.join(sorted(names))}"
            )
            self.problem((*path, key), "unknown key" + suggestion)
        data: dict[str, Any] = {}
        for field in fields:
            field_path = (*path, field.name)
            if field.name in node or not is_attrs_class(field.type):
                outside = self._value_from_outside(field, node, field_path)
                if outside is not _ABSENT:  # from the environment or a file: taken as it is
                    if outside is not _INVALID:
                        data[field.name] = outside
                    continue
            if field.name not in node:
                # A section the file leaves out may still be set from the environment.
                prefix = env_name(field_path) + "_"
                if is_attrs_class(field.type) and any(name.startswith(prefix) for name in self.env):
                    data[field.name] = self.resolve_section(field.type, {}, field_path)
                continue
            value = plain(node[field.name])
            if is_attrs_class(field.type):
                data[field.name] = self.resolve_section(field.type, value, field_path)
            elif field.type not in (str, Secret) and isinstance(value, str) and _REFERENCE.fullmatch(value):
                # `port: ${PORT}`: the variable's text read as YAML, so a number is a number.
                data[field.name] = _yaml_scalar(self._interpolate(value, field_path))
            else:
                data[field.name] = self._interpolate(value, field_path)
        return data

    def _value_from_outside(self, field: attrs.Attribute[Any], node: Mapping[str, Any], path: KeyPath) -> Any:
        """The value from ``MMBRIDGE_<PATH>`` or a ``<key>_file``, never ``${...}``-expanded (a
        secret is taken as it is); ``_ABSENT`` when neither gives one, ``_INVALID`` after a problem."""
        if is_attrs_class(field.type):
            return _ABSENT
        name = env_name(path)
        if name in self.env:
            self._env_paths.add(path)
            raw = self.env[name]
            return raw if _is_text(field.type) else _yaml_scalar(raw)
        file_key = field.name + SECRET_FILE_SUFFIX
        if field.type is not Secret or node.get(file_key) in (None, ""):
            return _ABSENT
        if node.get(field.name) not in (None, ""):
            self.problem(path, f"give {field.name} or {file_key}, not both")
            return _INVALID
        return self._read_secret_file(node[file_key], (*path[:-1], file_key))

    def _read_secret_file(self, given: Any, path: KeyPath) -> Any:
        if not isinstance(given, str):
            self.problem(path, "must be the path of a file")
            return _INVALID
        file = Path(self._interpolate(given, path)).expanduser()  # the path may use ${VAR}
        if not file.is_absolute():
            file = self.base_dir / file
        try:
            return file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            self.problem(path, f"cannot read {file}: {exc.strerror or type(exc).__name__}")
        except UnicodeDecodeError:
            self.problem(path, f"{file} is not UTF-8 text")
        return _INVALID

    def _interpolate(self, value: Any, path: KeyPath) -> Any:
        if isinstance(value, str):
            return _REFERENCE.sub(lambda match: self._reference(match, path), value)
        if isinstance(value, dict):
            return {key: self._interpolate(item, (*path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [self._interpolate(item, (*path, index)) for index, item in enumerate(value)]
        return value

    def _reference(self, match: re.Match[str], path: KeyPath) -> str:
        escaped, name = match.group(1), match.group(2)
        if escaped:
            return "${" + name + "}"
        if not _ENV_NAME.fullmatch(name):
            self.problem(path, f"${{{name}}} is not a valid environment variable reference")
            return ""
        if name not in self.env:
            self.problem(path, f"uses ${{{name}}}, but the environment variable {name} is not set")
            return ""
        return self.env[name]

    # ---- step 2: types, then checks -------------------------------------------------------------

    def structure_section(self, cls: type[T], data: dict[str, Any], path: KeyPath) -> T | None:
        """The section built field by field (cattrs structures each value), so that one bad value
        hides no other problem; None after recording the problems."""
        values: dict[str, Any] = {}
        ok = True
        for field in section_fields(cls):
            field_path = (*path, field.name)
            if field.name not in data:
                if field.default is attrs.NOTHING:
                    what = "section" if is_attrs_class(field.type) else "key"
                    self.problem(field_path, f"the {what} {field.name!r} is missing")
                    ok = False
                elif not isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                    # A default that must be replaced (an empty token) is a problem too.
                    check = field_check(field)
                    message = check(field.default) if check is not None else None
                    if message:
                        self.problem(field_path, message)
                        ok = False
                continue
            value = self._structure_value(field, data[field.name], field_path)
            if value is _INVALID:
                ok = False
                continue
            values[field.name] = value
        if not ok:
            return None
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:  # a bridge's own __attrs_post_init__ refusing the values
            self.problem(path, str(exc))
            return None

    def _structure_value(self, field: attrs.Attribute[Any], data: Any, path: KeyPath) -> Any:
        if is_attrs_class(field.type):
            section = self.structure_section(field.type, data, path)
            return _INVALID if section is None else section
        try:
            value = self.converter.structure(data, field.type)  # type: ignore[arg-type]
        except Exception as exc:  # cattrs wraps what went wrong; each leaf becomes a problem
            for leaf_path, reason in _leaf_errors(exc, path):
                self.problem(leaf_path, reason)
            return _INVALID
        check = field_check(field)
        message = check(value) if check is not None else None
        if message:
            self.problem(path, message)
            return _INVALID
        return value


_INVALID: Any = object()
_ABSENT: Any = object()


def _is_text(kind: Any) -> bool:
    """Whether a field holds text (an environment value for it is not read as YAML): ``str``,
    :class:`Secret`, a ``Literal`` of strings, or a union of those (with ``None``). A list or a
    mapping is not text, even of strings: its environment value is YAML (``[a, b]``)."""
    if kind in (str, Secret):
        return True
    options = typing.get_args(kind)
    if typing.get_origin(kind) is Literal:
        return all(isinstance(option, str) for option in options)
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return all(option is type(None) or _is_text(option) for option in options)
    return False


def _dotted(path: KeyPath) -> str:
    return "".join(
        f"[{part}]" if isinstance(part, int) else (f".{part}" if i else part) for i, part in enumerate(path)
    )


def _yaml_scalar(text: str) -> Any:
    """An environment value read as YAML would read it (``8080`` a number, ``true`` a flag)."""
    try:
        return plain(YAML(typ="safe").load(text))
    except YAMLError:
        return text


def _leaf_errors(exc: BaseException, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(exc, ForbiddenExtraKeysError):
        for key in sorted(exc.extra_fields):
            yield (*path, key), "unknown key"
        return
    if isinstance(exc, BaseValidationError):
        for inner in exc.exceptions:
            inner_path = path
            for note in getattr(inner, "__notes__", ()):
                if isinstance(note, AttributeValidationNote):
                    inner_path = (*path, note.name)
                elif isinstance(note, IterableValidationNote):
                    inner_path = (*path, note.index)
            yield from _leaf_errors(inner, inner_path)
        return
    if isinstance(exc, KeyError):
        yield path, "is missing"
        return
    yield path, str(exc) if isinstance(exc, _TypeProblem) else f"is not valid ({type(exc).__name__})"


class _TypeProblem(ValueError):
    """A value of the wrong kind (the message never shows the value: it may be a secret)."""


_KIND_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _is_dict_type(kind: Any) -> bool:
    return kind is dict or typing.get_origin(kind) is dict


def _is_sequence_type(kind: Any) -> bool:
    return typing.get_origin(kind) in (list, tuple, set, frozenset) or kind in (list, tuple, set, frozenset)


def _is_literal_type(kind: Any) -> bool:
    return typing.get_origin(kind) is Literal


def _strict_converter() -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=True, forbid_extra_keys=True)

    def expect(kind: type[Any]) -> Any:
        def structure(value: Any, _: Any) -> Any:
            ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                return float(value)
            if not ok:
                raise _TypeProblem(f"expected {_KIND_NAMES[kind]}, got {_kind_of(value)}")
            return value

        return structure

    for kind in (str, int, float, bool):
        converter.register_structure_hook(kind, expect(kind))

    def secret(value: Any, _: Any) -> Secret:
        if not isinstance(value, str):
            raise _TypeProblem(f"expected text, got {_kind_of(value)}")
        return Secret(value)

    converter.register_structure_hook(Secret, secret)

    def mapping(value: Any, _: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _TypeProblem(f"expected a mapping, got {_kind_of(value)}")
        return value

    converter.register_structure_hook_func(_is_dict_type, mapping)

    def sequence(value: Any, kind: Any) -> Any:
        if not isinstance(value, list):  # never "general" read as ['g', 'e', ...]
            raise _TypeProblem(f"expected a list, got {_kind_of(value)}")
        args = typing.get_args(kind)
        item_type = args[0] if args else Any
        items = []
        for index, item in enumerate(value):
            try:
                items.append(item if item_type is Any else converter.structure(item, item_type))
            except _TypeProblem as exc:
                raise _TypeProblem(f"item {index + 1}: {exc}") from None
        origin = typing.get_origin(kind) or kind
        return items if origin is list else origin(items)

    converter.register_structure_hook_func(_is_sequence_type, sequence)

    def literal(value: Any, kind: Any) -> Any:
        allowed = typing.get_args(kind)
        if value not in allowed or type(value) is bool:
            raise _TypeProblem("must be one of " + ", ".join(repr(option) for option in allowed))
        return value

    converter.register_structure_hook_func(_is_literal_type, literal)
    return converter
