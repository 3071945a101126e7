"""Review's figures for oversight, against cases and decisions made row by row with known dates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from oversight import figures
from oversight.figures import SMALL, Suppressed
from review.models import Case, Decision
from review.tests.world import World
from review.workflow import State

FAR = datetime(2099, 1, 1, tzinfo=UTC)


def _at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def _value(key: str, min_cell: int = 1) -> Any:
    return figures.evaluate(figures.get(key), min_cell).value


@pytest.fixture
def decided(world: World, cast: dict[str, Any], settings: Any) -> World:
    """Five cases: two closed in October/November, one awaiting sign-off, one sent back, one open."""
    settings.OVERSIGHT_MIN_CELL = 1
    alice, bob = world.members["alice"], world.members["bob"]
    rita, lena = cast["rita"], cast["lena"]

    def case(state: State, opened: datetime, due: datetime, closed: datetime | None = None, **subject: Any) -> Case:
        return Case.objects.create(
            state=state.value, severity=2, opened_at=opened, due_at=due, closed_at=closed, assigned_to=rita, **subject
        )

    def decide(case: Case, outcome: str, at: datetime, **extra: Any) -> None:
        Decision.objects.create(case=case, reviewer=rita, outcome=outcome, reason="x" * 20, decided_at=at, **extra)

    c1 = case(State.CLOSED, _at(10, 1), _at(10, 8), _at(10, 3), member=alice)
    decide(c1, "no_breach", _at(10, 3))
    c2 = case(State.CLOSED, _at(10, 10), _at(10, 17), _at(11, 2), member=bob)
    decide(c2, "warning", _at(10, 14), signed_off_by=lena, signed_off_at=_at(11, 2))
    c3 = case(State.AWAITING_SIGNOFF, _at(11, 1), _at(11, 15), account=world.accounts["anon"])
    decide(c3, "refer", _at(11, 7))
    c4 = case(State.ASSIGNED, _at(11, 5), _at(11, 8), member=alice)
    decide(c4, "advice", _at(11, 6), sent_back_by=lena, sent_back_at=_at(11, 7), sent_back_reason="y" * 20)
    case(State.OPEN, _at(11, 20), FAR, account=world.accounts["bobby"])
    return world


def test_cases_opened_and_closed_by_month(decided):
    assert _value("review.cases_by_month").rows == (("2026-10", 2, 1), ("2026-11", 3, 1))


def test_cases_by_state_and_overdue(decided):
    assert _value("review.cases_by_state").rows == (
        ("open", 1),
        ("assigned", 1),
        ("awaiting sign-off", 1),
        ("closed", 2),
    )
    assert _value("review.overdue") == 2


def test_outcomes_count_only_decisions_in_effect(decided):
    # the refer awaits sign-off and the advice was sent back: neither is an outcome yet
    assert _value("review.outcomes").rows == (
        ("No breach of the rulebook", 1),
        ("Not the member's account", 0),
        ("Breach: advice to the member", 0),
        ("Breach: formal warning", 1),
        ("Breach: refer to the disciplinary panel", 0),
    )
    assert _value("review.adverse_share") == 50.0


def test_sign_offs_and_send_backs(decided):
    assert _value("review.signoffs").rows == (
        ("signed off", 1),
        ("sent back to the reviewer", 1),
        ("awaiting sign-off", 1),
    )


def test_median_days_from_opening_to_the_first_decision(decided):
    # first decisions after 2, 4, 6 and 1 days
    assert _value("review.time_to_decision") == 3.0


def test_with_the_usual_minimum_small_counts_and_derived_figures_are_not_shown(decided, settings):
    settings.OVERSIGHT_MIN_CELL = 5

    states = _value("review.cases_by_state", 5).rows
    assert all(isinstance(n, Suppressed) and n.reason == SMALL for _, n in states)
    assert _value("review.adverse_share", 5) == "not shown: fewer than 5 adverse or other outcomes"
    assert _value("review.time_to_decision", 5) == "not shown: fewer than 5 cases decided"


@pytest.mark.django_db
def test_nothing_decided_yet_reads_as_nothing(settings):
    assert _value("review.adverse_share") is None
    assert _value("review.time_to_decision") is None
    assert _value("review.cases_by_month").rows == ()
