"""pyahocorasick: one automaton over all keys; it counts offsets in ``str`` characters already."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate
from typing import Generic, TypeVar

import ahocorasick

P = TypeVar("P")


class AhoCorasickScanner(Generic[P]):
    def __init__(self, keys: Mapping[str, P]) -> None:
        automaton = ahocorasick.Automaton()
        for key, payload in keys.items():
            automaton.add_word(key, payload)
        automaton.make_automaton()
        self._iter = automaton.iter
        self.automaton = automaton

    def scan(self, text: str) -> Iterable[tuple[int, P]]:
        return self._iter(text)  # type: ignore[no-any-return]

    def scan_many(self, texts: Sequence[str]) -> list[list[tuple[int, P]]]:
        """One automaton walk over all texts joined by newlines (which no key or text contains)."""
        out: list[list[tuple[int, P]]] = [[] for _ in texts]
        bases = list(accumulate((len(t) + 1 for t in texts), initial=0))
        k, base, nxt = 0, 0, bases[1] if texts else 0
        for end, payload in self._iter("\n".join(texts)):
            if end >= nxt:
                k = bisect_right(bases, end) - 1
                base, nxt = bases[k], bases[k + 1]
            out[k].append((end - base, payload))
        return out
