"""Criteria as X stream rules: the translation never matches fewer posts than the criteria (checked
against a reference evaluator of X rule syntax on example posts), packing within tier limits, and
`assay stream-rules` storing the rules on the source."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from criteria.classifiers import missing_modules
from criteria.matcher import PostView, compile_rules
from criteria.services import RuleSpec, approve, create_draft
from criteria.stream_rules import TIERS, StreamRuleError, Tier, pack, translate_query
from evidence.collect import add_source
from evidence.models import Source
from oversight.models import AuditEvent

# --- a reference evaluator of the X rule syntax the translator writes ----------------------------
# Keywords: tokenised, case-insensitive; an accented keyword needs the accents, an unaccented one
# also matches accented text (our reading of docs.x.com "Build a rule"); phrases: adjacent tokens.


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _tokens(text: str) -> list[str]:
    return re.findall(r"[#@$]?\w+", text.lower())


def _word_in(word: str, post: PostView) -> bool:
    tokens = [t.lstrip("#@$") for t in _tokens(post.text)]
    word = word.lower()
    return word in tokens or (word == _fold(word) and word in [_fold(t) for t in tokens])


def _phrase_in(phrase: str, post: PostView) -> bool:
    words = [t.lstrip("#@$") for t in _tokens(phrase)]
    tokens = [t.lstrip("#@$") for t in _tokens(post.text)]
    folded = [_fold(t) for t in tokens]
    n = len(words)
    return any(tokens[i : i + n] == words or folded[i : i + n] == words for i in range(len(tokens) - n + 1))


Check = Callable[[PostView], bool]
_TOKEN = re.compile(r'\s*(\(|\)|-\(|-?"(?:\\.|[^"\\])*"|-?[^\s()]+)')


class _XRule:
    def __init__(self, rule: str) -> None:
        self.toks = [m.group(1) for m in _TOKEN.finditer(rule)]
        self.i = 0

    def parse(self) -> Check:
        node = self.or_()
        assert self.i == len(self.toks), (self.toks, self.i)
        return node

    def or_(self) -> Check:
        parts = [self.and_()]
        while self.i < len(self.toks) and self.toks[self.i] == "OR":
            self.i += 1
            parts.append(self.and_())
        return lambda p: any(f(p) for f in parts)

    def and_(self) -> Check:
        parts: list[Check] = []
        while self.i < len(self.toks) and self.toks[self.i] not in ("OR", ")"):
            parts.append(self.unary())
        return lambda p: all(f(p) for f in parts)

    def unary(self) -> Check:
        tok = self.toks[self.i]
        self.i += 1
        if tok in ("(", "-("):
            inner = self.or_()
            assert self.toks[self.i] == ")"
            self.i += 1
            return (lambda p: not inner(p)) if tok == "-(" else inner
        if tok.startswith("-"):
            atom = _atom(tok[1:])
            return lambda p: not atom(p)
        return _atom(tok)


def _atom(tok: str) -> Check:
    if tok.startswith('"'):
        phrase = re.sub(r"\\(.)", r"\1", tok[1:-1])
        return lambda p: _phrase_in(phrase, p)
    if tok[0] in "#@$":
        return lambda p: tok.lower() in _tokens(p.text)
    name, _, value = tok.partition(":")
    if value:
        tests = {
            "from": lambda p: p.author_handle.lower() == value.lower(),
            "lang": lambda p: p.lang == value,
            "is": lambda p: p.kind == {"retweet": "repost"}.get(value, value),
            "has": lambda p: bool(p.urls) or "http" in p.text,
        }
        return tests[name]
    return lambda p: _word_in(tok, p)


QUERIES = [
    "scum OR vermin",
    "election -lottery",
    '"go back" home',
    "(scum OR vermin) -(joke OR satire)",
    "advertis* lang:en",
    "parasites NEAR/3 council",
    "scum -advertis*",
    "café OR naïve",
    "cafe",
    "#Vermin OR @Councillor_Bob",
    "from:@bob_1 scum",
    "is:reply scum",
    "is:post scum",
    "is:repost vermin",
    "NOT is:reply (scum OR vermin)",
    "raw:Scum OR vermin",
    "/scum+bags?/ council",
    pytest.param(
        "offensive>0.8 AND (scum OR vermin)",
        marks=pytest.mark.skipif(bool(missing_modules("offensive")), reason="needs the ml extra"),
    ),
    "scum url:example.org",
    "scum since:2024-01-01",
    "has:links vermin",
    "scum -(NOT vermin)",
]

POSTS = [
    PostView("You are scum", lang="en", author_handle="bob_1"),
    PostView("Vermin, all of them!", lang="en", kind="reply"),
    PostView("election day, no lottery", lang="en"),
    PostView("Election results are in", lang="de", kind="repost"),
    PostView("Go back home now", lang="en"),
    PostView("go back where? home is here", lang="en", kind="quote"),
    PostView("scum joke about vermin", lang="en"),
    PostView("advertising scum everywhere", lang="en"),
    PostView("Those parasites on the council again", lang="en"),
    PostView("the council are parasites", lang="en"),
    PostView("Le café est naïve", lang="fr"),
    PostView("Le cafe est naive", lang="fr"),
    PostView("#vermin @councillor_bob", lang="en"),
    PostView("scumbags on the council", lang="en"),
    PostView("SCUM see https://example.org/x", lang="en", urls=("https://example.org/x",)),
    PostView("vermin https://t.co/x", lang="en", urls=("https://t.co/x",)),
    PostView("nothing to see", lang="en"),
]


class _Always:
    """A classifier that scores every post high: the predicate never narrows the criteria here."""

    def score(self, texts: Sequence[str], examples: Sequence[str]) -> list[list[float]]:
        return [[0.9] * len(examples) for _ in texts]


@pytest.mark.parametrize("query", QUERIES)
def test_the_stream_rule_never_matches_fewer_posts_than_the_criteria(query):
    translation = translate_query(query)
    matcher = compile_rules([("r", query)], scorers={"offensive": _Always()})
    if translation.value is None:
        assert translation.problem  # not streamed, and said why
        return
    rule = _XRule(translation.value).parse()
    missed = [p.text for p in POSTS if matcher.match(p) and not rule(p)]
    assert missed == [], f"{query!r} -> {translation.value!r} misses {missed}"


@pytest.mark.parametrize(
    ("query", "value", "broadened"),
    [
        ("scum OR vermin", "scum OR vermin", False),
        ("(scum OR vermin) -(joke OR satire)", "(scum OR vermin) -(joke OR satire)", False),
        ('"go back" home', '"go back" home', False),
        ("scum -advertis*", "scum", True),
        ("café", "(café OR cafe)", True),
        ("is:post scum", "-is:retweet -is:reply -is:quote scum", False),
        ("is:repost vermin", "is:retweet vermin", False),
        ("from:@bob_1 scum", "from:bob_1 scum", False),
        ("parasites NEAR/3 council", "parasites council", True),
        ("/scum+bags?/ council", "council", True),
        ('"say \\"hi\\""', '"say \\"hi\\""', False),
    ],
)
def test_translations(query, value, broadened):
    translation = translate_query(query)
    assert translation.value == value
    assert bool(translation.broadened) is broadened


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("advertis*", "cannot express"),
        ("advertis* lang:en", "needs a keyword"),
        ("is:comment scum", "no post on X"),
        ("offensive>0.9", "cannot express"),
    ],
)
def test_what_cannot_be_streamed_is_said(query, problem):
    translation = translate_query(query)
    assert translation.value is None and problem in translation.problem


def test_the_packer_ors_rules_into_as_few_as_fit():
    rules = [(f"R-{i}", translate_query(f"word{i} OR other{i}")) for i in range(10)]

    packed = pack(rules, Tier("tiny", 5, 60))

    assert all(len(r.value) <= 60 for r in packed.rules)
    assert len(packed.rules) == 4
    assert packed.rules[0].value == "(word0 OR other0) OR (word1 OR other1) OR (word2 OR other2)"
    assert packed.rules[0].tag == "assay:R-0,R-1,R-2"
    assert pack(rules, TIERS["pro"]).rules[0].tag == "assay:" + ",".join(f"R-{i}" for i in range(10))


def test_a_rule_too_long_alone_is_split_on_its_top_level_or():
    long = " OR ".join(f"keyword{i}" for i in range(20))
    packed = pack([("LONG", translate_query(long))], Tier("tiny", 10, 100))
    assert len(packed.rules) == 3 and all(r.tag == "assay:LONG" for r in packed.rules)
    joined = " OR ".join(r.value for r in packed.rules)
    assert sorted(joined.split(" OR ")) == sorted(long.split(" OR "))


def test_limits_errors_say_how_many_rules_would_be_needed():
    rules = [(f"R-{i}", translate_query(f"word{i} other{i}")) for i in range(10)]
    with pytest.raises(StreamRuleError, match="need 5 stream rules; the tiny tier allows 2"):
        pack(rules, Tier("tiny", 2, 40))
    with pytest.raises(StreamRuleError, match="rule R-0: one alternative is 12 characters"):
        pack(rules, Tier("tiny", 2, 10))


# --- assay stream-rules --------------------------------------------------------------------------

SPECS = [
    RuleSpec("ABUSE-1", "Abuse", 'scum OR "pathetic losers"', "2.1 No abuse", 2),
    RuleSpec("ABUSE-2", "Adverts", "advertis* lang:en", "2.2 No spam", 3),
    RuleSpec("THREAT-1", "Threats", '"I know where you live" -lyrics*', "2.4 No threats", 1),
]


@pytest.fixture
def source(db) -> Source:
    return add_source("live", connector="x_stream", query="filtered stream", options={"duration_seconds": 60})


def test_the_command_stores_the_rules_of_the_approved_rule_set(cast, source):
    approve(create_draft("Conduct", SPECS, author=cast["olivia"]), approver=cast["lena"])
    out = StringIO()

    call_command("stream_rules", "live", stdout=out)

    source.refresh_from_db()
    assert source.options["stream_rules"] == [
        {
            "value": '(scum OR "pathetic losers") OR "I know where you live"',
            "tag": "assay:Conduct/ABUSE-1,Conduct/THREAT-1",
        }
    ]
    assert source.options["duration_seconds"] == 60
    text = out.getvalue()
    assert "broadened Conduct/THREAT-1: lyrics*: X has no wildcards" in text
    assert "the matcher (assay run-rules) filters afterwards" in text
    assert "not streamed Conduct/ABUSE-2: X needs a keyword" in text
    assert AuditEvent.objects.filter(action="source.stream_rules_set").count() == 1


def test_dry_run_stores_nothing_and_limits_are_enforced(cast, source):
    approve(create_draft("Conduct", SPECS, author=cast["olivia"]), approver=cast["lena"])
    out = StringIO()
    call_command("stream_rules", "live", "--dry-run", stdout=out)
    source.refresh_from_db()
    assert "stream_rules" not in source.options and "dry run: nothing stored" in out.getvalue()

    source.options = {**source.options, "max_rules": 1, "max_rule_length": 30}
    source.save()
    with pytest.raises(CommandError, match="need 2 stream rules; the pro tier allows 1"):
        call_command("stream_rules", "live", stdout=StringIO())


def test_the_command_refuses_without_an_approved_rule_set_or_on_another_connector(cast, source):
    with pytest.raises(CommandError, match="no approved rule set"):
        call_command("stream_rules", "live", stdout=StringIO())
    add_source("search", connector="x_search", query="scum")
    with pytest.raises(CommandError, match="stream rules are for x_stream sources"):
        call_command("stream_rules", "search", stdout=StringIO())
