"""Search terms, parsed as the server's ``model.ParseSearchParams`` parses them, for the post and
file searches alike."""

from __future__ import annotations

import datetime
import re

import attrs

from ..models import Channel, Post

_TOKEN_RE = re.compile(r'(-?)"([^"]*)"|(\S+)')
_WORD_RE = re.compile(r"[\w#@.\-']+")
_DAY_MS = 86_400_000


def _day_start(date: str, offset_seconds: int) -> int | None:
    """Midnight of ``YYYY-MM-DD`` in the user's time zone, in ms; None when not a date."""
    try:
        day = datetime.datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=datetime.UTC)
    except ValueError:
        return None
    return int(day.timestamp() * 1000) - offset_seconds * 1000


@attrs.define
class SearchQuery:
    """Search terms parsed as ``model.ParseSearchParams`` does: words, ``word*`` prefixes,
    ``"phrases"``, ``#hashtags``, ``-excluded`` ones, and the ``from:``, ``in:``/``channel:``,
    ``ext:``, ``before:``, ``after:`` and ``on:`` flags (``-from:``/``-in:``/``-ext:`` exclude)."""

    words: list[str] = attrs.field(factory=list)
    phrases: list[str] = attrs.field(factory=list)
    excluded: list[str] = attrs.field(factory=list)
    excluded_phrases: list[str] = attrs.field(factory=list)
    from_users: list[str] = attrs.field(factory=list)
    excluded_users: list[str] = attrs.field(factory=list)
    in_channels: list[str] = attrs.field(factory=list)
    excluded_channels: list[str] = attrs.field(factory=list)
    #: ``ext:`` (file searches only).
    extensions: list[str] = attrs.field(factory=list)
    excluded_extensions: list[str] = attrs.field(factory=list)
    after: int | None = None
    before: int | None = None

    @classmethod
    def parse(cls, terms: str, offset_seconds: int = 0) -> SearchQuery:
        """Parse the ``terms`` of a search."""
        query = cls()
        for negated, phrase, token in _TOKEN_RE.findall(terms):
            if phrase or (negated and not token):
                (query.excluded_phrases if negated else query.phrases).append(phrase.lower())
            else:
                query._add_token(token, offset_seconds)
        return query

    def _add_token(self, token: str, offset_seconds: int) -> None:
        negated = token.startswith("-") and len(token) > 1
        bare = token[1:] if negated else token
        flag, sep, value = bare.partition(":")
        flag = flag.lower()
        if sep and value and flag in ("from", "in", "channel", "ext", "before", "after", "on"):
            self._add_flag(flag, value.lower(), negated, offset_seconds)
        elif negated:
            self.excluded.append(bare.lower())
        elif bare:
            self.words.append(bare.lower())

    def _add_flag(self, flag: str, value: str, negated: bool, offset_seconds: int) -> None:
        if flag == "from":
            (self.excluded_users if negated else self.from_users).append(value.lstrip("@"))
        elif flag in ("in", "channel"):
            (self.excluded_channels if negated else self.in_channels).append(value.lstrip("~"))
        elif flag == "ext":
            (self.excluded_extensions if negated else self.extensions).append(value.lstrip("."))
        else:
            start = _day_start(value, offset_seconds)
            if start is None:
                return
            if flag in ("after", "on"):
                self.after = start + _DAY_MS - 1 if flag == "after" else start - 1
            if flag in ("before", "on"):
                self.before = start if flag == "before" else start + _DAY_MS

    def admits(self, channel: Channel, username: str, create_at: int) -> bool:
        """Whether the ``from:``, ``in:`` and date flags let through something of ``username``'s
        in ``channel`` made at ``create_at`` (ms)."""
        if self.from_users and username not in self.from_users:
            return False
        if username in self.excluded_users:
            return False
        if self.in_channels and channel.name not in self.in_channels:
            return False
        if channel.name in self.excluded_channels:
            return False
        return not (
            (self.after is not None and create_at <= self.after)
            or (self.before is not None and create_at >= self.before)
        )

    def matches(self, post: Post, channel: Channel, username: str, *, is_or_search: bool) -> bool:
        """Whether ``post`` (in ``channel``, by ``username``) is a hit."""
        if not self.admits(channel, username, post.create_at):
            return False
        text = post.message.lower()
        words = {w.strip(".-'") for w in _WORD_RE.findall(text)} | set(post.hashtags.lower().split())
        if any(_word_hit(w, words) for w in self.excluded) or any(p in text for p in self.excluded_phrases):
            return False
        hits = [_word_hit(w, words) for w in self.words] + [p in text for p in self.phrases]
        if not hits:
            return True
        return any(hits) if is_or_search else all(hits)


def _word_hit(term: str, words: set[str]) -> bool:
    if term.endswith("*"):
        stem = term.rstrip("*")
        return bool(stem) and any(w.startswith(stem) for w in words)
    return term in words
