"""Writing files so that a crash or a full disk never leaves half a file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, text: str, *, mode: int = 0o644, owner: tuple[int, int] | None = None) -> None:
    """Replace ``path`` with ``text``: written to a temporary file beside it, synced, then renamed
    over it, so readers see the old file or the new one and never a part. ``mode`` is set before
    the rename (``0o600`` for files holding secrets), and ``owner`` (uid, gid) where the process may.

    Raises:
        OSError: the folder is not writable or the disk is full; ``path`` is left as it was.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), mode)
            if owner is not None:
                with contextlib.suppress(PermissionError):  # only root may give a file away
                    os.fchown(file.fileno(), *owner)
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
