"""Probabilistic linkage through assay's services and commands: proposals with evidence, reviewer
labels, incremental runs, rejections never proposed again, evaluation by threshold."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import connection

from evidence.models import Account
from linkage import services
from linkage.model import AccountRecord
from linkage.models import Link, LinkageRun, TrainedModel
from linkage.synth import Dataset, generate
from oversight.models import AuditEvent
from register.models import DeclaredIdentifier, Member

SEEN = datetime(2026, 11, 1, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def _load(data: Dataset, *, declared_share: int = 4) -> None:
    """The synthetic register and accounts as rows; every ``declared_share``-th member account declared."""
    Member.objects.bulk_create(
        Member(pk=m.member_id, number=f"M{m.member_id}", given_name=m.given_name, family_name=m.family_name,
               email=m.email, date_of_birth=m.date_of_birth, town=m.town, postcode=m.postcode)
        for m in data.members
    )  # fmt: skip
    _add_accounts(data, data.accounts)
    owned = sorted(data.truth.items())[::declared_share]
    handles = {a.account_id: a for a in data.accounts}
    DeclaredIdentifier.objects.bulk_create(
        DeclaredIdentifier(member_id=m, kind="handle", platform=handles[a].platform, value=handles[a].handle.lower())
        for a, m in owned
        if handles[a].handle
    )


def _add_accounts(data: Dataset, accounts: list[AccountRecord]) -> None:
    Account.objects.bulk_create(
        Account(pk=a.account_id, platform=a.platform, platform_id=str(a.account_id), handle=a.handle,
                display_name=a.display_name, bio=a.bio, location=a.location, first_seen=SEEN, last_seen=SEEN)
        for a in accounts
    )  # fmt: skip
    _reset_sequences()


def _reset_sequences() -> None:
    """Rows were given explicit ids: move PostgreSQL's id sequences past them (a no-op on SQLite)."""
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Member, Account]):
            cursor.execute(sql)


@pytest.fixture
def data() -> Dataset:
    return generate(1500, 900, seed=11)


@pytest.fixture
def loaded(data: Dataset, settings, probabilistic_purpose) -> Dataset:
    settings.LINKAGE_THRESHOLD = 0.8
    _load(data)
    return data


def test_the_probabilistic_policy_proposes_links_with_their_evidence(loaded: Dataset, probabilistic_purpose):
    summary = services.run_linkage(policy="probabilistic")

    assert summary.declared_links > 0 and summary.proposals > 0
    assert LinkageRun.objects.get().purpose == probabilistic_purpose
    proposals = Link.objects.filter(method="probabilistic")
    assert all(p.status == "proposed" and p.probability >= 0.8 for p in proposals)
    right = sum(loaded.truth.get(p.account_id) == p.member_id for p in proposals)
    assert right / len(proposals) >= 0.95, f"{right} of {len(proposals)} proposals are right"
    first = proposals.first()
    assert first is not None
    evidence = first.explanation["evidence"]
    assert evidence[0]["comparison"] == "prior"
    assert {"given_name", "family_name"} <= {e["comparison"] for e in evidence}
    assert first.explanation["model_version"] == summary.model_version == TrainedModel.objects.get().version
    # one-to-one: no account is proposed for two members
    assert proposals.values("account_id").distinct().count() == proposals.count()
    # each proposal keeps the members it was ranked against, shared like its own probability
    with_others = [p for p in proposals if p.explanation["others"]]
    assert with_others, "some proposals should have runners-up"
    for p in proposals:
        others = p.explanation["others"]
        assert len(others) <= 3 and p.member_id not in {o["member_id"] for o in others}
        assert [o["match_weight"] for o in others] == sorted((o["match_weight"] for o in others), reverse=True)
        assert all(o["probability"] < p.probability for o in others)
        assert p.probability + sum(o["probability"] for o in others) < 1


def test_a_second_run_changes_nothing_and_new_accounts_are_linked_incrementally(loaded: Dataset):
    services.run_linkage(policy="probabilistic")
    before = Link.objects.count()

    again = services.run_linkage(policy="probabilistic")
    assert (again.declared_links, again.proposals, Link.objects.count()) == (0, 0, before)

    newcomers = generate(1500, 60, seed=11).accounts  # the same people, new accounts of theirs
    for a in newcomers:
        object.__setattr__(a, "account_id", a.account_id + 50_000_000)
    _add_accounts(loaded, newcomers)
    later = services.run_linkage(policy="probabilistic")
    new_links = Link.objects.filter(run__pk=Link.objects.latest("run_id").run_id)
    assert later.proposals == new_links.count() > 0
    assert all(link.account_id > 50_000_000 for link in new_links)


def test_a_rejected_pair_is_never_proposed_again_even_by_a_retrained_model(loaded: Dataset, cast):
    services.run_linkage(policy="probabilistic")
    proposal = Link.objects.filter(method="probabilistic").order_by("-probability").first()
    assert proposal is not None
    services.reject_link(proposal, cast["rita"], "Different person: the photo and employer differ.")

    retrained = services.train()
    Link.objects.filter(status="proposed").delete()  # start the proposals afresh with the new model
    services.run_linkage(policy="probabilistic")

    assert retrained.labels > 0
    assert not Link.objects.filter(account=proposal.account, member=proposal.member, status="proposed").exists()
    assert Link.objects.filter(account=proposal.account, member=proposal.member).count() == 1


def test_evaluate_prints_precision_and_recall_by_threshold_from_a_labels_file(loaded: Dataset, tmp_path: Path,
                                                                                 capsys):  # fmt: skip
    services.run_linkage(policy="probabilistic")  # declared links first: the model learns from them
    labels = tmp_path / "labels.csv"
    rows = ["account,member,match"] + [f"{a},M{m},1" for a, m in sorted(loaded.truth.items())[:200]]
    labels.write_text("\n".join(rows) + "\n", encoding="utf-8")

    call_command("linkage", "evaluate", str(labels))

    out = capsys.readouterr().out
    assert "on 200 labelled pairs (200 matches)" in out
    line = next(line for line in out.splitlines() if line.strip("│ ").startswith("0.8 "))
    precision, recall = (float(x) for x in line.split("│")[2:4])
    assert precision >= 0.95 and recall >= 0.5


def test_evaluate_uses_reviewer_labels_by_default(loaded: Dataset, capsys):
    services.run_linkage(policy="probabilistic")  # declared links are confirmed labels

    call_command("linkage", "evaluate")

    assert "labelled pairs" in capsys.readouterr().out


def test_a_labels_file_with_unknown_rows_is_refused_naming_the_line(loaded: Dataset, tmp_path: Path,
                                                                     probabilistic_purpose):  # fmt: skip
    call_command("linkage", "train")
    trained = AuditEvent.objects.get(action="linkage.model_trained")
    assert trained.data["purpose"] == str(probabilistic_purpose)  # the purpose it was trained under
    labels = tmp_path / "labels.csv"
    labels.write_text("account,member,match\n999999999,M1,1\n", encoding="utf-8")

    with pytest.raises(CommandError, match=r"labels\.csv:2: unknown account, member or match"):
        call_command("linkage", "evaluate", str(labels))


def test_an_empty_register_is_a_clear_error(settings, probabilistic_purpose):
    with pytest.raises(CommandError, match="the register is empty"):
        call_command("linkage", "train")


def test_duplicates_in_the_register_are_found(loaded: Dataset, capsys):
    original = Member.objects.exclude(date_of_birth=None).exclude(email="").first() or Member.objects.first()
    assert original is not None
    Member.objects.create(number="DUP-1", given_name=original.given_name, family_name=original.family_name,
                          email=original.email, date_of_birth=original.date_of_birth, town=original.town,
                          postcode=original.postcode)  # fmt: skip

    call_command("linkage", "duplicates")

    out = capsys.readouterr().out
    assert "DUP-1" in out and original.number in out
    # Listing them shows members' names: an audited access.
    event = AuditEvent.objects.get(action="register.duplicates_listed")
    assert event.data["pairs"] >= 1 and event.data["threshold"] == 0.9
