"""Mattermost markdown, read with markdown-it-py (never with regular expressions).

- :func:`split_message` cuts a text over the server's limit (16,383 runes a post) into posts at
  block boundaries (paragraphs, lists, code blocks), then at line and word boundaries; a code
  block is never cut unless it alone is over the limit, and then each piece is a fenced block of
  its own. Lengths are of the text as it is sent: escape first, then split.
- :func:`markdown_to_html`, :func:`markdown_to_text` and :func:`markdown_to_irc` render it for
  other networks; :func:`html_to_markdown`, :func:`irc_to_markdown` and :func:`text_to_markdown`
  bring their text back.
- ``mention`` (every renderer takes one) maps a Mattermost username to the remote side's name
  (a ghost's username to its remote id, say), and ``@name`` words are rewritten through it.
"""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ...api.validation import MAX_POST_RUNES
from ...appservice.text import escape_markdown

#: A Mattermost username -> the name to show for it elsewhere (None: leave it).
MentionMap = Callable[[str], str | None]

# IRC formatting codes (the de facto set: https://modern.ircdocs.horse/formatting).
IRC_BOLD, IRC_ITALIC, IRC_UNDERLINE, IRC_STRIKE, IRC_MONO = "\x02", "\x1d", "\x1f", "\x1e", "\x11"
IRC_COLOR, IRC_RESET = "\x03", "\x0f"
_USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_")


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
            if current:  # the piece is full: the line starts the next one
                pieces.append(f"{fence}\n{current.rstrip(chr(10))}\n{closing}")
                current = ""
                continue
            pieces.append(f"{fence}\n{line[:room]}\n{closing}")  # one line over the limit alone
            line = line[room:]
        current += line
    if current:
        pieces.append(f"{fence}\n{current.rstrip(chr(10))}\n{closing}")
    return pieces


# ---- rendering --------------------------------------------------------------------------------


def markdown_to_html(markdown: str) -> str:
    """HTML for a Mattermost markdown text (raw HTML in it is escaped, not passed through)."""
    return str(_parser().render(markdown))


def markdown_to_text(markdown: str, *, mention: MentionMap | None = None) -> str:
    """Plain text: the formatting marks go, links show their address, lists keep a dash."""
    return _Renderer(_PLAIN, mention).render(markdown)


def markdown_to_irc(markdown: str, *, mention: MentionMap | None = None) -> str:
    """IRC text: bold, italics, strike-through and code as IRC formatting codes."""
    return _Renderer(_IRC, mention).render(markdown)


#: The marks each style opens and closes with: plain text has none, IRC its codes.
_PLAIN: dict[str, str] = {}
_IRC = {"strong": IRC_BOLD, "em": IRC_ITALIC, "s": IRC_STRIKE, "code": IRC_MONO}


class _Renderer:
    """Walks markdown-it's tokens into text, with the marks of one style."""

    def __init__(self, marks: dict[str, str], mention: MentionMap | None) -> None:
        self.marks = marks
        self.mention = mention

    def render(self, markdown: str) -> str:
        out: list[str] = []
        lists: list[list[int]] = []  # a counter per open list (-1: bullets)
        for token in _parser().parse(markdown):
            kind = token.type
            if kind == "inline":
                out.append(self._inline(token.children or []))
            elif kind in ("fence", "code_block"):
                out.append(token.content.rstrip("\n") + "\n\n")
            elif kind == "bullet_list_open":
                lists.append([-1])
            elif kind == "ordered_list_open":
                lists.append([int(token.attrGet("start") or 1)])
            elif kind in ("bullet_list_close", "ordered_list_close"):
                lists.pop()
                if not lists:
                    out.append("\n")
            elif kind == "list_item_open" and lists:
                counter = lists[-1]
                indent = "  " * (len(lists) - 1)
                out.append(f"{indent}- " if counter[0] < 0 else f"{indent}{counter[0]}. ")
                if counter[0] >= 0:
                    counter[0] += 1
            elif kind == "paragraph_close":
                out.append("\n" if lists else "\n\n")
            elif kind == "heading_close":
                out.append("\n\n")
            elif kind == "hr":
                out.append("----\n\n")
            elif kind == "tr_close":
                out.append("\n")
            elif kind in ("th_close", "td_close"):
                out.append(" | ")
        return "".join(out).replace(" | \n", "\n").rstrip("\n").removesuffix(" | ")

    def _inline(self, children: list[Token]) -> str:
        out: list[str] = []
        link: list[str] = []  # the href of the open link
        for child in children:
            kind = child.type
            if kind == "text":
                out.append(self._mentions(child.content))
            elif kind == "code_inline":
                mark = self.marks.get("code", "")
                out.append(f"{mark}{child.content}{mark}")
            elif kind in ("softbreak", "hardbreak"):
                out.append("\n")
            elif kind.endswith("_open") and kind[:-5] in self.marks:
                out.append(self.marks[kind[:-5]])
            elif kind.endswith("_close") and kind[:-6] in self.marks:
                out.append(self.marks[kind[:-6]])
            elif kind == "link_open":
                link.append(str(child.attrGet("href") or ""))
                out.append("\x00")  # where the link text starts
            elif kind == "link_close" and link:
                href = link.pop()
                start = len(out) - 1 - out[::-1].index("\x00")
                text = "".join(out[start + 1 :])
                del out[start:]
                out.append(text if text in (href, href.removeprefix("mailto:")) else f"{text} ({href})")
            elif kind == "image":
                out.append(str(child.attrGet("src") or ""))
        return "".join(out)

    def _mentions(self, text: str) -> str:
        return "".join(part for part, _ in mention_parts(text, self.mention))


def mention_parts(text: str, mention: MentionMap | None) -> list[tuple[str, bool]]:
    """``text`` as pieces ``(text, is_mention)``: each ``@name`` that ``mention`` maps becomes its
    replacement (what the mapping returns, used as it is)."""
    if mention is None or "@" not in text:
        return [(text, False)]
    parts: list[tuple[str, bool]] = []
    plain_start = index = 0
    while index < len(text):
        if text[index] == "@" and (index == 0 or not text[index - 1].isalnum()):
            end = index + 1
            while end < len(text) and text[end].lower() in _USERNAME_CHARS:
                end += 1
            name = text[index + 1 : end].rstrip(".-_")
            replacement = mention(name.lower()) if name else None
            if replacement is not None:
                if index > plain_start:
                    parts.append((text[plain_start:index], False))
                parts.append((replacement, True))
                index = plain_start = index + 1 + len(name)
                continue
        index += 1
    if plain_start < len(text):
        parts.append((text[plain_start:], False))
    return parts


# ---- back to markdown -------------------------------------------------------------------------


def text_to_markdown(text: str, *, mention: MentionMap | None = None) -> str:
    """Plain text as markdown that shows exactly as written (links stay clickable); ``mention``
    maps a remote name after an ``@`` to what to write instead (``"@irc_bob"``)."""
    return "".join(
        part if is_mention else escape_markdown(part) for part, is_mention in mention_parts(text, mention)
    )


def irc_to_markdown(text: str, *, mention: MentionMap | None = None) -> str:
    """IRC text with formatting codes as markdown: bold, italics, strike-through and monospace
    become markdown, colours and underline are dropped (markdown has none), the rest is escaped."""
    out: list[str] = []
    plain: list[str] = []
    open_marks: list[str] = []
    markdown_of = {IRC_BOLD: "**", IRC_ITALIC: "_", IRC_STRIKE: "~~", IRC_MONO: "`"}

    def flush() -> None:
        if plain:
            out.append(text_to_markdown("".join(plain), mention=mention))
            plain.clear()

    index = 0
    while index < len(text):
        char = text[index]
        if char in markdown_of:
            flush()
            mark = markdown_of[char]
            if mark in open_marks:
                while open_marks:  # close down to it (markdown marks must nest)
                    closing = open_marks.pop()
                    out.append(closing)
                    if closing == mark:
                        break
            else:
                open_marks.append(mark)
                out.append(mark)
        elif char == IRC_RESET:
            flush()
            out.extend(reversed(open_marks))
            open_marks.clear()
        elif char == IRC_COLOR:
            index = _skip_color(text, index + 1) - 1
        elif char != IRC_UNDERLINE:
            plain.append(char)
        index += 1
    flush()
    out.extend(reversed(open_marks))
    return "".join(out)


def _skip_color(text: str, index: int) -> int:
    """The index after a colour code's ``fg[,bg]`` digits (1-2 each)."""
    for part in range(2):
        digits = 0
        while digits < 2 and index < len(text) and text[index].isdigit():
            index += 1
            digits += 1
        if (
            part == 0
            and digits
            and index + 1 < len(text)
            and text[index] == ","
            and text[index + 1].isdigit()
        ):
            index += 1
        else:
            break
    return index


def html_to_markdown(html: str, *, mention: MentionMap | None = None) -> str:
    """HTML (a Matrix or XMPP message body, say) as markdown: the common inline and block tags
    become markdown, the rest is kept as its text, escaped; scripts and styles are dropped."""
    reader = _HTMLToMarkdown(mention)
    reader.feed(html)
    reader.close()
    return reader.markdown()


class _HTMLToMarkdown(HTMLParser):
    """The standard library's HTML tokenizer, writing markdown as it goes."""

    _INLINE = {"b": "**", "strong": "**", "i": "_", "em": "_", "s": "~~", "del": "~~", "strike": "~~"}
    _BLOCKS = {"p", "div", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "tr"}

    def __init__(self, mention: MentionMap | None) -> None:
        super().__init__(convert_charrefs=True)
        self.mention = mention
        self.out: list[str] = []
        self.href: list[str] = []
        self.lists: list[list[int]] = []
        self.skip = 0
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in self._INLINE:
            self.out.append(self._INLINE[tag])
        elif tag == "code" and not self.pre:
            self.out.append("`")
        elif tag == "pre":
            self.pre += 1
            self.out.append("\n```\n")
        elif tag == "a":
            self.href.append(dict(attrs).get("href") or "")
            self.out.append("[")
        elif tag == "br":
            self.out.append("\n")
        elif tag in ("ul", "ol"):
            self.lists.append([-1 if tag == "ul" else 1])
        elif tag == "li" and self.lists:
            counter = self.lists[-1]
            self.out.append(
                "\n" + "  " * (len(self.lists) - 1) + ("- " if counter[0] < 0 else f"{counter[0]}. ")
            )
            if counter[0] >= 0:
                counter[0] += 1
        elif tag in self._BLOCKS:
            self.out.append("\n\n" + ("#" * int(tag[1]) + " " if tag[0] == "h" and tag[1:].isdigit() else ""))
            if tag == "blockquote":
                self.out.append("> ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(self.skip - 1, 0)
        elif tag in self._INLINE:
            self.out.append(self._INLINE[tag])
        elif tag == "code" and not self.pre:
            self.out.append("`")
        elif tag == "pre":
            self.pre = max(self.pre - 1, 0)
            self.out.append("\n```\n\n")
        elif tag == "a" and self.href:
            self.out.append(f"]({self.href.pop()})")
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self.out.append("\n\n")
        elif tag in self._BLOCKS:
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            self.out.append(data)
            return
        words = " ".join(data.split())  # HTML's white space: any run is one space
        lead = " " if data[:1].isspace() else ""
        trail = " " if data[-1:].isspace() and words else ""
        self.out.append(lead + text_to_markdown(words, mention=self.mention) + trail)

    def markdown(self) -> str:
        text = "".join(self.out)
        while "\n\n\n" in text:
            text = text.replace("\n\n\n", "\n\n")
        return "\n".join(line.rstrip() for line in text.strip().splitlines())
