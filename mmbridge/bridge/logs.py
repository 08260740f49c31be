"""Logging for the daemon: configured from the config's ``logging`` section (a dictConfig), with
secrets masked on every handler (:class:`~mmbridge.api.redaction.SecretFilter`)."""

from __future__ import annotations

import copy
import json
import logging
import logging.config
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
from yarl import URL

from ..api.redaction import SecretFilter, attach_filter, find_filter
from .config.secret import Secret


class JSONFormatter(logging.Formatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, ``message`` (+ ``exception``)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # exc_text first: a SecretFilter leaves the masked traceback there (and no exc_info).
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def _all_handlers() -> list[logging.Handler]:
    handlers = list(logging.getLogger().handlers)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):  # not a PlaceHolder
            handlers.extend(h for h in logger.handlers if h not in handlers)
    return handlers


def config_secrets(*values: object) -> list[str]:
    """Every :class:`Secret` in ``values`` (attrs objects such as the core config, the bridge's
    section or the registration, walked with their mappings and sequences), revealed; for a URL,
    only its password (the rest of ``postgres://user@host/db`` or ``sqlite:///bridge.db`` tells
    an operator which database is meant, and hides nothing). For :func:`install_secret_filter`."""
    found: list[str] = []
    pending = list(values)
    seen: set[int] = set()
    while pending:
        value = pending.pop()
        if id(value) in seen or isinstance(value, str | bytes | int | float | bool | None):
            continue
        seen.add(id(value))
        if isinstance(value, Secret):
            revealed = value.reveal()
            if "://" in revealed:
                found.extend(_url_password(revealed))
            elif revealed:
                found.append(revealed)
        elif attrs.has(cls := type(value)):
            pending.extend(getattr(value, field.name) for field in attrs.fields(cls))
        elif isinstance(value, Mapping):
            pending.extend(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            pending.extend(value)
    return found


def _url_password(text: str) -> list[str]:
    """The passwords a URL carries: its userinfo's, and a ``password``/``sslpassword`` query
    parameter (libpq takes both)."""
    try:
        url = URL(text)
    except (ValueError, TypeError):
        return [text]  # not readable as a URL: all of it stays secret
    found = [url.password or ""] + [url.query.get(name, "") for name in ("password", "sslpassword")]
    return [password for password in found if password]


def install_secret_filter(
    secrets: Iterable[str] = (), *, secret_filter: SecretFilter | None = None
) -> SecretFilter:
    """Mask ``secrets`` (and credential-like text) in every log line: attach one
    :class:`SecretFilter` to every handler there is now (the root logger's and any other
    logger's), and return it so that more secrets can be added as they appear (``.add``).

    Calling it again reuses the filter already installed (or ``secret_filter``), adds ``secrets``
    to it and attaches it to handlers made since. A handler added later must get it by calling
    this again (``configure_logging`` does that).
    """
    handlers = _all_handlers()
    secret_filter = secret_filter or find_filter(handlers) or SecretFilter()
    secret_filter.update(secrets)
    attach_filter(secret_filter, handlers)
    return secret_filter


def configure_logging(
    config: dict[str, Any], *, debug: bool = False, secrets: Iterable[str] = ()
) -> SecretFilter:
    """Apply the ``logging`` section; ``debug`` lowers the root and ``mmbridge`` loggers to DEBUG.

    Every handler then gets a :class:`SecretFilter` masking
    ``secrets`` (see :func:`install_secret_filter`); it is returned, and a filter installed before
    (with its secrets) is kept.

    Raises:
        ValueError: the dictConfig is refused (an unknown handler class, a bad level, ...).
    """
    config = copy.deepcopy(config)
    loggers = config.setdefault("loggers", {})
    if debug:
        config.setdefault("root", {})["level"] = "DEBUG"
        loggers.setdefault("mmbridge", {})["level"] = "DEBUG"
    previous = find_filter(_all_handlers())  # dictConfig replaces the handlers: keep the secrets
    logging.config.dictConfig(config)
    return install_secret_filter(secrets, secret_filter=previous)
