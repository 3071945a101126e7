"""Rule-set pages through the Django test client: who sees what, drafting, editing, approving,
live lint, "test this rule", and the diff between versions."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import PASSWORD
from criteria.models import Rule, RuleSet
from criteria.query import lint
from criteria.services import RuleSpec, approve, create_draft, fingerprint, preview_query, save_rule, start_draft
from evidence.models import Account, CollectionRun, Platform, Post, Source
from oversight.models import AuditEvent

POSTED = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
SPECS = [
    RuleSpec("ABUSE-1", "Abuse of other members", 'scum OR "pathetic losers"', "4.2(a) Abuse", 2),
    RuleSpec("THREAT-1", "Threats", '"I know where you live"', "4.4 Threats", 1),
]
_ids = itertools.count(1)


def login(client: Client, username: str) -> Client:
    assert client.login(username=username, password=PASSWORD)
    return client


def make_posts(texts: list[str], *, deleted: set[int] | None = None) -> list[Post]:
    """Collected posts by @poster, oldest first; indexes in ``deleted`` are marked deleted by the platform."""
    source, _ = Source.objects.get_or_create(name="x search", defaults={"platform": Platform.X, "connector": "ndjson"})
    run = CollectionRun.objects.create(
        source=source, connector="ndjson", connector_version="1", started_at=POSTED, status="done"
    )
    account, _ = Account.objects.get_or_create(
        platform=Platform.X,
        platform_id="id-poster",
        defaults={"handle": "poster", "first_seen": POSTED, "last_seen": POSTED},
    )
    posts = []
    for index, text in enumerate(texts):
        pid = str(next(_ids))
        posts.append(
            Post.objects.create(
                platform=Platform.X,
                platform_id=pid,
                account=account,
                text=text,
                created_at=POSTED,
                collected_at=POSTED,
                run=run,
                raw={"id": pid, "text": text},
                sha256="0" * 64,
                deleted_at=POSTED if deleted and index in deleted else None,
            )
        )
    return posts


@pytest.fixture
def approved(cast: dict[str, Any]) -> RuleSet:
    """Conduct v1, drafted by olivia and approved by lena."""
    return approve(create_draft("Conduct", SPECS, author=cast["olivia"]), approver=cast["lena"])


@pytest.fixture
def draft(cast: dict[str, Any], approved: RuleSet) -> RuleSet:
    """Conduct v2, olivia's draft copied from v1."""
    return start_draft(approved, author=cast["olivia"])


def _page(client: Client, name: str, *args: Any, **params: str) -> Any:
    return client.get(reverse(name, args=args), params)


def _rule_post(client: Client, ruleset: RuleSet, action: str, rule: Rule | None = None, **fields: Any) -> Any:
    data = {"code": "SPAM-1", "title": "Spam", "query": "scum", "clause": "9.1 Trading", "severity": 3, **fields}
    url = (
        reverse("criteria-rule-edit", args=[ruleset.pk, rule.pk])
        if rule
        else reverse("criteria-rule-new", args=[ruleset.pk])
    )
    return client.post(url, {**data, "action": action})


def _approve(client: Client, ruleset: RuleSet, seen: str | None = None) -> Any:
    """Press "Approve" as the detail page offers it: with the fingerprint of the rules shown."""
    seen = fingerprint(ruleset) if seen is None else seen
    return client.post(reverse("criteria-approve", args=[ruleset.pk]), {"seen": seen}, follow=True)


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# ---------------------------------------------------------------------------------------------
# who may see what


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "args"),
    [("criteria-rulesets", ()), ("criteria-ruleset", ("rs",)), ("criteria-diff", ("rs",))],
)
@pytest.mark.parametrize(("user", "status"), [("olivia", 200), ("lena", 200), ("otto", 200), ("rita", 403)])
def test_operators_leads_and_oversight_read_rule_sets_and_reviewers_do_not(client, draft, name, args, user, status):
    login(client, user)
    args = tuple(draft.pk if a == "rs" else a for a in args)

    assert _page(client, name, *args).status_code == status


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client, draft):
    response = _page(client, "criteria-rulesets")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("user", ["otto", "rita"])
def test_oversight_and_reviewers_cannot_draft_edit_approve_lint_or_test(client, cast, draft, user):
    login(client, user)
    rule = draft.rules.get(code="ABUSE-1")

    assert client.post(reverse("criteria-draft", args=[draft.pk])).status_code == 403
    assert client.post(reverse("criteria-approve", args=[draft.pk])).status_code == 403
    assert _page(client, "criteria-new").status_code == 403
    assert _page(client, "criteria-rule-new", draft.pk).status_code == 403
    assert _rule_post(client, draft, "test").status_code == 403
    assert client.post(reverse("criteria-rule-remove", args=[draft.pk, rule.pk])).status_code == 403
    assert _page(client, "criteria-lint", q="scum").status_code == 403
    assert client.post(reverse("criteria-lint"), {"q": "scum"}).status_code == 403
    draft.refresh_from_db()
    assert (draft.status, draft.rules.count(), RuleSet.objects.count()) == ("draft", 2, 2)
    assert not AuditEvent.objects.filter(action="criteria.preview").exists()


# ---------------------------------------------------------------------------------------------
# the list


@pytest.mark.django_db
def test_the_list_shows_every_version_with_status_people_dates_and_rule_counts(client, cast, draft):
    create_draft("Spam", SPECS[:1], author=cast["lena"])
    login(client, "otto")

    response = _page(client, "criteria-rulesets")

    html = response.content.decode()
    groups = dict(response.context["groups"])
    assert list(groups) == ["Conduct", "Spam"]
    assert [(v.version, v.status, v.n_rules) for v in groups["Conduct"]] == [(2, "draft", 2), (1, "approved", 2)]
    assert [(v.created_by.username, v.approved_by and v.approved_by.username) for v in groups["Conduct"]] == [
        ("olivia", None),
        ("olivia", "lena"),
    ]
    assert "Conduct v2" in html and "Conduct v1" in html and "Spam v1" in html
    assert "New rule set" not in html  # oversight reads only


@pytest.mark.django_db
def test_the_list_costs_the_same_few_queries_however_many_rule_sets_there_are(
    client, cast, approved, django_assert_num_queries
):
    login(client, "olivia")
    # session, user, the user's roles, the versions with their counts and people, the groups in the header
    with django_assert_num_queries(5):
        _page(client, "criteria-rulesets")
    for n in range(6):
        start_draft(approved, author=cast["lena"])
        create_draft(f"Set {n}", SPECS, author=cast["olivia"])

    with django_assert_num_queries(5):
        response = _page(client, "criteria-rulesets")
    assert sum(len(v) for _, v in response.context["groups"]) == 13


# ---------------------------------------------------------------------------------------------
# one version


@pytest.mark.django_db
def test_the_detail_page_shows_every_rule_with_its_query_clause_and_severity(client, approved):
    login(client, "otto")

    html = _page(client, "criteria-ruleset", approved.pk).content.decode()

    for code, title, clause, severity in [
        ("ABUSE-1", "Abuse of other members", "4.2(a) Abuse", "medium"),
        ("THREAT-1", "Threats", "4.4 Threats", "high"),
    ]:
        assert code in html and title in html and clause in html and severity in html
    assert '<code class="query">scum OR &quot;pathetic losers&quot;</code>' in html
    assert reverse("criteria-approve", args=[approved.pk]) not in html
    assert reverse("criteria-draft", args=[approved.pk]) not in html
    assert "Read-only: oversight reads every version in full" in html


@pytest.mark.django_db
def test_the_detail_page_costs_the_same_queries_however_many_rules_it_has(
    client, cast, draft, django_assert_num_queries
):
    login(client, "lena")
    # session, user, roles, the version, its rules, the other versions, the approval check (a newer
    # approved version? the rules), the fingerprint's rules, the groups in the header
    with django_assert_num_queries(10):
        _page(client, "criteria-ruleset", draft.pk)
    for n in range(20):
        save_rule(draft, RuleSpec(f"R-{n}", "r", f"word{n}", "1.1"), actor=cast["olivia"])

    with django_assert_num_queries(10):
        response = _page(client, "criteria-ruleset", draft.pk)
    assert len(response.context["rules"]) == 22


@pytest.mark.django_db
def test_the_author_sees_the_approve_button_disabled_with_the_reason(client, draft):
    login(client, "olivia")

    html = _page(client, "criteria-ruleset", draft.pk).content.decode()

    assert '<button type="submit" disabled aria-describedby="approve-why">Approve version 2</button>' in html
    assert "You drafted it, and a rule set must be approved by someone other than its author." in html


@pytest.mark.django_db
def test_another_person_sees_the_approve_button_enabled(client, draft):
    login(client, "lena")

    html = _page(client, "criteria-ruleset", draft.pk).content.decode()

    assert '<button type="submit">Approve version 2</button>' in html
    assert "Only its author, olivia, changes this draft." in html
    assert "Edit: start draft v3 from this version" in html


@pytest.mark.django_db
def test_a_version_page_names_the_other_open_drafts(client, cast, approved, draft):
    start_draft(approved, author=cast["lena"])
    login(client, "lena")

    html = _page(client, "criteria-ruleset", approved.pk).content.decode()

    assert "Also in draft:" in html
    assert ">v3</a> by lena, " in html
    assert f'<a href="/rules/{draft.pk}/">v2</a> by olivia. ' in html


# ---------------------------------------------------------------------------------------------
# drafting and approving


@pytest.mark.django_db
def test_approval_by_the_author_is_refused(client, draft):
    login(client, "olivia")

    response = _approve(client, draft)

    draft.refresh_from_db()
    assert draft.status == "draft" and draft.approved_by is None
    assert "Version 2 was not approved: you drafted it" in _messages(response)[0]
    assert not AuditEvent.objects.filter(action="ruleset.approved", object_id=str(draft.pk)).exists()


@pytest.mark.django_db
def test_a_second_person_approves_a_draft_and_the_old_version_retires(client, cast, approved, draft):
    login(client, "lena")

    response = _approve(client, draft)

    draft.refresh_from_db()
    approved.refresh_from_db()
    assert (draft.status, draft.approved_by, approved.status) == ("approved", cast["lena"], "retired")
    assert _messages(response) == ["Conduct version 2 approved. Rule runs now use it."]
    assert AuditEvent.objects.filter(action="ruleset.approved", object_id=str(draft.pk), actor="lena").exists()


@pytest.mark.django_db
def test_an_older_draft_cannot_undo_a_newer_approved_version(client, cast, approved, draft):
    newer = approve(start_draft(approved, author=cast["lena"]), approver=cast["olivia"])
    login(client, "lena")

    html = _page(client, "criteria-ruleset", draft.pk).content.decode()
    response = _approve(client, draft)

    draft.refresh_from_db()
    newer.refresh_from_db()
    assert (draft.status, newer.status) == ("draft", "approved")
    assert "Version 3, approved since this draft was made, is newer; start a new draft from it." in html
    assert "version 3, approved since this draft was made, is newer" in _messages(response)[0]


@pytest.mark.django_db
def test_a_draft_changed_after_the_approver_opened_it_is_not_approved(client, cast, draft):
    login(client, "lena")
    seen = _page(client, "criteria-ruleset", draft.pk).context["fingerprint"]
    save_rule(draft, RuleSpec("SPAM-1", "Spam", "scam*", "9.1 Trading"), actor=cast["olivia"])

    response = _approve(client, draft, seen)

    draft.refresh_from_db()
    assert draft.status == "draft"
    assert "the draft changed after you opened it" in _messages(response)[0]


@pytest.mark.django_db
def test_a_draft_with_a_rule_that_does_not_parse_cannot_be_approved_and_the_position_is_named(client, cast, draft):
    Rule.objects.filter(ruleset=draft, code="ABUSE-1").update(query="scum NEAR/20 vermin")
    login(client, "lena")

    html = _page(client, "criteria-ruleset", draft.pk).content.decode()
    response = _approve(client, draft)

    assert "Rule ABUSE-1 has an error: NEAR/20 is too far at position 5." in html
    assert "disabled" in html
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert "rule ABUSE-1 has an error: NEAR/20 is too far at position 5" in _messages(response)[0]


@pytest.mark.django_db
def test_edit_makes_a_new_draft_version_with_a_copy_of_the_rules(client, cast, approved):
    login(client, "lena")

    response = client.post(reverse("criteria-draft", args=[approved.pk]))

    new = RuleSet.objects.get(name="Conduct", version=2)
    assert response.status_code == 302 and response["Location"] == reverse("criteria-ruleset", args=[new.pk])
    assert (new.status, new.created_by) == ("draft", cast["lena"])
    assert sorted(new.rules.values_list("code", "query")) == sorted(approved.rules.values_list("code", "query"))
    event = AuditEvent.objects.get(action="ruleset.drafted", object_id=str(new.pk))
    assert (event.actor, event.data["from_version"], event.data["rules"]) == ("lena", 1, 2)


@pytest.mark.django_db
def test_a_new_rule_set_starts_as_an_empty_draft_and_names_are_unique(client, approved):
    login(client, "olivia")

    response = client.post(reverse("criteria-new"), {"name": "Elections", "description": "Election conduct"})
    again = client.post(reverse("criteria-new"), {"name": "Conduct"})

    created = RuleSet.objects.get(name="Elections")
    assert response["Location"] == reverse("criteria-rule-new", args=[created.pk])
    assert (created.version, created.status, created.rules.count()) == (1, "draft", 0)
    assert again.status_code == 200
    assert "exists already" in again.content.decode()
    assert RuleSet.objects.filter(name="Conduct").count() == 1


@pytest.mark.django_db
def test_an_empty_draft_cannot_be_approved(client, cast):
    empty = create_draft("Elections", [], author=cast["olivia"])
    login(client, "lena")

    _approve(client, empty)

    empty.refresh_from_db()
    assert empty.status == "draft"


# ---------------------------------------------------------------------------------------------
# the rule editor


@pytest.mark.django_db
def test_only_the_author_edits_a_draft_and_nobody_edits_an_approved_version(client, approved, draft):
    login(client, "olivia")
    assert _page(client, "criteria-rule-new", draft.pk).status_code == 200
    assert _page(client, "criteria-rule-new", approved.pk).status_code == 403

    login(client, "lena")
    response = _page(client, "criteria-rule-new", draft.pk)
    assert response.status_code == 403
    assert _rule_post(client, draft, "save").status_code == 403
    assert not draft.rules.filter(code="SPAM-1").exists()


@pytest.mark.django_db
def test_saving_a_rule_that_does_not_parse_is_refused_with_the_position(client, draft):
    login(client, "olivia")

    response = _rule_post(client, draft, "save", query="scum NEAR/20 vermin")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Error at position 5: NEAR/20 is too far (use at most NEAR/10, or AND)" in html
    # the caret marks the character at the position
    assert '<code class="caret-line">scum <span class="caret" title="position 5">N</span>EAR/20 vermin</code>' in html
    assert not draft.rules.filter(code="SPAM-1").exists()
    assert not AuditEvent.objects.filter(action="ruleset.rule_added").exists()


@pytest.mark.django_db
def test_a_rule_is_added_changed_and_removed_and_each_step_is_audited(client, draft):
    login(client, "olivia")

    added = _rule_post(client, draft, "save", query='scam* OR "buy now"')
    rule = draft.rules.get(code="SPAM-1")
    changed = _rule_post(client, draft, "save", rule=rule, query='scam* OR "buy now" OR bargain', severity=2)
    removed = client.post(reverse("criteria-rule-remove", args=[draft.pk, rule.pk]))

    detail = reverse("criteria-ruleset", args=[draft.pk])
    assert added["Location"] == changed["Location"] == removed["Location"] == detail
    assert not draft.rules.filter(code="SPAM-1").exists()
    events = {e.action: e for e in AuditEvent.objects.filter(object_id=str(draft.pk), actor="olivia")}
    assert events["ruleset.rule_added"].data["query"] == 'scam* OR "buy now"'
    assert events["ruleset.rule_changed"].data["changes"] == {
        "query": ['scam* OR "buy now"', 'scam* OR "buy now" OR bargain'],
        "severity": [3, 2],
    }
    assert events["ruleset.rule_removed"].data["code"] == "SPAM-1"


@pytest.mark.django_db
def test_a_code_used_twice_in_a_draft_is_refused(client, draft):
    login(client, "olivia")

    response = _rule_post(client, draft, "save", code="ABUSE-1")

    assert response.status_code == 200
    assert "rule ABUSE-1: the code is used twice" in response.content.decode()
    assert draft.rules.filter(code="ABUSE-1").count() == 1


@pytest.mark.django_db
def test_the_editor_shows_a_rule_with_its_current_diagnostics(client, draft):
    Rule.objects.filter(ruleset=draft, code="ABUSE-1").update(query="scum and vermin")
    rule = draft.rules.get(code="ABUSE-1")
    login(client, "olivia")

    html = _page(client, "criteria-rule-edit", draft.pk, rule.pk).content.decode()

    assert "scum and vermin</textarea>" in html
    assert "Warning</strong>" in html and "&#x27;and&#x27; is searched as a word" in html
    assert 'data-lint-url="/rules/lint/"' in html


# ---------------------------------------------------------------------------------------------
# live lint


@pytest.mark.django_db
def test_lint_returns_errors_with_position_and_the_query_split_at_the_caret(client, cast):
    login(client, "olivia")

    response = _page(client, "criteria-lint", q="scum NEAR/20 vermin")

    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "ok": False,
        "diagnostics": [
            {
                "severity": "error",
                "message": "NEAR/20 is too far",
                "position": 5,
                "hint": "use at most NEAR/10, or AND",
                "before": "scum ",
                "at": "N",
                "after": "EAR/20 vermin",
            }
        ],
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "ok", "found"),
    [
        ("scum OR vermin", True, []),
        ("scum and vermin", True, [("warning", 5)]),
        ("scum AND", False, [("error", 8)]),
        ('"unclosed', False, [("error", 0)]),
    ],
)
def test_lint_agrees_with_the_linter(client, cast, query, ok, found):
    login(client, "lena")

    body = json.loads(client.post(reverse("criteria-lint"), {"q": query}).content)

    assert body["ok"] is ok
    assert [(d["severity"], d["position"]) for d in body["diagnostics"]] == found
    assert found == [(d.severity, d.position) for d in lint(query)]


# ---------------------------------------------------------------------------------------------
# "test this rule"


@pytest.mark.django_db
def test_testing_a_rule_counts_hits_and_highlights_examples_without_saving(client, draft):
    make_posts(["You are SCUM & <worse>", "a nice day", "scum, scum everywhere", "deleted scum"], deleted={3})
    login(client, "olivia")

    response = _rule_post(client, draft, "test", query="scum", code="")

    assert response.status_code == 200
    preview = response.context["preview"]
    assert (preview.scanned, preview.hits) == (3, 2)
    html = response.content.decode()
    assert "<strong>2</strong> of the last 3 posts match" in html
    assert "You are <mark>SCUM</mark> &amp; &lt;worse&gt;" in html
    assert "<mark>scum</mark>, <mark>scum</mark> everywhere" in html
    assert "deleted" not in html.split('id="preview"')[1]
    assert not draft.rules.filter(query="scum").exists()
    assert "scum</textarea>" in html  # the form keeps what was typed


@pytest.mark.django_db
def test_testing_a_rule_is_audited_with_the_posts_shown(client, draft):
    posts = make_posts(["scum", "fine", "more scum"])
    login(client, "olivia")

    _rule_post(client, draft, "test", query="scum")

    event = AuditEvent.objects.get(action="criteria.preview")
    assert (event.actor, event.object_id) == ("olivia", str(draft.pk))
    assert event.data == {"query": "scum", "posts_scanned": 3, "hits": 2, "shown": [posts[2].pk, posts[0].pk]}


@pytest.mark.django_db
def test_testing_a_broken_rule_shows_the_error_and_scans_nothing(client, draft):
    make_posts(["scum"])
    login(client, "olivia")

    response = _rule_post(client, draft, "test", query="scum AND")

    html = response.content.decode()
    assert response.context["preview"] is None
    assert "fix them before testing it" in html
    assert "at position 8" in html
    assert not AuditEvent.objects.filter(action="criteria.preview").exists()


@pytest.mark.django_db
def test_testing_reads_the_posts_in_one_query(client, draft):
    make_posts([f"post {n} scum" for n in range(30)])
    login(client, "olivia")

    with CaptureQueriesContext(connection) as queries:
        response = _rule_post(client, draft, "test", query="scum")

    assert response.context["preview"].hits == 30
    assert len([q for q in queries.captured_queries if "evidence_post" in q["sql"]]) == 1


@pytest.mark.django_db
def test_the_preview_scans_only_the_latest_posts_and_keeps_at_most_the_examples_asked_for(cast):
    posts = make_posts(["old scum", "scum 1", "scum 2", "scum 3"])

    preview = preview_query("scum", actor=cast["olivia"], limit=3, examples=2)

    assert (preview.scanned, preview.hits) == (3, 3)
    assert [e.post_id for e in preview.examples] == [posts[3].pk, posts[2].pk]
    assert preview.examples[0].spans == ((0, 4),)


# ---------------------------------------------------------------------------------------------
# the diff


@pytest.mark.django_db
def test_the_diff_shows_rules_added_removed_and_changed(client, cast, approved, draft):
    login(client, "olivia")
    _rule_post(client, draft, "save", code="SPAM-1", query='"buy now"')
    abuse = draft.rules.get(code="ABUSE-1")
    _rule_post(
        client,
        draft,
        "save",
        rule=abuse,
        code="ABUSE-1",
        title="Abuse",
        query="scum OR vermin",
        clause="4.2(a) Abuse",
        severity=1,
    )
    client.post(reverse("criteria-rule-remove", args=[draft.pk, draft.rules.get(code="THREAT-1").pk]))
    login(client, "otto")

    response = _page(client, "criteria-diff", draft.pk)

    diff = response.context["diff"]
    assert (diff.old, diff.new) == (approved, draft)
    assert [r.code for r in diff.added] == ["SPAM-1"]
    assert [r.code for r in diff.removed] == ["THREAT-1"]
    assert [(c.code, [(f.name, f.old, f.new) for f in c.fields]) for c in diff.changed] == [
        (
            "ABUSE-1",
            [
                ("title", "Abuse of other members", "Abuse"),
                ("query", 'scum OR "pathetic losers"', "scum OR vermin"),
                ("severity", "medium", "high"),
            ],
        )
    ]
    html = response.content.decode()
    assert "Conduct: v1 → v2" in html
    assert "<ins>SPAM-1</ins>" in html and "<del>THREAT-1</del>" in html
    assert '<code class="query">scum OR <del>&quot;pathetic losers&quot;</del></code>' in html
    assert '<code class="query">scum OR <ins>vermin</ins></code>' in html
    assert "<td><del>medium</del></td>" in html and "<td><ins>high</ins></td>" in html


@pytest.mark.django_db
def test_the_diff_compares_any_two_versions_of_the_same_rule_set_oldest_first(client, cast, approved, draft):
    other = create_draft("Spam", SPECS, author=cast["lena"])
    login(client, "lena")

    forward = _page(client, "criteria-diff", approved.pk, against=str(draft.pk))
    foreign = _page(client, "criteria-diff", approved.pk, against=str(other.pk))
    first = _page(client, "criteria-diff", approved.pk)

    assert (forward.context["diff"].old, forward.context["diff"].new) == (approved, draft)
    assert forward.context["diff"].identical
    assert "The two versions have the same rules." in forward.content.decode()
    assert foreign.status_code == 404
    assert first.context["diff"] is None
    assert "nothing before it to compare with" in first.content.decode()
