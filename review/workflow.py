"""The case state machine and its fairness rules, without Django.

    open ──assign──▶ assigned ──decide(no action)──▶ closed
                         │
                         └──decide(adverse)──▶ awaiting_signoff ──sign off (another person)──▶ closed
                                                     │
                                                     └──send back──▶ assigned

No adverse outcome is final until a second reviewer, not the one who decided, signs it off.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    AWAITING_SIGNOFF = "awaiting_signoff"
    CLOSED = "closed"


class Outcome(StrEnum):
    NO_BREACH = "no_breach"
    NOT_THEIRS = "not_theirs"
    ADVICE = "advice"
    WARNING = "warning"
    REFER = "refer"


OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.NO_BREACH: "No breach of the rulebook",
    Outcome.NOT_THEIRS: "Not the member's account",
    Outcome.ADVICE: "Breach: advice to the member",
    Outcome.WARNING: "Breach: formal warning",
    Outcome.REFER: "Breach: refer to the disciplinary panel",
}

ADVERSE: frozenset[Outcome] = frozenset({Outcome.ADVICE, Outcome.WARNING, Outcome.REFER})

MIN_REASON_LENGTH = 20


class TransitionError(Exception):
    """A workflow rule forbids this step; the message says which."""


def is_adverse(outcome: Outcome) -> bool:
    return outcome in ADVERSE


def assign(state: State) -> State:
    if state not in (State.OPEN, State.ASSIGNED):
        raise TransitionError(f"a case that is {state.value} cannot be reassigned")
    return State.ASSIGNED


def decide(state: State, outcome: Outcome, reason: str, *, decider_is_assignee: bool) -> State:
    """The state after a reviewer records ``outcome``; raises if the rules forbid it."""
    if state is not State.ASSIGNED:
        raise TransitionError(f"a case that is {state.value} cannot be decided; it must be assigned to a reviewer")
    if not decider_is_assignee:
        raise TransitionError("only the reviewer the case is assigned to can decide it")
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise TransitionError(f"give a reason of at least {MIN_REASON_LENGTH} characters")
    return State.AWAITING_SIGNOFF if is_adverse(outcome) else State.CLOSED


def sign_off(state: State, *, signer_is_decider: bool) -> State:
    """A second reviewer confirms an adverse decision."""
    if state is not State.AWAITING_SIGNOFF:
        raise TransitionError(f"a case that is {state.value} has no decision awaiting sign-off")
    if signer_is_decider:
        raise TransitionError("an adverse decision needs a second reviewer: you cannot sign off your own decision")
    return State.CLOSED


def send_back(state: State, reason: str, *, signer_is_decider: bool) -> State:
    """A second reviewer declines to sign off; the case returns to its reviewer."""
    if state is not State.AWAITING_SIGNOFF:
        raise TransitionError(f"a case that is {state.value} has no decision awaiting sign-off")
    if signer_is_decider:
        raise TransitionError("you cannot review your own decision")
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise TransitionError(f"give a reason of at least {MIN_REASON_LENGTH} characters")
    return State.ASSIGNED
