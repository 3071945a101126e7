"""pyahocorasick: one automaton over all keys; it counts offsets in ``str`` characters already."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
