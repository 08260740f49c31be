"""``Secret``: a config value (token, password, database URL) that never shows itself."""

from __future__ import annotations

import attrs


@attrs.frozen(repr=False)
class Secret:
    """A secret string. ``repr()`` and ``str()`` print ``***``; :meth:`reveal` gives the value.

    Where a config field is a ``Secret``, the value may also come from a file (``<key>_file:``), from
    the environment (``MMBRIDGE_<PATH>``) or from ``${VAR}`` in the value, so it need not be written
    in the config file at all.
    """

    _value: str = attrs.field(alias="value")

    def reveal(self) -> str:
        """The secret itself: pass it to what needs it, never to a log line or a message."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__
