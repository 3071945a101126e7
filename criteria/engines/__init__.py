"""Multi-pattern literal scanners behind one narrow interface.

An engine is built from a mapping of literal keys (already normalised) to payloads, and scans a
normalised string, yielding ``(end, payload)`` for every occurrence of every key, overlapping
occurrences included, where ``end`` is the inclusive *character* index of the occurrence's last
character. The matcher does everything else (word boundaries, boolean checks, spans) the same
way for every engine, which is why engines give identical results. An engine may leave out
occurrences that certainly fail a word boundary (see :data:`Boundaries`): Hyperscan does, for
ASCII neighbours, so fewer false candidates reach Python. ``scan_batch`` scans many texts in one
call and reports only those with hits.

pyahocorasick is the default (wheels everywhere); Hyperscan is an optional extra, imported lazily.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, TypeAlias, TypeVar

__all__ = ["ENGINES", "Boundaries", "Scanner", "build_scanner"]

P = TypeVar("P")
P_co = TypeVar("P_co", covariant=True)

ENGINES = ("ahocorasick", "hyperscan")

Boundaries: TypeAlias = tuple[bool, bool]
"""Per key: whether *every* use of it needs a word boundary before it, and after it. An engine may
drop occurrences that certainly lack one (never one that might have it); the matcher checks the rest."""


class Scanner(Protocol[P_co]):
    def scan(self, text: str) -> Iterable[tuple[int, P_co]]:
        """Every occurrence of every key in ``text``: (inclusive end character index, payload)."""
        ...

    def scan_many(self, texts: Sequence[str]) -> Sequence[Sequence[tuple[int, P_co]]]:
        """``scan`` for each text; an engine may scan them all in one call."""
        ...

    def scan_batch(self, texts: Sequence[str]) -> Mapping[int, Sequence[tuple[int, P_co]]]:
        """Like ``scan_many``, but only the indices of texts with hits appear (one call, sparse)."""
        ...


class _Empty:
    def scan(self, text: str) -> tuple[()]:
        return ()

    def scan_many(self, texts: Sequence[str]) -> list[tuple[()]]:
        return [()] * len(texts)

    def scan_batch(self, texts: Sequence[str]) -> dict[int, tuple[()]]:
        return {}


def build_scanner(engine: str, keys: Mapping[str, P], boundaries: Mapping[str, Boundaries] | None = None) -> Scanner[P]:
    """A scanner for ``keys`` on ``engine`` ("ahocorasick" or "hyperscan"); see :data:`Boundaries`."""
    if engine not in ENGINES:
        raise ValueError(f"unknown matcher engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if not keys:
        return _Empty()
    if engine == "hyperscan":
        from criteria.engines.hyperscan import HyperscanScanner

        return HyperscanScanner(keys, boundaries)
    from criteria.engines.ahocorasick import AhoCorasickScanner

    return AhoCorasickScanner(keys)
