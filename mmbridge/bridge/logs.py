"""Logging for the daemon: configured from the config's ``logging`` section (a dictConfig)."""

from __future__ import annotations

import copy
import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

#: Loggers that print secrets at DEBUG and stay at INFO even under ``--debug``.
QUIET_LOGGERS = ("aiosqlite",)


class JSONFormatter(logging.Formatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, ``message`` (+ ``exception``)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(config: dict[str, Any], *, debug: bool = False) -> None:
    """Apply the ``logging`` section; ``debug`` lowers the root and ``mmbridge`` loggers to DEBUG.

    The :data:`QUIET_LOGGERS` stay at INFO whatever the section's root level, unless the section
    names a level for them itself.

    Raises:
        ValueError: the dictConfig is refused (an unknown handler class, a bad level, ...).
    """
    config = copy.deepcopy(config)
    loggers = config.setdefault("loggers", {})
    if debug:
        config.setdefault("root", {})["level"] = "DEBUG"
        loggers.setdefault("mmbridge", {})["level"] = "DEBUG"
    for name in QUIET_LOGGERS:
        loggers.setdefault(name, {}).setdefault("level", "INFO")
    logging.config.dictConfig(config)
