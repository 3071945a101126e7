"""Marking hit spans in a post's text: escaped, merged, never malformed."""

from __future__ import annotations

from evidence.highlight import highlight, merge_spans


def test_it_wraps_each_span_in_mark() -> None:
    assert highlight("you idiots, you fools", [[4, 10], [16, 21]]) == (
        "you <mark>idiots</mark>, you <mark>fools</mark>"
    )


def test_it_escapes_the_text_inside_and_outside_marks() -> None:
    text = '<b>"x"</b> & <script>'
    assert highlight(text, [[0, 3]]) == "<mark>&lt;b&gt;</mark>&quot;x&quot;&lt;/b&gt; &amp; &lt;script&gt;"


def test_overlapping_and_touching_spans_become_one_mark() -> None:
    assert merge_spans([[4, 8], [2, 5], [8, 10], [12, 13]], 20) == [(2, 10), (12, 13)]
    assert highlight("abcdefghijklm", [[4, 8], [2, 5], [8, 10]]) == "ab<mark>cdefghij</mark>klm"


def test_spans_outside_the_text_or_malformed_are_clipped_or_ignored() -> None:
    assert merge_spans([[-3, 2], [5, 99], [7, 7], [3], "x", [1.5, 2], None], 6) == [(0, 2), (5, 6)]


def test_no_spans_leaves_the_text_escaped() -> None:
    assert highlight("a < b", []) == "a &lt; b"


def test_non_ascii_offsets_count_characters() -> None:
    assert highlight("Zoë’s idiots", [[6, 12]]) == "Zoë’s <mark>idiots</mark>"
