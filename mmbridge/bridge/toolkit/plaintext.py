"""Text for networks of plain lines (IRC, SMS, old XMPP clients): lines cut to a byte length,
long messages shortened to a link, and edits told as a correction line, since such networks have
no edits."""

from __future__ import annotations


def fit_lines(text: str, room: int, max_lines: int, link: str = "") -> list[str]:
    """The lines ``text`` goes out as: each of its lines cut at a space to at most ``room`` bytes
    of UTF-8 (never inside a character); past ``max_lines``, the last line says where the rest is."""
    lines = [piece for line in text.split("\n") for piece in _cut(line, room)]
    if len(lines) > max_lines and link:
        shown = lines[: max_lines - 1]
        rest = len(lines) - len(shown)
        shown.extend(_cut(f"(... {rest} more lines: {link})", room))
        return shown
    return lines


#: What a line is trimmed of (not ``str.strip()``'s default: IRC's italics code 0x1D is "whitespace").
_BLANK = " \t\r"


def _cut(line: str, room: int) -> list[str]:
    pieces: list[str] = []
    line = line.rstrip(_BLANK)
    while len(line.encode()) > room:
        head = line.encode()[:room].decode("utf-8", errors="ignore")
        space = head.rfind(" ")
        if space > len(head) // 2:  # a word boundary not too far back
            head = head[:space]
        pieces.append(head.rstrip(_BLANK))
        line = line[len(head) :].lstrip(_BLANK)
    if line.strip(_BLANK):
        pieces.append(line)
    return pieces


def correction(old: str | None, new: str, style: str) -> str | None:
    """The line that corrects ``old`` to ``new``: ``s/old words/new words/`` (style ``sed``, when
    words were replaced and the old text is known), else ``meant: <new>`` (sent as an action);
    None for style ``off`` or no change."""
    if style == "off" or old == new:
        return None
    if style == "sed" and old:
        before, after = old.split(" "), new.split(" ")
        start = 0
        while start < min(len(before), len(after)) and before[start] == after[start]:
            start += 1
        end = 0
        while end < min(len(before), len(after)) - start and before[-1 - end] == after[-1 - end]:
            end += 1
        removed = " ".join(before[start : len(before) - end])
        added = " ".join(after[start : len(after) - end])
        if removed and "/" not in removed + added and "\n" not in removed + added:
            return f"s/{removed}/{added}/"
    return f"meant: {new}"
