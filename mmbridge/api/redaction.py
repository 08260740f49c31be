"""Redaction of secrets from log records: a :class:`logging.Filter` for handlers.

:class:`SecretFilter` rewrites every record it sees, at any level and from any library (a
library may log a request or a statement with its parameters at DEBUG, tokens included), so that no registered
secret and nothing that looks like a credential reaches a log line:

* registered secrets (tokens, passwords, secrets from the config; puppet tokens as they are made),
  wherever they appear in the message, its arguments, the traceback or the stack;
* ``Authorization: Bearer …`` (or ``Token …``) and a lone ``Bearer …``;
* ``token=…``, ``access_token=…``, ``password=…``, ``secret=…`` (query strings, forms);
* a 26-character Mattermost token right after the word ``token`` (``token: …``, ``"token": "…"``);
* the password in a URL (``postgres://user:…@host``).

It lives in the API layer so that each layer above can register the secrets it handles; the
daemon installs one on the root logger's handlers (:func:`mmbridge.bridge.logs.install_secret_filter`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Final

MASK: Final = "***"
"""What a redacted value is replaced with."""
MIN_SECRET_LENGTH: Final = 6
"""Shorter secrets are not registered: masking every "abc" would garble the log, not protect it."""

# Runs of the characters tokens are made of: a registered secret made only of them is found by
# looking its windows up in a set (fast however many puppet tokens there are).
_WORD_RUN: Final = re.compile(rf"[A-Za-z0-9_\-]{{{MIN_SECRET_LENGTH},}}")
_WORD_SECRET: Final = re.compile(r"[A-Za-z0-9_\-]+")
# One pass over the text; each alternative starts with a literal or at the start of a word, so
# the scan stays linear even on a long run of letters.
_PATTERNS: Final = re.compile(
    r"""
      (?P<auth>authorization["']?\s*[:=]\s*["']?(?:(?:bearer|token|basic)\s+)?)[^\s"',;}\]]+
    | (?P<bearer>\bbearer\s+)[A-Za-z0-9._~+/=\-]{16,}
    | (?P<param>(?<![\w.\-])[\w.\-]*(?:token|secret|password|passwd)=)[^&\s"'<>,;]+
    | (?P<near>token(?!_?ids?\b)[\w\-]*["']?\s*[:=]?\s*["']?)(?-i:[a-z0-9]{26})(?![A-Za-z0-9])
    | (?P<userinfo>://[^:/@\s]+:)[^@\s/]+(?=@)
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _mask_pattern(match: re.Match[str]) -> str:
    # Keep the label (the group that matched), mask the value after it.
    return next(label for label in match.groups() if label is not None) + MASK


class SecretFilter(logging.Filter):
    """Masks secrets in every record; never drops one.

    Attach it to handlers, not loggers: a logger's filters only see records logged on that very
    logger, not those propagated from its children (``asyncpg``, ``aiohttp.client``, ...), while a
    handler's filters see every record the handler emits. The record is rewritten in place: its
    message is formatted, masked and stored as ``msg`` with empty ``args``; a traceback is
    formatted into ``exc_text`` and masked, and ``exc_info`` cleared, so that a formatter that
    would format the exception again cannot show it unmasked.

    Safe to use from several threads (the SQLite backend logs from its own); :meth:`add` may be called at
    any time, e.g. for each puppet token as it is made.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._words: set[str] = set()
        # Replaced, never changed in place: a thread redacting meanwhile sees one or the other.
        self._word_lengths: tuple[int, ...] = ()
        self._others: tuple[str, ...] = ()
        self._formatter = logging.Formatter()
        for secret in secrets:
            self.add(secret)

    def __repr__(self) -> str:
        return f"SecretFilter({len(self)} secrets)"

    def __len__(self) -> int:
        return len(self._words) + len(self._others)

    def add(self, secret: str) -> None:
        """Mask ``secret`` from now on (ignored when shorter than :data:`MIN_SECRET_LENGTH`)."""
        if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if _WORD_SECRET.fullmatch(secret):
                if secret not in self._words:
                    self._words.add(secret)
                    if len(secret) not in self._word_lengths:
                        self._word_lengths = tuple(sorted({*self._word_lengths, len(secret)}))
            elif secret not in self._others:
                # Longest first, so a secret containing another is masked whole.
                self._others = tuple(sorted({*self._others, secret}, key=len, reverse=True))

    def update(self, secrets: Iterable[str]) -> None:
        """:meth:`add` each of ``secrets``."""
        for secret in secrets:
            self.add(secret)

    def discard(self, secret: str) -> None:
        """Stop masking ``secret`` (e.g. a revoked token; keeping it masked is harmless too)."""
        with self._lock:
            self._words.discard(secret)
            if secret in self._others:
                self._others = tuple(other for other in self._others if other != secret)

    def redact(self, text: str) -> str:
        """``text`` with every registered secret and credential-like value masked."""
        for other in self._others:
            if other in text:
                text = text.replace(other, MASK)
        if self._words:
            text = self._redact_words(text)
        return _PATTERNS.sub(_mask_pattern, text)

    def _redact_words(self, text: str) -> str:
        lengths = self._word_lengths
        words = self._words
        spans: list[tuple[int, int]] = []
        for run in _WORD_RUN.finditer(text):
            start, end = run.span()
            position = start
            while position < end:
                for length in lengths:
                    if position + length > end:
                        break
                    if text[position : position + length] in words:
                        spans.append((position, position + length))
                        position += length - 1
                        break
                position += 1
        if not spans:
            return text
        pieces: list[str] = []
        last = 0
        for start, end in spans:
            pieces.append(text[last:start])
            pieces.append(MASK)
            last = end
        pieces.append(text[last:])
        return "".join(pieces)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask ``record`` in place; always keep it."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: the handler would print the arguments raw
            message = f"{record.msg!r} (unformattable log arguments: {record.args!r})"
        record.msg = self.redact(message)
        record.args = ()
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_info:
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def attach_filter(secret_filter: SecretFilter, handlers: Iterable[logging.Handler]) -> None:
    """Add ``secret_filter`` to each handler that has no :class:`SecretFilter` yet."""
    for handler in handlers:
        if not any(isinstance(existing, SecretFilter) for existing in handler.filters):
            handler.addFilter(secret_filter)


def find_filter(handlers: Iterable[logging.Handler]) -> SecretFilter | None:
    """The first :class:`SecretFilter` attached to one of ``handlers``, if any."""
    for handler in handlers:
        for existing in handler.filters:
            if isinstance(existing, SecretFilter):
                return existing
    return None
