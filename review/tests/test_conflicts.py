"""Conflicts of interest: someone who knows the person a case is about steps aside, for good."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from linkage.models import Link
from oversight.models import AuditEvent
from review.models import Case, Conflict
from review.notices import NoticeError, assign_appeal, receive_appeal, send_notice
from review.services import (
    ReviewError,
    assign_case,
    declare_conflict,
    record_decision,
    resolve_link,
    sign_off,
    triage,
)
from review.tests.conftest import DECISION_REASON
from review.tests.world import World, assigned, case_of, login
from review.workflow import State

WHY = "Alice is my next-door neighbour and we sit on the same branch committee."


@pytest.fixture
def alices_case(hits: World, cast: dict[str, Any]) -> Case:
    triage()
    return assigned(hits.members["alice"], cast["rita"], by=cast["olivia"])


def _declare(client: Client, case: Case, reason: str = WHY) -> Any:
    return client.post(reverse("review-conflict", args=[case.pk]), {"reason": reason, "version": case.version})


@pytest.mark.django_db
def test_the_assignee_steps_aside_and_the_case_goes_back_to_the_queue(client: Client, alices_case: Case) -> None:
    response = _declare(login(client, "rita"), alices_case)

    assert response.status_code == 302 and response["Location"] == reverse("review-queue")
    alices_case.refresh_from_db()
    assert alices_case.state == State.OPEN and alices_case.assigned_to is None
    conflict = Conflict.objects.get()
    assert (conflict.person.username, conflict.member, conflict.reason) == ("rita", alices_case.member, WHY)
    # The audit log records that she stepped aside, not why (the reason may say how she knows alice).
    event = AuditEvent.objects.get(action="case.conflict_declared")
    assert event.actor == "rita" and event.data["state"] == "open"
    assert "neighbour" not in json.dumps(event.data)
    # She can no longer open the case: it is nobody's now, and never hers again.
    assert client.get(reverse("review-case", args=[alices_case.pk])).status_code == 404


@pytest.mark.django_db
def test_she_is_never_given_the_persons_cases_again(client: Client, alices_case: Case, cast: dict[str, Any]) -> None:
    declare_conflict(alices_case, cast["rita"], WHY, expected_version=alices_case.version)
    alices_case.refresh_from_db()

    with pytest.raises(ReviewError, match="rita declared a conflict of interest"):
        assign_case(alices_case, cast["rita"], actor=cast["olivia"], expected_version=alices_case.version)
    page = login(client, "olivia").get(reverse("review-case", args=[alices_case.pk])).text
    assert f'<option value="{cast["ravi"].pk}">ravi</option>' in page
    assert f'<option value="{cast["rita"].pk}">rita</option>' not in page  # not offered
    assert "Conflicts of interest" in page and WHY in page  # operators and leads see who and why
    # Through the queue's assign form too: refused with the reason.
    response = client.post(
        reverse("review-assign", args=[alices_case.pk]),
        {"reviewer": cast["rita"].pk, "version": alices_case.version},
        follow=True,
    )
    assert "rita declared a conflict of interest" in response.text
    alices_case.refresh_from_db()
    assert alices_case.assigned_to is None


@pytest.mark.django_db
def test_a_lead_with_a_conflict_neither_signs_off_nor_decides_the_appeal(
    client: Client, alices_case: Case, cast: dict[str, Any], lars: Any
) -> None:
    declare_conflict(alices_case, cast["lena"], WHY, expected_version=alices_case.version)
    alices_case.refresh_from_db()
    assert alices_case.state == State.ASSIGNED and alices_case.assigned_to == cast["rita"]  # a lead only records it
    record_decision(alices_case, cast["rita"], "warning", DECISION_REASON, expected_version=alices_case.version)

    # She no longer sees alice's cases at all: not in the queue, not by address.
    login(client, "lena")
    assert client.get(reverse("review-case", args=[alices_case.pk])).status_code == 404
    assert reverse("review-case", args=[alices_case.pk]) not in client.get(reverse("review-queue") + "?state=all").text
    assert reverse("review-case", args=[alices_case.pk]) in login(client, "lars").get(reverse("review-queue")).text
    with pytest.raises(ReviewError, match="you declared a conflict of interest"):
        sign_off(alices_case, cast["lena"], expected_version=alices_case.version)

    sign_off(alices_case, lars, expected_version=alices_case.version)
    alice = alices_case.member
    assert alice is not None
    alice.email = "alice@example.org"
    alice.save()
    notice = alices_case.notices.get()
    send_notice(notice, actor=cast["olivia"])
    appeal = receive_appeal(notice, "I was quoting someone else, not saying it myself.")
    with pytest.raises(NoticeError, match="declared a conflict of interest with the member"):
        assign_appeal(appeal, cast["lena"], actor=cast["olivia"], expected_version=appeal.version)


@pytest.mark.django_db
def test_a_conflict_on_an_account_follows_it_to_its_member(hits: World, cast: dict[str, Any]) -> None:
    triage()
    bobs = assigned(hits.accounts["bobby"], cast["ravi"], by=cast["olivia"])
    declare_conflict(
        bobs, cast["rita"], "I know who runs this account from the local party.", expected_version=bobs.version
    )
    bobs.refresh_from_db()
    proposal = Link.objects.get(account=hits.accounts["bobby"])

    resolve_link(
        bobs, proposal, cast["ravi"], confirm=True, reason="Same name, town and year.", expected_version=bobs.version
    )

    members_case = case_of(hits.members["bob"])
    with pytest.raises(ReviewError, match="rita declared a conflict of interest"):
        assign_case(members_case, cast["rita"], actor=cast["olivia"], expected_version=members_case.version)


@pytest.mark.django_db
def test_what_is_refused(client: Client, alices_case: Case, cast: dict[str, Any]) -> None:
    response = _declare(login(client, "rita"), alices_case, reason="neighbour")
    assert "at least 20 characters" in response.text  # the form again, with the error
    assert not Conflict.objects.exists()

    with pytest.raises(ReviewError, match="only reviewers, leads and operators"):
        declare_conflict(alices_case, cast["otto"], WHY, expected_version=alices_case.version)
    declare_conflict(alices_case, cast["lena"], WHY, expected_version=alices_case.version)
    alices_case.refresh_from_db()
    with pytest.raises(ReviewError, match="already declared"):
        declare_conflict(alices_case, cast["lena"], WHY, expected_version=alices_case.version)

    record_decision(alices_case, cast["rita"], "warning", DECISION_REASON, expected_version=alices_case.version)
    with pytest.raises(ReviewError, match="your decision awaits sign-off"):
        declare_conflict(alices_case, cast["rita"], WHY, expected_version=alices_case.version)


@pytest.mark.django_db
def test_the_member_sees_it_in_their_subject_access_and_erasure_removes_it(
    alices_case: Case, cast: dict[str, Any], tmp_path: Path
) -> None:
    declare_conflict(alices_case, cast["rita"], WHY, expected_version=alices_case.version)
    out = tmp_path / "alice.zip"
    call_command("subject_access", "M-0001", "--out", str(out))
    with zipfile.ZipFile(out) as archive:
        rows = json.loads(archive.read("review.conflict.json"))
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert [(r["declared_by"], r["reason"]) for r in rows] == [("reviewer", WHY)]  # staff named by role

    Case.objects.filter(pk=alices_case.pk).update(state=State.CLOSED)  # nothing holds her data now
    call_command("erase", "M-0001", "--reason", "DSAR-7 erasure request", "--apply")
    assert not Conflict.objects.exists()


@pytest.mark.django_db
def test_oversight_sees_how_many_stepped_aside(alices_case: Case, cast: dict[str, Any]) -> None:
    from oversight import figures

    declare_conflict(alices_case, cast["rita"], WHY, expected_version=alices_case.version)
    alices_case.refresh_from_db()
    declare_conflict(alices_case, cast["lena"], WHY, expected_version=alices_case.version)

    table = figures.get("review.conflicts").compute()
    assert isinstance(table, figures.Table)
    assert [row[1:] for row in table.rows] == [(2, 2)]


@pytest.mark.django_db
def test_the_queue_offers_each_case_only_to_those_free_to_take_it(
    client: Client, hits: World, alices_case: Case, cast: dict[str, Any]
) -> None:
    import re

    declare_conflict(alices_case, cast["rita"], WHY, expected_version=alices_case.version)
    bobs = case_of(hits.accounts["bobby"])

    page = login(client, "olivia").get(reverse("review-queue")).text

    def offered(case: Case) -> set[str]:
        select = re.search(rf'<select id="assign-{case.pk}".*?</select>', page, re.S)
        assert select is not None
        return set(re.findall(r'<option value="\d+"[^>]*>(\w+)</option>', select.group(0)))

    assert "rita" not in offered(alices_case) and "ravi" in offered(alices_case)
    assert {"rita", "ravi"} <= offered(bobs)
