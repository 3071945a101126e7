"""The case state machine, without a database."""

from __future__ import annotations

import pytest

from review.workflow import (
    MIN_REASON_LENGTH,
    Outcome,
    State,
    TransitionError,
    assign,
    decide,
    outcomes_for,
    send_back,
    sign_off,
    step_aside,
)

REASON = "The post calls other members idiots, which clause 4.2(a) forbids."


def test_assigning_an_open_or_assigned_case_makes_it_assigned() -> None:
    assert assign(State.OPEN) is State.ASSIGNED
    assert assign(State.ASSIGNED) is State.ASSIGNED


@pytest.mark.parametrize("state", [State.AWAITING_SIGNOFF, State.CLOSED])
def test_a_decided_case_cannot_be_reassigned(state: State) -> None:
    with pytest.raises(TransitionError, match="cannot be reassigned"):
        assign(state)


def test_no_breach_closes_the_case() -> None:
    for outcome in (Outcome.NO_BREACH, Outcome.NOT_THEIRS):
        assert decide(State.ASSIGNED, outcome, REASON, decider_is_assignee=True, about_member=True) is State.CLOSED


@pytest.mark.parametrize("outcome", [Outcome.ADVICE, Outcome.WARNING, Outcome.REFER])
def test_an_adverse_outcome_waits_for_sign_off(outcome: Outcome) -> None:
    state = decide(State.ASSIGNED, outcome, REASON, decider_is_assignee=True, about_member=True)
    assert state is State.AWAITING_SIGNOFF


def test_only_the_assignee_decides() -> None:
    with pytest.raises(TransitionError, match="only the reviewer the case is assigned to"):
        decide(State.ASSIGNED, Outcome.WARNING, REASON, decider_is_assignee=False, about_member=True)


def test_an_unassigned_case_cannot_be_decided() -> None:
    with pytest.raises(TransitionError, match="must be assigned"):
        decide(State.OPEN, Outcome.NO_BREACH, REASON, decider_is_assignee=True, about_member=True)


def test_a_decision_needs_a_reason() -> None:
    with pytest.raises(TransitionError, match=f"at least {MIN_REASON_LENGTH} characters"):
        decide(State.ASSIGNED, Outcome.WARNING, "   too short        ", decider_is_assignee=True, about_member=True)


def test_a_second_person_signs_off() -> None:
    assert sign_off(State.AWAITING_SIGNOFF, signer_is_decider=False) is State.CLOSED


def test_the_decider_cannot_sign_off_their_own_decision() -> None:
    with pytest.raises(TransitionError, match="cannot sign off your own decision"):
        sign_off(State.AWAITING_SIGNOFF, signer_is_decider=True)


def test_sending_back_returns_the_case_to_its_reviewer_with_reasons() -> None:
    assert send_back(State.AWAITING_SIGNOFF, REASON, signer_is_decider=False) is State.ASSIGNED
    with pytest.raises(TransitionError, match="at least"):
        send_back(State.AWAITING_SIGNOFF, "no", signer_is_decider=False)
    with pytest.raises(TransitionError, match="your own decision"):
        send_back(State.AWAITING_SIGNOFF, REASON, signer_is_decider=True)


@pytest.mark.parametrize("state", [State.OPEN, State.ASSIGNED, State.CLOSED])
def test_only_a_case_awaiting_sign_off_can_be_signed_off_or_sent_back(state: State) -> None:
    with pytest.raises(TransitionError, match="no decision awaiting sign-off"):
        sign_off(state, signer_is_decider=False)
    with pytest.raises(TransitionError, match="no decision awaiting sign-off"):
        send_back(state, REASON, signer_is_decider=False)


@pytest.mark.parametrize("outcome", [Outcome.ADVICE, Outcome.WARNING, Outcome.REFER])
def test_no_adverse_outcome_while_nobody_is_confirmed_to_own_the_account(outcome: Outcome) -> None:
    with pytest.raises(TransitionError, match="needs to know whose account this is"):
        decide(State.ASSIGNED, outcome, REASON, decider_is_assignee=True, about_member=False)
    # Finding no breach (or that it is nobody's we know) stays open.
    assert decide(State.ASSIGNED, Outcome.NO_BREACH, REASON, decider_is_assignee=True, about_member=False) is (
        State.CLOSED
    )
    assert outcome not in outcomes_for(about_member=False)
    assert outcome in outcomes_for(about_member=True)


def test_stepping_aside() -> None:
    assert step_aside(State.ASSIGNED, is_assignee=True) is State.OPEN  # back to the queue
    assert step_aside(State.ASSIGNED, is_assignee=False) is State.ASSIGNED  # a lead only records it
    assert step_aside(State.AWAITING_SIGNOFF, is_assignee=False) is State.AWAITING_SIGNOFF
    with pytest.raises(TransitionError, match="awaits sign-off"):
        step_aside(State.AWAITING_SIGNOFF, is_assignee=True)
    with pytest.raises(TransitionError, match="closed"):
        step_aside(State.CLOSED, is_assignee=False)
