"""Upgrading an older config in place: the keys a newer base config has are added, with their comments.

The user's file is edited as text, never re-dumped: every byte the user wrote (values, comments,
quoting, key order, keys mmbridge does not know) stays as it was, and each missing key is inserted
with the comment lines that precede it in the base config, after the key that precedes it there,
re-indented to the user's indentation. ruamel's round-trip parse supplies the line of every key.
The result is parsed again and compared with the original before anything is written; the file is
written atomically, after a backup beside it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
from ruamel.yaml.comments import CommentedMap

from ..files import atomic_write
from .loader import SECRET_FILE_SUFFIX, is_attrs_class, section_fields
from .problems import ConfigProblem
from .secret import Secret
from .yamltext import KeyPath, key_positions, load_document, plain

Layout = Mapping[str, Any]
"""Which keys of a mapping are sections the upgrade descends into: ``{key: attrs class or None}``."""


class ConfigUpgradeError(Exception):
    """The upgrade could not be made safely; the file was left untouched."""


@attrs.frozen
class UpgradeReport:
    """What an upgrade adds and notices. :attr:`text` is the upgraded file (the original when
    nothing was added)."""

    text: str
    added: tuple[str, ...] = ()
    unknown: tuple[ConfigProblem, ...] = ()
    not_added: tuple[ConfigProblem, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether there is anything to write."""
        return bool(self.added)


def layout_of(cls: type[Any]) -> dict[str, Any]:
    """The layout of an attrs config class: sections by their class, secrets as ``Secret``."""
    return {
        field.name: field.type if is_attrs_class(field.type) or field.type is Secret else None
        for field in section_fields(cls)
    }


class _Text:
    """A YAML text, its lines, its document and the positions of all its keys."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.document = load_document(text, source)
        self.positions = sorted(key_positions(self.document))

    def header_start(self, line: int) -> int:
        """The first of the comment lines directly above ``line`` (``line`` itself when none)."""
        while line > 0 and self.lines[line - 1].lstrip().startswith("#"):
            line -= 1
        return line

    def block_end(self, line: int, column: int) -> int:
        """The line after the block of the key at ``(line, column)``: where the next key at the
        same or a lower indentation begins (its comment header and the blank lines before it
        excluded)."""
        end = len(self.lines)
        for other_line, other_column in self.positions:
            if other_line > line and other_column <= column:
                end = self.header_start(other_line)
                break
        while end > line + 1 and not self.lines[end - 1].strip():
            end -= 1
        return end


@attrs.frozen
class _Insertion:
    line: int
    order: int
    lines: tuple[str, ...]


def plan_upgrade(user_text: str, base_text: str, layout: Layout, source: str = "config") -> UpgradeReport:
    """The upgrade of ``user_text`` to the keys of ``base_text``; nothing is written.

    Raises:
        ConfigFileError: either text is not YAML (the base's is a bug).
        ConfigUpgradeError: the edited text would not keep the user's data (a bug; nothing changes).
    """
    user = _Text(user_text, source)
    base = _Text(base_text, "base config")
    planner = _Planner(user, base, source)
    planner.merge(user.document, base.document, layout, ())
    if not planner.insertions:
        return UpgradeReport(user_text, unknown=tuple(planner.unknown), not_added=tuple(planner.not_added))
    lines = list(user.lines)
    for at, group in sorted(_grouped(planner.insertions).items(), reverse=True):
        lines[at:at] = group
    text = "\n".join(lines) + "\n"
    _verify(user.document, text, planner.added, source)
    return UpgradeReport(
        text,
        added=tuple(planner.added),
        unknown=tuple(planner.unknown),
        not_added=tuple(planner.not_added),
    )


def _grouped(insertions: list[_Insertion]) -> dict[int, list[str]]:
    """The lines to insert at each position, blocks in base order, one blank line between them."""
    groups: dict[int, list[str]] = {}
    for insertion in sorted(insertions, key=lambda i: (i.line, i.order)):
        lines = groups.setdefault(insertion.line, [])
        block = list(insertion.lines)
        if lines and block and not lines[-1].strip() and not block[0].strip():
            block.pop(0)
        lines.extend(block)
    return groups


class _Planner:
    def __init__(self, user: _Text, base: _Text, source: str) -> None:
        self.user = user
        self.base = base
        self.source = source
        self.insertions: list[_Insertion] = []
        self.added: list[str] = []
        self.unknown: list[ConfigProblem] = []
        self.not_added: list[ConfigProblem] = []

    def merge(self, mine: CommentedMap, theirs: CommentedMap, layout: Layout, path: KeyPath) -> None:
        secrets = self._secret_keys(layout)
        for key in mine:
            if key not in theirs and key not in layout and not self._is_secret_file(key, secrets):
                line = mine.lc.key(key)[0] + 1
                dotted = ".".join(map(str, (*path, key)))
                self.unknown.append(
                    ConfigProblem(dotted, "unknown key, kept as it is", f"{self.source}:{line}")
                )
        previous: str | None = None
        for key in theirs:
            if key in mine or (key in secrets and key + SECRET_FILE_SUFFIX in mine):
                section = layout.get(key)
                if is_attrs_class(section) and isinstance(theirs[key], CommentedMap):
                    self._merge_section(mine, key, theirs[key], layout_of(section), (*path, key))
                if key in mine:
                    previous = key
                continue
            self._insert(mine, theirs, key, previous, path)

    def _merge_section(
        self, parent: CommentedMap, key: str, theirs: CommentedMap, layout: Layout, path: KeyPath
    ) -> None:
        mine = parent[key]
        if isinstance(mine, CommentedMap) and mine.fa.flow_style():
            for missing in (k for k in theirs if k not in mine):
                self._cannot_add((*path, missing), parent.lc.key(key)[0] + 1, "the mapping is in {...} style")
            return
        if mine is None:
            mine = _EmptySection(parent, key)
        if isinstance(mine, CommentedMap | _EmptySection):
            self.merge(mine, theirs, layout, path)  # type: ignore[arg-type]

    def _insert(self, mine: Any, theirs: CommentedMap, key: str, previous: str | None, path: KeyPath) -> None:
        dotted = ".".join(map(str, (*path, key)))
        if isinstance(mine, _EmptySection):
            at = mine.parent.lc.key(mine.key)[0] + 1
            column = mine.parent.lc.key(mine.key)[1] + 2
        elif previous is not None:
            line, column = mine.lc.key(previous)
            at = self.user.block_end(line, column)
        elif len(mine):
            first = next(iter(mine))
            line, column = mine.lc.key(first)
            at = self.user.header_start(line)
        else:
            self._cannot_add((*path, key), None, "its section is empty in {} style")
            return
        base_line, base_column = theirs.lc.key(key)
        start = self.base.header_start(base_line)
        end = self.base.block_end(base_line, base_column)
        block = [_reindent(text, column - base_column) for text in self.base.lines[start:end]]
        while block and not block[-1].strip():
            block.pop()
        spaced = start > 0 and not self.base.lines[start - 1].strip()
        if spaced and at > 0 and at <= len(self.user.lines) and self.user.lines[at - 1].strip():
            block.insert(0, "")
        if spaced and at < len(self.user.lines) and self.user.lines[at].strip():
            block.append("")
        self.insertions.append(_Insertion(at, len(self.insertions), tuple(block)))
        self.added.append(dotted)

    def _cannot_add(self, path: KeyPath, line: int | None, why: str) -> None:
        where = f"{self.source}:{line}" if line else self.source
        dotted = ".".join(map(str, path))
        self.not_added.append(ConfigProblem(dotted, f"not added ({why}); add it by hand", where))

    @staticmethod
    def _secret_keys(layout: Layout) -> set[str]:
        return {key for key, kind in layout.items() if kind is Secret}

    @staticmethod
    def _is_secret_file(key: str, secrets: set[str]) -> bool:
        return key.endswith(SECRET_FILE_SUFFIX) and key.removesuffix(SECRET_FILE_SUFFIX) in secrets


@attrs.define
class _EmptySection:
    """A section written with nothing under it (``metrics:``): keys go right below its line."""

    parent: CommentedMap
    key: str

    def __iter__(self) -> Any:
        return iter(())

    def __contains__(self, key: object) -> bool:
        return False

    def __len__(self) -> int:
        return 0


def _reindent(line: str, shift: int) -> str:
    if not line.strip() or shift == 0:
        return line
    if shift > 0:
        return " " * shift + line
    removable = len(line) - len(line.lstrip(" "))
    return line[min(removable, -shift) :]


def _verify(original: CommentedMap, text: str, added: list[str], source: str) -> None:
    """The upgraded text must hold every value the user wrote, unchanged, and every added key."""
    try:
        upgraded = load_document(text, source)
    except Exception as exc:
        raise ConfigUpgradeError(
            f"{source}: the upgraded text would not parse ({exc}); left unchanged"
        ) from exc
    if not _contains(plain(upgraded), plain(original)):
        raise ConfigUpgradeError(f"{source}: the upgrade would change existing values; left unchanged")
    for dotted in added:
        node: Any = upgraded
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise ConfigUpgradeError(f"{source}: the upgrade failed to add {dotted}; left unchanged")
            node = node[part]


def _contains(new: Any, old: Any) -> bool:
    if isinstance(old, dict):
        if new is None and not old:
            return True
        return isinstance(new, dict) and all(
            key in new and _contains(new[key], value) for key, value in old.items()
        )
    if old is None and isinstance(new, dict):
        return True  # an empty section that gained keys
    return bool(new == old)


def write_upgrade(path: Path, text: str) -> Path:
    """Back ``path`` up beside itself, then replace it with ``text`` atomically; returns the backup.

    The new file keeps the old one's permissions. Raises ``OSError`` (nothing replaced) when the
    folder is not writable or the disk is full.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.{stamp}.bak")
    counter = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.{stamp}-{counter}.bak")
        counter += 1
    shutil.copy2(path, backup)
    atomic_write(path, text, mode=path.stat().st_mode & 0o7777)
    return backup
