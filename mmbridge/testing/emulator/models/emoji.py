"""Custom emoji: ``model.Emoji``, and the image checks the server makes on upload."""

from __future__ import annotations

import struct

import attrs

from .system_emoji import SYSTEM_EMOJI_NAMES
from .wire import Record, internal

#: ``app.MaxEmojiFileSize``: the largest ``POST /emoji`` request (512 KiB).
MAX_EMOJI_FILE_SIZE = 1 << 19
#: ``app.MaxEmojiOriginalWidth`` / ``Height``: larger images are refused.
MAX_EMOJI_ORIGINAL_SIZE = 1028


@attrs.define
class Emoji(Record):
    """A custom emoji and its image: ``model.Emoji``."""

    id: str
    creator_id: str
    name: str
    create_at: int
    update_at: int = attrs.field(default=attrs.Factory(lambda self: self.create_at, takes_self=True))
    delete_at: int = 0
    image: bytes = internal(default=b"", repr=False)
    #: ``png``, ``gif``, ``jpeg`` or ``webp``: what ``image.DecodeConfig`` named the image.
    image_type: str = internal(default="png")


def is_system_emoji_name(name: str) -> bool:
    """``model.IsSystemEmojiName``."""
    return name in SYSTEM_EMOJI_NAMES


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        # Start-of-frame markers (baseline, progressive, ...) carry the dimensions.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


def image_config(data: bytes) -> tuple[str, int, int] | None:
    """The format, width and height of a PNG, GIF, JPEG or WebP image (``image.DecodeConfig``),
    or ``None`` when ``data`` is none of them."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "png", int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return "gif", int(width), int(height)
    if data[:3] == b"\xff\xd8\xff":
        size = _jpeg_size(data)
        return None if size is None else ("jpeg", *size)
    if data[:4] == b"RIFF" and data[8:16] == b"WEBPVP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return "webp", width, height
    return None
