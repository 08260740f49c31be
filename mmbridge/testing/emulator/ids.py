"""Identifiers, tokens and clocks in Mattermost's formats."""

from __future__ import annotations

import random
import re
import secrets
import time

#: The base32 alphabet of ``model.NewId`` (z-base-32 variant used by Mattermost).
ID_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769"
ID_LENGTH = 26
_ID_RE = re.compile(r"^[a-z0-9]{26}$")


def new_id() -> str:
    """Return a fresh random 26-character id, as ``model.NewId`` makes them."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def new_token() -> str:
    """Return a fresh session or access token (the server uses the id format for both)."""
    return new_id()


class IdGenerator:
    """Ids and tokens of an emulator's objects: random, or with ``seed`` the same sequence on
    every start (the same seeded accounts, tokens and first channels each time)."""

    def __init__(self, seed: int | None = None) -> None:
        self._random: random.Random = random.Random(seed) if seed is not None else secrets.SystemRandom()  # noqa: S311 - reproducible test ids on request

    def new_id(self) -> str:
        """A 26-character id."""
        return "".join(self._random.choice(ID_ALPHABET) for _ in range(ID_LENGTH))

    def new_token(self) -> str:
        """A session or access token (the id format, as the server's)."""
        return self.new_id()


def is_valid_id(value: str) -> bool:
    """Whether ``value`` has the shape of a Mattermost id (``model.IsValidId``)."""
    return bool(_ID_RE.match(value))


def now_ms() -> int:
    """Milliseconds since the epoch (``model.GetMillis``)."""
    return time.time_ns() // 1_000_000
