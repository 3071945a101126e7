"""The rule language: a tokenizer and recursive-descent parser to an AST, and a linter.

The language is the boolean dialect social-listening users already know (Brandwatch/Meltwater
boolean, X filtered-stream rules, Lucene); ``docs/rules.md`` documents it with examples. Grammar::

    rule     := or_expr EOF
    or_expr  := and_expr ( "OR" and_expr )*
    and_expr := unary ( "AND"? unary )*            # juxtaposition is an implicit AND
    unary    := ( "NOT" | "-" ) unary | near
    near     := atom ( ( "NEAR/n" | "ONEAR/n" ) atom )?
    atom     := "(" or_expr ")" | term | field | predicate
    term     := word | word* | "phrase" | #tag | @name | $cash | emoji | raw:x | /regex/
    field    := from:x | lang:x | is:x | has:x | url:x | date:a..b | since:d | until:d
    predicate := offensive>t | like:"example text">t   # classifier scores, t a number (linted: 0 < t < 1)

AND binds tighter than OR, NEAR tighter than AND, and NOT/- tighter than all. Operators are
upper case; ``NEAR/n`` is also accepted in lower case because the ``/n`` makes it unambiguous.

Pure Python: no Django imports (an import-linter contract enforces it).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "FIELDS",
    "And",
    "Diagnostic",
    "Field",
    "Near",
    "Node",
    "Not",
    "Or",
    "Predicate",
    "QueryError",
    "Term",
    "lint",
    "parse",
    "predicates",
    "terms",
]

MAX_NEAR = 10
MIN_KEYWORD = 2
MIN_PREFIX = 3
MAX_WILDCARDS = 10
MAX_RULE_LENGTH = 2000
MAX_TERMS = 200
MAX_REGEX_LENGTH = 200
MIN_REGEX_LITERAL = 3

FIELDS = ("from", "lang", "is", "has", "url", "date", "since", "until", "raw")
KINDS = ("post", "reply", "repost", "quote", "comment")
HAS_VALUES = ("links",)


class QueryError(ValueError):
    """A rule that cannot be parsed or compiled, with the 0-based character position at fault."""

    def __init__(
        self, message: str, position: int = 0, hint: str = "", query: str = "", rule_key: object = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.hint = hint
        self.query = query
        self.rule_key = rule_key

    def __str__(self) -> str:
        prefix = f"rule {self.rule_key!r}: " if self.rule_key is not None else ""
        return prefix + render(self.query, self.position, self.message, self.hint)


def render(query: str, position: int, message: str, hint: str = "") -> str:
    """The query on one line, a caret under ``position``, then the message and the hint."""
    shown = query.replace("\n", " ").replace("\t", " ")
    lines = [f"{message} (at character {position})"]
    if query:
        lines += [f"  {shown}", "  " + " " * min(position, len(shown)) + "^"]
    if hint:
        lines.append(f"hint: {hint}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Literal["error", "warning"]
    message: str
    position: int
    hint: str = ""

    def render(self, query: str) -> str:
        return render(query, self.position, f"{self.severity}: {self.message}", self.hint)


# --- AST -----------------------------------------------------------------------------------------

TermKind = Literal["word", "prefix", "phrase", "hashtag", "mention", "cashtag", "emoji", "raw", "regex"]


@dataclass(frozen=True, slots=True)
class Term:
    """Something searched for in the post text. ``value`` is as written, without ``*``, quotes or slashes."""

    kind: TermKind
    value: str
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Field:
    """A predicate on the post's metadata (``from:``, ``lang:``, ``is:``, ``has:``, ``url:``, dates)."""

    name: str
    value: str
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Predicate:
    """A classifier score above a threshold: ``offensive>0.8``, ``like:"example text">0.7``.

    Scored by an optional model (``criteria.classifiers``, the ``ml`` extra); ``example`` is ""
    for ``offensive``. ``at`` is where the threshold is written.
    """

    kind: Literal["offensive", "like"]
    example: str
    threshold: float
    pos: int
    end: int
    at: int


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Near:
    """``left NEAR/distance right``; operands are terms or OR-groups of terms."""

    left: Node
    right: Node
    distance: int
    ordered: bool
    pos: int


Node: TypeAlias = Term | Field | Predicate | And | Or | Not | Near


def terms(node: Node) -> list[Term]:
    """Every term in the tree, left to right."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Field | Predicate):
        return []
    if isinstance(node, Not):
        return terms(node.child)
    if isinstance(node, Near):
        return terms(node.left) + terms(node.right)
    return [t for child in node.children for t in terms(child)]


def predicates(node: Node) -> list[Predicate]:
    """Every classifier predicate in the tree, left to right."""
    if isinstance(node, Predicate):
        return [node]
    if isinstance(node, Not):
        return predicates(node.child)
    if isinstance(node, And | Or):
        return [p for child in node.children for p in predicates(child)]
    return []


# --- tokenizer -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tok:
    type: str  # LPAR RPAR AND OR NOT MINUS NEAR TERM FIELD EOF
    pos: int
    end: int
    text: str = ""
    node: Node | None = None
    distance: int = 0
    ordered: bool = False


_NEAR = re.compile(r"(O?NEAR)/(\d+)$", re.IGNORECASE)
_FIELD_PREFIX = re.compile(r"([A-Za-z]{1,12}):")
_STOP = frozenset(' \t\r\n\f\v()"')
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}$")
_OFFENSIVE = re.compile(r"offensive([<>]=?|=)", re.IGNORECASE)
_NUMBER = re.compile(r"\d*\.?\d+$")


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    return 0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0x2B00 <= cp <= 0x2BFF or cp in (0x200D, 0xFE0F)


class _Lexer:
    def __init__(self, query: str) -> None:
        self.q = query
        self.i = 0

    def error(self, message: str, position: int, hint: str = "") -> QueryError:
        return QueryError(message, position, hint, self.q)

    def tokens(self) -> list[_Tok]:
        out: list[_Tok] = []
        while True:
            tok = self.next()
            out.append(tok)
            if tok.type == "EOF":
                return out

    def next(self) -> _Tok:
        q = self.q
        while self.i < len(q) and q[self.i].isspace():
            self.i += 1
        start = self.i
        if start >= len(q):
            return _Tok("EOF", start, start)
        ch = q[start]
        if ch in "()":
            self.i += 1
            return _Tok("LPAR" if ch == "(" else "RPAR", start, start + 1)
        if ch == '"':
            value, end = self.quoted(start)
            return _Tok("TERM", start, end, node=Term("phrase", value, start, end))
        if ch == "/":
            value, end = self.regex(start)
            return _Tok("TERM", start, end, node=Term("regex", value, start, end))
        if ch == "-" and start + 1 < len(q) and not q[start + 1].isspace() and q[start + 1] != ")":
            self.i += 1
            return _Tok("MINUS", start, start + 1)
        return self.word(start)

    def quoted(self, start: int) -> tuple[str, int]:
        q, i, chars = self.q, start + 1, []
        while i < len(q):
            ch = q[i]
            if ch == "\\" and i + 1 < len(q):
                chars.append(q[i + 1])
                i += 2
                continue
            if ch == '"':
                self.i = i + 1
                return "".join(chars), i + 1
            chars.append(ch)
            i += 1
        raise self.error("unclosed quote", start, 'close the phrase with a second " (write \\" for a quote inside)')

    def regex(self, start: int) -> tuple[str, int]:
        q, i = self.q, start + 1
        while i < len(q):
            if q[i] == "\\":
                i += 2
                continue
            if q[i] == "/":
                self.i = i + 1
                return q[start + 1 : i].replace("\\/", "/"), i + 1
            i += 1
        raise self.error("unclosed /regex/", start, "end the regular expression with a second /")

    def word(self, start: int) -> _Tok:
        q, i = self.q, start
        while i < len(q) and q[i] not in _STOP:
            i += 1
        self.i = i
        text = q[start:i]
        if text in ("AND", "OR", "NOT"):
            return _Tok(text, start, i, text)
        if text == "&&":
            return _Tok("AND", start, i, text)
        if text == "||":
            return _Tok("OR", start, i, text)
        near = _NEAR.match(text)
        if near:
            return _Tok("NEAR", start, i, text, distance=int(near.group(2)), ordered=near.group(1).upper() == "ONEAR")
        if text in ("NEAR", "ONEAR"):
            raise self.error(f"{text} needs a distance", start, f"write {text.upper()}/5 for 'within 5 words'")
        offensive = _OFFENSIVE.match(text)
        if offensive:
            return self.offensive(start, offensive, i)
        field = _FIELD_PREFIX.match(text)
        if field:
            return self.field(start, field.group(1), i)
        return _Tok("TERM", start, i, node=self.bare_term(text, start, i))

    def offensive(self, start: int, match: re.Match[str], end: int) -> _Tok:
        if match.group(1) != ">":
            raise self.error(
                f"'offensive{match.group(1)}' is not supported",
                start + match.start(1),
                "write offensive>0.8 (scores above 0.8); NOT offensive>0.8 for the rest",
            )
        at = start + match.end()
        threshold = self.threshold(self.q[at:end], at, "e.g. offensive>0.8")
        return _Tok("FIELD", start, end, node=Predicate("offensive", "", threshold, start, end, at))

    def like(self, start: int, vstart: int) -> _Tok:
        q = self.q
        example_hint = 'e.g. like:"go back to where you came from">0.75'
        if vstart >= len(q) or q[vstart] != '"':
            raise self.error("like: needs an example text in quotes", start, example_hint)
        example, close = self.quoted(vstart)
        end = close
        while end < len(q) and q[end] not in _STOP:
            end += 1
        self.i = end
        if not q.startswith(">", close):
            raise self.error(
                'like:"…" needs a threshold', close, 'write >0.7 right after the closing quote: like:"example">0.7'
            )
        threshold = self.threshold(q[close + 1 : end], close + 1, example_hint)
        return _Tok("FIELD", start, end, node=Predicate("like", example, threshold, start, end, close + 1))

    def threshold(self, text: str, at: int, hint: str) -> float:
        if not _NUMBER.match(text):
            raise self.error("a threshold must be a number between 0 and 1", at, hint)
        return float(text)

    def field(self, start: int, name: str, end: int) -> _Tok:
        lname = name.lower()
        vstart = start + len(name) + 1
        if lname == "like":
            return self.like(start, vstart)
        if lname not in FIELDS:
            raise self.error(
                f"unknown field '{name}:'",
                start,
                f'fields are {", ".join(f + ":" for f in FIELDS)}; to search the text, quote it: "{self.q[start:end]}"',
            )
        if vstart < len(self.q) and self.q[vstart] == '"':
            value, end = self.quoted(vstart)
        else:
            value = self.q[vstart:end]
        if not value:
            raise self.error(f"'{name}:' needs a value", start, _FIELD_HINTS[lname])
        if lname == "raw":
            return _Tok("TERM", start, end, node=Term("raw", value, start, end))
        return _Tok("FIELD", start, end, node=self.check_field(lname, value, start, end))

    def check_field(self, name: str, value: str, start: int, end: int) -> Field:
        low = value.lower()
        if name == "is" and low not in KINDS:
            raise self.error(f"unknown kind 'is:{value}'", start, _FIELD_HINTS["is"])
        if name == "has" and low not in HAS_VALUES:
            raise self.error(f"unknown 'has:{value}'", start, _FIELD_HINTS["has"])
        if name in ("date", "since", "until"):
            self.check_dates(name, value, start)
        return Field(name, value, start, end)

    def check_dates(self, name: str, value: str, start: int) -> None:
        parts = value.split("..", 1) if name == "date" else [value]
        if name == "date" and not any(parts):
            raise self.error("date range needs at least one end", start, _FIELD_HINTS["date"])
        for part in parts:
            if part and not _valid_date(part):
                raise self.error(f"'{part}' is not a date", start, _FIELD_HINTS[name])
        if len(parts) == 2 and all(parts) and parts[0] > parts[1]:
            raise self.error("date range ends before it starts", start, _FIELD_HINTS["date"])

    def bare_term(self, text: str, start: int, end: int) -> Term:
        if text.endswith("*"):
            stem = text[:-1]
            if not stem or "*" in stem:
                raise self.error("a wildcard goes at the end of a word", start, "write a prefix then *, e.g. advertis*")
            return Term("prefix", stem, start, end)
        if "*" in text:
            raise self.error("a wildcard goes at the end of a word", start + text.index("*"), "e.g. advertis*")
        kind: TermKind = "word"
        if len(text) > 1 and text[0] in "#@$":
            kind = {"#": "hashtag", "@": "mention", "$": "cashtag"}[text[0]]  # type: ignore[assignment]
        elif all(_is_emoji(ch) or not ch.isalnum() for ch in text) and any(_is_emoji(ch) for ch in text):
            kind = "emoji"
        return Term(kind, text, start, end)


_FIELD_HINTS = {
    "from": "from:@handle (the author's handle)",
    "lang": "lang:en (the post's language code)",
    "is": "is:reply, is:repost, is:quote, is:comment or is:post",
    "has": "has:links",
    "url": "url:example.com (part of a link in the post)",
    "date": "date:2024-01-01..2024-03-31 (either end may be left out: date:2024-01-01..)",
    "since": "since:2024-01-01 (on or after this day, UTC)",
    "until": "until:2024-03-31 (before this day, UTC)",
    "raw": 'raw:Exact or raw:"Exact Phrase" (case- and accent-exact)',
}


def _valid_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


# --- parser --------------------------------------------------------------------------------------

_STARTS_UNARY = frozenset(("TERM", "FIELD", "LPAR", "NOT", "MINUS"))


class _Parser:
    def __init__(self, query: str) -> None:
        self.q = query
        self.toks = _Lexer(query).tokens()
        self.k = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.k]

    def error(self, message: str, position: int, hint: str = "") -> QueryError:
        return QueryError(message, position, hint, self.q)

    def parse(self) -> Node:
        if self.tok.type == "EOF":
            raise self.error("empty rule", 0, "write at least one keyword, e.g. scum OR vermin")
        node = self.or_expr()
        if self.tok.type == "RPAR":
            raise self.error("unmatched ')'", self.tok.pos, "remove it or add a '(' before it")
        if self.tok.type != "EOF":  # pragma: no cover - or_expr consumes everything else
            raise self.error("unexpected text", self.tok.pos)
        return node

    def or_expr(self) -> Node:
        start = self.tok.pos
        children = [self.and_expr()]
        while self.tok.type == "OR":
            self.k += 1
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children), start)

    def and_expr(self) -> Node:
        start = self.tok.pos
        children = [self.unary()]
        while True:
            if self.tok.type == "AND":
                self.k += 1
            elif self.tok.type not in _STARTS_UNARY:
                break
            children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children), start)

    def unary(self) -> Node:
        tok = self.tok
        if tok.type in ("NOT", "MINUS"):
            self.k += 1
            return Not(self.unary(), tok.pos)
        return self.near()

    def near(self) -> Node:
        left = self.atom()
        tok = self.tok
        if tok.type != "NEAR":
            return left
        self.k += 1
        right = self.atom()
        if self.tok.type == "NEAR":
            raise self.error(
                "NEAR cannot be chained", self.tok.pos, "join two NEAR clauses with AND: (a NEAR/3 b) AND (b NEAR/3 c)"
            )
        for side in (left, right):
            self.check_near_operand(side, tok.text)
        return Near(left, right, tok.distance, tok.ordered, tok.pos)

    def check_near_operand(self, node: Node, op: str) -> None:
        if isinstance(node, Or):
            for child in node.children:
                self.check_near_operand(child, op)
            return
        if isinstance(node, Term) and node.kind != "regex":
            return
        raise self.error(
            f"{op} works on terms or OR-groups of terms",
            _pos(node),
            f"e.g. scum {op} (labour OR members); put AND, NOT, fields and /regex/ outside the {op}",
        )

    def atom(self) -> Node:
        tok = self.tok
        if tok.type == "LPAR":
            self.k += 1
            if self.tok.type == "RPAR":
                raise self.error("empty parentheses", tok.pos, "put a term inside, or remove them")
            node = self.or_expr()
            if self.tok.type != "RPAR":
                raise self.error("unclosed '('", tok.pos, "add a ')' to close it")
            self.k += 1
            return node
        if tok.type in ("TERM", "FIELD"):
            self.k += 1
            assert tok.node is not None
            return tok.node
        raise self.error(*_unexpected(tok, self.toks[self.k - 1] if self.k else None))


def _unexpected(tok: _Tok, prev: _Tok | None) -> tuple[str, int, str]:
    after = f" after {prev.text or prev.type}" if prev is not None and prev.type in ("AND", "OR", "NOT", "NEAR") else ""
    if tok.type == "EOF":
        return (f"rule ends too early: expected a term{after}", tok.pos, "finish the rule with a keyword")
    if tok.type == "RPAR":
        return (f"expected a term{after}, found ')'", tok.pos, "remove the ')' or put a term before it")
    name = tok.text or tok.type
    hint = f'{name} is an operator; to search for the word, quote it: "{name.lower()}"'
    if prev is None or prev.type in ("LPAR",):
        hint = f"{name} needs a term on its left; " + hint
    return (f"expected a term{after}, found {name}", tok.pos, hint)


def _pos(node: Node) -> int:
    return node.pos


def parse(query: str) -> Node:
    """Parse a rule into its AST. Raises :class:`QueryError` with the position of the fault."""
    return _Parser(query).parse()


# --- linting -------------------------------------------------------------------------------------


def lint(query: str) -> list[Diagnostic]:
    """Everything wrong with a rule, errors first; a parse error is a single error diagnostic."""
    if len(query) > MAX_RULE_LENGTH:
        return [
            Diagnostic(
                "error", f"rule is {len(query)} characters long", MAX_RULE_LENGTH, f"keep rules under {MAX_RULE_LENGTH}"
            )
        ]
    try:
        node = parse(query)
    except QueryError as exc:
        return [Diagnostic("error", exc.message, exc.position, exc.hint)]
    out = _lint_tree(node, query)
    return sorted(out, key=lambda d: (d.severity != "error", d.position))


def _lint_tree(node: Node, query: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if not _positive(node):
        out.append(
            Diagnostic(
                "error",
                "a rule needs a positive term",
                node.pos,
                "NOT alone would match almost every post; add what you are looking for, e.g. election -lottery",
            )
        )
    all_terms = terms(node)
    if len(all_terms) > MAX_TERMS:
        out.append(Diagnostic("error", f"{len(all_terms)} terms in one rule", 0, f"keep rules under {MAX_TERMS} terms"))
    wildcards = [t for t in all_terms if t.kind == "prefix"]
    if len(wildcards) > MAX_WILDCARDS:
        out.append(
            Diagnostic(
                "error", f"{len(wildcards)} wildcards in one rule", wildcards[MAX_WILDCARDS].pos, "split the rule"
            )
        )
    out += [d for t in all_terms for d in _lint_term(t)]
    out += _lint_nodes(node, query)
    out += _lint_predicates(node)
    return out


_PREDICATE_SYNTAX = {"offensive": "offensive>0.8", "like": 'like:"go back to where you came from">0.75'}


def _lint_predicates(node: Node) -> list[Diagnostic]:
    """Classifier predicates: thresholds, examples, the ``ml`` extra, and the cost of scoring every post.

    A predicate counts as a positive term (a post must score above the threshold), so
    ``offensive>0.9`` alone is a valid rule; it is warned about because it scores every post.
    """
    found = predicates(node)
    if not found:
        return []
    from criteria.classifiers import INSTALL, missing_modules  # local: classifiers imports this module

    out: list[Diagnostic] = []
    checked: set[str] = set()
    for pred in found:
        if not 0 < pred.threshold < 1:
            out.append(
                Diagnostic(
                    "error",
                    f"threshold {pred.threshold:g} is not between 0 and 1",
                    pred.at,
                    f"scores run from 0 to 1, e.g. {_PREDICATE_SYNTAX[pred.kind]}",
                )
            )
        if pred.kind == "like" and not pred.example.strip():
            out.append(Diagnostic("error", "like: needs an example text", pred.pos, _PREDICATE_SYNTAX["like"]))
        missing = [] if pred.kind in checked else missing_modules(pred.kind)
        checked.add(pred.kind)
        if missing:
            out.append(
                Diagnostic(
                    "error",
                    f"{pred.kind} needs the ml extra, which is not installed",
                    pred.pos,
                    f"{INSTALL} (missing: {', '.join(missing)})",
                )
            )
    if not _needs_literal(node):
        out.append(
            Diagnostic(
                "warning",
                "this rule runs a classifier on every post",
                found[0].pos,
                "slow on big runs: add keywords so only posts containing them are scored, "
                "e.g. offensive>0.8 AND (scum OR vermin)",
            )
        )
    return out


def _needs_literal(node: Node) -> bool:
    """Whether a post can only match by containing one of the rule's terms."""
    if isinstance(node, Term | Near):
        return True
    if isinstance(node, And):
        return any(_needs_literal(c) for c in node.children)
    if isinstance(node, Or):
        return all(_needs_literal(c) for c in node.children)
    return False


def _positive(node: Node) -> bool:
    """Whether a post can only match by containing something (not merely by lacking something)."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_positive(c) for c in node.children)
    if isinstance(node, Or):
        return all(_positive(c) for c in node.children)
    return True


def _lint_nodes(node: Node, query: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if isinstance(node, Near):
        if node.distance > MAX_NEAR:
            out.append(
                Diagnostic(
                    "error", f"NEAR/{node.distance} is too far", node.pos, f"use at most NEAR/{MAX_NEAR}, or AND"
                )
            )
        return out
    if isinstance(node, Not):
        if isinstance(node.child, Not):
            out.append(Diagnostic("warning", "double negation", node.pos, "NOT NOT x is x; remove both"))
        return out + _lint_nodes(node.child, query)
    if isinstance(node, And | Or):
        for child in node.children:
            out += _lint_nodes(child, query)
    return out


_OPERATOR_WORDS = {"and": "AND", "or": "OR", "not": "NOT"}


def _lint_term(term: Term) -> list[Diagnostic]:
    from criteria.matcher import CLS, SOLO, normalize, word_length  # local: the matcher imports this module

    norm = normalize(term.value)
    if term.kind == "regex":
        return _lint_regex(term)
    if not norm.strip():
        return [Diagnostic("error", "term is empty once normalised", term.pos, "accents and spacing are ignored")]
    out: list[Diagnostic] = []
    if term.kind == "word" and term.value in _OPERATOR_WORDS:
        op = _OPERATOR_WORDS[term.value]
        out.append(
            Diagnostic(
                "warning",
                f"'{term.value}' is searched as a word",
                term.pos,
                f'operators are upper case: write {op}; quote it ("{term.value}") to silence this',
            )
        )
    short = 0 < word_length(norm) < MIN_KEYWORD and not any(CLS[ch] == SOLO for ch in norm)
    if term.kind in ("word", "hashtag", "mention", "cashtag") and short:
        out.append(
            Diagnostic(
                "error",
                f"keyword '{term.value}' is too short",
                term.pos,
                f'keywords need at least {MIN_KEYWORD} letters; use a "phrase" for context',
            )
        )
    if term.kind == "prefix" and word_length(norm) < MIN_PREFIX:
        out.append(
            Diagnostic(
                "error",
                f"wildcard prefix '{term.value}*' is too short",
                term.pos,
                f"a wildcard needs at least {MIN_PREFIX} letters before the *, e.g. advertis*",
            )
        )
    if term.kind == "raw" and term.value == normalize(term.value):
        out.append(
            Diagnostic(
                "warning",
                "raw: has no capitals or accents to keep",
                term.pos,
                "raw: matters only for case or accents; a plain keyword does the same",
            )
        )
    return out


def _lint_regex(term: Term) -> list[Diagnostic]:
    pos = term.pos
    if len(term.value) > MAX_REGEX_LENGTH:
        return [Diagnostic("error", "regex too long", pos, f"keep /regex/ under {MAX_REGEX_LENGTH} characters")]
    try:
        re.compile(term.value)
    except re.error as exc:
        at = pos + 1 + (exc.pos or 0)
        return [Diagnostic("error", f"invalid regex: {exc.msg}", at, "check the regular expression syntax")]
    literal = required_literal(term.value)
    if len(literal) < MIN_REGEX_LITERAL:
        return [
            Diagnostic(
                "error",
                "regex has no required literal text",
                pos,
                f"a /regex/ must contain at least {MIN_REGEX_LITERAL} plain characters every match needs, "
                "outside alternatives and optional parts, e.g. /scum+bags?/",
            )
        ]
    if any(ch.isupper() for ch in _strip_escapes(term.value)):
        return [
            Diagnostic(
                "warning",
                "regex contains capitals",
                pos,
                "a /regex/ runs on the normalised text (lower case, accents removed); write it in lower case",
            )
        ]
    return []


def _strip_escapes(pattern: str) -> str:
    return re.sub(r"\\.", "", pattern)


_ESCAPE_BREAKS = frozenset("dDwWsSbBAZ0123456789")


def required_literal(pattern: str) -> str:
    """The longest run of plain characters every match of ``pattern`` must contain ("" if none).

    Deliberately conservative: a top-level ``|`` means nothing is required, and groups, classes,
    anchors and escapes like ``\\d`` end a run. The scan finds this literal; the regex then verifies.
    """
    runs: list[str] = []
    run: list[str] = []
    depth, i, n = 0, 0, len(pattern)
    while i < n:
        ch = pattern[i]
        literal: str | None = None
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            literal = None if nxt.isalnum() or nxt in _ESCAPE_BREAKS else nxt
            i += 2
        elif ch == "[":
            i = _skip_class(pattern, i)
        elif ch in "()":
            depth += 1 if ch == "(" else -1
            i += 1
        elif ch == "|" and depth == 0:
            return ""
        else:
            literal = None if ch in ".^$|" else ch
            i += 1
        after = _quantifier(pattern, i)
        least = after[1]
        if literal is not None and depth == 0 and least > 0:
            run.append(literal)
        if literal is None or depth != 0 or after[0] != i:  # a quantified character ends the run
            runs.append("".join(run))
            run = []
        i = after[0]
    runs.append("".join(run))
    return max(runs, key=len)


def _quantifier(pattern: str, i: int) -> tuple[int, int]:
    """Skip a quantifier at ``i``; return the new index and the minimum repeat (1 when none)."""
    if i >= len(pattern):
        return i, 1
    ch = pattern[i]
    if ch in "*?":
        least, i = 0, i + 1
    elif ch == "+":
        least, i = 1, i + 1
    elif ch == "{" and (m := re.match(r"\{(\d*)(,\d*)?\}", pattern[i:])):
        least, i = int(m.group(1) or 0), i + m.end()
    else:
        return i, 1
    if i < len(pattern) and pattern[i] in "?+":
        i += 1  # lazy or possessive
    return i, least


def _skip_class(pattern: str, i: int) -> int:
    i += 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1
