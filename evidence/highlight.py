"""Mark the matched spans of a post's text, safely: pure Python, no Django.

Spans are ``[[start, end], ...]`` character offsets into the text, from every hit on the post.
They may overlap, touch, arrive unsorted or (from a buggy rule run) fall outside the text;
the result is always well-formed HTML with every character of the text escaped exactly once.
"""

from __future__ import annotations

import html
from collections.abc import Iterable


def merge_spans(spans: Iterable[object], length: int) -> list[tuple[int, int]]:
    """Clip spans to ``[0, length]``, drop empty or malformed ones, merge overlapping and touching ones."""
    clean: list[tuple[int, int]] = []
    for span in spans:
        if not isinstance(span, list | tuple) or len(span) != 2:
            continue
        start, end = span
        if not isinstance(start, int) or not isinstance(end, int):
            continue
        start, end = max(0, start), min(length, end)
        if start < end:
            clean.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(clean):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, spans: Iterable[object]) -> str:
    """``text`` as escaped HTML with each merged span wrapped in ``<mark>``."""
    parts: list[str] = []
    position = 0
    for start, end in merge_spans(spans, len(text)):
        parts.append(html.escape(text[position:start]))
        parts.append(f"<mark>{html.escape(text[start:end])}</mark>")
        position = end
    parts.append(html.escape(text[position:]))
    return "".join(parts)
