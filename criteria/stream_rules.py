"""Criteria queries as X filtered-stream rules: a translator and a packer. Pure: no Django.

The stream only delivers what its rules match, so a stream rule must match *at least* every post
the criteria query matches: what X cannot express is **broadened** (never narrowed) and the
matcher filters the delivered posts afterwards with the exact query. Each broadening is reported
so an operator can see what the stream over-collects.

X rule syntax (docs.x.com, "Build a rule"): juxtaposition is AND, upper-case ``OR``, ``-`` negates,
parentheses group, ``"exact phrase"``, ``#hashtag``, ``@mention``, ``$cashtag``, ``from:``,
``lang:``, ``is:retweet|reply|quote``, ``has:links``. Keywords are tokenised, case-insensitive
matches. There are no wildcards, no regular expressions, no proximity and no dates in v2 rules.

How each construct is translated (``broad`` = a superset of the criteria's matches; ``narrow``
= a subset, needed under NOT, because NOT of a superset is a subset):

=====================  =============================  =========================================
criteria               broad                          narrow
=====================  =============================  =========================================
word, phrase           the keyword / "phrase"         the same
accented word          (written OR unaccented)        the same
#tag @name $cash       the same                       the same
raw:X                  X (X ignores case)             nothing (X cannot be case-exact)
prefix*, /regex/       anything                       nothing
a NEAR/n b             a b (both, anywhere)           nothing
from: lang:            the same                       the same
is:repost/reply/quote  is:retweet/reply/quote         the same
is:post                -is:retweet -is:reply -is:quote  the same
is:comment             nothing (X has no comments)    nothing
has:links              has:links                      the same
url: date: since:      anything                       nothing
until: classifiers
=====================  =============================  =========================================

"anything" inside an AND drops out (the other conditions still narrow the stream); a rule that is
"anything" as a whole, or that keeps no standalone operator (X refuses rules made only of
``is:``/``has:``/``lang:``), cannot be a stream rule and is reported as such.

The packer ORs the translated rules into as few stream rules as fit the access tier's limits on
rule length and rule count (Pro: 1,000 rules of up to 1,024 characters; Enterprise: 25,000 of up
to 2,048), splitting a rule's top-level OR across stream rules when it is too long on its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from criteria.query import And, Field, Near, Node, Not, Predicate, Term, parse

__all__ = [
    "TIERS",
    "Packed",
    "StreamRule",
    "StreamRuleError",
    "Tier",
    "Translation",
    "pack",
    "translate",
    "translate_query",
]


@dataclass(frozen=True, slots=True)
class Tier:
    """An access level's filtered-stream limits (docs.x.com, filtered stream introduction)."""

    name: str
    max_rules: int
    max_length: int


TIERS = {
    "pro": Tier("pro", 1000, 1024),
    "enterprise": Tier("enterprise", 25000, 2048),
}


class StreamRuleError(ValueError):
    """The criteria cannot become stream rules within the tier's limits; the message says why."""


@dataclass(frozen=True, slots=True)
class StreamRule:
    """One rule as the platform stores it: ``value`` (X syntax) and ``tag`` (our label)."""

    value: str
    tag: str

    def as_dict(self) -> dict[str, str]:
        return {"value": self.value, "tag": self.tag}


# --- translation -------------------------------------------------------------------------------


class _Const:
    """ANYTHING (matches every post) or NOTHING (matches none): the two ends of broadening."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ANYTHING = _Const("ANYTHING")
NOTHING = _Const("NOTHING")


@dataclass(frozen=True, slots=True)
class _Expr:
    """A translated fragment: its X text, whether it needs parentheses inside an AND, and whether
    it contains a standalone operator (X refuses rules without one)."""

    text: str
    kind: str  # "atom" | "and" | "or"
    standalone: bool
    disjuncts: tuple[str, ...] = ()  # for "or": the top-level alternatives, each ready to stand alone


_X = _Expr | _Const


@dataclass(frozen=True)
class Translation:
    """A criteria query as one X rule value (None when X cannot stream it), with what was broadened."""

    value: str | None
    broadened: tuple[str, ...] = ()
    problem: str = ""  # why there is no value
    disjuncts: tuple[str, ...] = field(default=(), repr=False)

    @property
    def exact(self) -> bool:
        return self.value is not None and not self.broadened


_KIND_OPERATORS = {"repost": "is:retweet", "reply": "is:reply", "quote": "is:quote"}
_PLAIN_WORD = re.compile(r"^\w+$")
_ESCAPE = re.compile(r'(["\\])')


def translate_query(query: str) -> Translation:
    """Parse a criteria query and translate it (raises :class:`~criteria.query.QueryError`)."""
    return translate(parse(query), query)


def translate(node: Node, query: str = "") -> Translation:
    """The X stream rule that matches at least every post ``node`` matches."""
    notes: list[str] = []
    result = _tr(node, True, notes, query)
    broadened = tuple(dict.fromkeys(notes))
    if result is ANYTHING:
        return Translation(None, broadened, "X cannot express any part of it that narrows the stream")
    if result is NOTHING:
        return Translation(None, broadened, "no post on X can match it (nothing to stream)")
    assert isinstance(result, _Expr)
    if not result.standalone:
        return Translation(
            None,
            broadened,
            f"X needs a keyword, phrase, #tag, @mention or from: in a stream rule; the translation {result.text!r} "
            "has none",
        )
    return Translation(result.text, broadened, "", result.disjuncts or (result.text,))


def _src(node: Node, query: str) -> str:
    end = getattr(node, "end", None)
    if query and isinstance(end, int):
        return query[node.pos : end]
    return type(node).__name__


def _tr(node: Node, broad: bool, notes: list[str], query: str) -> _X:
    if isinstance(node, Term):
        return _term(node, broad, notes, query)
    if isinstance(node, Field):
        return _field(node, broad, notes, query)
    if isinstance(node, Predicate):
        notes.append(f"{_src(node, query)}: classifier scores are not an X operator")
        return ANYTHING if broad else NOTHING
    if isinstance(node, Near):
        left, right = _tr(node.left, broad, notes, query), _tr(node.right, broad, notes, query)
        notes.append(f"NEAR/{node.distance}: X has no proximity; both sides anywhere in the post")
        return _and([left, right]) if broad else NOTHING
    if isinstance(node, Not):
        return _not(_tr(node.child, not broad, notes, query))
    if isinstance(node, And):
        return _and([_tr(c, broad, notes, query) for c in node.children])
    return _or([_tr(c, broad, notes, query) for c in node.children])


def _term(term: Term, broad: bool, notes: list[str], query: str) -> _X:
    value = term.value
    if term.kind in ("prefix", "regex"):
        what = "wildcards" if term.kind == "prefix" else "regular expressions"
        notes.append(f"{_src(term, query)}: X has no {what}")
        return ANYTHING if broad else NOTHING
    if term.kind == "raw":
        notes.append(f"{_src(term, query)}: X matches regardless of case and accents")
        if not broad:
            return NOTHING
    if term.kind in ("hashtag", "mention", "cashtag") and _PLAIN_WORD.match(value[1:]):
        return _Expr(value, "atom", True)
    return _keyword(value, notes, query, term)


def _keyword(value: str, notes: list[str], query: str, term: Term) -> _X:
    """A keyword or phrase; an accented one is also written unaccented (X matches accents exactly)."""
    forms = [value]
    folded = _unaccented(value)
    if folded != value:
        forms.append(folded)
        notes.append(f"{_src(term, query)}: written with and without accents")
    texts = [_quote(f) for f in forms]
    if len(texts) == 1:
        return _Expr(texts[0], "atom", True)
    return _Expr(f"({' OR '.join(texts)})", "atom", True)


def _quote(value: str) -> str:
    if _PLAIN_WORD.match(value) and value not in ("OR", "AND", "NOT"):
        return value
    return '"' + _ESCAPE.sub(r"\\\1", value) + '"'


def _unaccented(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def _field(node: Field, broad: bool, notes: list[str], query: str) -> _X:
    name, value = node.name, node.value
    if name == "from":
        handle = value.lstrip("@")
        if _PLAIN_WORD.match(handle):
            return _Expr(f"from:{handle}", "atom", True)
    elif name == "lang" and re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z]+)?", value):
        return _Expr(f"lang:{value.lower()}", "atom", False)
    elif name == "has":
        return _Expr("has:links", "atom", False)
    elif name == "is":
        kind = value.lower()
        if kind in _KIND_OPERATORS:
            return _Expr(_KIND_OPERATORS[kind], "atom", False)
        if kind == "post":
            return _Expr("-is:retweet -is:reply -is:quote", "and", False)
        return NOTHING  # is:comment: X has no comments
    notes.append(f"{_src(node, query)}: not an X stream operator; filtered afterwards")
    return ANYTHING if broad else NOTHING


def _group(expr: _Expr) -> str:
    return f"({expr.text})" if expr.kind == "or" else expr.text


def _and(parts: Sequence[_X]) -> _X:
    if any(p is NOTHING for p in parts):
        return NOTHING
    exprs = [p for p in parts if isinstance(p, _Expr)]
    if not exprs:
        return ANYTHING
    if len(exprs) == 1:
        return exprs[0]
    return _Expr(" ".join(_group(e) for e in exprs), "and", any(e.standalone for e in exprs))


def _or(parts: Sequence[_X]) -> _X:
    if any(p is ANYTHING for p in parts):
        return ANYTHING
    exprs = [p for p in parts if isinstance(p, _Expr)]
    if not exprs:
        return NOTHING
    if len(exprs) == 1:
        return exprs[0]
    disjuncts = tuple(d for e in exprs for d in (e.disjuncts or (e.text,)))
    return _Expr(" OR ".join(disjuncts), "or", all(e.standalone for e in exprs), disjuncts)


def _not(part: _X) -> _X:
    if part is ANYTHING:
        return NOTHING
    if part is NOTHING:
        return ANYTHING
    assert isinstance(part, _Expr)
    if part.kind == "atom" and not part.text.startswith("("):
        return _Expr(f"-{part.text}", "atom", False)
    return _Expr(f"-({part.text})", "atom", False)


# --- packing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Packed:
    """The stream rules, and the criteria rules that could not become stream rules (with why)."""

    rules: tuple[StreamRule, ...]
    unstreamable: tuple[tuple[str, str], ...] = ()  # (rule code, problem)


def _paren(text: str, alone: bool) -> str:
    return text if alone else f"({text})"


def pack(translated: Iterable[tuple[str, Translation]], tier: Tier, *, tag_prefix: str = "assay") -> Packed:
    """OR the translated rules (``(code, translation)``, in order) into as few stream rules as fit.

    Greedy first fit, in the given order (so the same criteria always give the same rules, and a
    re-sync changes only what changed). The tag of a stream rule names the criteria rules in it.
    Raises :class:`StreamRuleError` when a single alternative is longer than the tier allows, or
    when more stream rules are needed than the tier allows (saying how many).
    """
    bins: list[tuple[list[str], list[str]]] = []  # (alternatives, codes)
    unstreamable: list[tuple[str, str]] = []
    for code, translation in translated:
        if translation.value is None:
            unstreamable.append((code, translation.problem))
            continue
        pieces = [translation.value] if len(translation.value) <= tier.max_length else list(translation.disjuncts)
        for piece in pieces:
            if len(piece) > tier.max_length:
                raise StreamRuleError(
                    f"rule {code}: one alternative is {len(piece)} characters as an X rule; the {tier.name} tier "
                    f"allows {tier.max_length}. Split the rule into shorter alternatives (OR)."
                )
            _place(bins, piece, code, tier.max_length)
    rules: list[StreamRule] = []
    for alternatives, codes in bins:
        value = _joined(alternatives)
        rules.append(StreamRule(value, f"{tag_prefix}:{','.join(dict.fromkeys(codes))}"))
    if len(rules) > tier.max_rules:
        raise StreamRuleError(
            f"the criteria need {len(rules)} stream rules; the {tier.name} tier allows {tier.max_rules} "
            f"(of up to {tier.max_length} characters each). Narrow or retire rules, or use a tier with more."
        )
    return Packed(tuple(rules), tuple(unstreamable))


def _joined(alternatives: list[str]) -> str:
    if len(alternatives) == 1:
        return alternatives[0]
    return " OR ".join(_paren(a, _atomic(a)) for a in alternatives)


def _atomic(text: str) -> bool:
    """Whether ``text`` is safe inside an OR without parentheses (one operand, no top-level space)."""
    depth, quoted, i = 0, False, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quoted:
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and ch == " ":
            return False
        i += 1
    return True


def _place(bins: list[tuple[list[str], list[str]]], piece: str, code: str, limit: int) -> None:
    for alternatives, codes in bins:
        if len(_joined([*alternatives, piece])) <= limit:
            alternatives.append(piece)
            codes.append(code)
            return
    bins.append(([piece], [code]))
