"""The matcher: every rule of a rule set compiled together and run as one scan per post.

Percolator-style, like Elasticsearch's percolator or Luwak:

1. the post text is normalised once (NFKC-style compatibility folding, case folding, accents and
   format characters removed, whitespace runs collapsed); an offset map back to the original is
   built only when a rule matches and spans are needed;
2. one multi-pattern scan (pyahocorasick, or Hyperscan) finds every literal term of every rule;
   occurrences that are not whole words (Unicode word boundaries, checked here in Python: RE2's
   ``\\b`` is ASCII-only and Hyperscan refuses ``\\b`` in UCP mode) are dropped;
3. the terms found select candidate rules, whose compiled boolean checks decide;
4. every matching rule carries sorted, merged character spans into the original text.

Pure Python: no Django imports (an import-linter contract enforces it).
"""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from itertools import islice, repeat
from operator import attrgetter
from typing import Any, TypeAlias, cast

from criteria.classifiers import Scorer, Scoring, cheap_first
from criteria.engines import build_scanner
from criteria.query import And, Field, Node, Not, Or, Predicate, QueryError, Term, lint, parse, required_literal

__all__ = [
    "Matcher",
    "PostView",
    "RuleMatch",
    "compile_rules",
    "normalize",
    "normalize_slowly",
    "normalize_with_offsets",
    "word_length",
]


@dataclass(frozen=True, slots=True)
class PostView:
    """What the matcher sees of a post."""

    text: str
    lang: str = ""
    author_handle: str = ""
    kind: str = "post"  # post | reply | repost | quote | comment
    created_at: dt.datetime | None = None
    urls: tuple[str, ...] = ()


Span: TypeAlias = tuple[int, int]


@dataclass(frozen=True, slots=True)
class RuleMatch:
    key: Hashable
    spans: tuple[Span, ...]
    scores: tuple[tuple[str, float], ...] = ()
    """Classifier evidence: (predicate, score) for each predicate of the rule scored on this post."""


# --- normalisation -------------------------------------------------------------------------------

_NO_SPACE_SCRIPTS = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),  # CJK
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3FFFF),
)

NON_WORD, WORD, SOLO = 0, 1, 2  # SOLO: a word character of a script written without spaces


def _char_class(ch: str) -> int:
    category = unicodedata.category(ch)
    if category[0] not in "LNM" and category != "Pc":
        return NON_WORD
    cp = ord(ch)
    return SOLO if any(lo <= cp <= hi for lo, hi in _NO_SPACE_SCRIPTS) else WORD


class _ClassTable(dict[str, int]):
    def __missing__(self, ch: str) -> int:
        self[ch] = value = _char_class(ch)
        return value


CLS = _ClassTable()
"""Character class of a *normalised* character: NON_WORD, WORD or SOLO (each SOLO char is a word)."""


def _fold_once(text: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFKD", text):
        cp = ord(ch)
        if 0xD800 <= cp <= 0xDFFF:
            out.append("\ufffd")  # a lone surrogate: keep a place-holder so the text still encodes
        elif ch.isspace():
            out.append(" ")
        elif unicodedata.combining(ch) or 0xFE00 <= cp <= 0xFE0F or unicodedata.category(ch) == "Cf":
            continue  # accents, variation selectors, zero-width and bidi controls
        else:
            out.append(ch)
    return "".join(out).casefold()


def _fold_char(ch: str) -> str:
    folded = _fold_once(ch)
    for _ in range(3):  # casefold can produce decomposable characters (e.g. U+0130): fold to a fixpoint
        again = _fold_once(folded)
        if again == folded:
            break
        folded = again
    return folded


class _FoldTable(dict[int, str]):
    """A ``str.translate`` table that fills itself: code point -> folded string."""

    def __missing__(self, cp: int) -> str:
        self[cp] = value = _fold_char(chr(cp))
        return value


_FOLD = _FoldTable()
_WORDS: dict[str, str] = {}
_WORD_OFFSETS: dict[str, tuple[int, ...] | None] = {}
_WORD_CACHE_SIZE = 200_000
_NONSPACE = re.compile(r"\S+")


def _fold_word(word: str) -> str:
    folded = _WORDS.get(word)
    if folded is None:
        if len(_WORDS) >= _WORD_CACHE_SIZE:
            _WORDS.clear()
        folded = _WORDS[word] = word.translate(_FOLD)
    return folded


def normalize(text: str) -> str:
    """The form both rules and posts are matched in: folded, lower case, accentless, single-spaced.

    Equal to folding each character alone (:func:`normalize_slowly`, the specification), but in
    C nearly all the way: most characters fold to exactly their ``str.casefold()`` (checked for
    every code point by the tests), so one regex pass folds the rest (accented letters, combining
    marks, format and compatibility characters, lone surrogates), ``casefold`` does the others, and
    whitespace runs collapse last. Folded outputs are casefold fixpoints, so the order is safe.
    """
    if text.isascii():
        low = text.lower()
        if "  " in low or not low.isprintable() or low[:1] == " " or low[-1:] == " ":
            return " ".join(low.split())
        return low
    parts = _OTHERS.pattern.split(text)  # plain, odd run, plain, ..., plain
    if len(parts) > 1:
        parts[1::2] = map(_RUNS.__getitem__, parts[1::2])  # dict lookups in C; new runs fold once
        text = "".join(parts)
    norm = text.casefold()
    if _OTHERS.stale >= 32:
        _OTHERS.maybe_rebuild()
    if "  " in norm or norm[:1] == " " or norm[-1:] == " ":
        return " ".join(norm.split())  # all whitespace is a space now: runs of it, or ends
    return norm


class _Others:
    """A regex for the non-ASCII characters not yet known to fold to their ``casefold``.

    Characters are classified 128 code points at a time as posts bring them; the regex is rebuilt
    when enough new ones were met, but never so often that rebuilding takes over 10% of the time.
    Whitespace is never known: it folds to a space, so afterwards only runs of spaces need collapsing.
    """

    def __init__(self) -> None:
        self.simple: set[int] = set()
        self.blocks: set[int] = set()
        self.pattern: re.Pattern[str] = re.compile(_others_pattern(""))
        self.stale = 0
        self.built_at = 0.0
        self.cost = 0.0

    def classify(self, run: str) -> None:
        for ch in run:
            block = ord(ch) >> 7
            if block in self.blocks:
                continue
            self.blocks.add(block)
            for cp in range(block << 7, (block + 1) << 7):
                other = chr(cp)
                if not other.isspace() and _FOLD[cp] == other.casefold():
                    self.simple.add(cp)

    def maybe_rebuild(self) -> None:
        now = time.perf_counter()
        if now - self.built_at < 10 * self.cost:
            self.stale = 0  # count again, rather than ask the clock on every post
            return
        ranges: list[list[int]] = []
        for cp in sorted(self.simple):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
        body = "".join(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges)
        self.pattern = re.compile(_others_pattern(body))
        self.stale = 0
        self.built_at = time.perf_counter()
        self.cost = self.built_at - now


def _others_pattern(known: str) -> str:
    """Runs of characters that are not printable ASCII and not known to fold to their casefold.

    ASCII whitespace but the space is in (it folds to a space), so a text without odd spacing
    needs no collapse, and ``[x][x]*`` rather than ``[x]+`` lets ``re`` skip ahead by character
    class instead of trying a match at every offset.
    """
    chars = f"[^\\x00-\\x08\\x0e-\\x1b\\x20-\\x7f{known}]"
    return f"({chars}{chars}*)"  # a group, so that split() keeps the runs


_OTHERS = _Others()


class _Runs(dict[str, str]):
    """Odd runs and what they fold to; a run not seen before is folded and teaches ``_OTHERS``."""

    def __missing__(self, run: str) -> str:
        _OTHERS.classify(run)
        if any(ord(ch) in _OTHERS.simple for ch in run):
            _OTHERS.stale += 1  # the regex stopped at characters casefold alone would fold right
        if len(self) >= _WORD_CACHE_SIZE:
            self.clear()
        self[run] = folded = run.translate(_FOLD)
        return folded


_RUNS = _Runs()


def normalize_slowly(text: str) -> tuple[str, list[int]]:
    """The specification of normalisation, one character at a time, with offsets.

    Each character folds alone (NFKD, accents, variation selectors and format characters dropped,
    casefold, whitespace to a space); runs of spaces collapse to one and the ends are trimmed.
    Returns the normalised text and, per normalised character, the index of the original
    character it came from.
    """
    out: list[str] = []
    starts: list[int] = []
    for i, ch in enumerate(text):
        for piece in _FOLD[ord(ch)]:
            if piece == " " and (not out or out[-1] == " "):
                continue
            out.append(piece)
            starts.append(i)
    if out and out[-1] == " ":
        out.pop()
        starts.pop()
    return "".join(out), starts


def _word_offsets(word: str) -> tuple[int, ...] | None:
    """Per folded character of ``word``, the index of the character it came from (None: one to one)."""
    if word in _WORD_OFFSETS:
        return _WORD_OFFSETS[word]
    local = tuple(i for i, ch in enumerate(word) for _ in _FOLD[ord(ch)])
    result = None if local == tuple(range(len(word))) else local
    if len(_WORD_OFFSETS) >= _WORD_CACHE_SIZE:
        _WORD_OFFSETS.clear()
    _WORD_OFFSETS[word] = result
    return result


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """``normalize(text)`` and, per normalised character, the index of the original character."""
    norm = normalize(text)
    if text.isascii() and len(norm) == len(text):
        return norm, list(range(len(text)))
    starts: list[int] = []
    for match in _NONSPACE.finditer(text):
        word, at = match.group(), match.start()
        folded = _fold_word(word)
        if not folded or folded[0] == " " or folded[-1] == " " or "  " in folded:
            return normalize_slowly(text)
        if starts:
            starts.append(_space_before(text, at))
        local = _word_offsets(word)
        if local is None:
            starts.extend(range(at, at + len(word)))
        else:
            starts.extend(at + i for i in local)
    return norm, starts


def _space_before(text: str, at: int) -> int:
    """Index of the first whitespace character of the run that ends just before ``at``."""
    i = at
    while i > 0 and text[i - 1].isspace():
        i -= 1
    return i


def span_end(text: str, index: int) -> int:
    """End of the original character at ``index``, stretched over the accents that follow it."""
    end = index + 1
    while end < len(text) and (unicodedata.combining(text[end]) or 0xFE00 <= ord(text[end]) <= 0xFE0F):
        end += 1
    return end


def word_length(norm: str) -> int:
    """How many word characters a normalised string has."""
    return sum(1 for ch in norm if CLS[ch])


def _token_starts(norm: str) -> list[int]:
    """Offsets where words start: runs of WORD characters, and each SOLO character alone."""
    starts, prev = [], NON_WORD
    for i, ch in enumerate(norm):
        cls = CLS[ch]
        if cls == SOLO or (cls == WORD and prev != WORD):
            starts.append(i)
        prev = cls
    return starts


# --- compiled rules ------------------------------------------------------------------------------

MODE_PLAIN, MODE_PREFIX, MODE_RAW, MODE_REGEX = 0, 1, 2, 3


@dataclass(slots=True)
class _Ctx:
    """Per-post state shared by the checks of all candidate rules."""

    post: PostView
    norm: str
    found: dict[int, list[Span]]
    _starts: list[int] | None = None
    _tokens: list[int] | None = None

    def starts(self) -> list[int]:
        if self._starts is None:
            self._starts = normalize_with_offsets(self.post.text)[1]
        return self._starts

    def to_original(self, start: int, stop: int) -> Span:
        starts = self.starts()
        return starts[start], span_end(self.post.text, starts[stop - 1])

    def tokens(self) -> list[int]:
        if self._tokens is None:
            self._tokens = _token_starts(self.norm)
        return self._tokens

    def original(self, spans: Iterable[Span]) -> tuple[Span, ...]:
        text, norm = self.post.text, self.norm
        if len(text) == len(norm) and text.isascii():
            mapped = sorted(spans)
        else:
            mapped = sorted(self.to_original(s, e) for s, e in spans)
        return _merge(mapped)


def _merge(spans: list[Span]) -> tuple[Span, ...]:
    out: list[Span] = []
    for s, e in spans:
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return tuple(out)


Check: TypeAlias = Callable[[_Ctx], bool]


@dataclass(frozen=True, slots=True)
class _IRTerm:
    tid: int


@dataclass(frozen=True, slots=True)
class _IRField:
    test: Callable[[PostView], bool]


@dataclass(frozen=True, slots=True)
class _IRNot:
    child: IR


@dataclass(frozen=True, slots=True)
class _IRAnd:
    children: tuple[IR, ...]


@dataclass(frozen=True, slots=True)
class _IROr:
    children: tuple[IR, ...]


@dataclass(frozen=True, slots=True)
class _IRNear:
    left: tuple[int, ...]
    right: tuple[int, ...]
    distance: int
    ordered: bool


@dataclass(frozen=True, slots=True)
class _IRScore:
    """A classifier predicate: ``test`` notes a score not yet known (``Matcher._match_scored``); ``known`` not."""

    test: Callable[[PostView], bool]
    known: Callable[[PostView], bool]


IR: TypeAlias = _IRTerm | _IRField | _IRNot | _IRAnd | _IROr | _IRNear | _IRScore


@dataclass(slots=True)
class _TermInfo:
    tid: int
    key: str
    mode: int
    left: bool
    right: bool
    extra: Any = None  # MODE_RAW: the exact text; MODE_REGEX: the compiled pattern


@dataclass(slots=True)
class _Rule:
    key: Hashable
    ir: IR
    check: Check
    needs_text: bool


# --- AST -> IR -----------------------------------------------------------------------------------


@dataclass
class _Builder:
    terms: dict[tuple[str, str], _TermInfo] = field(default_factory=dict)
    scoring: Scoring | None = None

    def term(self, term: Term) -> int:
        ident = (term.kind, term.value)
        if ident not in self.terms:
            self.terms[ident] = self._info(term, len(self.terms))
        return self.terms[ident].tid

    def _info(self, term: Term, tid: int) -> _TermInfo:
        if term.kind == "regex":
            return _TermInfo(tid, required_literal(term.value), MODE_REGEX, False, False, re.compile(term.value))
        key = normalize(term.value).strip(" ")
        left = CLS[key[0]] == WORD or term.kind in ("hashtag", "mention", "cashtag")
        if term.kind == "prefix":
            return _TermInfo(tid, key, MODE_PREFIX, left, False)
        right = CLS[key[-1]] == WORD
        if term.kind == "raw":
            return _TermInfo(tid, key, MODE_RAW, left, right, _raw_form(term.value))
        return _TermInfo(tid, key, MODE_PLAIN, left, right)

    def ir(self, node: Node) -> IR:
        if isinstance(node, Term):
            return _IRTerm(self.term(node))
        if isinstance(node, Field):
            return _IRField(_field_test(node))
        if isinstance(node, Predicate):
            assert self.scoring is not None  # the Matcher makes one when a rule has a predicate
            test, known = self.scoring.test(node), self.scoring.known(node)
            return _IRScore(lambda p: test(p.text), lambda p: known(p.text))
        if isinstance(node, Not):
            if isinstance(node.child, Not):  # NOT NOT x is x, spans included
                return self.ir(node.child.child)
            return _IRNot(self.ir(node.child))
        if isinstance(node, And):
            return _IRAnd(tuple(self.ir(c) for c in node.children))
        if isinstance(node, Or):
            return _IROr(tuple(self.ir(c) for c in node.children))
        return _IRNear(self._near_side(node.left), self._near_side(node.right), node.distance, node.ordered)

    def _near_side(self, node: Node) -> tuple[int, ...]:
        if isinstance(node, Term):
            return (self.term(node),)
        assert isinstance(node, Or)  # the parser allows only terms and OR-groups of terms
        return tuple(tid for child in node.children for tid in self._near_side(child))


def _raw_form(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


_LINK = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"']+")


def _links(post: PostView) -> list[str]:
    return [u.casefold() for u in post.urls] + [m.casefold() for m in _LINK.findall(post.text)]


def _utc_date(moment: dt.datetime) -> dt.date:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.date()


def _field_test(node: Field) -> Callable[[PostView], bool]:
    name, value = node.name, node.value
    low = value.casefold()
    if name == "from":
        handle = low.lstrip("@")
        return lambda p: p.author_handle.casefold().lstrip("@") == handle
    if name == "lang":
        return lambda p: (lang := p.lang.casefold().replace("_", "-")) == low or lang.startswith(low + "-")
    if name == "is":
        return lambda p: p.kind == low
    if name == "has":
        return lambda p: bool(p.urls) or _LINK.search(p.text) is not None
    if name == "url":
        return lambda p: any(low in link for link in _links(p))
    lo, hi = dt.date.min, dt.date.max
    if name == "date":
        first, sep, last = value.partition("..")
        lo = dt.date.fromisoformat(first) if first else lo
        hi = dt.date.fromisoformat(last) if last else (hi if sep else lo)
    elif name == "since":
        lo = dt.date.fromisoformat(value)
    else:  # until: before this day, as on X
        hi = dt.date.fromisoformat(value) - dt.timedelta(days=1)
    return lambda p: p.created_at is not None and lo <= _utc_date(p.created_at) <= hi


def _needs_text(ir: IR) -> bool:
    """Whether the rule can only match a post in which some of its terms were found."""
    if isinstance(ir, _IRTerm | _IRNear):
        return True
    if isinstance(ir, _IRAnd):
        return any(_needs_text(c) for c in ir.children)
    if isinstance(ir, _IROr):
        return all(_needs_text(c) for c in ir.children)
    return False


def _positive_terms(ir: IR) -> set[int]:
    if isinstance(ir, _IRTerm):
        return {ir.tid}
    if isinstance(ir, _IRNear):
        return set(ir.left) | set(ir.right)
    if isinstance(ir, _IRAnd | _IROr):
        return set().union(*(_positive_terms(c) for c in ir.children))
    return set()


# --- IR -> fast boolean check --------------------------------------------------------------------


def _compile_check(ir: IR) -> Check:
    if isinstance(ir, _IRTerm):
        tid = ir.tid
        return lambda c: tid in c.found
    if isinstance(ir, _IRField | _IRScore):
        test = ir.test
        return lambda c: test(c.post)
    if isinstance(ir, _IRNot):
        inner = _compile_check(ir.child)
        return lambda c: not inner(c)
    if isinstance(ir, _IRNear):
        return lambda c: _near_spans(ir, c) is not None
    ids = frozenset(x.tid for x in ir.children if isinstance(x, _IRTerm))
    rest = tuple(_compile_check(x) for x in ir.children if not isinstance(x, _IRTerm))
    if isinstance(ir, _IRAnd):
        if not rest:
            return lambda c: c.found.keys() >= ids
        return lambda c: c.found.keys() >= ids and all(f(c) for f in rest)
    if not rest:
        return lambda c: not ids.isdisjoint(c.found)
    return lambda c: not ids.isdisjoint(c.found) or any(f(c) for f in rest)


def _spans(ir: IR, c: _Ctx) -> list[Span] | None:
    """None when ``ir`` is false for the post, else the spans of the terms that make it true."""
    if isinstance(ir, _IRTerm):
        return c.found.get(ir.tid)
    if isinstance(ir, _IRField):
        return [] if ir.test(c.post) else None
    if isinstance(ir, _IRScore):
        return [] if ir.known(c.post) else None
    if isinstance(ir, _IRNot):
        return None if _spans(ir.child, c) is not None else []
    if isinstance(ir, _IRNear):
        return _near_spans(ir, c)
    out: list[Span] = []
    if isinstance(ir, _IRAnd):
        for child in ir.children:
            got = _spans(child, c)
            if got is None:
                return None
            out += got
        return out
    ok = False
    for child in ir.children:
        got = _spans(child, c)
        if got is not None:
            ok = True
            out += got
    return out if ok else None


def _near_spans(ir: _IRNear, c: _Ctx) -> list[Span] | None:
    found = c.found
    lefts = [s for tid in ir.left for s in found.get(tid, ())]
    rights = [s for tid in ir.right for s in found.get(tid, ())]
    if not lefts or not rights:
        return None
    tokens = c.tokens()
    used: set[Span] = set()
    for a in lefts:
        for b in rights:
            if a[1] <= b[0]:
                gap = bisect_left(tokens, b[0]) - (bisect_right(tokens, a[1] - 1) - 1)
            elif b[1] <= a[0] and not ir.ordered:
                gap = bisect_left(tokens, a[0]) - (bisect_right(tokens, b[1] - 1) - 1)
            else:
                continue
            if gap - 1 <= ir.distance:  # words in between
                used.add(a)
                used.add(b)
    return sorted(used) if used else None


# --- the matcher ---------------------------------------------------------------------------------


_Entry: TypeAlias = tuple[int, int, int, bool, bool]  # term id, key length, mode, check left, check right
_Entries: TypeAlias = tuple[_Entry, ...]


class Matcher:
    """All rules of a rule set, compiled into one scan. Build it with :func:`compile_rules`."""

    def __init__(
        self, rules: list[tuple[Hashable, Node]], engine: str, scorers: Mapping[str, Scorer] | None = None
    ) -> None:
        self._scoring = Scoring.for_rules(rules, scorers)
        if self._scoring is not None:
            rules = [(key, cheap_first(node)) for key, node in rules]
        builder = _Builder(scoring=self._scoring)
        self.engine = engine
        self._rules = [_rule(key, builder.ir(node)) for key, node in rules]
        self._terms = sorted(builder.terms.values(), key=lambda t: t.tid)
        by_term: list[list[int]] = [[] for _ in self._terms]
        self._always: list[int] = []
        for index, rule in enumerate(self._rules):
            for tid in _positive_terms(rule.ir):
                by_term[tid].append(index)
            if not rule.needs_text:
                self._always.append(index)
        self._by_term = [tuple(rules) for rules in by_term]
        keys: dict[str, list[_Entry]] = {}
        for t in self._terms:
            keys.setdefault(t.key, []).append((t.tid, len(t.key), t.mode, t.left, t.right))
        boundaries = {key: (all(e[3] for e in entries), all(e[4] for e in entries)) for key, entries in keys.items()}
        self._scanner = build_scanner(engine, {k: tuple(v) for k, v in keys.items()}, boundaries)

    def __len__(self) -> int:
        return len(self._rules)

    def match(self, post: PostView | str) -> list[RuleMatch]:
        """The rules ``post`` matches, in key order, each with its spans in ``post.text``."""
        if isinstance(post, str):
            post = PostView(text=post)
        if self._scoring is not None:
            return self._match_scored([post])[0]
        norm = normalize(post.text)
        return self._evaluate(post, norm, self._scanner.scan(norm))

    def match_many(self, posts: Iterable[PostView | str], batch: int = 512) -> Iterator[list[RuleMatch]]:
        """``match`` over many posts, lazily, in order; posts are scanned ``batch`` at a time."""
        it = iter(posts)
        while items := list(islice(it, batch)):
            if any(map(isinstance, items, repeat(str))):
                items = [PostView(text=post) if isinstance(post, str) else post for post in items]
            yield from self._match_chunk(cast("list[PostView]", items))  # no str left

    def _match_chunk(self, chunk: list[PostView]) -> Iterator[list[RuleMatch]]:
        if self._scoring is not None:
            yield from self._match_scored(chunk)
            return
        yield from self._match_plain(chunk)

    def _match_plain(self, chunk: list[PostView]) -> list[list[RuleMatch]]:
        """The whole chunk in one scan; Python looks only at posts with hits (and rules needing none)."""
        norms = list(map(normalize, map(_TEXT, chunk)))
        found = self._scanner.scan_batch(norms)
        evaluate = self._evaluate
        if self._always:
            pairs = zip(chunk, norms, strict=True)
            return [evaluate(post, norm, found.get(k, ())) for k, (post, norm) in enumerate(pairs)]
        out: list[list[RuleMatch]] = [[] for _ in chunk]
        for k, hits in found.items():
            out[k] = evaluate(chunk[k], norms[k], hits)
        return out

    def _match_scored(self, chunk: list[PostView]) -> list[list[RuleMatch]]:
        """Matching with classifier predicates (``offensive>0.8``), cheap before expensive.

        Literal terms are checked first (``cheap_first`` orders AND/OR operands), so a predicate
        is reached only for candidate rules whose literal part still allows a match. A score not
        yet known counts as false and is noted; ``Scoring.run`` then scores all the noted ones of
        the chunk in one call per model and evaluates those posts again. Each hit carries the
        scores computed for its rule's predicates as evidence.
        """
        scoring = self._scoring
        assert scoring is not None
        norms = [normalize(post.text) for post in chunk]
        scans = self._scanner.scan_many(norms)
        items = [(post, norm, tuple(hits)) for post, norm, hits in zip(chunk, norms, scans, strict=True)]
        results = scoring.run(items, lambda item: self._evaluate(*item))
        out = []
        for post, matches in zip(chunk, results, strict=True):
            for i, m in enumerate(matches):
                scores = scoring.evidence(m.key, post.text)
                if scores:
                    matches[i] = replace(m, scores=scores)
            out.append(matches)
        return out

    def _evaluate(self, post: PostView, norm: str, hits: Iterable[tuple[int, _Entries]]) -> list[RuleMatch]:
        ctx = _Ctx(post, norm, {})
        self._verify_hits(ctx, hits)
        found = ctx.found
        if found:
            by_term = self._by_term
            candidates = set(self._always)
            for tid in found:
                candidates.update(by_term[tid])
            order: Iterable[int] = sorted(candidates)
        elif self._always:
            order = self._always
        else:
            return []
        out: list[RuleMatch] = []
        rules = self._rules
        for index in order:
            rule = rules[index]
            if rule.check(ctx):
                spans = _spans(rule.ir, ctx)
                out.append(RuleMatch(rule.key, ctx.original(spans or ())))
        return out

    def _verify_hits(self, ctx: _Ctx, hits: Iterable[tuple[int, _Entries]]) -> None:
        """Keep the scan's hits that are whole words; record them per term in ``ctx.found``."""
        norm, found = ctx.norm, ctx.found
        n = len(norm)
        cls = CLS
        special: list[tuple[int, int, int]] = []
        for end, entries in hits:
            for tid, length, mode, left, right in entries:
                start = end - length + 1
                if left and start and cls[norm[start - 1]] == WORD:
                    continue
                stop = end + 1
                if right and stop < n and cls[norm[stop]] == WORD:
                    continue
                if mode == MODE_PREFIX:
                    while stop < n and cls[norm[stop]] == WORD:
                        stop += 1
                elif mode:
                    special.append((tid, start, stop))
                    continue
                if tid in found:
                    found[tid].append((start, stop))
                else:
                    found[tid] = [(start, stop)]
        if special:
            self._verify(ctx, special)

    def _verify(self, ctx: _Ctx, special: list[tuple[int, int, int]]) -> None:
        """Raw terms must match the original text exactly; regexes run once where their literal is."""
        terms, found = self._terms, ctx.found
        done: set[int] = set()
        for tid, start, stop in special:
            info = terms[tid]
            if info.mode == MODE_RAW:
                first, last = ctx.to_original(start, stop)
                if _raw_form(ctx.post.text[first:last]) == info.extra:
                    found.setdefault(tid, []).append((start, stop))
            elif tid not in done:
                done.add(tid)
                spans = [m.span() for m in info.extra.finditer(ctx.norm) if m.end() > m.start()]
                if spans:
                    found[tid] = spans


_TEXT = attrgetter("text")


def _rule(key: Hashable, ir: IR) -> _Rule:
    return _Rule(key, ir, _compile_check(ir), _needs_text(ir))


def _sort_key_order(rules: list[tuple[Hashable, str]]) -> list[tuple[Hashable, str]]:
    try:
        return sorted(rules, key=lambda r: r[0])  # type: ignore[arg-type,return-value]
    except TypeError:
        return rules


def compile_rules(
    rules: Iterable[tuple[Hashable, str]], engine: str = "ahocorasick", scorers: Mapping[str, Scorer] | None = None
) -> Matcher:
    """Compile ``(key, query)`` pairs into one :class:`Matcher`.

    Raises :class:`QueryError` naming the key of the first rule with a lint error. ``scorers``
    replaces the models behind classifier predicates by kind (``"offensive"``, ``"like"``).
    """
    parsed: list[tuple[Hashable, Node]] = []
    for key, query in _sort_key_order(list(rules)):
        errors = [d for d in lint(query) if d.severity == "error"]
        if errors:
            first = errors[0]
            raise QueryError(first.message, first.position, first.hint, query, rule_key=key)
        parsed.append((key, parse(query)))
    return Matcher(parsed, engine, scorers)
