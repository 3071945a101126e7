"""Second looks: a share of decisions finding no breach is put to a lead who took no part in them."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linkage.models import Link
from oversight import figures
from oversight.models import AuditEvent
from oversight.retention import run_retention
from review.models import Case, Conflict, Decision, SecondLook
from review.services import (
    ReviewError,
    assign_case,
    assign_next,
    record_decision,
    record_second_look,
    triage,
)
from review.tests.conftest import DECISION_REASON
from review.tests.world import World, assigned, login
from review.workflow import State, selected_for_second_look

NOTE = "Read all three posts: the word is aimed at a referee, so it breaches 4.2(a)."
AGREE_NOTE = "Read the posts in full: banter between friends, no breach of the rulebook."
NO_BREACH = "The posts are robust but aimed at no one; no clause of the rulebook is breached."


def _decide_no_breach(subject: Any, cast: dict[str, Any], reviewer: str = "rita", outcome: str = "no_breach") -> Case:
    case = assigned(subject, cast[reviewer], by=cast["olivia"])
    record_decision(case, cast[reviewer], outcome, NO_BREACH, expected_version=case.version)
    return Case.objects.get(pk=case.pk)


@pytest.fixture
def picked(hits: World, cast: dict[str, Any], settings: Any) -> SecondLook:
    """alice's case closed by rita with no breach, every such decision picked for a second look."""
    settings.SECOND_LOOK_SHARE = 1.0
    triage()
    case = _decide_no_breach(hits.members["alice"], cast)
    return SecondLook.objects.get(case=case)


def _look(client: Client, case: Case, verdict: str, note: str = NOTE) -> Any:
    return client.post(reverse("review-second-look", args=[case.pk]), {"verdict": verdict, "note": note})


# ---------------------------------------------------------------------------------------------
# selection


def test_the_pick_is_deterministic_per_case_and_follows_the_share() -> None:
    assert all(selected_for_second_look("key", i, 1.0) for i in range(200))
    assert not any(selected_for_second_look("key", i, 0.0) for i in range(200))
    picks = [selected_for_second_look("key", i, 0.05) for i in range(4000)]
    assert picks == [selected_for_second_look("key", i, 0.05) for i in range(4000)]
    assert 120 < sum(picks) < 280  # about 5% of 4000 = 200
    assert picks != [selected_for_second_look("another key", i, 0.05) for i in range(4000)]


@pytest.mark.django_db
def test_with_share_one_a_no_breach_closure_is_picked_and_audited(picked: SecondLook, cast: dict[str, Any]) -> None:
    assert picked.decision.outcome == "no_breach" and picked.decision.reviewer == cast["rita"]
    assert picked.pending and picked.looked_by is None and picked.agrees is None
    event = AuditEvent.objects.get(action="case.second_look_selected")
    assert (event.object_id, event.data["decision"], event.data["share"]) == (
        str(picked.case_id),
        picked.decision_id,
        1.0,
    )


@pytest.mark.django_db
def test_not_theirs_is_picked_too(hits: World, cast: dict[str, Any], settings: Any) -> None:
    settings.SECOND_LOOK_SHARE = 1.0
    triage()
    case = _decide_no_breach(hits.accounts["anon"], cast, outcome="not_theirs")
    assert SecondLook.objects.filter(case=case).count() == 1


@pytest.mark.django_db
def test_with_share_zero_nothing_is_picked(hits: World, cast: dict[str, Any], settings: Any) -> None:
    settings.SECOND_LOOK_SHARE = 0.0
    triage()
    _decide_no_breach(hits.members["alice"], cast)
    assert not SecondLook.objects.exists()
    assert not AuditEvent.objects.filter(action="case.second_look_selected").exists()


@pytest.mark.django_db
def test_adverse_decisions_are_never_picked(hits: World, cast: dict[str, Any], settings: Any) -> None:
    settings.SECOND_LOOK_SHARE = 1.0
    triage()
    case = assigned(hits.members["alice"], cast["rita"], by=cast["olivia"])
    record_decision(case, cast["rita"], "warning", DECISION_REASON, expected_version=case.version)
    assert not SecondLook.objects.exists()  # adverse: a lead signs it off already


# ---------------------------------------------------------------------------------------------
# who may look, and who may see


@pytest.mark.django_db
def test_leads_see_the_waiting_list_and_the_nav_link(client: Client, picked: SecondLook) -> None:
    page = login(client, "lena").get(reverse("review-second-looks"))
    assert page.status_code == 200
    assert f'href="{reverse("review-case", args=[picked.case_id])}"' in page.text
    assert "No breach of the rulebook" in page.text and "rita" in page.text
    assert f'href="{reverse("review-second-looks")}"' in client.get(reverse("review-queue")).text


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["rita", "ravi", "olivia", "otto"])
def test_no_one_but_leads_sees_second_looks(client: Client, picked: SecondLook, who: str) -> None:
    login(client, who)
    assert client.get(reverse("review-second-looks")).status_code == 403
    assert _look(client, picked.case, "agree").status_code in (403, 404)
    picked.refresh_from_db()
    assert picked.pending
    if who in ("rita", "olivia"):  # who can still open the case or the queue: no trace of the pick
        queue = client.get(reverse("review-queue")).text
        assert "Second look" not in queue
    if who == "olivia":
        case_page = client.get(reverse("review-case", args=[picked.case_id])).text
        assert "Second look" not in case_page and "second-look" not in case_page


@pytest.mark.django_db
def test_the_reviewer_who_decided_never_learns_it_was_picked(client: Client, picked: SecondLook) -> None:
    # The case is still hers (its assignee), so she can open it: nothing on it tells her.
    page = login(client, "rita").get(reverse("review-case", args=[picked.case_id]))
    assert page.status_code == 200
    assert "Second look" not in page.text and "second look" not in page.text


@pytest.mark.django_db
def test_a_lead_who_decided_is_refused(client: Client, hits: World, cast: dict[str, Any], settings: Any) -> None:
    settings.SECOND_LOOK_SHARE = 1.0
    triage()
    case = _decide_no_breach(hits.members["alice"], cast, reviewer="lena")
    look = SecondLook.objects.get(case=case)

    with pytest.raises(ReviewError, match="you made the decision"):
        record_second_look(look, cast["lena"], agrees=True, note=AGREE_NOTE)
    login(client, "lena")
    page = client.get(reverse("review-case", args=[case.pk])).text
    assert "You cannot take this second look: you made the decision" in page
    response = _look(client, case, "agree", AGREE_NOTE)
    assert "you made the decision" in client.get(response["Location"]).text
    look.refresh_from_db()
    assert look.pending


@pytest.mark.django_db
def test_a_conflicted_lead_is_refused(client: Client, picked: SecondLook, cast: dict[str, Any], lars: Any) -> None:
    case = picked.case
    # lena stepped aside from alice on an earlier case of hers (a closed case takes no new declaration).
    earlier = Case.objects.create(
        member=case.member, state=State.CLOSED.value, severity=3, opened_at=case.opened_at, due_at=case.due_at
    )
    Conflict.objects.create(
        person=cast["lena"],
        member=case.member,
        case=earlier,
        reason="She is my sister-in-law.",
        declared_at=timezone.now(),
    )
    with pytest.raises(ReviewError, match="conflict of interest"):
        record_second_look(picked, cast["lena"], agrees=False, note=NOTE)
    response = _look(login(client, "lena"), case, "disagree")
    assert response.status_code == 404  # she stepped aside: the person's cases are hidden from her
    listing = client.get(reverse("review-second-looks")).text
    assert reverse("review-case", args=[case.pk]) not in listing and "0</span> waiting" in listing
    picked.refresh_from_db()
    assert picked.pending and not Case.objects.exclude(state=State.CLOSED.value).filter(member=case.member).exists()
    # Another lead may.
    record_second_look(picked, lars, agrees=True, note=AGREE_NOTE)
    assert picked.agrees is True


@pytest.mark.django_db
def test_a_short_note_is_refused_and_nothing_changes(client: Client, picked: SecondLook) -> None:
    response = _look(login(client, "lena"), picked.case, "agree", note="fine")
    assert response.status_code == 200 and "at least 20 characters" in response.text
    picked.refresh_from_db()
    assert picked.pending


# ---------------------------------------------------------------------------------------------
# agreeing and disagreeing


@pytest.mark.django_db
def test_agreeing_closes_the_look_and_nothing_else_moves(client: Client, picked: SecondLook) -> None:
    cases_before = Case.objects.count()
    response = _look(login(client, "lena"), picked.case, "agree", AGREE_NOTE)

    assert response.status_code == 302 and response["Location"] == reverse("review-second-looks")
    picked.refresh_from_db()
    assert picked.looked_by is not None
    assert (picked.looked_by.username, picked.agrees, picked.note) == ("lena", True, AGREE_NOTE)
    assert picked.looked_at is not None and picked.reopened_case is None
    assert Case.objects.count() == cases_before
    event = AuditEvent.objects.get(action="case.second_look")
    assert event.actor == "lena" and event.data["agrees"] is True and event.data["reopened_case"] is None
    assert AGREE_NOTE not in json.dumps(event.data)
    assert "No second looks waiting" in client.get(reverse("review-second-looks")).text
    done = client.get(reverse("review-second-looks") + "?show=done").text
    assert "agreed" in done
    # Taken once: a second lead cannot take it again.
    with pytest.raises(ReviewError, match="already taken"):
        record_second_look(picked, picked.looked_by, agrees=False, note=NOTE)


@pytest.mark.django_db
def test_disagreeing_opens_a_new_case_with_the_hits_for_someone_else(
    client: Client, picked: SecondLook, cast: dict[str, Any]
) -> None:
    original = picked.case
    decision = picked.decision
    response = _look(login(client, "lena"), original, "disagree")

    assert response.status_code == 302
    picked.refresh_from_db()
    reopened = picked.reopened_case
    assert reopened is not None and reopened.pk != original.pk
    assert (reopened.member, reopened.state, reopened.assigned_to) == (original.member, State.OPEN.value, None)
    assert set(reopened.hits.all()) == set(original.hits.all()) and reopened.hits.count() == 2
    assert reopened.severity == original.severity
    # The original decision stands as recorded.
    original.refresh_from_db()
    assert original.state == State.CLOSED.value
    assert Decision.objects.get(pk=decision.pk).outcome == "no_breach"
    assert Decision.objects.get(pk=decision.pk).overturned_at is None
    assert AuditEvent.objects.get(action="case.second_look").data["reopened_case"] == reopened.pk
    opened = AuditEvent.objects.get(action="case.opened_by_second_look")
    assert (opened.object_id, opened.data["from_case"]) == (str(reopened.pk), original.pk)
    assert f"case #{reopened.pk}" in client.get(response["Location"]).text
    # The reviewer whose decision it was is not given it, by hand or with the next batch.
    with pytest.raises(ReviewError, match="someone else must decide them"):
        assign_case(reopened, cast["rita"], actor=cast["olivia"], expected_version=reopened.version)
    dealt = assign_next(cast["rita"], 5, actor=cast["olivia"])
    assert reopened.pk not in {c.pk for c in dealt.cases} and dealt.passed_over == 1
    assign_case(reopened, cast["ravi"], actor=cast["olivia"], expected_version=reopened.version)
    reopened.refresh_from_db()
    record_decision(reopened, cast["ravi"], "warning", DECISION_REASON, expected_version=reopened.version)
    assert Decision.objects.filter(case=reopened, reviewer=cast["ravi"]).exists()


@pytest.mark.django_db
def test_disagreeing_adds_the_hits_to_the_members_open_case(
    picked: SecondLook, hits: World, cast: dict[str, Any], lars: Any
) -> None:
    alice = hits.members["alice"]
    hits.hit_text(hits.accounts["alice_x"], "more idiots today", "ABUSE-1")
    triage()
    open_case = Case.objects.exclude(state=State.CLOSED.value).get(member=alice)
    assign_case(open_case, cast["rita"], actor=cast["olivia"], expected_version=open_case.version)
    open_case.refresh_from_db()
    version = open_case.version

    record_second_look(picked, lars, agrees=False, note=NOTE)

    open_case.refresh_from_db()
    assert picked.reopened_case == open_case
    assert set(picked.case.hits.all()) <= set(open_case.hits.all()) and open_case.hits.count() == 3
    assert open_case.version == version + 1
    # It was with rita, whose decision was disagreed with: back to the queue for someone else.
    assert (open_case.state, open_case.assigned_to) == (State.OPEN.value, None)
    assert Case.objects.exclude(state=State.CLOSED.value).filter(member=alice).count() == 1
    assert AuditEvent.objects.filter(action="case.hits_added_by_second_look", object_id=str(open_case.pk)).exists()


@pytest.mark.django_db
def test_disagreeing_about_an_unlinked_account_reopens_it_for_the_account(
    hits: World, cast: dict[str, Any], settings: Any
) -> None:
    settings.SECOND_LOOK_SHARE = 1.0
    triage()
    case = _decide_no_breach(hits.accounts["anon"], cast, outcome="not_theirs")
    look = record_second_look(SecondLook.objects.get(case=case), cast["lena"], agrees=False, note=NOTE)
    assert look.reopened_case is not None and look.reopened_case.account == hits.accounts["anon"]
    assert look.reopened_case.member is None


@pytest.fixture
def since_confirmed(hits: World, cast: dict[str, Any], settings: Any) -> SecondLook:
    """bobby's account case closed with no breach and picked; then bobby is confirmed as bob's
    (a reviewer confirmed the proposal on another case)."""
    settings.SECOND_LOOK_SHARE = 1.0
    triage()
    case = _decide_no_breach(hits.accounts["bobby"], cast, outcome="not_theirs")
    hits.links["bob"].status = Link.Status.CONFIRMED
    hits.links["bob"].save()
    return SecondLook.objects.get(case=case)


@pytest.mark.django_db
def test_disagreeing_about_an_account_since_confirmed_as_a_members_puts_it_on_the_member(
    since_confirmed: SecondLook, hits: World, cast: dict[str, Any]
) -> None:
    look = record_second_look(since_confirmed, cast["lena"], agrees=False, note=NOTE)

    assert look.reopened_case is not None
    assert look.reopened_case.member == hits.members["bob"] and look.reopened_case.account is None
    assert set(look.reopened_case.hits.all()) == set(since_confirmed.case.hits.all())


@pytest.mark.django_db
def test_disagreeing_is_refused_while_the_since_confirmed_member_is_restricted(
    since_confirmed: SecondLook, hits: World, cast: dict[str, Any]
) -> None:
    hits.members["bob"].restricted_at = timezone.now()
    hits.members["bob"].save()

    with pytest.raises(ReviewError, match="processing is restricted"):
        record_second_look(since_confirmed, cast["lena"], agrees=False, note=NOTE)


@pytest.mark.django_db
def test_disagreeing_is_refused_while_the_member_is_restricted(picked: SecondLook, cast: dict[str, Any]) -> None:
    member = picked.case.member
    assert member is not None
    member.restricted_at = timezone.now()
    member.save()
    with pytest.raises(ReviewError, match="processing is restricted"):
        record_second_look(picked, cast["lena"], agrees=False, note=NOTE)
    picked.refresh_from_db()
    assert picked.pending


# ---------------------------------------------------------------------------------------------
# the oversight figure


@pytest.mark.django_db
def test_the_figure_counts_selected_looked_agreed_and_disagreed_by_month(
    hits: World, cast: dict[str, Any], settings: Any, lars: Any
) -> None:
    settings.SECOND_LOOK_SHARE = 1.0
    triage()
    first = _decide_no_breach(hits.members["alice"], cast)
    second = _decide_no_breach(hits.accounts["anon"], cast, outcome="not_theirs")
    third = _decide_no_breach(hits.accounts["bobby"], cast, reviewer="ravi", outcome="not_theirs")
    record_second_look(SecondLook.objects.get(case=first), cast["lena"], agrees=True, note=AGREE_NOTE)
    record_second_look(SecondLook.objects.get(case=second), lars, agrees=False, note=NOTE)
    assert SecondLook.objects.get(case=third).pending
    month = f"{timezone.now():%Y-%m}"

    settings.OVERSIGHT_MIN_CELL = 1
    table = figures.evaluate(figures.get("review.second_looks"), 1).value
    assert isinstance(table, figures.Table)
    assert table.columns == ("Month", "Selected", "Looked at", "Agreed", "Disagreed")
    assert table.rows == ((month, 3, 2, 1, 1),)
    suppressed = figures.evaluate(figures.get("review.second_looks"), 5).value
    assert isinstance(suppressed, figures.Table)
    assert all(isinstance(cell, figures.Suppressed) for cell in suppressed.rows[0][1:])


# ---------------------------------------------------------------------------------------------
# personal data


@pytest.mark.django_db
def test_retention_removes_the_look_with_its_case(picked: SecondLook) -> None:
    run_retention(apply=True)
    assert SecondLook.objects.filter(pk=picked.pk).exists()  # inside the window: kept
    run_retention(apply=True, now=timezone.now() + timedelta(days=400))
    assert not SecondLook.objects.filter(pk=picked.pk).exists()
    assert not Case.objects.filter(pk=picked.case_id).exists()


@pytest.mark.django_db
def test_erasure_removes_the_look_and_the_subject_access_export_includes_it(
    picked: SecondLook, cast: dict[str, Any], tmp_path: Path
) -> None:
    record_second_look(picked, cast["lena"], agrees=True, note=AGREE_NOTE)
    out = tmp_path / "alice.zip"
    call_command("subject_access", "M-0001", "--out", str(out))
    with zipfile.ZipFile(out) as archive:
        [look] = json.loads(archive.read("review.second_look.json"))
    assert (look["case"], look["decided_by"], look["looked_by"], look["agrees"]) == (
        picked.case_id,
        "reviewer",
        "lead",
        True,
    )
    assert look["note"] == AGREE_NOTE and "lena" not in json.dumps(look) and "rita" not in json.dumps(look)

    call_command("erase", "M-0001", "--reason", "DSAR-2026-020 by email", "--apply", stdout=None)
    assert not SecondLook.objects.exists()
    assert not Case.objects.filter(pk=picked.case_id).exists()


@pytest.mark.django_db
def test_erasure_after_a_disagreement_waits_for_the_reopened_case(picked: SecondLook, cast: dict[str, Any]) -> None:
    record_second_look(picked, cast["lena"], agrees=False, note=NOTE)
    with pytest.raises(CommandError, match=f"case #{picked.reopened_case_id}"):
        call_command("erase", "M-0001", "--reason", "DSAR-2026-020 by email", "--apply")
    assert SecondLook.objects.filter(pk=picked.pk).exists()


@pytest.mark.django_db
def test_the_waiting_list_is_paginated_longest_waiting_first(
    client: Client, world: World, cast: dict[str, Any]
) -> None:
    now = timezone.now()
    alice = world.members["alice"]
    for i in range(51):
        case = Case.objects.create(
            member=alice, state=State.CLOSED.value, severity=3, opened_at=now, due_at=now, closed_at=now
        )
        decision = Decision.objects.create(
            case=case, reviewer=cast["rita"], outcome="no_breach", reason=NO_BREACH, decided_at=now
        )
        SecondLook.objects.create(case=case, decision=decision, selected_at=now + timedelta(minutes=i))
    first = SecondLook.objects.order_by("selected_at").first()
    last = SecondLook.objects.order_by("selected_at").last()
    assert first is not None and last is not None

    login(client, "lena")
    one = client.get(reverse("review-second-looks")).text
    two = client.get(reverse("review-second-looks"), {"page": 2}).text

    assert "51 second looks waiting" in one and "Page 1 of 2" in one
    assert f"#{first.case_id}</a>" in one and f"#{last.case_id}</a>" not in one
    assert f"#{last.case_id}</a>" in two and "Page 2 of 2" in two
