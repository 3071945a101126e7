"""Hyperscan (optional extra): all keys compiled into one block-mode database.

Keys are matched as raw UTF-8 bytes. Where every use of a key needs a word boundary and the key
begins (or ends) with an ASCII word character, its pattern carries Hyperscan's ASCII ``\\b`` on
that side: an ASCII letter, digit or ``_`` next to the key is a Unicode word character too, so the
engine only drops occurrences that are certainly not whole words, and the matcher still checks the
rest (Hyperscan refuses ``\\b`` in UCP mode, so Unicode neighbours are left to it). This keeps
"rat" in "ratio" from ever reaching Python.

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

from criteria.engines import Boundaries

P = TypeVar("P")

_ASCII_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _pattern(key: str, left: bool, right: bool) -> bytes:
    raw = key.encode("utf-8")
    body = b"".join(bytes([b]) if b in _ASCII_WORD else b"\\x%02x" % b for b in raw)
    if left and raw[0] in _ASCII_WORD:
        body = b"\\b" + body
    if right and raw[-1] in _ASCII_WORD:
        body += b"\\b"
    return body


class HyperscanScanner(Generic[P]):
    def __init__(self, keys: Mapping[str, P], boundaries: Mapping[str, Boundaries] | None = None) -> None:
        self.payloads: list[P] = list(keys.values())
        bounds = boundaries or {}
        patterns = [_pattern(key, *bounds.get(key, (False, False))) for key in keys]
        self.db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self.db.compile(expressions=patterns, ids=list(range(len(patterns))), flags=0)
        self.scratch = hyperscan.Scratch(self.db)

    def scan(self, text: str) -> list[tuple[int, P]]:
        return self.scan_batch([text]).get(0, [])

    def scan_many(self, texts: Sequence[str]) -> list[list[tuple[int, P]]]:
        found = self.scan_batch(texts)
        return [found.get(k, []) for k in range(len(texts))]

    def scan_batch(self, texts: Sequence[str]) -> dict[int, list[tuple[int, P]]]:
        """One Hyperscan call over all texts, each followed by a newline (which no key contains).

        The final newline matters: in a database of several patterns, the Hyperscan inside
        python-hyperscan 0.9.1's wheels misses a ``\\b``-led pattern whose match ends exactly at
        the end of a 49-69 byte buffer ("... go" with ``\\bgo\\b`` beside ``\\blabour\\b``);
        with the newline no match ever ends there.
        Only texts with hits get an entry; nothing per text is built in Python otherwise.
        """
        data = "".join(text + "\n" for text in texts).encode("utf-8")
        hits: list[tuple[int, int]] = []
        append = hits.append

        def on_match(pattern_id: int, start: int, end: int, flags: int, context: Any) -> None:
            append((end, pattern_id))

        self.db.scan(data, match_event_handler=on_match, scratch=self.scratch)
        out: dict[int, list[tuple[int, P]]] = {}
        if not hits:
            return out
        if len(data) == sum(map(len, texts)) + len(texts):  # all ASCII: bytes are characters
            bases = list(accumulate(map(len, texts), lambda total, n: total + n + 1, initial=0))
            ascii_only = True
        else:
            sizes = map(len, map(str.encode, texts))
            bases = list(accumulate(sizes, lambda total, n: total + n + 1, initial=0))
            ascii_only = False
        payloads = self.payloads
        k, base, nxt = 0, 0, bases[1]
        for end, pid in hits:
            if not base <= end - 1 < nxt:
                k = bisect_right(bases, end - 1) - 1
                base, nxt = bases[k], bases[k + 1]
            local = end - base
            if not ascii_only and nxt - base - 1 != len(texts[k]):  # byte offset -> character offset
                local = len(data[base : base + local].decode("utf-8"))
            if k in out:
                out[k].append((local - 1, payloads[pid]))
            else:
                out[k] = [(local - 1, payloads[pid])]
        return out
