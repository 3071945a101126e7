"""Appeals: received from the member's page (or recorded for them), decided by an independent lead."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from oversight.models import AuditEvent
from review import notices
from review.models import Appeal, Decision, Notice
from review.services import record_decision, send_back, sign_off, triage
from review.tests.conftest import DECISION_REASON
from review.tests.world import World, assigned, login
from review.workflow import AppealState

GROUNDS = "The word was about the referee in a football match, not about members."
RESULT = "Read in context the post is about football refereeing, not other members."


@pytest.fixture
def token(notice: Notice, cast: dict[str, Any], settings: Any) -> str:
    settings.PUBLIC_URL = "http://testserver"
    notices.send_notice(notice, actor=cast["olivia"])
    match = re.search(r"/notice/([A-Za-z0-9_-]+)/", str(mail.outbox[-1].body))
    assert match
    return match.group(1)


def _appeal(client: Client, token: str, grounds: str = GROUNDS, **extra: str) -> Any:
    return client.post(f"/notice/{token}/", {"grounds": grounds, **extra}, follow=True)


@pytest.fixture
def appeal(client: Client, token: str) -> Appeal:
    _appeal(client, token)
    return Appeal.objects.get()


@pytest.mark.django_db
def test_a_member_appeals_from_their_page(client: Client, token: str, notice: Notice) -> None:
    response = _appeal(client, token, contact_preference="phone", contact_detail="0113 496 0000")

    assert "Your appeal has been received" in response.text
    assert "being considered" in response.text and GROUNDS in response.text
    assert "Send my appeal" not in response.text
    appeal = Appeal.objects.get()
    assert (appeal.notice, appeal.case, appeal.decision) == (notice, notice.case, notice.decision)
    assert (appeal.state, appeal.received_via, appeal.recorded_by) == ("received", "member_page", None)
    assert (appeal.contact_preference, appeal.contact_detail) == ("phone", "0113 496 0000")
    assert appeal.due_at == appeal.received_at + timedelta(days=28)
    event = AuditEvent.objects.get(action="appeal.received")
    assert event.actor == "member" and token not in str(event.data)


@pytest.mark.django_db
def test_grounds_are_required(client: Client, token: str) -> None:
    response = client.post(f"/notice/{token}/", {"grounds": "  "})

    assert "This field is required." in response.text
    assert not Appeal.objects.exists()


@pytest.mark.django_db
def test_a_second_appeal_is_refused(client: Client, token: str, appeal: Appeal) -> None:
    response = _appeal(client, token)

    assert "already been received" in response.text
    assert Appeal.objects.count() == 1


@pytest.mark.django_db
def test_after_the_window_the_page_says_it_closed_and_when(client: Client, token: str, notice: Notice) -> None:
    notice.refresh_from_db()
    assert notice.appeal_due_at is not None
    with time_machine.travel(notice.appeal_due_at + timedelta(days=1)):
        page = client.get(f"/notice/{token}/")
        refused = _appeal(client, token)

    assert "The window for appeals closed on" in page.text
    assert notice.appeal_due_at.strftime("%-d %B %Y") in page.text
    assert "Send my appeal" not in page.text
    assert "the appeal window closed on" in refused.text
    assert not Appeal.objects.exists()


@pytest.mark.django_db
def test_an_operator_records_an_appeal_made_by_letter(client: Client, token: str, notice: Notice) -> None:
    anonymous = client.post(reverse("review-notice-appeal", args=[notice.pk]), {"grounds": GROUNDS, "via": "letter"})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    login(client, "olivia")
    response = client.post(
        reverse("review-notice-appeal", args=[notice.pk]),
        {"grounds": GROUNDS, "via": "letter", "contact_preference": "post"},
        follow=True,
    )

    appeal = Appeal.objects.get()
    assert appeal.recorded_by is not None
    assert (appeal.received_via, appeal.recorded_by.username) == ("letter", "olivia")
    assert f"Appeal #{appeal.pk}" in response.text
    assert AuditEvent.objects.filter(action="appeal.received", actor="olivia").exists()


@pytest.mark.django_db
def test_a_reviewer_cannot_record_an_appeal_for_a_member(notice: Notice, token: str, cast: dict[str, Any]) -> None:
    with pytest.raises(notices.NoticeError, match="only operators and leads record appeals"):
        notices.receive_appeal(notice, GROUNDS, via="letter", recorded_by=cast["rita"])


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "why"), [("lena", "signed off"), ("rita", "is not a lead")])
def test_an_appeal_cannot_go_to_the_signer_or_a_non_lead(
    appeal: Appeal, cast: dict[str, Any], who: str, why: str
) -> None:
    with pytest.raises(notices.NoticeError, match=why):
        notices.assign_appeal(appeal, cast[who], actor=cast["olivia"], expected_version=appeal.version)
    appeal.refresh_from_db()
    assert appeal.state == AppealState.RECEIVED


@pytest.mark.django_db
def test_a_lead_who_sent_the_decision_back_is_not_independent(hits: World, cast: dict[str, Any], lars: Any) -> None:
    """lars sent rita's first decision back; lena signed off the second. Neither may decide the appeal."""
    triage()
    case = assigned(hits.members["alice"], cast["rita"], by=cast["olivia"])
    record_decision(case, cast["rita"], "refer", DECISION_REASON, expected_version=case.version)
    send_back(case, lars, "A referral is out of proportion for a first breach.", expected_version=case.version)
    record_decision(case, cast["rita"], "warning", DECISION_REASON, expected_version=case.version)
    sign_off(case, cast["lena"], expected_version=case.version)
    notice = Notice.objects.get()
    notices.send_notice(notice, actor=cast["olivia"])  # alice has no email: marked to post
    notices.mark_posted(notice, actor=cast["olivia"])
    appeal = notices.receive_appeal(notice, GROUNDS, via="letter", recorded_by=cast["olivia"])

    with pytest.raises(notices.NoticeError, match="sent a decision on this case back"):
        notices.assign_appeal(appeal, lars, actor=cast["olivia"], expected_version=appeal.version)
    with pytest.raises(notices.NoticeError, match="signed off the decision under appeal"):
        notices.assign_appeal(appeal, cast["lena"], actor=cast["olivia"], expected_version=appeal.version)


@pytest.mark.django_db
def test_an_independent_lead_allows_the_appeal_and_the_decision_is_overturned(
    client: Client, token: str, appeal: Appeal, cast: dict[str, Any], lars: Any
) -> None:
    notices.assign_appeal(appeal, lars, actor=cast["olivia"], expected_version=appeal.version)
    login(client, "lars")

    response = client.post(
        reverse("review-appeal-decide", args=[appeal.pk]),
        {"outcome": "allowed", "reason": RESULT, "version": appeal.version},
        follow=True,
    )

    assert "the result was emailed to the member" in response.text
    appeal.refresh_from_db()
    assert (appeal.state, appeal.outcome, appeal.decided_by) == ("decided", "allowed", lars)
    decision = appeal.decision
    assert decision.overturned_by == lars and decision.overturned_at == appeal.decided_at
    assert not Decision.objects.standing().filter(pk=decision.pk).exists()
    result = mail.outbox[-1]
    assert result.to == ["alice@example.org"] and RESULT in result.body and "is overturned" in result.body
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"appeal.assigned", "appeal.decided", "case.decision_overturned"} <= actions
    case_page = client.get(reverse("review-case", args=[appeal.case_id])).text
    assert "Overturned on appeal by lars" in case_page
    client.logout()
    page = client.get(f"/notice/{token}/")
    assert "Allowed: the decision is overturned" in page.text and RESULT in page.text
    assert "overturned on appeal" in page.text


@pytest.mark.django_db
def test_an_upheld_appeal_leaves_the_decision_standing(appeal: Appeal, cast: dict[str, Any], lars: Any) -> None:
    notices.assign_appeal(appeal, lars, actor=cast["lena"], expected_version=appeal.version)
    notices.decide_appeal(appeal, lars, "upheld", RESULT, expected_version=appeal.version)

    assert Decision.objects.standing().filter(pk=appeal.decision_id).exists()
    assert "stands" in mail.outbox[-1].body


@pytest.mark.django_db
def test_only_the_assigned_lead_decides(appeal: Appeal, cast: dict[str, Any], lars: Any) -> None:
    with pytest.raises(notices.NoticeError, match="assign it to a lead first"):
        notices.decide_appeal(appeal, lars, "upheld", RESULT, expected_version=appeal.version)
    notices.assign_appeal(appeal, lars, actor=cast["olivia"], expected_version=appeal.version)
    with pytest.raises(notices.NoticeError, match="only the lead the appeal is assigned to"):
        notices.decide_appeal(appeal, cast["lena"], "upheld", RESULT, expected_version=appeal.version)


@pytest.mark.django_db
def test_a_stale_form_does_not_overwrite(appeal: Appeal, cast: dict[str, Any], lars: Any) -> None:
    stale = appeal.version
    notices.assign_appeal(appeal, lars, actor=cast["olivia"], expected_version=appeal.version)

    with pytest.raises(notices.StaleAppealError):
        notices.assign_appeal(Appeal.objects.get(pk=appeal.pk), lars, actor=cast["lena"], expected_version=stale)


@pytest.mark.django_db
def test_a_member_without_email_gets_no_result_email_and_staff_are_told_to_write(
    client: Client, appeal: Appeal, hits: World, cast: dict[str, Any], lars: Any
) -> None:
    hits.members["alice"].email = ""
    hits.members["alice"].save()
    notices.assign_appeal(appeal, lars, actor=cast["olivia"], expected_version=appeal.version)
    sent = len(mail.outbox)
    login(client, "lars")

    response = client.post(
        reverse("review-appeal-decide", args=[appeal.pk]),
        {"outcome": "upheld", "reason": RESULT, "version": appeal.version},
        follow=True,
    )

    assert len(mail.outbox) == sent
    assert "The result was not emailed" in response.text
    assert "(the member has no email address): write to the member" in response.text
    assert Appeal.objects.get().result_emailed_at is None
