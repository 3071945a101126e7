"""The rule language parser and linter: structure, precedence, positions, carets and hints."""

from __future__ import annotations

import pytest

from criteria.query import And, Field, Near, Not, QueryError, Term, lint, parse, required_literal


def _shape(node):
    """A compact, position-free picture of the tree."""
    if isinstance(node, Term):
        return node.value if node.kind in ("word", "emoji") else f"{node.kind}:{node.value}"
    if isinstance(node, Field):
        return f"{node.name}:{node.value}"
    if isinstance(node, Not):
        return ("NOT", _shape(node.child))
    if isinstance(node, Near):
        return ("ONEAR" if node.ordered else "NEAR", node.distance, _shape(node.left), _shape(node.right))
    return ("AND" if isinstance(node, And) else "OR", *(_shape(c) for c in node.children))


@pytest.mark.parametrize(
    ("query", "shape"),
    [
        ("scum", "scum"),
        ("scum vermin", ("AND", "scum", "vermin")),
        ("scum AND vermin", ("AND", "scum", "vermin")),
        ("a1 OR b1 c1", ("OR", "a1", ("AND", "b1", "c1"))),
        ("a1 b1 OR c1", ("OR", ("AND", "a1", "b1"), "c1")),
        ("a1 AND b1 OR c1 AND d1", ("OR", ("AND", "a1", "b1"), ("AND", "c1", "d1"))),
        ("(a1 OR b1) c1", ("AND", ("OR", "a1", "b1"), "c1")),
        ("NOT a1 b1", ("AND", ("NOT", "a1"), "b1")),
        ("a1 -b1", ("AND", "a1", ("NOT", "b1"))),
        ('a1 -"b1 c1"', ("AND", "a1", ("NOT", "phrase:b1 c1"))),
        ("a1 -(b1 OR c1)", ("AND", "a1", ("NOT", ("OR", "b1", "c1")))),
        ('"go back to"', "phrase:go back to"),
        ('"say \\"hi\\""', 'phrase:say "hi"'),
        ("scum NEAR/3 (labour OR members)", ("NEAR", 3, "scum", ("OR", "labour", "members"))),
        ("a1 b1 NEAR/2 c1", ("AND", "a1", ("NEAR", 2, "b1", "c1"))),
        ("a1 near/2 c1", ("NEAR", 2, "a1", "c1")),
        ("a1 ONEAR/4 c1", ("ONEAR", 4, "a1", "c1")),
        ("advertis*", "prefix:advertis"),
        ("#VoteRival", "hashtag:#VoteRival"),
        ("@handle", "mention:@handle"),
        ("$TSLA", "cashtag:$TSLA"),
        ("🐀", "🐀"),
        ("from:@bob", "from:@bob"),
        ("lang:fr", "lang:fr"),
        ("is:reply", "is:reply"),
        ("has:links", "has:links"),
        ("url:example.com", "url:example.com"),
        ("date:2024-01-01..2024-02-01", "date:2024-01-01..2024-02-01"),
        ("since:2024-01-01 until:2024-02-01", ("AND", "since:2024-01-01", "until:2024-02-01")),
        ("raw:Apple", "raw:Apple"),
        ('raw:"Big Apple"', "raw:Big Apple"),
        ("/scum+bags?/", "regex:scum+bags?"),
        ("/a b\\/c/", "regex:a b/c"),
        ("and", "and"),
    ],
)
def test_it_parses(query, shape):
    assert _shape(parse(query)) == shape


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("", 0, "empty rule"),
        ("   ", 0, "empty rule"),
        ("scum AND", 8, "rule ends too early"),
        ("OR scum", 0, "expected a term, found OR"),
        ("scum OR OR vermin", 8, "expected a term after OR, found OR"),
        ("(scum OR vermin", 0, "unclosed '('"),
        ("scum)", 4, "unmatched ')'"),
        ("scum ()", 5, "empty parentheses"),
        ('scum "go back', 5, "unclosed quote"),
        ("scum /abc", 5, "unclosed /regex/"),
        ("scum NEAR labour", 5, "NEAR needs a distance"),
        ("a1 NEAR/2 b1 NEAR/2 c1", 13, "NEAR cannot be chained"),
        ("a1 NEAR/2 (b1 c1)", 11, "NEAR/2 works on terms"),
        ("a1 NEAR/2 lang:en", 10, "NEAR/2 works on terms"),
        ("scum frm:@bob", 5, "unknown field 'frm:'"),
        ("scum is:dm", 5, "unknown kind 'is:dm'"),
        ("scum has:pics", 5, "unknown 'has:pics'"),
        ("scum date:2024-13-01..", 5, "'2024-13-01' is not a date"),
        ("scum date:2024-02-01..2024-01-01", 5, "date range ends before it starts"),
        ("scum from:", 5, "'from:' needs a value"),
        ("ad*vert", 2, "a wildcard goes at the end of a word"),
    ],
)
def test_it_points_at_the_fault(query, position, message):
    with pytest.raises(QueryError) as caught:
        parse(query)
    assert caught.value.position == position
    assert caught.value.message.startswith(message)
    assert caught.value.hint


def test_the_error_renders_the_query_with_a_caret_under_the_fault():
    with pytest.raises(QueryError) as caught:
        parse("scum AND (labour OR")
    text = str(caught.value)
    lines = text.splitlines()
    assert lines[1] == "  scum AND (labour OR"
    assert lines[2] == "  " + " " * 19 + "^"
    assert lines[-1].startswith("hint: ")


@pytest.mark.parametrize(
    ("query", "severity", "message", "position"),
    [
        ("NOT scum", "error", "a rule needs a positive term", 0),
        ("-scum -vermin", "error", "a rule needs a positive term", 0),
        ("scum OR -vermin", "error", "a rule needs a positive term", 0),
        ("x", "error", "keyword 'x' is too short", 0),
        ("scum ad*", "error", "wildcard prefix 'ad*' is too short", 5),
        ("a1 NEAR/11 b1", "error", "NEAR/11 is too far", 3),
        ("/a|bcd/", "error", "regex has no required literal text", 0),
        ("/(ab)+c/", "error", "regex has no required literal text", 0),
        ("scum /abc[/", "error", "invalid regex", 9),
        ("/Scum/", "warning", "regex contains capitals", 0),
        ("scum and vermin", "warning", "'and' is searched as a word", 5),
        ("raw:apple", "warning", "raw: has no capitals or accents", 0),
        ("scum NOT NOT vermin", "warning", "double negation", 5),
        ("a1 " + "b1* " * 11, "error", "11 wildcards in one rule", 3 + 4 * 10),
    ],
)
def test_it_lints(query, severity, message, position):
    found = [d for d in lint(query) if d.message.startswith(message)]
    assert found, lint(query)
    assert found[0].severity == severity
    assert found[0].position == position
    assert found[0].hint


@pytest.mark.parametrize(
    "query",
    [
        "scum",
        "scum NEAR/10 labour",
        "from:@bob",
        "lang:en -scum",
        "advertis*",
        '"and"',
        "中",
        "🐀",
        "/scum+bags?/",
        "raw:Apple",
    ],
)
def test_good_rules_lint_clean(query):
    assert lint(query) == []


def test_parse_errors_are_error_diagnostics():
    [diag] = lint("scum AND")
    assert diag.severity == "error"
    assert diag.position == 8
    assert "^" in diag.render("scum AND")


def test_it_caps_rule_length():
    [diag] = lint("scum " * 500)
    assert diag.severity == "error"
    assert "characters long" in diag.message


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        ("scum+bags?", "scum"),
        ("foo|bar", ""),
        ("(a|b)cde", "cde"),
        ("abc\\d+xyz", "abc"),
        ("a{0,2}bcd", "bcd"),
        ("\\.com", ".com"),
        ("[abc]defg", "defg"),
        ("ab*cd", "cd"),
        ("hello world", "hello world"),
        ("x.?yz", "yz"),
    ],
)
def test_it_extracts_the_literal_a_regex_requires(pattern, literal):
    assert required_literal(pattern) == literal


def test_the_examples_at_the_top_of_the_docs_lint_clean():
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
    block = docs.split("```text\n", 1)[1].split("```", 1)[0]
    examples = [line for line in block.splitlines() if line.strip()]
    assert len(examples) == 4
    for example in examples:
        assert lint(example) == [], example
