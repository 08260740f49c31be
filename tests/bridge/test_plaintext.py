"""Text for plain-line networks: lines cut to a byte length, long pastes shortened, edits told."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mmbridge.bridge.toolkit.plaintext import correction, fit_lines

words = st.lists(st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=30))


@given(words, st.integers(min_value=8, max_value=120))
def test_lines_fit_their_byte_room_and_lose_no_word(parts: list[str], room: int) -> None:
    text = " ".join(parts)
    lines = fit_lines(text, room, max_lines=10_000)
    assert all(len(line.encode()) <= room for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost, nothing cut apart


def test_a_line_is_cut_at_a_space_and_a_long_paste_ends_with_its_link() -> None:
    assert fit_lines("aaaa bbbb cccc", 10, 5) == ["aaaa bbbb", "cccc"]
    assert fit_lines("ü" * 5, 4, 5) == ["üü", "üü", "ü"]  # never inside a character
    paste = "\n".join(f"line {i}" for i in range(6))
    assert fit_lines(paste, 100, 3, "https://x/pl/1") == [
        "line 0",
        "line 1",
        "(... 4 more lines: https://x/pl/1)",
    ]
    assert fit_lines("\x1ditalic\x1d", 100, 3) == ["\x1ditalic\x1d"]  # IRC codes are not blanks


def test_an_edit_is_told_as_a_correction() -> None:
    assert correction("see you at 5 tomorrow", "see you at 6 tomorrow", "sed") == "s/5/6/"
    assert correction("see you at 5", "see you at 5", "sed") is None
    assert correction(None, "new text", "sed") == "meant: new text"  # the old text is not known
    assert correction("a/b", "a/c", "sed") == "meant: a/c"  # a slash would garble the s/// line
    assert correction("old", "new", "meant") == "meant: new"
    assert correction("old", "new", "off") is None
