"""The case state machine and its fairness rules, without Django.

    open ──assign──▶ assigned ──decide(no action)──▶ closed
                         │
                         └──decide(adverse)──▶ awaiting_signoff ──sign off (another person)──▶ closed
                                                     │
                                                     └──send back──▶ assigned

No adverse outcome is final until a second reviewer, not the one who decided, signs it off, and
none is open at all while the case is about an account nobody has confirmed is a member's: whose
account it is must be settled (a declared link, or a proposal a person confirmed) before anyone can
be warned or referred for it.

After sign-off the member gets a notice and may appeal while the window is open:

    received ──assign (an independent lead)──▶ assigned ──decide(upheld | allowed)──▶ decided

An appeal is decided by a lead independent of the decision: not its decider, not its signer,
not anyone who sent it back, and not anyone who declared a conflict of interest with the member.

A decision that finds no breach closes the case on one person's word, so a share of them
(``ASSAY_SECOND_LOOK_SHARE``) is picked for a second look by a lead who took no part in it: they
agree, or disagree and the hits go before a reviewer again (the decision stands as recorded).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
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


def outcomes_for(*, about_member: bool) -> tuple[Outcome, ...]:
    """The outcomes a case may get: none adverse while nobody is confirmed to own the account."""
    return tuple(o for o in Outcome if about_member or not is_adverse(o))


def decide(state: State, outcome: Outcome, reason: str, *, decider_is_assignee: bool, about_member: bool) -> State:
    """The state after a reviewer records ``outcome``; raises if the rules forbid it.

    ``about_member``: the case is a member's (their account is linked for certain or a person
    confirmed the link). Without it only non-adverse outcomes are open.
    """
    if state is not State.ASSIGNED:
        raise TransitionError(f"a case that is {state.value} cannot be decided; it must be assigned to a reviewer")
    if not decider_is_assignee:
        raise TransitionError("only the reviewer the case is assigned to can decide it")
    if is_adverse(outcome) and not about_member:
        raise TransitionError(
            "an adverse outcome needs to know whose account this is: no member is confirmed as its owner, "
            "so confirm a proposed link first, or decide without a breach finding"
        )
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise TransitionError(f"give a reason of at least {MIN_REASON_LENGTH} characters")
    return State.AWAITING_SIGNOFF if is_adverse(outcome) else State.CLOSED


def step_aside(state: State, *, is_assignee: bool) -> State:
    """The state after someone declares a conflict of interest with the person the case is about.

    The assignee of an assigned case hands it back (open, for someone else); anyone else who may
    work the case (a lead) only records it, and the case stays as it is. A decision awaiting
    sign-off is its decider's: a lead sends it back first.
    """
    if state is State.CLOSED:
        raise TransitionError("the case is closed; a conflict matters for the person's next case and appeals")
    if is_assignee and state is State.AWAITING_SIGNOFF:
        raise TransitionError("your decision awaits sign-off: ask a lead to send it back, then step aside")
    return State.OPEN if is_assignee and state is State.ASSIGNED else state


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


# ---------------------------------------------------------------------------------------------
# notices and appeals


class AppealState(StrEnum):
    RECEIVED = "received"
    ASSIGNED = "assigned"
    DECIDED = "decided"


class AppealOutcome(StrEnum):
    UPHELD = "upheld"  # the decision stands
    ALLOWED = "allowed"  # the decision is overturned


APPEAL_OUTCOME_LABELS: dict[AppealOutcome, str] = {
    AppealOutcome.UPHELD: "Upheld: the decision stands",
    AppealOutcome.ALLOWED: "Allowed: the decision is overturned",
}


def appeal_deadline(issued_at: datetime, days: int) -> datetime:
    """The last moment an appeal is accepted: ``days`` whole days after the notice reached the member."""
    if days < 1:
        raise ValueError(f"the appeal window must be at least one day, not {days}")
    return issued_at + timedelta(days=days)


def appeal_window_open(deadline: datetime | None, now: datetime) -> bool:
    """Whether an appeal is accepted now; a notice not yet issued has no window."""
    return deadline is not None and now <= deadline


def receive_appeal(deadline: datetime | None, now: datetime, grounds: str, *, already_appealed: bool) -> AppealState:
    """A member's appeal (or one recorded for them) is accepted while the window is open."""
    if deadline is None:
        raise TransitionError("the notice has not been sent, so there is nothing to appeal yet")
    if already_appealed:
        raise TransitionError("an appeal against this decision has already been received")
    if not appeal_window_open(deadline, now):
        raise TransitionError(f"the appeal window closed on {deadline:%d %B %Y at %H:%M} UTC")
    if len(grounds.strip()) < MIN_REASON_LENGTH:
        raise TransitionError(f"give your grounds in at least {MIN_REASON_LENGTH} characters")
    return AppealState.RECEIVED


def independence_problem(
    lead_id: int,
    *,
    decider_id: int,
    signer_id: int | None,
    sent_back_ids: Iterable[int],
    conflicted_ids: Iterable[int] = (),
) -> str:
    """Why ``lead_id`` may not decide an appeal against this decision, or "" when they are independent."""
    if lead_id in set(conflicted_ids):
        return "they declared a conflict of interest with the member"
    if lead_id == decider_id:
        return "they made the decision under appeal"
    if signer_id is not None and lead_id == signer_id:
        return "they signed off the decision under appeal"
    if lead_id in set(sent_back_ids):
        return "they sent a decision on this case back"
    return ""


def assign_appeal(state: AppealState, *, problem: str) -> AppealState:
    """Give the appeal to a lead; ``problem`` is :func:`independence_problem`'s answer for that lead."""
    if state is AppealState.DECIDED:
        raise TransitionError("a decided appeal cannot be reassigned")
    if problem:
        raise TransitionError(f"an appeal needs an independent lead, and this one is not: {problem}")
    return AppealState.ASSIGNED


def decide_appeal(state: AppealState, reason: str, *, is_assignee: bool, problem: str) -> AppealState:
    """The assigned, independent lead upholds or allows the appeal, with reasons."""
    if state is not AppealState.ASSIGNED:
        raise TransitionError(f"an appeal that is {state.value} cannot be decided; assign it to a lead first")
    if not is_assignee:
        raise TransitionError("only the lead the appeal is assigned to can decide it")
    if problem:
        raise TransitionError(f"an appeal needs an independent lead: {problem}")
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise TransitionError(f"give a reason of at least {MIN_REASON_LENGTH} characters")
    return AppealState.DECIDED


# ---------------------------------------------------------------------------------------------
# second looks at decisions that found no breach


def selected_for_second_look(key: str, case_id: int, share: float) -> bool:
    """Whether the case's non-adverse decision is put to a second look: with probability ``share``.

    Deterministic per case (sha256 of ``key``, the server's secret, and the case id, read as a
    number in [0, 1)), so nobody can steer a case into or out of the sample, and a share of 1 or 0
    picks every case or none.
    """
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{key}:second-look:{case_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def second_look_problem(lead_id: int, *, decider_id: int, conflicted_ids: Iterable[int], looked: bool) -> str:
    """Why ``lead_id`` may not take the second look at this decision, or "" when they may."""
    if looked:
        return "a lead has already taken the second look at this decision"
    if lead_id == decider_id:
        return "you made the decision: a second look is by a lead who took no part in it"
    if lead_id in set(conflicted_ids):
        return "you declared a conflict of interest with the person this case is about"
    return ""


# ---------------------------------------------------------------------------------------------
# evidence packs


def pack_problem(state: State, outcome: Outcome | None, *, overturned: bool) -> str:
    """Why no evidence pack may be built for a case, or "" when one may.

    ``outcome`` is the case's signed-off adverse outcome (None: it has none). A pack goes to the
    disciplinary panel: it is for a closed case whose adverse outcome stands (a referral above all,
    but the panel may ask about a warning or advice), never for a decision an appeal overturned.
    """
    if state is not State.CLOSED:
        return f"the case is {state.value.replace('_', ' ')}: packs are built for closed cases"
    if outcome is None or not is_adverse(outcome):
        return "the case has no signed-off adverse outcome (advice, a warning or a referral) to put before the panel"
    if overturned:
        return "its decision was overturned on appeal"
    return ""
