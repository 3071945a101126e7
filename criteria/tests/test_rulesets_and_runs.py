"""Rule sets: drafted, approved by a second person, and run incrementally over new posts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from criteria.models import Hit, RuleSet
from criteria.services import RuleSetError, RuleSpec, approve, create_draft, run_rules
from evidence.services import import_posts
from oversight.models import AuditEvent

SPECS = [
    RuleSpec("ABUSE-1", "Abuse", 'scum OR "pathetic losers"', "2.1 No abuse", 2),
    RuleSpec("THREAT-1", "Threats", '"I know where you live"', "2.4 No threats", 1),
]


def _posts(path: Path, texts: list[str], start: int = 1) -> Path:
    lines = [
        json.dumps({"platform": "x", "id": str(n), "text": t, "author": {"id": f"a{n}", "handle": f"h{n}"}})
        for n, t in enumerate(texts, start=start)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def approved(cast) -> RuleSet:
    return approve(create_draft("Conduct", SPECS, author=cast["olivia"]), approver=cast["lena"])


@pytest.mark.django_db
def test_a_rule_set_cannot_be_approved_by_its_author(cast):
    draft = create_draft("Conduct", SPECS, author=cast["olivia"])

    with pytest.raises(RuleSetError, match="someone other than its author"):
        approve(draft, approver=cast["olivia"])


@pytest.mark.django_db
def test_a_rule_that_does_not_parse_cannot_be_saved_and_the_error_names_the_rule(cast):
    bad = [*SPECS, RuleSpec("BAD-1", "Broken", '"unclosed phrase', "9.9 x")]

    with pytest.raises(RuleSetError, match=r"rule BAD-1: .* at position \d+"):
        create_draft("Conduct", bad, author=cast["olivia"])
    assert not RuleSet.objects.exists()


@pytest.mark.django_db
def test_every_rule_must_cite_a_clause(cast):
    with pytest.raises(RuleSetError, match="cite a rulebook clause"):
        create_draft("Conduct", [RuleSpec("X-1", "x", "scum", " ")], author=cast["olivia"])


@pytest.mark.django_db
def test_approving_a_new_version_retires_the_old_one(cast, approved):
    v2 = approve(create_draft("Conduct", SPECS[:1], author=cast["olivia"]), approver=cast["lena"])

    approved.refresh_from_db()
    assert (approved.status, v2.status, v2.version) == ("retired", "approved", 2)
    assert AuditEvent.objects.filter(action="ruleset.approved").count() == 2


@pytest.mark.django_db
def test_an_older_draft_cannot_be_approved_over_a_newer_approved_version(cast, approved):
    older = create_draft("Conduct", SPECS, author=cast["olivia"])
    newer = approve(create_draft("Conduct", SPECS[:1], author=cast["olivia"]), approver=cast["lena"])

    with pytest.raises(RuleSetError, match=f"v{newer.version} is already approved"):
        approve(older, approver=cast["lena"])


@pytest.mark.django_db
def test_run_rules_records_hits_with_spans_and_scans_each_post_once(tmp_path, approved, capsys):
    import_posts(_posts(tmp_path / "a.ndjson", ["You are SCUM.", "nice day", "I know where you live, scum"]))

    call_command("run_rules")
    assert "3 posts scanned, 3 hits" in capsys.readouterr().out

    hit = Hit.objects.get(post__platform_id="1")
    assert (hit.rule.code, hit.ruleset_id, hit.spans) == ("ABUSE-1", approved.pk, [[8, 12]])
    assert {h.rule.code for h in Hit.objects.filter(post__platform_id="3")} == {"ABUSE-1", "THREAT-1"}

    call_command("run_rules")
    assert "0 posts scanned, 0 hits" in capsys.readouterr().out

    import_posts(_posts(tmp_path / "b.ndjson", ["more scum here"], start=4))
    summary = run_rules()
    assert (summary.posts_scanned, summary.hits, Hit.objects.count()) == (1, 1, 4)


@pytest.mark.django_db
def test_posts_with_odd_or_empty_text_do_not_stop_a_run(tmp_path, approved):
    texts = ["", "\u202eevil scum\u202c", "scu\u0301m", "🙂 scum 🙂", "e\u0301 \ud800 scum"]
    import_posts(_posts(tmp_path / "odd.ndjson", texts))

    summary = run_rules()

    assert summary.posts_scanned == 5
    assert set(Hit.objects.values_list("post__platform_id", flat=True)) >= {"2", "4", "5"}


def _hits() -> set[tuple[int, int, str]]:
    return {(post, rule, repr(spans)) for post, rule, spans in Hit.objects.values_list("post_id", "rule_id", "spans")}


@pytest.mark.django_db
def test_two_worker_processes_find_exactly_the_hits_of_one(tmp_path, approved):
    texts = ["You are SCUM.", "nice day", "I know where you live, scum", "pathetic losers 🙂", "café scum"] * 40
    import_posts(_posts(tmp_path / "many.ndjson", texts))

    one = run_rules(workers=1)
    found_by_one = _hits()
    Hit.objects.all().delete()
    RuleSet.objects.update(scanned_through=0)
    two = run_rules(workers=2, batch_size=37)

    assert (one.posts_scanned, two.posts_scanned) == (200, 200)
    assert _hits() == found_by_one
    assert AuditEvent.objects.filter(action="rules.run", data__workers=2).exists()


@pytest.mark.django_db
def test_the_matcher_engine_setting_is_checked(settings, tmp_path, approved):
    from criteria.services import matcher_engine

    settings.MATCHER_ENGINE = "auto"
    assert matcher_engine() in {"hyperscan", "ahocorasick"}
    settings.MATCHER_ENGINE = "grep"
    with pytest.raises(RuleSetError, match="ASSAY_MATCHER_ENGINE='grep'"):
        run_rules()


@pytest.mark.django_db
def test_a_rescan_finds_hits_a_scan_missed_and_counts_only_those(tmp_path, approved, capsys):
    import_posts(_posts(tmp_path / "a.ndjson", ["You are SCUM.", "nice day", "I know where you live, scum"]))
    run_rules()
    missed = Hit.objects.get(post__platform_id="1")
    missed.delete()  # as a matcher bug would have left it

    call_command("run_rules")
    assert "0 posts scanned, 0 hits" in capsys.readouterr().out
    call_command("run_rules", "--rescan")

    assert "3 posts scanned, 1 new hits" in capsys.readouterr().out
    assert Hit.objects.filter(post__platform_id="1", rule__code="ABUSE-1").exists() and Hit.objects.count() == 3
    rescan = AuditEvent.objects.get(action="rules.rescan")
    assert rescan.data["version"] == approved.version and rescan.data["scanned_through"] > 0
    assert AuditEvent.objects.filter(action="rules.run", data__rescan=True, data__hits=1).exists()
