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
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from criteria.engines import build_scanner
from criteria.query import And, Field, Node, Not, Or, QueryError, Term, lint, parse, required_literal

__all__ = [
    "Matcher",
    "PostView",
    "RuleMatch",
    "compile_rules",
    "normalize",
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
_ASCII_SPACE = re.compile(r"[\t\n\x0b\x0c\r\x1c-\x1f ]{2,}|[\t\n\x0b\x0c\r\x1c-\x1f]")
_SPACES = re.compile(" {2,}")


def normalize(text: str) -> str:
    """The form both rules and posts are matched in: folded, lower case, accentless, single-spaced."""
    if text.isascii():
        return _ASCII_SPACE.sub(" ", text.lower())
    folded = text.translate(_FOLD)
    return _SPACES.sub(" ", folded) if "  " in folded else folded


def normalize_with_offsets(text: str) -> tuple[str, list[int], list[int]]:
    """``normalize(text)`` plus, per normalised character, the original [start, end) it came from.

    An end stretches over following accents and variation selectors, so a span covers the whole
    grapheme; zero-width and bidi controls after a word are left out. Equal to ``normalize`` by
    construction (a test checks it).
    """
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(text):
        folded = _FOLD[ord(ch)]
        if not folded:
            if ends and unicodedata.category(ch) != "Cf":
                ends[-1] = i + 1  # an accent or variation selector belongs to the character before
            continue
        for piece in folded:
            if piece == " " and out and out[-1] == " ":
                continue
            out.append(piece)
            starts.append(i)
            ends.append(i + 1)
    return "".join(out), starts, ends


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
    _maps: tuple[list[int], list[int]] | None = None
    _tokens: list[int] | None = None

    def maps(self) -> tuple[list[int], list[int]]:
        if self._maps is None:
            _, starts, ends = normalize_with_offsets(self.post.text)
            self._maps = (starts, ends)
        return self._maps

    def tokens(self) -> list[int]:
        if self._tokens is None:
            self._tokens = _token_starts(self.norm)
        return self._tokens

    def original(self, spans: Iterable[Span]) -> tuple[Span, ...]:
        text, norm = self.post.text, self.norm
        if len(text) == len(norm) and text.isascii():
            mapped = sorted(spans)
        else:
            starts, ends = self.maps()
            mapped = sorted((starts[s], ends[e - 1]) for s, e in spans)
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


IR: TypeAlias = _IRTerm | _IRField | _IRNot | _IRAnd | _IROr | _IRNear


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
    if isinstance(ir, _IRField):
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


class Matcher:
    """All rules of a rule set, compiled into one scan. Build it with :func:`compile_rules`."""

    def __init__(self, rules: list[tuple[Hashable, Node]], engine: str) -> None:
        builder = _Builder()
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
        keys: dict[str, list[tuple[int, int, int, bool, bool]]] = {}
        for t in self._terms:
            keys.setdefault(t.key, []).append((t.tid, len(t.key), t.mode, t.left, t.right))
        self._scanner = build_scanner(engine, {k: tuple(v) for k, v in keys.items()})

    def __len__(self) -> int:
        return len(self._rules)

    def match(self, post: PostView | str) -> list[RuleMatch]:
        """The rules ``post`` matches, in key order, each with its spans in ``post.text``."""
        if isinstance(post, str):
            post = PostView(text=post)
        norm = normalize(post.text)
        ctx = _Ctx(post, norm, {})
        self._scan(ctx)
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

    def match_many(self, posts: Iterable[PostView | str]) -> Iterator[list[RuleMatch]]:
        """``match`` over many posts, lazily, in order."""
        match = self.match
        for post in posts:
            yield match(post)

    def _scan(self, ctx: _Ctx) -> None:
        norm, found = ctx.norm, ctx.found
        n = len(norm)
        cls = CLS
        special: list[tuple[int, int, int]] = []
        for end, entries in self._scanner.scan(norm):
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
                starts, ends = ctx.maps()
                if _raw_form(ctx.post.text[starts[start] : ends[stop - 1]]) == info.extra:
                    found.setdefault(tid, []).append((start, stop))
            elif tid not in done:
                done.add(tid)
                spans = [m.span() for m in info.extra.finditer(ctx.norm) if m.end() > m.start()]
                if spans:
                    found[tid] = spans


def _rule(key: Hashable, ir: IR) -> _Rule:
    return _Rule(key, ir, _compile_check(ir), _needs_text(ir))


def _sort_key_order(rules: list[tuple[Hashable, str]]) -> list[tuple[Hashable, str]]:
    try:
        return sorted(rules, key=lambda r: r[0])  # type: ignore[arg-type,return-value]
    except TypeError:
        return rules


def compile_rules(rules: Iterable[tuple[Hashable, str]], engine: str = "ahocorasick") -> Matcher:
    """Compile ``(key, query)`` pairs into one :class:`Matcher`.

    Raises :class:`QueryError` naming the key of the first rule with a lint error.
    """
    parsed: list[tuple[Hashable, Node]] = []
    for key, query in _sort_key_order(list(rules)):
        errors = [d for d in lint(query) if d.severity == "error"]
        if errors:
            first = errors[0]
            raise QueryError(first.message, first.position, first.hint, query, rule_key=key)
        parsed.append((key, parse(query)))
    return Matcher(parsed, engine)
