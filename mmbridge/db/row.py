"""``Row``: one result row, the same type on every backend."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any


class Row(Mapping[str, Any]):
    """A read-only mapping from column name to value, in the query's column order.

    ``row["user_id"]``, ``row.get("x")``, ``dict(row)``, ``list(row)`` (the names) and
    ``row.at(0)`` (by position) all work. With duplicate column names (a join), the first one wins;
    alias columns to avoid that. The repr shows column names only, never values: rows may hold tokens.
    """

    __slots__ = ("_index", "_values")

    def __init__(self, index: Mapping[str, int], values: tuple[Any, ...]) -> None:
        self._index = index
        self._values = values

    @staticmethod
    def column_index(names: Iterable[str]) -> dict[str, int]:
        """Column name -> position (the first of a duplicated name); shared by a result's rows."""
        index: dict[str, int] = {}
        for position, name in enumerate(names):
            index.setdefault(name, position)
        return index

    def at(self, position: int) -> Any:
        """The value of the column at ``position`` (0-based, in the query's column order)."""
        return self._values[position]

    def __getitem__(self, key: str) -> Any:
        return self._values[self._index[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __repr__(self) -> str:
        return f"<Row columns=({', '.join(self._index)})>"
