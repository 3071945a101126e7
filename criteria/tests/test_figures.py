"""Criteria's figures for oversight: rule-set versions with who approved them, and hits by clause."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from criteria.models import RuleSet
from criteria.services import RuleSpec, approve, create_draft, run_rules, start_draft
from evidence.services import import_posts
from oversight import figures
from oversight.figures import Link, Suppressed

SPECS = [
    RuleSpec("ABUSE-1", "Abuse", "scum", "2.1 No abuse", 2),
    RuleSpec("THREAT-1", "Threats", '"I know where you live"', "2.4 No threats", 1),
]


def _value(key: str, min_cell: int = 1) -> Any:
    return figures.evaluate(figures.get(key), min_cell).value


@pytest.fixture
def ruled(cast: dict[str, Any], tmp_path: Path) -> RuleSet:
    """Conduct v1 approved and run over six posts (five say scum), then a v2 draft."""
    v1 = approve(create_draft("Conduct", SPECS, author=cast["olivia"]), approver=cast["lena"])
    texts = ["scum"] * 5 + ["hello"]
    lines = [
        json.dumps({"platform": "x", "id": str(n), "text": t, "author": {"id": f"a{n}"}}) for n, t in enumerate(texts)
    ]
    (tmp_path / "p.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_posts(tmp_path / "p.ndjson")
    run_rules()
    start_draft(v1, author=cast["lena"])
    return v1


def test_every_version_with_its_author_approver_and_a_link_to_read_it(ruled, cast):
    rows = _value("criteria.rulesets").rows
    draft = RuleSet.objects.get(name="Conduct", version=2)

    assert rows[0][:5] == ("Conduct", Link("v2", reverse("criteria-ruleset", args=[draft.pk])), "Draft", 2, "lena")
    assert rows[0][5:] == (None, None)
    assert rows[1][:6] == (
        "Conduct",
        Link("v1", reverse("criteria-ruleset", args=[ruled.pk])),
        "Approved",
        2,
        "olivia",
        "lena",
    )
    assert _value("criteria.versions").rows == (("Draft", 1), ("Approved", 1), ("Retired", 0))


def test_hits_by_rule_and_clause_leave_out_drafts(ruled):
    assert _value("criteria.hits_by_clause").rows == (
        ("Conduct v1", "THREAT-1", "2.4 No threats", "high", 0),
        ("Conduct v1", "ABUSE-1", "2.1 No abuse", "medium", 5),
    )


def test_hits_are_about_people_so_small_counts_are_suppressed(ruled):
    rows = _value("criteria.hits_by_clause", 6).rows

    # the 5 is the only non-zero count, so it equals the total: the 0 beside it is withheld too
    assert [r[-1] for r in rows] == [Suppressed("complement", 6), Suppressed("small", 6)]
