"""Mattermost markdown, read with markdown-it-py (never with regular expressions).

:func:`split_message` cuts a text over the server's limit (16,383 runes a post) into posts at
block boundaries (paragraphs, lists, code blocks), then at line and word boundaries; a code block
is never cut unless it alone is over the limit, and then each piece is a fenced block of its own.
Lengths are of the text as it is sent: escape first, then split.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

from ...api.validation import MAX_POST_RUNES


def _parser() -> MarkdownIt:
    """A parser for Mattermost's markdown (CommonMark with tables and strikethrough)."""
    return MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def _blocks(text: str) -> list[tuple[str, bool]]:
    """The text as top-level blocks (``(source, is_code)``), blank lines kept with the block
    before them, so that joining the blocks gives the text back."""
    lines = text.splitlines(keepends=True)
    starts: list[tuple[int, bool]] = []
    for token in _parser().parse(text):
        if token.level == 0 and token.map is not None:  # a block's opening (or whole) token
            starts.append((token.map[0], token.type in ("fence", "code_block")))
    if not starts or starts[0][0] != 0:
        starts.insert(0, (0, False))
    blocks: list[tuple[str, bool]] = []
    for index, (start, is_code) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(lines)
        if end > start:
            blocks.append(("".join(lines[start:end]), is_code))
    return blocks


def split_message(text: str, limit: int = MAX_POST_RUNES) -> list[str]:
    """``text`` as posts of at most ``limit`` runes each (one post when it fits): as few as the
    blocks allow, each text block cut only to fill a post, code blocks whole when they fit one."""
    if limit < 16:
        raise ValueError("limit must be at least 16 runes")
    if len(text) <= limit:
        return [text]
    posts: list[str] = []
    current = ""
    for block, is_code in _blocks(text):
        if len(current) + len(block) <= limit:
            current += block
            continue
        if is_code:
            if current.strip():
                posts.append(current)
            current = ""
            if len(block) <= limit:
                current = block
                continue
            *whole, current = _cut_code(block, limit)
            posts.extend(whole)
            continue
        while len(current) + len(block) > limit:
            head, block = _cut_text(block, limit - len(current))
            if not head and not current.strip():  # nothing fits even an empty post: cannot be
                head, block = block[:limit], block[limit:]
            current += head
            posts.append(current)
            current = ""
        current += block
    if current.strip():
        posts.append(current)
    return [post.strip("\n") for post in posts]


def _cut_text(block: str, room: int) -> tuple[str, str]:
    """The longest head of ``block`` of at most ``room`` runes ending at a line break, else at a
    space, else anywhere but inside an escape (``\\*``); and the rest."""
    if room <= 0:
        return "", block
    window = block[:room]
    for separator in ("\n", " "):
        cut = window.rfind(separator)
        if cut > 0:
            return block[: cut + 1], block[cut + 1 :]
    cut = room
    while cut > 1 and block[cut - 1] == "\\" and (len(window) - len(window.rstrip("\\"))) % 2 == 1:
        cut -= 1
    return block[:cut], block[cut:]


def _cut_code(block: str, limit: int) -> list[str]:
    """A code block over the limit, by lines, each piece fenced again."""
    lines = block.splitlines(keepends=True)
    fenced = bool(lines) and lines[0].lstrip().startswith(("```", "~~~"))
    fence = lines[0].rstrip("\n") if fenced else "```"
    closing = fence.strip()[:3]
    body = lines[1:] if fenced else lines
    if fenced and body and body[-1].strip().startswith(closing):
        body = body[:-1]
    room = limit - len(fence) - len(closing) - 3
    pieces: list[str] = []
    current = ""
    for line in body:
        while len(current) + len(line) > room:
            take = max(room - len(current), 0)
            if take == 0 or not current:
                take = max(take, 1)
                current, line = current + line[:take], line[take:]
            pieces.append(f"{fence}\n{current.rstrip(chr(10))}\n{closing}")
            current = ""
        current += line
    if current:
        pieces.append(f"{fence}\n{current.rstrip(chr(10))}\n{closing}")
    return pieces
