"""Hyperscan (optional extra): all keys compiled as pure literals into one block-mode database.

Hyperscan reports UTF-8 *byte* end offsets; the scanner converts them to character offsets (a
no-op for ASCII text, which is most posts). Lone surrogates never reach it: normalisation maps
them to U+FFFD, so the text always encodes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
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
        return self.scan_many([text])[0]

    def scan_many(self, texts: Sequence[str]) -> list[list[tuple[int, P]]]:
        """One Hyperscan call over all texts joined by newlines (which no key or text contains)."""
        data = "\n".join(texts).encode("utf-8")
        hits: list[tuple[int, int]] = []
        append = hits.append

        def on_match(pattern_id: int, start: int, end: int, flags: int, context: Any) -> None:
            append((end, pattern_id))

        self.db.scan(data, match_event_handler=on_match, scratch=self.scratch)
        out: list[list[tuple[int, P]]] = [[] for _ in texts]
        if not hits:
            return out
        lengths = [len(t) if t.isascii() else len(t.encode("utf-8")) for t in texts]
        bases = list(accumulate((n + 1 for n in lengths), initial=0))
        payloads = self.payloads
        for end, pid in hits:
            k = bisect_right(bases, end - 1) - 1
            local = end - bases[k]
            text = texts[k]
            if lengths[k] != len(text):  # not ASCII: byte offset -> character offset
                local = len(data[bases[k] : bases[k] + local].decode("utf-8"))
            out[k].append((local - 1, payloads[pid]))
        return out
