"""The matcher's public API as other apps use it: keys, order, errors, batching, engines."""

from __future__ import annotations

import pytest

from criteria.matcher import PostView, RuleMatch, compile_rules
from criteria.query import QueryError


def test_it_returns_matching_rules_in_key_order_with_spans():
    matcher = compile_rules([(30, "vermin"), (10, "scum"), (20, "tory")])
    assert matcher.match("scum and vermin") == [RuleMatch(10, ((0, 4),)), RuleMatch(30, ((9, 15),))]


def test_a_bad_rule_raises_a_query_error_naming_its_key():
    with pytest.raises(QueryError) as caught:
        compile_rules([(1, "scum"), (7, "scum AND")])
    assert caught.value.rule_key == 7
    assert str(caught.value).startswith("rule 7: ")
    assert "^" in str(caught.value)


def test_lint_errors_also_stop_compilation():
    with pytest.raises(QueryError, match="positive term"):
        compile_rules([("k", "NOT scum")])


def test_match_many_keeps_order_across_batches():
    matcher = compile_rules([("s", "scum")])
    posts = [PostView(text="scum" if i % 3 == 0 else "fine") for i in range(1000)]
    results = list(matcher.match_many(posts, batch=64))
    assert [bool(r) for r in results] == [i % 3 == 0 for i in range(1000)]
    assert list(matcher.match_many(p.text for p in posts[:5])) == [matcher.match(p) for p in posts[:5]]


def test_rules_without_terms_are_checked_on_every_post():
    matcher = compile_rules([("bob", "from:@bob"), ("s", "scum")])
    posts = [PostView("hello", author_handle="bob"), PostView("", author_handle="eve")]
    assert [[m.key for m in r] for r in matcher.match_many(posts)] == [["bob"], []]


def test_unknown_engines_are_refused():
    with pytest.raises(ValueError, match="unknown matcher engine"):
        compile_rules([("s", "scum")], engine="grep")


def test_an_empty_rule_set_matches_nothing():
    matcher = compile_rules([])
    assert matcher.match("anything") == []
    assert list(matcher.match_many(["a", "b"])) == [[], []]


def test_hyperscan_gives_identical_results_on_mixed_scripts():
    pytest.importorskip("hyperscan")
    rules = [(1, "café OR 中国"), (2, "scum NEAR/2 🐀"), (3, "raw:Ünïcode")]
    texts = ["Ünïcode 😀 café", "中国 scum 🐀", "cafe\u0301 \ud800 scum x 🐀", ""]
    aho, hs = compile_rules(rules), compile_rules(rules, engine="hyperscan")
    assert list(hs.match_many(texts)) == list(aho.match_many(texts))
    assert any(list(aho.match_many(texts)))


def test_hyperscan_finds_a_short_word_that_ends_a_post_of_any_length():
    # Hyperscan itself missed "\bgo\b" ending a 49-69 byte buffer when "\blabour\b" was in the same
    # database; found by the property test. Every length up to 120 bytes, alone and in a batch.
    pytest.importorskip("hyperscan")
    rules = [("a", "labour"), ("b", '"go"')]
    aho, hs = compile_rules(rules), compile_rules(rules, engine="hyperscan")
    posts = [PostView(text="x" * n + " go") for n in range(120)]
    expected = [aho.match(p) for p in posts]
    assert all(m and m[0].key == "b" for m in expected)
    assert [hs.match(p) for p in posts] == expected
    assert list(hs.match_many(posts, batch=7)) == expected
