"""The matcher's fast paths give exactly what the plain paths give.

* normalisation: ASCII (``lower``), and the rest (one regex pass for the characters whose fold is
  not their ``casefold``, then ``casefold``), equal the one-character-at-a-time specification,
  before and after the regex learns new characters;
* batches: ``match_many`` (one scan per chunk, sparse hits) equals ``match`` post by post;
* Hyperscan's ASCII word boundaries only drop occurrences that are certainly not whole words.
"""

from __future__ import annotations

import importlib.util

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from criteria import matcher as m
from criteria.matcher import PostView, compile_rules, normalize, normalize_slowly

ENGINES = ["ahocorasick"] + (["hyperscan"] if importlib.util.find_spec("hyperscan") else [])


def test_every_fold_is_a_casefold_fixpoint():
    """What lets ``normalize`` fold the odd characters first and ``casefold`` everything after."""
    for cp in range(0x110000):
        folded = m._FOLD[cp]
        assert folded.casefold() == folded, hex(cp)
    m._FOLD.clear()  # a million entries: give the memory back


ascii_text = st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=80)


@settings(max_examples=300, deadline=None)
@given(ascii_text)
def test_the_ascii_fast_path_equals_the_specification(text):
    assert normalize(text) == normalize_slowly(text)[0]


mixed_text = st.text(
    alphabet=st.one_of(
        st.characters(max_codepoint=0x7F),
        st.sampled_from("éÉçßİıΣσς\u0301\u200b\u200d\ufe0f\u00a0\u2028\u3000ﬁｆ𝐬😀👍🏽🇬🇧中国йЙأ\ud800"),
        st.characters(),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(mixed_text)
def test_the_general_path_equals_the_specification(text):
    assert normalize(text) == normalize_slowly(text)[0]


def test_normalisation_is_the_same_before_and_after_the_regex_learns_characters():
    texts = [f"x{chr(cp)}y {chr(cp + 1)}Z\u00a0" for cp in range(0x80, 0x3000, 7)]
    before = [normalize(t) for t in texts]
    m._OTHERS.cost = 0.0
    m._OTHERS.maybe_rebuild()
    assert m._OTHERS.pattern.pattern != r"[^\x00-\x7f]+"  # it knows some characters now
    m._RUNS.clear()
    after = [normalize(t) for t in texts]
    assert before == after == [normalize_slowly(t)[0] for t in texts]


RULES = [
    (1, "scum OR café OR 🐀 OR 中国"),
    (2, "advertis* NEAR/2 (scam OR fraud)"),
    (3, "#vote OR @bob OR $tsla"),
    (4, "raw:Apple OR /scu+m+/"),
    (5, '"go back" -lang:fr'),
    (6, "rat OR rats ONEAR/1 vermin"),
]
WORDS = ["scum", "scumbag", "rat", "ratio", "pirate", "rats", "vermin", "café", "cafe\u0301", "中国人", "🐀", "#vote"]
WORDS += ["#voter", "@bob", "@bob_2", "$tsla", "Apple", "apple", "scuuum", "go", "back", "advertising", "scam", "д"]
SEPARATORS = [" ", "", "\n", ", ", "д", "é", "_", "-", "😀", "\u200b", "  "]


@st.composite
def posts(draw: st.DrawFn) -> PostView | str:
    parts = [draw(st.sampled_from(WORDS)) + draw(st.sampled_from(SEPARATORS)) for _ in range(draw(st.integers(0, 8)))]
    text = "".join(parts)
    if draw(st.booleans()):
        return text
    return PostView(text=text, lang=draw(st.sampled_from(["", "en", "fr"])))


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=150, deadline=None)
@given(batch=st.lists(posts(), max_size=40), size=st.integers(1, 16))
def test_batches_equal_one_post_at_a_time(engine, batch, size):
    matcher = _MATCHERS[engine]
    assert list(matcher.match_many(batch, batch=size)) == [matcher.match(post) for post in batch]


_MATCHERS = {engine: compile_rules(RULES, engine=engine) for engine in ENGINES}


def test_engines_agree_where_hyperscan_drops_ascii_neighbours_itself():
    pytest.importorskip("hyperscan")
    texts = ["ratio rat", "pirate", "rat_2 rat", "ratд rat😀", "scumbag scum", "xscum", "scum9 scum", "rats", ""]
    aho, hs = _MATCHERS["ahocorasick"], _MATCHERS["hyperscan"]
    assert list(hs.match_many(texts)) == list(aho.match_many(texts))
    assert [[(r.key, r.spans) for r in got] for got in hs.match_many(texts)] == [
        [(6, ((6, 9),))],
        [],
        [(6, ((6, 9),))],
        [(6, ((5, 8),))],
        [(1, ((8, 12),)), (4, ((0, 4), (8, 12)))],
        [(4, ((1, 5),))],  # the regex has no word boundaries, so "scum" keeps no \b in Hyperscan
        [(1, ((6, 10),)), (4, ((0, 4), (6, 10)))],
        [],  # "rats" only counts next to "vermin"
        [],
    ]


def test_hyperscan_keeps_occurrences_next_to_non_ascii_characters_for_the_matcher_to_judge():
    pytest.importorskip("hyperscan")
    from criteria.engines import build_scanner

    scanner = build_scanner("hyperscan", {"rat": "p"}, {"rat": (True, True)})
    found = scanner.scan_batch(["ratio", "дrat", "rat😀", "rat_", "a rat"])
    assert found == {1: [(3, "p")], 2: [(2, "p")], 4: [(4, "p")]}
