"""Formatting: Mattermost markdown to plain text, HTML and IRC codes and back, mentions, and
splitting long messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmbridge.bridge.toolkit.formatting import (
    IRC_BOLD,
    IRC_ITALIC,
    IRC_MONO,
    IRC_STRIKE,
    html_to_markdown,
    irc_to_markdown,
    markdown_to_html,
    markdown_to_irc,
    markdown_to_text,
    split_message,
    text_to_markdown,
)

SAMPLE = (
    "**bold** *it* ~~gone~~ `code` [a link](https://x.org) hi @irc_bob.\n\n"
    "- one\n- two\n\n1. first\n2. second\n\n```\nline1\nline2\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |"
)


def ghost_to_nick(username: str) -> str | None:
    return username.removeprefix("irc_") if username.startswith("irc_") else None


def test_markdown_to_text_drops_marks_keeps_links_lists_code_and_tables() -> None:
    assert markdown_to_text(SAMPLE, mention=ghost_to_nick) == (
        "bold it gone code a link (https://x.org) hi bob.\n\n"
        "- one\n- two\n\n1. first\n2. second\n\nline1\nline2\n\na | b\n1 | 2"
    )


def test_markdown_to_irc_uses_the_formatting_codes() -> None:
    irc = markdown_to_irc("**bold** *it* ~~gone~~ `code` @irc_bob", mention=ghost_to_nick)
    b, i, s, m = IRC_BOLD, IRC_ITALIC, IRC_STRIKE, IRC_MONO
    assert irc == f"{b}bold{b} {i}it{i} {s}gone{s} {m}code{m} bob"


def test_markdown_to_html_escapes_raw_html() -> None:
    assert markdown_to_html("**b** <script>alert(1)</script>") == (
        "<p><strong>b</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
    )


def test_irc_to_markdown_converts_codes_drops_colours_and_escapes_the_rest() -> None:
    text = f"{IRC_BOLD}bold{IRC_BOLD} {IRC_ITALIC}it{IRC_ITALIC} \x0304,12red\x03 *stars* {IRC_BOLD}open"
    assert irc_to_markdown(text) == "**bold** _it_ red \\*stars\\* **open**"
    assert irc_to_markdown(f"{IRC_BOLD}a{IRC_ITALIC}b\x0fc") == "**a_b_**c"  # reset closes all


def test_remote_mentions_become_mattermost_mentions_unescaped() -> None:
    def nick_to_ghost(nick: str) -> str | None:
        return f"@irc_{nick}" if nick in ("bob_x", "carol") else None

    assert text_to_markdown("2 * 3 for @bob_x, @carol and @dave", mention=nick_to_ghost) == (
        "2 \\* 3 for @irc_bob_x, @irc_carol and @dave"
    )
    assert text_to_markdown("mail me: me@example.org", mention=nick_to_ghost) == "mail me: me@example.org"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_plain_text_survives_the_round_trip_to_markdown_and_back(text: str) -> None:
    # What a remote user typed, escaped for Mattermost, reads back as the same text.
    plain = text.replace("\r", "").strip()
    assert markdown_to_text(text_to_markdown(plain)).split() == plain.split() or not plain.isprintable()


def test_split_keeps_code_blocks_whole_and_escapes_unbroken() -> None:
    code = "```python\n" + "\n".join(f"print({n})" for n in range(800)) + "\n```\n"
    text = "word " * 3000 + "\n\n" + code + "\n" + "more " * 3000 + "\n\n" + "end " * 500
    posts = split_message(text)
    assert len(posts) == 3
    assert sum(code.strip() in post for post in posts) == 1
    stars = text_to_markdown("*" * 16_000)  # 32,000 characters once escaped
    parts = split_message(stars)
    assert [len(p) for p in parts] == [16_382, 15_618]
    assert all(not p.endswith("\\") for p in parts)  # never between a backslash and its star
    assert "".join(parts) == stars


def test_a_code_block_over_the_limit_is_fenced_in_each_piece() -> None:
    block = "```\n" + "x = 1\n" * 5000 + "```\n"
    pieces = split_message(block)
    assert len(pieces) == 2
    assert all(p.startswith("```\n") and p.endswith("\n```") for p in pieces)
    assert sum(p.count("x = 1") for p in pieces) == 5000


def test_split_refuses_a_tiny_limit() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        split_message("x" * 100, limit=4)


def test_html_to_markdown_maps_the_common_tags_and_drops_scripts() -> None:
    html = (
        '<p>Hello <b>bold</b> and <em>it</em>, a <a href="https://x.org">link</a> 2*3</p>'
        "<ul><li>one</li><li>two</li></ul><pre><code>x = 1\ny = *2*</code></pre>"
        "<script>steal()</script><blockquote>quoted</blockquote><p>@bob said hi</p>"
    )
    assert html_to_markdown(html, mention=lambda nick: "@irc_bob" if nick == "bob" else None) == (
        "Hello **bold** and _it_, a [link](https://x.org) 2\\*3\n\n- one\n- two\n\n"
        "```\nx = 1\ny = *2*\n```\n\n> quoted\n\n@irc_bob said hi"
    )


def test_markdown_survives_html_and_back() -> None:
    markdown = "**bold** _it_ ~~gone~~ [a link](https://x.org) `code`"
    assert html_to_markdown(markdown_to_html(markdown)) == markdown
