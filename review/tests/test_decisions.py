"""Deciding a case: reasons required, two people for adverse outcomes, no lost updates."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from oversight.models import AuditEvent
from review.models import Case, Decision
from review.services import ReviewError, StaleCaseError, assign_case, record_decision, sign_off, triage
from review.tests.world import World, assigned, login
from review.workflow import Outcome, State

REASON = "Calling other members idiots breaches clause 4.2(a) of the rulebook."


@pytest.fixture
def case(hits: World, cast: dict[str, Any]) -> Case:
    """Alice's case, assigned to rita."""
    triage()
    return assigned(hits.members["alice"], cast["rita"], by=cast["olivia"])


def _decide(client: Client, case: Case, outcome: str, reason: str = REASON, version: int | None = None) -> Any:
    data = {"outcome": outcome, "reason": reason, "version": case.version if version is None else version}
    return client.post(reverse("review-decide", args=[case.pk]), data, follow=True)


def _sign(client: Client, case: Case, action: str = "sign_off", reason: str = "") -> Any:
    data = {"action": action, "reason": reason, "version": case.version}
    return client.post(reverse("review-sign-off", args=[case.pk]), data, follow=True)


@pytest.mark.django_db
def test_a_decision_needs_a_reason(client: Client, case: Case) -> None:
    response = _decide(login(client, "rita"), case, "warning", reason="   ")

    assert response.status_code == 200  # the page again, with the error beside the field
    assert "This field is required." in response.text
    assert not Decision.objects.exists()


@pytest.mark.django_db
def test_a_short_reason_is_refused_and_kept_for_editing(client: Client, case: Case) -> None:
    response = _decide(login(client, "rita"), case, "warning", reason="rude")

    assert "at least 20 characters" in response.text
    assert "rude</textarea>" in response.text


@pytest.mark.django_db
def test_no_breach_closes_the_case(client: Client, case: Case) -> None:
    response = _decide(login(client, "rita"), case, "no_breach")

    assert "Decision recorded. The case is closed." in response.text
    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert case.closed_at is not None


@pytest.mark.django_db
def test_an_adverse_decision_awaits_sign_off(client: Client, case: Case, cast: dict[str, Any]) -> None:
    response = _decide(login(client, "rita"), case, "warning")

    assert response.redirect_chain == [(reverse("review-case", args=[case.pk]), 302)]
    assert "waits for a lead" in response.text
    case.refresh_from_db()
    assert (case.state, case.version) == (State.AWAITING_SIGNOFF, 3)
    decision = Decision.objects.get()
    assert (decision.reviewer, decision.outcome, decision.reason) == (cast["rita"], "warning", REASON)
    assert AuditEvent.objects.filter(action="case.decided", actor="rita").exists()


@pytest.mark.django_db
def test_only_the_assignee_can_decide(client: Client, case: Case, cast: dict[str, Any]) -> None:
    response = _decide(login(client, "lena"), case, "warning")

    assert "only the reviewer the case is assigned to can decide it" in response.text
    assert not Decision.objects.exists()


@pytest.mark.django_db
def test_the_decider_cannot_sign_off_their_own_decision(case: Case, cast: dict[str, Any]) -> None:
    lena = cast["lena"]
    assign_case(case, lena, actor=lena, expected_version=case.version)
    record_decision(case, lena, Outcome.WARNING, REASON, expected_version=case.version)

    with pytest.raises(ReviewError, match="cannot sign off your own decision"):
        sign_off(case, lena, expected_version=case.version)


@pytest.mark.django_db
def test_the_decider_is_not_offered_the_sign_off_form(client: Client, case: Case, cast: dict[str, Any]) -> None:
    lena = cast["lena"]
    assign_case(case, lena, actor=lena, expected_version=case.version)
    record_decision(case, lena, Outcome.WARNING, REASON, expected_version=case.version)

    response = login(client, "lena").get(reverse("review-case", args=[case.pk]))

    assert "Sign off" not in response.text
    assert "another person must sign it off" in response.text


@pytest.mark.django_db
def test_a_reviewer_cannot_sign_off(case: Case, cast: dict[str, Any]) -> None:
    record_decision(case, cast["rita"], Outcome.WARNING, REASON, expected_version=case.version)

    with pytest.raises(ReviewError, match="only a lead"):
        sign_off(case, cast["ravi"], expected_version=case.version)


@pytest.mark.django_db
def test_a_lead_signs_off_and_the_case_closes(client: Client, case: Case, cast: dict[str, Any]) -> None:
    _decide(login(client, "rita"), case, "refer")
    case.refresh_from_db()

    response = _sign(login(client, "lena"), case)

    assert "Decision signed off. The case is closed." in response.text
    assert "Signed off by lena" in response.text
    case.refresh_from_db()
    assert case.state == State.CLOSED
    decision = Decision.objects.get()
    assert (decision.signed_off_by, decision.is_pending) == (cast["lena"], False)
    assert AuditEvent.objects.filter(action="case.signed_off", actor="lena").exists()


@pytest.mark.django_db
def test_a_lead_sends_back_with_reasons(client: Client, case: Case, cast: dict[str, Any]) -> None:
    _decide(login(client, "rita"), case, "warning")
    case.refresh_from_db()
    login(client, "lena")

    refused = _sign(client, case, "send_back", reason="no")
    assert "Say why you are sending it back" in refused.text
    response = _sign(client, case, "send_back", reason="The second post is not about a member; reconsider.")

    assert "Decision sent back to the reviewer." in response.text
    case.refresh_from_db()
    assert (case.state, case.assigned_to) == (State.ASSIGNED, cast["rita"])
    assert Decision.objects.get().sent_back_by == cast["lena"]


@pytest.mark.django_db
def test_a_stale_version_is_rejected(client: Client, case: Case, cast: dict[str, Any]) -> None:
    opened_at_version = case.version
    assign_case(case, cast["rita"], actor=cast["lena"], expected_version=case.version)  # someone else acts

    response = _decide(login(client, "rita"), case, "no_breach", version=opened_at_version)

    assert "the case changed since you opened it" in response.text
    assert not Decision.objects.exists()


@pytest.mark.django_db
def test_two_people_acting_at_once_cannot_both_win(case: Case, cast: dict[str, Any]) -> None:
    first = Case.objects.get(pk=case.pk)
    second = Case.objects.get(pk=case.pk)  # both loaded the same version
    record_decision(first, cast["rita"], Outcome.NO_BREACH, REASON, expected_version=first.version)

    second.version = case.version  # the in-memory copy still says the old version
    with pytest.raises(StaleCaseError):
        assign_case(second, cast["ravi"], actor=cast["lena"], expected_version=case.version)

    assert Case.objects.get(pk=case.pk).assigned_to == cast["rita"]


@pytest.mark.django_db
def test_only_operators_and_leads_assign(case: Case, cast: dict[str, Any]) -> None:
    with pytest.raises(ReviewError, match="only operators and leads"):
        assign_case(case, cast["ravi"], actor=cast["rita"], expected_version=case.version)
    with pytest.raises(ReviewError, match="not a reviewer"):
        assign_case(case, cast["otto"], actor=cast["lena"], expected_version=case.version)


@pytest.fixture
def account_case(hits: World, cast: dict[str, Any]) -> Case:
    """The case about @bobby, an account only proposed (not confirmed) as bob's, assigned to ravi."""
    triage()
    return assigned(hits.accounts["bobby"], cast["ravi"], by=cast["olivia"])


@pytest.mark.django_db
def test_no_adverse_outcome_is_offered_while_nobody_owns_the_account(client: Client, account_case: Case) -> None:
    page = login(client, "ravi").get(reverse("review-case", args=[account_case.pk])).text

    assert "only outcomes without a breach finding are open" in page
    assert "(the proposed link above)" in page
    assert "It stays on the case&#x27;s record." in page and "The member will read this." not in page
    assert 'value="no_breach"' in page
    for adverse in ("advice", "warning", "refer"):
        assert f'value="{adverse}"' not in page


@pytest.mark.django_db
@pytest.mark.parametrize("outcome", ["advice", "warning", "refer"])
def test_an_adverse_outcome_about_an_unowned_account_is_refused(
    client: Client, account_case: Case, outcome: str
) -> None:
    response = _decide(login(client, "ravi"), account_case, outcome)

    assert "Select a valid choice" in response.text  # the form never offered it
    assert not Decision.objects.exists()
    account_case.refresh_from_db()
    assert account_case.state == State.ASSIGNED


@pytest.mark.django_db
def test_the_service_refuses_it_too(account_case: Case, cast: dict[str, Any]) -> None:
    with pytest.raises(ReviewError, match="needs to know whose account this is"):
        record_decision(account_case, cast["ravi"], Outcome.WARNING, REASON, expected_version=account_case.version)
    assert not Decision.objects.exists()
    # Finding no breach still closes it.
    record_decision(account_case, cast["ravi"], Outcome.NO_BREACH, REASON, expected_version=account_case.version)
    account_case.refresh_from_db()
    assert account_case.state == State.CLOSED


@pytest.mark.django_db
def test_an_account_with_no_proposal_points_to_no_link(client: Client, hits: World, cast: dict[str, Any]) -> None:
    triage()
    case = assigned(hits.accounts["anon"], cast["ravi"], by=cast["olivia"])

    page = login(client, "ravi").get(reverse("review-case", args=[case.pk])).text

    assert "No link to a member has been proposed." in page
    assert "first confirm whose account it is." in page
    assert "(the proposed link above)" not in page
