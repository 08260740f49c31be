"""Which usernames are this bridge's puppets."""

from __future__ import annotations

import re

import attrs

from ..api.validation import require_username
from ..errors import ValidationError

_PLACEHOLDER = "{localpart}"
_LOCALPART = re.compile(r"[a-z0-9.\-_]+")
_SAFE_BYTE = re.compile(r"[a-z0-9\-]")


@attrs.frozen
class PuppetNamespace:
    """A username template such as ``irc_{localpart}``; only matching users are puppets.

    ``localpart`` is the remote user's id made safe for a Mattermost username (lower-case letters,
    digits, ``.``, ``-``, ``_``). :meth:`username_for` builds a puppet's username,
    :meth:`is_puppet` and :meth:`localpart_of` read one back.
    """

    template: str
    _pattern: re.Pattern[str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if self.template.count(_PLACEHOLDER) != 1:
            raise ValidationError("username_template", f"must contain {_PLACEHOLDER} exactly once")
        prefix, suffix = self.template.split(_PLACEHOLDER)
        if not prefix and not suffix:
            raise ValidationError(
                "username_template", "needs a prefix or suffix, or every user would be a puppet"
            )
        require_username("username_template", prefix + "x" + suffix)
        pattern = re.compile(f"{re.escape(prefix)}([a-z0-9.\\-_]+){re.escape(suffix)}")
        object.__setattr__(self, "_pattern", pattern)

    def username_for(self, localpart: str) -> str:
        """The puppet username for a remote user's ``localpart``."""
        if not _LOCALPART.fullmatch(localpart):
            raise ValidationError(
                "localpart", f"{localpart!r} may only use a-z, 0-9, '.', '-', '_' (see safe_localpart)"
            )
        return require_username("username", self.template.replace(_PLACEHOLDER, localpart))

    def is_puppet(self, username: str) -> bool:
        """Whether ``username`` matches the template."""
        return self._pattern.fullmatch(username) is not None

    def localpart_of(self, username: str) -> str | None:
        """The localpart of a puppet username, or None for a user outside the namespace."""
        match = self._pattern.fullmatch(username)
        return match.group(1) if match else None


def safe_localpart(remote_id: str) -> str:
    """Make any remote id usable as a localpart, reversibly (see :func:`unsafe_localpart`).

    ``a-z``, ``0-9`` and ``-`` stay; every other byte of the UTF-8 text becomes ``_`` and two hex
    digits (``Alice`` -> ``_41lice``), so two different ids never share a puppet.
    """
    return "".join(
        chr(byte) if _SAFE_BYTE.fullmatch(chr(byte)) else f"_{byte:02x}" for byte in remote_id.encode()
    )


def unsafe_localpart(localpart: str) -> str:
    """The remote id :func:`safe_localpart` was given."""
    raw = bytearray()
    index = 0
    while index < len(localpart):
        if localpart[index] == "_":
            raw.append(int(localpart[index + 1 : index + 3], 16))
            index += 3
        else:
            raw.append(ord(localpart[index]))
            index += 1
    return raw.decode()
