"""Linkage's figures for oversight: the policy in force, links by method and outcome, the model and runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from evidence.models import Account
from linkage.models import Link, LinkageRun, TrainedModel
from oversight import figures
from register.models import Member

pytestmark = pytest.mark.django_db
AT = datetime(2026, 11, 3, 10, tzinfo=UTC)


def _value(key: str, min_cell: int = 1) -> Any:
    return figures.evaluate(figures.get(key), min_cell).value


@pytest.fixture
def linked() -> None:
    declared = LinkageRun.objects.create(policy="declared", model_version="declared-1", started_at=AT, links_created=2)
    model = LinkageRun.objects.create(policy="probabilistic", model_version="m-7", started_at=AT, proposals_created=4)
    TrainedModel.objects.create(
        version="m-7", trained_at=AT, trained_by="olivia", backend="duckdb", document={}, labels=12
    )
    statuses = [("declared", "confirmed", declared)] * 2 + [
        ("probabilistic", "proposed", model),
        ("probabilistic", "proposed", model),
        ("probabilistic", "confirmed", model),
        ("probabilistic", "rejected", model),
    ]
    for i, (method, status, run) in enumerate(statuses):
        account = Account.objects.create(platform="x", platform_id=str(i), first_seen=AT, last_seen=AT)
        member = Member.objects.create(number=f"M{i}", given_name="A", family_name="B")
        Link.objects.create(account=account, member=member, method=method, status=status, run=run, probability=0.9)


def test_the_policy_in_force_is_stated_in_plain_words(settings):
    assert _value("linkage.policy").startswith("declared: accounts are linked to members only through identifiers")
    settings.LINKAGE_POLICY, settings.LINKAGE_THRESHOLD = "probabilistic", 0.85
    assert "a model compares names" in _value("linkage.policy") and "threshold 0.85" in _value("linkage.policy")
    assert figures.get("linkage.policy").prominent


def test_links_by_method_and_outcome(linked, settings):
    settings.OVERSIGHT_MIN_CELL = 1
    assert _value("linkage.links").columns == ("Method", "Proposed (needs a reviewer)", "Confirmed", "Rejected")
    assert _value("linkage.links").rows == (("Declared by the member", 0, 2, 0), ("Probabilistic match", 2, 1, 1))
    assert _value("linkage.proposals_reviewed") == 50.0
    settings.OVERSIGHT_MIN_CELL = 5
    assert _value("linkage.proposals_reviewed", 5) == "not shown: fewer than 5 proposals decided or awaiting a decision"


def test_the_model_in_force_and_the_runs_by_model_version(linked):
    assert _value("linkage.model") == "m-7, trained 2026-11-03 from 12 labelled pairs"
    assert set(_value("linkage.runs").rows) == {
        ("declared-1", "declared", 1, 2, 0, "2026-11-03"),
        ("m-7", "probabilistic", 1, 0, 4, "2026-11-03"),
    }


def test_with_nothing_linked_yet():
    assert _value("linkage.model") == "none trained (declared links only)"
    assert _value("linkage.proposals_reviewed") is None


def test_a_last_run_under_another_policy_than_the_setting_is_said_beside_it(linked):
    # the fixture's newest run is the probabilistic one; the setting says declared
    LinkageRun.objects.filter(policy="declared").update(started_at=AT.replace(day=1))

    text = _value("linkage.policy")

    assert text.startswith("declared: ")
    assert text.endswith("; but the last linkage run, on 2026-11-03, used the probabilistic policy")
