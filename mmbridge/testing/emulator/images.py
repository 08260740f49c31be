"""The default profile picture: a tiny PNG made at run time."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def default_png(size: int = 8, rgb: tuple[int, int, int] = (0x1E, 0x32, 0x5C)) -> bytes:
    """A ``size``x``size`` single-colour PNG."""
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    row = b"\x00" + bytes(rgb) * size
    pixels = zlib.compress(row * size)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, or (0, 0) when ``data`` is not one."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return 0, 0
