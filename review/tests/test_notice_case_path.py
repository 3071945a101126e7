"""A notice's case (and member) is its decision's, an appeal's decision and case its notice's: nothing stored twice.

Two members' cases, each with a notice and an appeal, so that every lookup through
notice → decision → case has a wrong answer to avoid; and the migration that dropped the copies,
run backwards (refilling them) and forwards again on that data.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oversight import figures
from oversight.privacy import scope_of
from review import notices
from review.models import Appeal, Case, Decision, Notice
from review.personal_data import member_holds
from review.services import assign_case
from review.tests.world import World, login

GROUNDS = "The post quoted abuse I had received in order to criticise it."
BEFORE = [("review", "0004_evidence_packs")]
AFTER = [("review", "0005_notice_appeal_case_through_decision")]


@pytest.fixture
def alices(notice: Notice, cast: dict[str, Any]) -> Appeal:
    """Alice's case (assigned to rita): its notice sent and appealed."""
    notices.send_notice(notice, actor=cast["olivia"])
    return notices.receive_appeal(notice, GROUNDS)


@pytest.fixture
def bobs(hits: World, cast: dict[str, Any]) -> Appeal:
    """A second member's case (assigned to ravi), decided and signed off: its notice posted and appealed."""
    now = timezone.now()
    bob = hits.members["bob"]
    case = Case.objects.create(member=bob, severity=2, opened_at=now, due_at=now + timedelta(days=7))
    case = assign_case(case, cast["ravi"], actor=cast["olivia"], expected_version=case.version)
    Case.objects.filter(pk=case.pk).update(state="closed", closed_at=now)
    decision = Decision.objects.create(
        case=case, reviewer=cast["ravi"], outcome="warning", reason="Abuse.", decided_at=now,
        signed_off_by=cast["lena"], signed_off_at=now,
    )  # fmt: skip
    notice = notices.draft_notice(decision, actor=cast["lena"])
    assert notice is not None
    notices.send_notice(notice, actor=cast["olivia"])  # bob gave no email address: a letter
    notices.mark_posted(notice, actor=cast["olivia"])
    return notices.receive_appeal(notice, GROUNDS)


@pytest.mark.django_db
def test_each_case_finds_only_its_own_notices_and_appeals(alices: Appeal, bobs: Appeal) -> None:
    for appeal in (alices, bobs):
        case = Case.objects.get(decisions__notice__appeal=appeal)
        assert list(case.notices) == [appeal.notice] and list(case.appeals) == [appeal]
        assert (appeal.case, appeal.decision, appeal.notice.case) == (case, appeal.notice.decision, case)
    both = [alices.case_id, bobs.case_id]
    assert Notice.objects.of_cases(both).count() == 2 and Appeal.objects.of_cases(both).count() == 2


@pytest.mark.django_db
def test_the_case_page_shows_its_own_notice_and_appeal_and_not_anothers(
    client: Client, alices: Appeal, bobs: Appeal
) -> None:
    page = login(client, "rita").get(reverse("review-case", args=[alices.case_id])).text

    assert reverse("review-notice", args=[alices.notice.pk]) in page
    assert reverse("review-appeal", args=[alices.pk]) in page
    assert reverse("review-notice", args=[bobs.notice.pk]) not in page
    assert reverse("review-appeal", args=[bobs.pk]) not in page


@pytest.mark.django_db
def test_a_reviewer_lists_the_notices_and_appeals_of_their_own_cases_only(
    client: Client, alices: Appeal, bobs: Appeal
) -> None:
    login(client, "ravi")
    listed = client.get(reverse("review-notices") + "?show=all").text + client.get(reverse("review-appeals")).text

    assert reverse("review-notice", args=[bobs.notice.pk]) in listed
    assert reverse("review-appeal", args=[bobs.pk]) in listed
    assert reverse("review-notice", args=[alices.notice.pk]) not in listed
    assert reverse("review-appeal", args=[alices.pk]) not in listed
    assert client.get(reverse("review-appeal", args=[alices.pk])).status_code == 404


@pytest.mark.django_db
def test_the_figures_and_the_holds_count_both_cases_appeals(
    alices: Appeal, bobs: Appeal, settings: Any, hits: World
) -> None:
    settings.OVERSIGHT_MIN_CELL = 1
    appeals, sent = (dict(_rows(key)) for key in ("review.appeals", "review.notices"))

    assert appeals["received, waiting for a lead"] == 2 and (sent["sent by email"], sent["posted"]) == (1, 1)
    holds = [h.what for h in member_holds(scope_of(hits.members["bob"].pk), timezone.now())]
    assert f"appeal #{bobs.pk} on case #{bobs.case_id} is received" in holds
    assert not [h for h in holds if f"#{alices.case_id}" in h]


def _rows(key: str) -> Any:
    return figures.evaluate(figures.get(key), 1).value.rows  # type: ignore[union-attr]  # a Table


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_refills_the_copies_backwards_and_drops_them_forwards(alices: Appeal, bobs: Appeal) -> None:
    expected = {a.pk: (a.notice_id, a.notice.decision_id, a.case_id) for a in (alices, bobs)}
    notice_rows = {a.notice_id: (a.case_id, a.notice.member_id) for a in (alices, bobs)}
    assert len({member for _case, member in notice_rows.values()}) == 2
    try:
        old = _migrate(BEFORE)
        rows = old.get_model("review", "Appeal").objects.values_list("pk", "notice_id", "decision_id", "case_id")
        assert {pk: rest for pk, *rest in rows} == {pk: list(v) for pk, v in expected.items()}
        rows = old.get_model("review", "Notice").objects.values_list("pk", "case_id", "member_id")
        assert {pk: (case, member) for pk, case, member in rows} == notice_rows
        with pytest.raises(IntegrityError), transaction.atomic():  # NOT NULL again once refilled
            old.get_model("review", "Notice").objects.filter(pk=alices.notice_id).update(case_id=None)

        new = _migrate(AFTER)
        names = {f.name for f in new.get_model("review", "Appeal")._meta.get_fields()}
        assert "case" not in names and "decision" not in names
        names = {f.name for f in new.get_model("review", "Notice")._meta.get_fields()}
        assert "case" not in names and "member" not in names
    finally:
        _latest()
    for appeal in Appeal.objects.select_related("notice__decision__case__member"):
        assert (appeal.notice_id, appeal.decision_id, appeal.case_id) == expected[appeal.pk]
        assert (appeal.case_id, appeal.notice.member_id) == notice_rows[appeal.notice_id]
