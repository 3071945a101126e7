"""The pure rules for purposes: what a valid purpose is, who may approve it, when work may run under it."""

from __future__ import annotations

from datetime import date

import pytest

from oversight.lawful_basis import (
    LAWFUL_BASES,
    PurposeError,
    PurposeTerms,
    Standing,
    approval_problem,
    check,
    problems,
    refusal,
)

TODAY = date(2026, 12, 4)
GOOD = PurposeTerms("Conduct review", "Reviewing public posts", "legitimate_interests", date(2027, 12, 1))


def test_a_complete_purpose_has_no_problems():
    assert problems(GOOD, TODAY) == []
    check(GOOD, TODAY)


def test_the_lawful_basis_is_one_of_the_six_in_article_6():
    assert len(LAWFUL_BASES) == 6
    found = problems(PurposeTerms("P", "d", "because", date(2027, 1, 1)), TODAY)
    assert found == ["lawful basis: 'because' is not one of " + ", ".join(LAWFUL_BASES)]


def test_every_missing_field_is_named():
    found = problems(PurposeTerms(" ", "", "consent", None), TODAY)
    assert [p.split(":")[0] for p in found] == ["name", "description", "review due"]


def test_a_review_date_in_the_past_is_refused():
    with pytest.raises(PurposeError, match="review due: 2026-12-04 is not in the future"):
        check(PurposeTerms("P", "d", "consent", TODAY), TODAY)


def test_probabilistic_matching_needs_a_dpia_reference_and_date():
    terms = PurposeTerms("P", "d", "legitimate_interests", date(2027, 1, 1), probabilistic=True)
    assert [p.split(":")[0] for p in problems(terms, TODAY)] == ["DPIA reference", "DPIA date"]
    ok = PurposeTerms("P", "d", "legitimate_interests", date(2027, 1, 1), True, "DPIA-7", date(2026, 11, 1))
    assert problems(ok, TODAY) == []


def test_a_dpia_dated_in_the_future_is_refused():
    terms = PurposeTerms("P", "d", "consent", date(2027, 1, 1), dpia_reference="D", dpia_date=date(2027, 1, 1))
    assert problems(terms, TODAY) == ["DPIA date: 2027-01-01 is in the future"]


def test_the_author_may_not_approve_their_own_version():
    assert (
        approval_problem("olivia", "olivia", False, False)
        == "olivia wrote this version: a second person must approve it"
    )
    assert approval_problem("olivia", "oscar", False, False) is None
    assert approval_problem("olivia", "oscar", True, False) == "this version is already approved"
    assert approval_problem("olivia", "oscar", False, True) == "the purpose is retired: record a new one instead"


def _standing(**kw: object) -> Standing:
    base: dict[str, object] = {"name": "P", "version": 2, "retired": False, "review_due": date(2027, 1, 1)}
    return Standing(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("standing", "reason"),
    [
        (None, "no purpose is recorded"),
        (_standing(version=None), "purpose 'P' is not approved"),
        (_standing(retired=True), "purpose 'P' is retired"),
        (_standing(review_due=date(2026, 12, 3)), "purpose 'P' is past its review date (2026-12-03)"),
    ],
)
def test_nothing_runs_under_a_missing_unapproved_retired_or_overdue_purpose(standing, reason):
    assert (refusal(standing, TODAY) or "").startswith(reason)


def test_probabilistic_matching_needs_a_purpose_that_covers_it_with_a_dpia():
    assert refusal(_standing(), TODAY) is None
    assert refusal(_standing(), TODAY, probabilistic=True) == "purpose 'P' does not cover probabilistic matching"
    covers = _standing(probabilistic=True)
    assert refusal(covers, TODAY, probabilistic=True) == "purpose 'P' has no DPIA reference for probabilistic matching"
    assert refusal(_standing(probabilistic=True, dpia_reference="D-1"), TODAY, probabilistic=True) is None
