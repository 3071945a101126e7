"""Scanning posts with a compiled rule set on several cores. Pure: no Django here.

Each worker process compiles the rule set once (its initializer) and then matches chunks of
plain post tuples; only the hits travel back. The caller owns the database.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Hashable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import datetime
from multiprocessing import get_context
from typing import Any

from criteria.engines import ENGINES
from criteria.matcher import Matcher, PostView, compile_rules

# (post id, text, lang, kind, created_at, author handle)
PostRow = tuple[int, str, str, str, datetime | None, str]
# (post id, rule key, spans, scores)
HitRow = tuple[int, Hashable, list[list[int]], dict[str, float]]

_matcher: Matcher | None = None


def resolve_engine(choice: str) -> str:
    """``auto`` is Hyperscan where it is installed, else pyahocorasick; both give the same hits."""
    if choice == "auto":
        return "hyperscan" if importlib.util.find_spec("hyperscan") else "ahocorasick"
    if choice not in ENGINES:
        raise ValueError(f"ASSAY_MATCHER_ENGINE={choice!r}: choose auto or one of {', '.join(ENGINES)}")
    return choice


def match_rows(matcher: Matcher, rows: Sequence[PostRow]) -> list[HitRow]:
    views = [PostView(text=t, lang=lang, kind=kind, created_at=at, author_handle=h) for _, t, lang, kind, at, h in rows]
    return [
        (row[0], m.key, [list(s) for s in m.spans], dict(m.scores))
        for row, matches in zip(rows, matcher.match_many(views), strict=True)
        for m in matches
    ]


def _start(rules: list[tuple[Hashable, str]], engine: str) -> None:
    global _matcher  # one compiled matcher per worker process, built once
    _matcher = compile_rules(rules, engine=engine)


def _match_chunk(rows: list[PostRow]) -> list[HitRow]:
    assert _matcher is not None, "the worker was started without its rules"
    return match_rows(_matcher, rows)


class ParallelScanner:
    """Matches batches of posts on ``workers`` processes (forkserver: safe beside threads)."""

    def __init__(self, rules: Iterable[tuple[Hashable, str]], engine: str, workers: int) -> None:
        self.workers = max(1, workers)
        self._pool: Executor = ProcessPoolExecutor(
            self.workers, mp_context=get_context("forkserver"), initializer=_start, initargs=(list(rules), engine)
        )

    def __enter__(self) -> ParallelScanner:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._pool.shutdown(cancel_futures=True)

    def scan(self, rows: Sequence[PostRow]) -> list[HitRow]:
        size = max(1, -(-len(rows) // self.workers))
        chunks = [list(rows[i : i + size]) for i in range(0, len(rows), size)]
        return [hit for part in self._pool.map(_match_chunk, chunks) for hit in part]


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
