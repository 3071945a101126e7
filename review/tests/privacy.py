"""Helpers for the privacy tests: close cases through the real review services."""

from __future__ import annotations

from typing import Any

from review.models import Case
from review.services import record_decision, sign_off
from review.tests.world import assigned

REASON = "The posts were read in full against the rulebook clause cited."


def close_case(subject: Any, cast: dict[str, Any], outcome: str) -> Case:
    """Assign ``subject``'s open case to rita and decide it; adverse outcomes are signed off by lena."""
    case = assigned(subject, cast["rita"], by=cast["olivia"])
    record_decision(case, cast["rita"], outcome, REASON, expected_version=case.version)
    if outcome not in ("no_breach", "not_theirs"):
        sign_off(case, cast["lena"], expected_version=case.version)
    return Case.objects.get(pk=case.pk)
