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
        found = self.scan_batch(texts)
        return [found.get(k, []) for k in range(len(texts))]

    def scan_batch(self, texts: Sequence[str]) -> dict[int, list[tuple[int, P]]]:
        """One automaton walk over all texts joined by newlines (which no key or text contains).

        Only texts with hits get an entry.
        """
        out: dict[int, list[tuple[int, P]]] = {}
        if not texts:
            return out
        bases: list[int] | None = None
        k, base, nxt = 0, 0, 0
        hits: list[tuple[int, P]] = []
        for end, payload in self._iter("\n".join(texts)):
            if end >= nxt:
                if bases is None:
                    bases = list(accumulate(map(len, texts), lambda total, n: total + n + 1, initial=0))
                k = bisect_right(bases, end) - 1
                base, nxt = bases[k], bases[k + 1]
                hits = out.setdefault(k, [])
            hits.append((end - base, payload))
        return out
