"""Hyperscan (optional extra): all keys compiled as pure literals into one block-mode database.

Hyperscan reports UTF-8 *byte* end offsets; the scanner converts them to character offsets (a
no-op for ASCII text, which is most posts). Lone surrogates never reach it: normalisation maps
them to U+FFFD, so the text always encodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import accumulate
from typing import Any, Generic, TypeVar

try:
    import hyperscan
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the hyperscan matcher engine needs the optional extra: pip install 'assay[hyperscan]'") from exc

P = TypeVar("P")


class HyperscanScanner(Generic[P]):
    def __init__(self, keys: Mapping[str, P]) -> None:
        self.payloads: list[P] = list(keys.values())
        patterns = [key.encode("utf-8") for key in keys]
        self.db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self.db.compile(expressions=patterns, ids=list(range(len(patterns))), flags=0, literal=True)
        self.scratch = hyperscan.Scratch(self.db)

    def scan(self, text: str) -> list[tuple[int, P]]:
        hits: list[tuple[int, int]] = []
        append = hits.append

        def on_match(pattern_id: int, start: int, end: int, flags: int, context: Any) -> None:
            append((end, pattern_id))

        data = text.encode("utf-8")
        self.db.scan(data, match_event_handler=on_match, scratch=self.scratch)
        payloads = self.payloads
        if len(data) == len(text):
            return [(end - 1, payloads[pid]) for end, pid in hits]
        # byte end offset -> character index of the last character
        char_at = [0] * (len(data) + 1)
        for index, byte_end in enumerate(accumulate(len(ch.encode("utf-8")) for ch in text)):
            char_at[byte_end] = index
        return [(char_at[end], payloads[pid]) for end, pid in hits]
