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


@attrs.frozen
class FieldLayout:
    """What the upgrade needs to know of one key: a section to descend into (its attrs class), a
    secret (which ``<key>_file`` gives), or a key without a default (never filled in: the loader
    says it is missing, rather than a placeholder from the base going unnoticed)."""

    section: type[Any] | None = None
    secret: bool = False
    required: bool = False


Layout = Mapping[str, FieldLayout]
"""The keys of one mapping of the config, by name."""


class ConfigUpgradeError(Exception):
    """The upgrade could not be made safely; the file was left untouched."""


@attrs.frozen
class UpgradeReport:
    """What an upgrade adds, and what it could not add. :attr:`text` is the upgraded file (the
    original when nothing was added)."""

    text: str
    added: tuple[str, ...] = ()
    not_added: tuple[ConfigProblem, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether there is anything to write."""
        return bool(self.added)


def layout_of(cls: type[Any]) -> dict[str, FieldLayout]:
    """The layout of an attrs config class."""
    return {
        field.name: FieldLayout(
            section=field.type if is_attrs_class(field.type) else None,
            secret=field.type is Secret,
            required=field.default is attrs.NOTHING,
        )
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
        return UpgradeReport(user_text, not_added=tuple(planner.not_added))
    lines = list(user.lines)
    for at, group in sorted(_grouped(planner.insertions).items(), reverse=True):
        lines[at:at] = group
    newline = "\r\n" if "\r\n" in user_text else "\n"  # the file's own line endings
    text = newline.join(lines) + newline
    _verify(user.document, text, planner.added, source)
    return UpgradeReport(
        text,
        added=tuple(planner.added),
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
        self.not_added: list[ConfigProblem] = []

    def merge(self, mine: CommentedMap, theirs: CommentedMap, layout: Layout, path: KeyPath) -> None:
        """Plan the keys of ``theirs`` (the base) that ``mine`` lacks; keys only ``mine`` has stay."""
        previous: str | None = None
        for key in theirs:
            field = layout.get(key, FieldLayout())
            secret_file = key + SECRET_FILE_SUFFIX
            if field.secret and secret_file in mine:  # `token_file:` gives `token`
                previous = secret_file
                continue
            if key in mine:
                if field.section is not None and isinstance(theirs[key], CommentedMap):
                    self._merge_section(mine, key, theirs[key], layout_of(field.section), (*path, key))
                previous = key
            elif not field.required:
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
            line_text = self.user.lines[parent.lc.key(key)[0]]
            if line_text.split(" #", 1)[0].rstrip().endswith(":"):
                mine = _EmptySection(parent, key)  # `metrics:` and nothing else
            else:  # `metrics: ~` or `metrics: null`: a value the text cannot grow below
                for missing in theirs:
                    self._cannot_add(
                        (*path, missing), parent.lc.key(key)[0] + 1, "the section is written as null"
                    )
                return
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

    A symbolic link is followed (the file it points to is upgraded, the link stays). The new file
    keeps the old one's permissions and, where the process may set it, its owner. Raises ``OSError``
    (nothing replaced) when the folder is not writable or the disk is full.
    """
    path = path.resolve()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.{stamp}.bak")
    counter = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.{stamp}-{counter}.bak")
        counter += 1
    shutil.copy2(path, backup)
    status = path.stat()
    atomic_write(path, text, mode=status.st_mode & 0o7777, owner=(status.st_uid, status.st_gid))
    return backup
