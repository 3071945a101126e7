"""Purposes and lawful basis: the pure rules (no Django), UK GDPR Art. 5(1)(b), 6, 30 and 35.

A purpose says why assay processes personal data and on which Art. 6 basis. It must be approved
by a second person before anything collects under it, carry a DPIA reference when it covers
probabilistic matching (high-risk processing, Art. 35), be reviewed by its due date, and stops
everything once retired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# UK GDPR Art. 6(1)(a)-(f), as stored value -> label.
LAWFUL_BASES: dict[str, str] = {
    "consent": "Art. 6(1)(a) consent",
    "contract": "Art. 6(1)(b) contract",
    "legal_obligation": "Art. 6(1)(c) legal obligation",
    "vital_interests": "Art. 6(1)(d) vital interests",
    "public_task": "Art. 6(1)(e) public task",
    "legitimate_interests": "Art. 6(1)(f) legitimate interests",
}

DEFAULT_PURPOSE = "Conduct review under the published rulebook"
DEFAULT_DESCRIPTION = (
    "Reviewing members' public posts against the organisation's published conduct rulebook, "
    "so that breaches can be decided fairly by trained reviewers with a right of appeal."
)
DEFAULT_BASIS = "legitimate_interests"


class PurposeError(ValueError):
    """A purpose is invalid, cannot be approved, or is not in force."""


@dataclass(frozen=True)
class PurposeTerms:
    """What a person writes down for a purpose (one version of it)."""

    name: str
    description: str
    lawful_basis: str
    review_due: date | None
    probabilistic: bool = False
    dpia_reference: str = ""
    dpia_date: date | None = None


def problems(terms: PurposeTerms, today: date) -> list[str]:
    """Every reason ``terms`` cannot be recorded, each naming the field; empty when valid."""
    found: list[str] = []
    if not terms.name.strip():
        found.append("name: a purpose needs a name")
    if not terms.description.strip():
        found.append("description: say what the processing is for")
    if terms.lawful_basis not in LAWFUL_BASES:
        found.append(f"lawful basis: {terms.lawful_basis!r} is not one of {', '.join(LAWFUL_BASES)}")
    if terms.review_due is None:
        found.append("review due: a purpose needs a date by which it is reviewed")
    elif terms.review_due <= today:
        found.append(f"review due: {terms.review_due.isoformat()} is not in the future")
    if terms.probabilistic and not terms.dpia_reference.strip():
        found.append("DPIA reference: probabilistic matching is high-risk processing and needs a DPIA (Art. 35)")
    if terms.probabilistic and terms.dpia_date is None:
        found.append("DPIA date: give the date the DPIA was completed")
    if terms.dpia_date is not None and terms.dpia_date > today:
        found.append(f"DPIA date: {terms.dpia_date.isoformat()} is in the future")
    return found


def check(terms: PurposeTerms, today: date) -> None:
    """Raise :class:`PurposeError` listing every problem with ``terms``."""
    found = problems(terms, today)
    if found:
        raise PurposeError("; ".join(found))


def approval_problem(created_by: str, approver: str, approved: bool, retired: bool) -> str | None:
    """Why ``approver`` may not approve this version, or None."""
    if retired:
        return "the purpose is retired: record a new one instead"
    if approved:
        return "this version is already approved"
    if approver == created_by:
        return f"{approver} wrote this version: a second person must approve it"
    return None


@dataclass(frozen=True)
class Standing:
    """The state of a purpose's newest approved version, for deciding whether work may run under it."""

    name: str
    version: int | None  # None: no version approved
    retired: bool
    review_due: date | None
    probabilistic: bool = False
    dpia_reference: str = ""


def refusal(standing: Standing | None, today: date, *, probabilistic: bool = False) -> str | None:
    """Why nothing may run under this purpose (or probabilistic matching, if asked), or None."""
    if standing is None:
        return "no purpose is recorded"
    label = f"purpose {standing.name!r}"
    if standing.retired:
        return f"{label} is retired"
    if standing.version is None:
        return f"{label} is not approved: a second person must approve it (assay purposes approve)"
    if standing.review_due is None or standing.review_due < today:
        due = standing.review_due.isoformat() if standing.review_due else "never set"
        return f"{label} is past its review date ({due}): record and approve a reviewed version"
    if probabilistic and not standing.probabilistic:
        return f"{label} does not cover probabilistic matching"
    if probabilistic and not standing.dpia_reference.strip():
        return f"{label} has no DPIA reference for probabilistic matching"
    return None
