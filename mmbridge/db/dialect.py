"""The one SQL dialect mmbridge writes (asyncpg's ``$1`` placeholders) and its rewriting for SQLite.

SQL is written once, with PostgreSQL's numbered ``$n`` placeholders. SQLite understands numbered
placeholders spelt ``?n`` (``?1`` may appear several times, like ``$1``), so the rewrite is purely
lexical: every ``$`` followed by digits becomes ``?`` followed by the same digits.

What the rewriter skips, so ``$1`` there stays literal text:

- single-quoted string literals (``'it''s $1'``), including the doubled-quote escape;
- double-quoted identifiers (``"col$1"``) and backquoted/bracketed identifiers (SQLite extensions);
- ``-- line comments`` and ``/* block comments */``;
- a ``$`` that continues an identifier (``price$1`` is one PostgreSQL identifier).

Not handled: PostgreSQL dollar-quoted strings (``$$ ... $$``, ``$tag$ ... $tag$``), which SQLite does
not support anyway. Write such SQL only inside a ``scheme == "postgres"`` branch.
"""

from __future__ import annotations

from enum import StrEnum


class Scheme(StrEnum):
    """The SQL dialect of a database; compares equal to the plain strings ``"sqlite"`` and ``"postgres"``."""

    SQLITE = "sqlite"
    POSTGRES = "postgres"


def _is_ident_char(char: str) -> bool:
    return char.isalnum() or char in "_$"


def rewrite_placeholders_for_sqlite(sql: str) -> str:
    """Rewrite ``$n`` placeholders to SQLite's ``?n``, leaving literals, quoted names and comments alone.

    >>> rewrite_placeholders_for_sqlite("SELECT $1, '$2', $10 -- $3")
    "SELECT ?1, '$2', ?10 -- $3"
    """
    if "$" not in sql:
        return sql
    out: list[str] = []
    i = 0
    n = len(sql)
    start = 0  # start of the pending, not yet copied, stretch of sql
    while i < n:
        char = sql[i]
        if char in "'\"`[":
            close = "]" if char == "[" else char
            j = i + 1
            while j < n:
                if sql[j] == close:
                    if close != "]" and j + 1 < n and sql[j + 1] == close:  # doubled quote: an escape
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
        elif char == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif char == "/" and sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif (
            char == "$" and i + 1 < n and sql[i + 1].isdigit() and (i == 0 or not _is_ident_char(sql[i - 1]))
        ):
            j = i + 1
            while j < n and sql[j].isdigit():
                j += 1
            out.append(sql[start:i])
            out.append("?")
            out.append(sql[i + 1 : j])
            start = i = j
        elif _is_ident_char(char):
            # Skip the whole word, so a "$" inside an identifier such as price$1 is never a placeholder.
            j = i + 1
            while j < n and _is_ident_char(sql[j]):
                j += 1
            i = j
        else:
            i += 1
    out.append(sql[start:])
    return "".join(out)
