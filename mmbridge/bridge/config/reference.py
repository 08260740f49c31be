"""A Markdown reference of a config: every key with its type, check, default, whether a file must
give it, its environment variable, and the comment above it in the base config.

Each key comes from a base config (its value and the comment above it) and from its attrs field
(its type, its check, whether it has a default). :func:`core_reference` documents mmbridge's own
keys, :func:`section_reference` a bridge's own section (its ``example_section`` and settings class)
and the defaults it changes. ``mmbridge config-reference --bridge X`` prints both; mmbridge's
``docs/configuration.md`` is made with them (``tests/docs/config_reference.py``).
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import attrs
from ruamel.yaml.comments import CommentedMap

from .base import package_base_text
from .loader import SECRET_FILE_SUFFIX, _is_text, env_name, is_attrs_class, section_fields
from .schema import CoreConfig, field_check
from .secret import Secret
from .yamltext import load_document, plain

if TYPE_CHECKING:
    from ..bridge import Bridge

_KIND_NAMES: dict[Any, str] = {
    str: "text",
    int: "whole number",
    float: "number",
    bool: "`true` or `false`",
    Secret: "text (secret)",
    Any: "anything",
}


@dataclass(frozen=True)
class Entry:
    """One key or section of the config, as the reference shows it."""

    path: tuple[str, ...]
    section: bool
    description: str
    kind: str = ""
    default: Any = None
    required: str = ""
    env: str = ""
    env_works: bool = True
    schema_default: Any = attrs.NOTHING

    @property
    def dotted(self) -> str:
        """The key as ``section.key``."""
        return ".".join(self.path)

    @property
    def anchor(self) -> str:
        """The key's heading anchor (``section-key``)."""
        return "-".join(self.path)


# ---- reading the base config -----------------------------------------------------------------------


def comment_above(lines: list[str], line: int) -> str:
    """The comment lines directly above ``line`` (0-based), as one paragraph."""
    start = line
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    parts = [text.strip().removeprefix("#").strip() for text in lines[start:line]]
    return " ".join(part for part in parts if part)


def block_of(lines: list[str], node: CommentedMap, key: str) -> str:
    """The YAML text under ``key`` (its value's lines, comments included), dedented."""
    line, column = node.lc.key(key)
    end = len(lines)
    for index in range(line + 1, len(lines)):
        text = lines[index]
        if text.strip() and not text.lstrip().startswith("#") and len(text) - len(text.lstrip()) <= column:
            end = index
            break
    while end > line + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1  # the next key's comment header and the blank lines are not part of it
    body = lines[line + 1 : end]
    indent = min(len(text) - len(text.lstrip()) for text in body if text.strip())
    return "\n".join(text[indent:] for text in body)


# ---- reading the schema ----------------------------------------------------------------------------


def kind_of(kind: Any) -> str:
    """How a field's type reads in the reference."""
    if kind in _KIND_NAMES:
        return _KIND_NAMES[kind]
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{option}`" for option in args)
    if origin in (typing.Union, types.UnionType):
        named = [kind_of(arg) for arg in args if arg is not type(None)]
        return " or ".join(named) + (", or nothing" if type(None) in args else "")
    if origin in (list, tuple, set, frozenset):
        element = args[0] if args and args[0] is not Ellipsis else Any
        return f"list of {kind_of(element)}"
    if origin is dict or kind is dict:
        if args and args[1] is not Any:
            return f"mapping of {kind_of(args[0])} to {kind_of(args[1])}"
        return "mapping"
    return f"`{getattr(kind, '__name__', kind)}`"  # (a type the loader reads as it is)


def check_text(check: Callable[[Any], str | None]) -> str:
    """What a field's check accepts, from its docstring (or its maker's arguments, for a closure)."""
    if check.__doc__:
        text = check.__doc__.strip().splitlines()[0].rstrip(".")
        text = re.sub(r":\w+:`([^`]*)`", r"`\1`", text).replace("``", "`")
        text = text[0].lower() + text[1:]
        return text.removeprefix("a number ")  # "number, above zero", not "number: a number above zero"
    maker = check.__qualname__.split(".", 1)[0]
    nonlocals = inspect.getclosurevars(check).nonlocals
    if maker == "not_empty":
        return "not empty"
    if maker == "one_of":
        return "one of " + ", ".join(f"`{choice}`" for choice in nonlocals["choices"])
    raise ValueError(f"no reference wording for the check {check.__qualname__}: give it a docstring")


def env_works(kind: Any) -> bool:
    """Whether ``MMBRIDGE_<PATH>`` can give a value of this type. The loader takes the variable as
    text for any type with ``str`` among its arguments, so a list or mapping of text is refused."""
    container = typing.get_origin(kind) in (list, dict, tuple, set, frozenset)
    return not (container and _is_text(kind))


def required_text(field: attrs.Attribute[Any]) -> str:
    """Whether a file must give the key (the loader's rule: no default, or a default its check refuses)."""
    if field.default is attrs.NOTHING:
        return "yes"
    if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
        return "no"
    check = field_check(field)
    if check is not None and check(field.default):
        return "yes (must not be empty)" if not field.default else "yes"
    return "no"


def schema_default(field: attrs.Attribute[Any]) -> Any:
    """The value the loader uses when the key is absent, as plain data (NOTHING when none)."""
    default: Any = field.default
    if default is attrs.NOTHING:
        return attrs.NOTHING
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        default = default.factory()
    if isinstance(default, Secret):
        return default.reveal()
    if attrs.has(type(default)):
        return attrs.asdict(default)
    return default


# ---- walking both ------------------------------------------------------------------------------------


def entries(
    cls: type[Any], node: CommentedMap, lines: list[str], path: tuple[str, ...] = ()
) -> Iterator[Entry]:
    """Every section and key of ``node`` (a mapping of the base config), in its order, with what
    ``cls`` (its attrs class) says about it.

    Raises:
        ValueError: a key of the base config is not in the class, or a field of the class is not in
            the base config: the base config and the schema disagree.
    """
    fields = {field.name: field for field in section_fields(cls)}
    missing = [name for name in fields if name not in node]
    if missing:
        raise ValueError(f"{'.'.join(path) or 'the top level'}: the base config lacks {', '.join(missing)}")
    lead: tuple[str, ...] | None = None  # the last key with a comment: keys right below share it
    for key in node:
        if key not in fields:
            raise ValueError(f"{'.'.join((*path, key))} is in the base config but not in {cls.__name__}")
        field = fields[key]
        key_path = (*path, key)
        description = comment_above(lines, node.lc.key(key)[0])
        if description:
            lead = key_path
        elif lead is not None and lines[node.lc.key(key)[0] - 1].strip():
            description = f"Described with [`{'.'.join(lead)}`](#{'-'.join(lead)}), above."
        if is_attrs_class(field.type):
            required = "yes" if field.default is attrs.NOTHING else "no"
            yield Entry(key_path, True, description, required=required)
            yield from entries(field.type, node[key], lines, key_path)
            continue
        kind = kind_of(field.type)
        if field.type is Secret:
            kind += f", or `{key}{SECRET_FILE_SUFFIX}:` naming a file that holds it"
        check = field_check(field)
        if check is not None:
            kind += f", {check_text(check)}"
        value = plain(node[key])
        if isinstance(value, dict) and value:
            value = Block(block_of(lines, node, key))
        if field.default is attrs.NOTHING:
            value = Missing(value)
        yield Entry(
            key_path,
            False,
            description,
            kind=kind,
            default=value,
            required=required_text(field),
            env=env_name(key_path),
            env_works=env_works(field.type),
            schema_default=schema_default(field),
        )


@dataclass(frozen=True)
class Block:
    """A default too long for a table cell: shown as YAML below it."""

    text: str


@dataclass(frozen=True)
class Missing:
    """No default: the key must be in the file (``generate-config`` writes a placeholder)."""

    written: Any


# ---- rendering -------------------------------------------------------------------------------------


def value_text(value: Any) -> str:
    """A default as it is written in YAML, in a code span."""
    if isinstance(value, Block):
        return "the mapping below"
    if isinstance(value, Missing):
        return f"none (`generate-config` writes {value_text(value.written)})"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        needs_quotes = value == "" or value[0] in "{*[&!|>'\"%@`" or ": " in value or value != value.strip()
        return f'`"{value}"`' if needs_quotes else f"`{value}`"
    if isinstance(value, list | dict) and not value:
        return "`[]`" if isinstance(value, list) else "`{}`"
    return f"`{value}`"


def env_text(entry: Entry) -> str:
    """The environment variable of a key, or why it cannot be used."""
    if entry.env_works:
        return f"`{entry.env}`"
    return f"none yet (`{entry.env}` is taken as text, and text is refused here)"


def render_entry(entry: Entry, level: int) -> list[str]:
    """The Markdown of one key or section."""
    heading = "#" * level
    out = [f"{heading} `{entry.dotted}` {{ #{entry.anchor} }}", ""]
    if entry.description:
        out += [entry.description, ""]
    if entry.section:
        out += [f"A section{' (required)' if entry.required == 'yes' else ''}: its keys follow.", ""]
        return out
    out += [
        "| Type | Default | Required | Environment variable |",
        "|---|---|---|---|",
        f"| {entry.kind.replace('|', '&#124;')} | {value_text(entry.default)} | {entry.required} "
        f"| {env_text(entry)} |",
        "",
    ]
    if isinstance(entry.default, Block):
        out += ["```yaml", entry.default.text, "```", ""]
    return out


def render(items: list[Entry], top: int) -> list[str]:
    """Top-level keys and sections at heading ``top``, the rest one level below."""
    out: list[str] = []
    for entry in items:
        out += render_entry(entry, top if len(entry.path) == 1 else top + 1)
    return out


def core_entries() -> list[Entry]:
    """Every key of mmbridge's own base config."""
    text = package_base_text()
    return list(entries(CoreConfig, load_document(text, "example-config.yaml"), text.splitlines()))


def section_entries(bridge_class: type[Bridge[Any]]) -> list[Entry]:
    """The keys of a bridge's own section (from its ``example_section`` and ``section`` spec)."""
    spec = bridge_class.section
    if spec is None:
        return []
    text = bridge_class.example_section
    document = load_document(text, f"{bridge_class.__name__}.example_section")
    lines = text.splitlines()
    section = Entry((spec.key,), True, comment_above(lines, document.lc.key(spec.key)[0]))
    return [section, *entries(spec.cls, document[spec.key], lines, (spec.key,))]


def core_reference(top: int = 2) -> str:
    """mmbridge's own keys as Markdown, top-level keys at heading level ``top``."""
    return "\n".join(render(core_entries(), top)).rstrip("\n") + "\n"


def section_reference(bridge_class: type[Bridge[Any]], top: int = 2) -> str:
    """A bridge's own section and the mmbridge defaults it changes (its ``config_defaults``) as
    Markdown, the section at heading level ``top``; empty for a bridge with neither."""
    out: list[str] = []
    defaults: Mapping[str, Any] = bridge_class.config_defaults
    if defaults:
        out += [f"Defaults {bridge_class.__name__} changes:", "", "| Key | Its default |", "|---|---|"]
        out += [
            f"| [`{key}`](#{key.replace('.', '-')}) | {value_text(value)} |"
            for key, value in defaults.items()
        ]
        out.append("")
    out += render(section_entries(bridge_class), top)
    return "\n".join(out).rstrip("\n") + "\n" if out else ""
