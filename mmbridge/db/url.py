"""Database URLs: parsing the two supported forms and redacting secrets for messages and reprs."""

from __future__ import annotations

from urllib.parse import parse_qsl

import attrs
from yarl import URL

from .dialect import Scheme
from .errors import DatabaseError

_SECRET_QUERY_KEYS = frozenset({"password", "passwd", "sslpassword", "pass"})
_REDACTED = "***"


def redact_url(url: str) -> str:
    """``url`` with any password (user-info or query option) replaced by ``***``.

    Safe on malformed input: when the URL cannot be parsed, only its scheme is kept.
    """
    scheme, sep, _rest = url.partition("://")
    if not sep:
        return url if "@" not in url and "password" not in url.lower() else "<unparseable database URL>"
    if scheme.lower().startswith("sqlite"):
        return url
    try:
        parsed = URL(url)
        if parsed.password is not None:
            parsed = parsed.with_password(_REDACTED)
        if any(key.lower() in _SECRET_QUERY_KEYS for key in parsed.query):
            parsed = parsed.with_query(
                [
                    (key, _REDACTED if key.lower() in _SECRET_QUERY_KEYS else value)
                    for key, value in parsed.query.items()
                ]
            )
        return str(parsed)
    except (ValueError, TypeError):
        return f"{scheme}://<redacted>"


def url_secrets(url: str) -> list[str]:
    """The secrets in ``url`` (password, password query options), to scrub from driver messages."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return []
    found = [parsed.password] if parsed.password else []
    raw_password = parsed.raw_password
    if raw_password and raw_password not in found:
        found.append(raw_password)
    found += [value for key, value in parsed.query.items() if key.lower() in _SECRET_QUERY_KEYS and value]
    return found


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret in ``secrets`` replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    return text


#: SQLite's ``synchronous`` levels a URL may ask for (``?synchronous=``).
SQLITE_SYNCHRONOUS = ("normal", "full")


@attrs.frozen
class SQLiteTarget:
    """Where a ``sqlite://`` URL points (a file path or ``:memory:``) and how it syncs.

    ``synchronous="normal"`` (the default, in WAL mode) keeps every committed transaction through
    a crash of the process, and may lose the last ones to a power cut or an OS crash; ``"full"``
    syncs the log at every commit, at about twice the database's CPU.
    """

    path: str
    synchronous: str = "normal"


@attrs.frozen
class PostgresTarget:
    """A ``postgres://`` URL split into what asyncpg gets and mmbridge's own options."""

    dsn: str = attrs.field(repr=False)
    schema: str | None = None
    min_size: int = 1
    max_size: int = 10


def parse_database_url(url: str) -> SQLiteTarget | PostgresTarget:
    """Parse a database URL.

    - ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, ``sqlite:///:memory:``,
      with the query option ``synchronous`` (``normal``, the default, or ``full``);
    - ``postgres://user:pass@host:port/dbname`` (or ``postgresql://``), with mmbridge's query options
      ``schema`` (the ``search_path``), ``min_size`` and ``max_size`` (the pool's bounds); any other
      query option is passed to asyncpg.

    Raises:
        DatabaseError: an unknown scheme or a malformed option (the message shows the redacted URL).
    """
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if sep and scheme in ("sqlite", "sqlite3"):
        # As in SQLAlchemy: sqlite:/// + path, so an absolute path gives four slashes.
        path = rest[1:] if rest.startswith("/") else rest
        path, _, query = path.partition("?")
        if not path:
            raise DatabaseError(
                f"the SQLite URL {url!r} names no file (use sqlite:///path/to.db or sqlite:///:memory:)"
            )
        options = dict(parse_qsl(query, keep_blank_values=True))
        synchronous = options.pop("synchronous", "normal").lower()
        if options:
            raise DatabaseError(
                f"unknown option {', '.join(sorted(options))} in the SQLite URL {url!r} "
                f"(the only one is synchronous)"
            )
        if synchronous not in SQLITE_SYNCHRONOUS:
            raise DatabaseError(
                f"synchronous must be normal or full in the SQLite URL {url!r}, not {synchronous!r}"
            )
        return SQLiteTarget(path=path, synchronous=synchronous)
    if sep and scheme in ("postgres", "postgresql"):
        try:
            parsed = URL(url)
        except (ValueError, TypeError) as exc:
            raise DatabaseError(f"malformed PostgreSQL URL {redact_url(url)}: {type(exc).__name__}") from None
        options = dict(parsed.query)
        schema = options.pop("schema", None) or None
        try:
            min_size = int(options.pop("min_size", "1"))
            max_size = int(options.pop("max_size", "10"))
        except ValueError:
            raise DatabaseError(f"min_size and max_size must be integers in {redact_url(url)}") from None
        if not 0 <= min_size <= max_size or max_size < 1:
            raise DatabaseError(f"need 0 <= min_size <= max_size and max_size >= 1 in {redact_url(url)}")
        dsn = str(parsed.with_query(options))
        return PostgresTarget(dsn=dsn, schema=schema, min_size=min_size, max_size=max_size)
    raise DatabaseError(
        f"unsupported database URL {redact_url(url)!r}: expected sqlite:///path.db or postgres://..."
    )


def scheme_of(target: SQLiteTarget | PostgresTarget) -> Scheme:
    """The dialect a parsed target speaks."""
    return Scheme.SQLITE if isinstance(target, SQLiteTarget) else Scheme.POSTGRES
