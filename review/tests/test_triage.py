"""Triage: hits become cases, one per member or per unlinked account, and re-running changes nothing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from criteria.models import Hit, RuleSet
from linkage.models import Link
from oversight.models import AuditEvent
from review.models import Case
from review.services import TriageSummary, triage
from review.tests.world import World, case_of
from review.workflow import State


@pytest.mark.django_db
def test_it_opens_one_case_per_member_and_per_unlinked_account(hits: World) -> None:
    summary = triage()

    assert summary == TriageSummary(cases_opened=3, cases_updated=0, hits_added=4, hits_without_author=1)
    alice = case_of(hits.members["alice"])
    assert alice.account_id is None
    assert alice.hits.count() == 2
    assert alice.severity == 1
    assert alice.due_at == alice.opened_at + timedelta(days=3)
    assert alice.state == State.OPEN


@pytest.mark.django_db
def test_a_proposed_link_leaves_the_case_on_the_account(hits: World) -> None:
    triage()

    assert not Case.objects.filter(member=hits.members["bob"]).exists()
    bobby = case_of(hits.accounts["bobby"])
    assert bobby.member_id is None
    assert bobby.severity == 2
    assert bobby.due_at == bobby.opened_at + timedelta(days=7)


@pytest.mark.django_db
def test_an_account_confirmed_to_two_members_stays_on_the_account(hits: World) -> None:
    Link.objects.filter(pk=hits.links["bob"].pk).update(status=Link.Status.CONFIRMED)
    Link.objects.create(
        account=hits.accounts["bobby"],
        member=hits.members["alice"],
        method=Link.Method.DECLARED,
        probability=1.0,
        status=Link.Status.CONFIRMED,
        run=hits.links["bob"].run,
    )

    triage()

    assert case_of(hits.accounts["bobby"]).hits.count() == 1


@pytest.mark.django_db
def test_a_second_run_changes_nothing(hits: World) -> None:
    triage()
    before = list(Case.objects.order_by("pk").values())

    summary = triage()

    assert (summary.cases_opened, summary.cases_updated, summary.hits_added) == (0, 0, 0)
    assert list(Case.objects.order_by("pk").values()) == before


@pytest.mark.django_db
def test_new_hits_join_the_open_case_and_raise_its_severity(world: World) -> None:
    alice_x = world.accounts["alice_x"]
    world.hit_text(alice_x, "buy now, buy now", "SPAM-3")
    triage()
    case = case_of(world.members["alice"])
    assert (case.severity, case.version) == (3, 1)

    world.hit_text(alice_x, "what idiots", "ABUSE-1")
    summary = triage()

    assert (summary.cases_opened, summary.cases_updated, summary.hits_added) == (0, 1, 1)
    case.refresh_from_db()
    assert (case.severity, case.version, case.hits.count()) == (1, 2, 2)
    assert case.due_at == case.opened_at + timedelta(days=3)


@pytest.mark.django_db
def test_a_less_severe_hit_joins_without_lowering_severity(world: World) -> None:
    world.hit_text(world.accounts["anon"], "idiots", "ABUSE-1")
    triage()
    world.hit_text(world.accounts["anon"], "buy now", "SPAM-3")

    triage()

    case = case_of(world.accounts["anon"])
    assert (case.severity, case.version, case.hits.count()) == (1, 2, 2)


@pytest.mark.django_db
def test_new_hits_after_a_case_closed_open_a_new_case(world: World) -> None:
    world.hit_text(world.accounts["anon"], "idiots", "ABUSE-1")
    triage()
    Case.objects.update(state=State.CLOSED.value)
    world.hit_text(world.accounts["anon"], "buy now", "SPAM-3")

    summary = triage()

    assert summary.cases_opened == 1
    assert Case.objects.filter(account=world.accounts["anon"]).count() == 2


@pytest.mark.django_db
def test_hits_from_a_draft_rule_set_open_no_case(world: World) -> None:
    RuleSet.objects.filter(pk=world.ruleset.pk).update(status=RuleSet.Status.DRAFT)
    world.hit_text(world.accounts["anon"], "idiots", "ABUSE-1")

    assert triage().hits_added == 0
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_it_records_the_run_in_the_audit_chain(hits: World) -> None:
    triage(actor=hits.ruleset.created_by)

    event = AuditEvent.objects.get(action="triage.run")
    assert event.actor == "olivia"
    assert event.data == {"cases_opened": 3, "cases_updated": 0, "hits_added": 4, "hits_without_author": 1}


@pytest.mark.django_db
def test_the_query_count_does_not_grow_with_the_number_of_hits(world: World, django_assert_max_num_queries) -> None:
    for i in range(60):
        account = world.accounts["anon"] if i % 2 else world.accounts["alice_x"]
        world.hit_text(account, f"idiots number {i}", "ABUSE-1")

    with django_assert_max_num_queries(15):
        summary = triage()

    assert summary.hits_added == 60
    assert Hit.objects.filter(cases__isnull=True).count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_triage_runs_at_once_make_the_cases_of_one(hits: World) -> None:
    """The worker and an operator may triage at the same moment: one waits for the other."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's test database is in memory; its transactions begin IMMEDIATE (serialised) anyway")
    start = threading.Barrier(2)
    results: list[TriageSummary | BaseException] = []

    def run() -> None:
        try:
            start.wait()
            results.append(triage())
        except BaseException as exc:  # reported by the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert all(isinstance(r, TriageSummary) for r in results), results
    assert sorted(r.hits_added for r in results if isinstance(r, TriageSummary)) == [0, 4]
    assert Case.objects.count() == 3
    assert Case.hits.through.objects.count() == 4
