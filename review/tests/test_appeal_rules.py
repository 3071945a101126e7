"""The notice and appeal rules of the pure workflow, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from review.workflow import (
    AppealState,
    TransitionError,
    appeal_deadline,
    appeal_window_open,
    assign_appeal,
    decide_appeal,
    independence_problem,
    receive_appeal,
)

SENT = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
GROUNDS = "That account is not mine; I never posted those words."
DECIDER, SIGNER, SENDER_BACK, OTHER = 1, 2, 3, 4


def test_the_deadline_is_whole_days_after_the_notice_was_issued() -> None:
    assert appeal_deadline(SENT, 21) == SENT + timedelta(days=21)


def test_a_window_of_no_days_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one day, not 0"):
        appeal_deadline(SENT, 0)


def test_the_window_is_open_up_to_and_including_the_deadline() -> None:
    deadline = appeal_deadline(SENT, 21)
    assert appeal_window_open(deadline, deadline)
    assert not appeal_window_open(deadline, deadline + timedelta(seconds=1))
    assert not appeal_window_open(None, SENT)


def test_an_appeal_inside_the_window_is_received() -> None:
    assert receive_appeal(SENT + timedelta(days=21), SENT, GROUNDS, already_appealed=False) is AppealState.RECEIVED


def test_an_appeal_after_the_window_is_refused_naming_when_it_closed() -> None:
    deadline = appeal_deadline(SENT, 21)
    with pytest.raises(TransitionError, match="closed on 01 December 2026 at 12:00 UTC"):
        receive_appeal(deadline, deadline + timedelta(minutes=1), GROUNDS, already_appealed=False)


def test_an_unsent_notice_cannot_be_appealed() -> None:
    with pytest.raises(TransitionError, match="has not been sent"):
        receive_appeal(None, SENT, GROUNDS, already_appealed=False)


def test_one_appeal_per_notice() -> None:
    with pytest.raises(TransitionError, match="already been received"):
        receive_appeal(SENT + timedelta(days=1), SENT, GROUNDS, already_appealed=True)


def test_grounds_are_required() -> None:
    with pytest.raises(TransitionError, match="grounds in at least 20 characters"):
        receive_appeal(SENT + timedelta(days=1), SENT, "   not me   ", already_appealed=False)


def _problem(lead: int) -> str:
    return independence_problem(lead, decider_id=DECIDER, signer_id=SIGNER, sent_back_ids=[SENDER_BACK])


@pytest.mark.parametrize(
    ("lead", "why"),
    [
        (DECIDER, "they made the decision under appeal"),
        (SIGNER, "they signed off the decision under appeal"),
        (SENDER_BACK, "they sent a decision on this case back"),
        (OTHER, ""),
    ],
)
def test_only_a_lead_with_no_part_in_the_decision_is_independent(lead: int, why: str) -> None:
    assert _problem(lead) == why


@pytest.mark.parametrize("lead", [DECIDER, SIGNER, SENDER_BACK])
def test_an_appeal_cannot_be_assigned_to_a_lead_who_took_part(lead: int) -> None:
    with pytest.raises(TransitionError, match="needs an independent lead"):
        assign_appeal(AppealState.RECEIVED, problem=_problem(lead))


def test_an_appeal_is_assigned_and_reassigned_until_decided() -> None:
    assert assign_appeal(AppealState.RECEIVED, problem="") is AppealState.ASSIGNED
    assert assign_appeal(AppealState.ASSIGNED, problem="") is AppealState.ASSIGNED
    with pytest.raises(TransitionError, match="decided appeal cannot be reassigned"):
        assign_appeal(AppealState.DECIDED, problem="")


def test_the_assigned_independent_lead_decides_with_reasons() -> None:
    reason = "The account's posts are consistent with the member's own."
    assert decide_appeal(AppealState.ASSIGNED, reason, is_assignee=True, problem="") is AppealState.DECIDED


@pytest.mark.parametrize(
    ("state", "reason", "is_assignee", "problem", "message"),
    [
        (AppealState.RECEIVED, GROUNDS, True, "", "assign it to a lead first"),
        (AppealState.DECIDED, GROUNDS, True, "", "decided cannot be decided"),
        (AppealState.ASSIGNED, GROUNDS, False, "", "only the lead the appeal is assigned to"),
        (AppealState.ASSIGNED, GROUNDS, True, "they signed off the decision under appeal", "signed off"),
        (AppealState.ASSIGNED, "too short", True, "", "at least 20 characters"),
    ],
)
def test_an_appeal_decision_is_refused_when_a_rule_forbids_it(
    state: AppealState, reason: str, is_assignee: bool, problem: str, message: str
) -> None:
    with pytest.raises(TransitionError, match=message):
        decide_appeal(state, reason, is_assignee=is_assignee, problem=problem)
