"""Multi-pattern literal scanners behind one narrow interface.

An engine is built from a mapping of literal keys (already normalised) to payloads, and scans a
normalised string, yielding ``(end, payload)`` for every occurrence of every key, overlapping
occurrences included, where ``end`` is the inclusive *character* index of the occurrence's last
character. The matcher does everything else (word boundaries, boolean checks, spans) the same
way for every engine, which is why engines give identical results.

pyahocorasick is the default (wheels everywhere); Hyperscan is an optional extra, imported lazily.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

__all__ = ["ENGINES", "Scanner", "build_scanner"]

P = TypeVar("P")
P_co = TypeVar("P_co", covariant=True)

ENGINES = ("ahocorasick", "hyperscan")


class Scanner(Protocol[P_co]):
    def scan(self, text: str) -> Iterable[tuple[int, P_co]]:
        """Every occurrence of every key in ``text``: (inclusive end character index, payload)."""
        ...

    def scan_many(self, texts: Sequence[str]) -> Sequence[Sequence[tuple[int, P_co]]]:
        """``scan`` for each text; an engine may scan them all in one call."""
        ...


class _Empty:
    def scan(self, text: str) -> tuple[()]:
        return ()

    def scan_many(self, texts: Sequence[str]) -> list[tuple[()]]:
        return [()] * len(texts)


def build_scanner(engine: str, keys: Mapping[str, P]) -> Scanner[P]:
    """A scanner for ``keys`` on ``engine`` ("ahocorasick" or "hyperscan")."""
    if engine not in ENGINES:
        raise ValueError(f"unknown matcher engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if not keys:
        return _Empty()
    if engine == "hyperscan":
        from criteria.engines.hyperscan import HyperscanScanner

        return HyperscanScanner(keys)
    from criteria.engines.ahocorasick import AhoCorasickScanner

    return AhoCorasickScanner(keys)
