"""Server-level information."""

from __future__ import annotations

import attrs


@attrs.frozen
class ServerVersion:
    """The server's version, read from the ``X-Version-Id`` header (``<ver>.<build>.<hash>.<lic>``)."""

    raw: str

    @property
    def version(self) -> str:
        """The release, e.g. ``10.11.0`` (the first three dotted parts)."""
        return ".".join(self.raw.split(".")[:3])

    @property
    def licensed(self) -> bool:
        """Whether the server reports an Enterprise licence (the last part is ``true``)."""
        return self.raw.rsplit(".", 1)[-1] == "true"
