"""Property tests: the compiled matcher agrees with a plain reference evaluator, spans included.

The reference walks the AST directly for each rule, finds each term by trying every offset of the
normalised text (no multi-pattern scan, no candidate selection, no compiled checks), and maps
spans back through the offset-tracking normaliser. Odd Unicode must never crash anything.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from criteria.matcher import PostView, compile_rules, normalize, normalize_slowly, normalize_with_offsets, span_end
from criteria.query import And, Field, Near, Node, Not, Or, Term, lint, parse, required_literal

ENGINES = ["ahocorasick"] + (["hyperscan"] if importlib.util.find_spec("hyperscan") else [])
SOLO_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0EFF),
    (0x1000, 0x109F),
    (0x1780, 0x17FF),
    (0x3040, 0x30FF),
    (0x31F0, 0x31FF),
)
SOLO_RANGES += ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF))


# --- the reference evaluator ---------------------------------------------------------------------


def _kind(ch: str) -> str:
    if not (unicodedata.category(ch)[0] in "LNM" or unicodedata.category(ch) == "Pc"):
        return "gap"
    return "solo" if any(lo <= ord(ch) <= hi for lo, hi in SOLO_RANGES) else "word"


def _glued(norm: str, i: int) -> bool:
    """Whether offset i falls inside a word (between two spaced-script word characters)."""
    return 0 < i < len(norm) and _kind(norm[i - 1]) == "word" == _kind(norm[i])


def _occurrences(term: Term, norm: str, text: str, starts) -> list[tuple[int, int]]:
    if term.kind == "regex":
        if required_literal(term.value) not in norm:
            return []
        return [m.span() for m in re.finditer(term.value, norm) if m.end() > m.start()]
    key = normalize(term.value).strip(" ")
    out = []
    for i in range(len(norm) - len(key) + 1):
        if norm[i : i + len(key)] != key:
            continue
        j = i + len(key)
        if _glued(norm, i) or (term.kind in ("hashtag", "mention", "cashtag") and i and _kind(norm[i - 1]) == "word"):
            continue
        if term.kind == "prefix":
            while j < len(norm) and _kind(norm[j]) == "word":
                j += 1
        elif _glued(norm, j) and _kind(key[-1]) == "word":
            continue
        if term.kind == "raw":
            exact = " ".join(unicodedata.normalize("NFC", text[starts[i] : span_end(text, starts[j - 1])]).split())
            if exact != " ".join(unicodedata.normalize("NFC", term.value).split()):
                continue
        out.append((i, j))
    return out


def _word_index(norm: str) -> list[int]:
    """For each offset, how many words start at or before it."""
    out, count = [], 0
    for i, ch in enumerate(norm):
        if _kind(ch) == "solo" or (_kind(ch) == "word" and (i == 0 or _kind(norm[i - 1]) != "word")):
            count += 1
        out.append(count)
    return out


def _evaluate(node: Node, post: PostView, norm: str, starts, words):
    """None if false, else the list of normalised spans that make it true."""
    if isinstance(node, Term):
        found = _occurrences(node, norm, post.text, starts)
        return found or None
    if isinstance(node, Field):
        return [] if _field(node, post) else None
    if isinstance(node, Not):
        if isinstance(node.child, Not):
            return _evaluate(node.child.child, post, norm, starts, words)
        return None if _evaluate(node.child, post, norm, starts, words) is not None else []
    if isinstance(node, Near):
        lefts = _evaluate(node.left, post, norm, starts, words) or []
        rights = _evaluate(node.right, post, norm, starts, words) or []
        used = set()
        for a in lefts:
            for b in rights:
                if a[1] <= b[0]:
                    first, second = a, b
                elif b[1] <= a[0]:
                    first, second = b, a
                else:
                    continue
                if node.ordered and first is b:
                    continue
                # words strictly between: those starting in [end of the first, start of the second)
                between = words[second[0] - 1] - words[first[1] - 1]
                if between <= node.distance:
                    used |= {a, b}
        return sorted(used) or None
    assert isinstance(node, And | Or), node  # the generated rules have no classifier predicates
    results = [_evaluate(c, post, norm, starts, words) for c in node.children]
    if isinstance(node, And):
        return None if any(r is None for r in results) else [s for r in results for s in r]
    true = [r for r in results if r is not None]
    return [s for r in true for s in r] if true else None


def _field(node: Field, post: PostView) -> bool:
    value = node.value.casefold()
    if node.name == "from":
        return post.author_handle.casefold().lstrip("@") == value.lstrip("@")
    if node.name == "lang":
        return post.lang.casefold() == value or post.lang.casefold().startswith(value + "-")
    if node.name == "is":
        return post.kind == value
    if node.name == "has":
        return bool(post.urls) or re.search(r"(?i)https?://|www\.", post.text) is not None
    raise AssertionError(f"the strategy makes no {node.name}: fields")


def reference(query: str, post: PostView) -> tuple[tuple[int, int], ...] | None:
    norm, starts = normalize_with_offsets(post.text)
    spans = _evaluate(parse(query), post, norm, starts, _word_index(norm))
    if spans is None:
        return None
    merged: list[tuple[int, int]] = []
    for s, e in sorted((starts[s], span_end(post.text, starts[e - 1])) for s, e in spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return tuple(merged)


# --- strategies ----------------------------------------------------------------------------------

WORDS = ["scum", "labour", "vermin", "café", "go", "back", "to", "中国", "人民", "straße", "naïve", "🐀", "ok"]
VARIANTS = {
    "café": ["CAFÉ", "cafe\u0301", "Cafe"],
    "straße": ["STRASSE"],
    "naïve": ["naive", "NAÏVE"],
    "scum": ["Scum", "s\u200bcum"],
}
SEPARATORS = [" ", "  ", ", ", "\n", "#", "@", "", "-", "'s ", "… ", "\u200f", " \u0301"]

terms = st.one_of(
    st.sampled_from(WORDS).map(lambda w: w if w not in ("ok", "to", "go") else f'"{w}"'),
    st.lists(st.sampled_from(WORDS), min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"'),
    st.sampled_from(["scu*", "lab*", "verm*", "caf*", "nai*"]),
    st.sampled_from(["#scum", "@labour", "$vermin", "#café"]),
    st.sampled_from(["raw:Scum", "raw:CAFÉ", 'raw:"Go back"']),
    st.sampled_from(["/scu+m/", "/lab.ur/", "/verm+in/"]),
)
near_terms = st.one_of(st.sampled_from(["scum", "labour", "café", "🐀", "scu*", "#scum", '"go back"']), terms)
fields = st.sampled_from(["lang:en", "is:reply", "from:@bob", "has:links"])


def _expressions(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return terms
    sub = _expressions(depth - 1)
    return st.one_of(
        terms,
        st.tuples(sub, sub).map(lambda p: f"({p[0]} {p[1]})"),
        st.tuples(sub, sub).map(lambda p: f"({p[0]} AND {p[1]})"),
        st.tuples(sub, sub).map(lambda p: f"({p[0]} OR {p[1]})"),
        st.tuples(sub, sub).map(lambda p: f"({p[0]} -{p[1]})"),
        st.tuples(sub, fields).map(lambda p: f"({p[0]} OR {p[1]})"),
        st.tuples(sub, fields).map(lambda p: f"({p[0]} NOT {p[1]})"),
        st.tuples(near_terms, near_terms, st.integers(0, 3), st.booleans()).map(
            lambda p: f"({p[0]} {'O' if p[3] else ''}NEAR/{p[2]} {p[1]})"
        ),
    )


rules = _expressions(3).filter(lambda q: not any(d.severity == "error" for d in lint(q)))


@st.composite
def posts(draw: st.DrawFn) -> PostView:
    parts = []
    for _ in range(draw(st.integers(0, 12))):
        word = draw(st.sampled_from(WORDS + ["scum", "labour", "café", "go", "back"] * 2))
        parts.append(draw(st.sampled_from([word, *VARIANTS.get(word, [])])))
        parts.append(draw(st.sampled_from(SEPARATORS)))
    return PostView(
        text="".join(parts),
        lang=draw(st.sampled_from(["", "en", "fr"])),
        author_handle=draw(st.sampled_from(["", "bob", "eve"])),
        kind=draw(st.sampled_from(["post", "reply"])),
        urls=draw(st.sampled_from([(), ("https://example.com",)])),
    )


# --- properties ----------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(queries=st.lists(rules, min_size=1, max_size=4), batch=st.lists(posts(), min_size=1, max_size=4))
def test_compiled_matcher_agrees_with_the_reference(engine, queries, batch):
    matcher = compile_rules(list(enumerate(queries)), engine=engine)
    for post, got in zip(batch, matcher.match_many(batch), strict=True):
        expected = {i: reference(q, post) for i, q in enumerate(queries)}
        assert {m.key: m.spans for m in got} == {i: s for i, s in expected.items() if s is not None}
        keys = [int(str(m.key)) for m in got]  # the keys are the rules' positions here
        assert keys == sorted(keys)


any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=60)


@settings(max_examples=200, deadline=None)
@given(any_text)
def test_normalize_equals_the_one_character_at_a_time_specification(text):
    spec, spec_starts = normalize_slowly(text)
    norm, starts = normalize_with_offsets(text)
    assert normalize(text) == norm == spec
    assert starts == spec_starts
    assert all(0 <= s < len(text) for s in starts)
    norm.encode("utf-8")  # lone surrogates never survive normalisation


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=100, deadline=None)
@given(text=any_text)
def test_odd_unicode_never_crashes(engine, text):
    matcher = _BROAD[engine]
    for match in matcher.match(text):
        assert all(0 <= s < e <= len(text) for s, e in match.spans)
    assert list(matcher.match_many([text, ""])) is not None


_BROAD = {
    engine: compile_rules(
        [
            (1, "scum OR café OR 🐀 OR 中国"),
            (2, "advertis* NEAR/2 (scam OR fraud)"),
            (3, "#vote OR @bob OR $tsla"),
            (4, "raw:Apple OR /scu+m+/"),
            (5, '"go back" -lang:fr'),
            (6, "from:bob OR has:links"),
        ],
        engine=engine,
    )
    for engine in ENGINES
}


def test_every_character_normalises_as_the_specification_says():
    from criteria.matcher import normalize_slowly

    for cp in range(0x20000):  # the planes with assigned letters, marks and symbols
        text = f"a{chr(cp)}b"
        assert normalize(text) == normalize_slowly(text)[0], hex(cp)
