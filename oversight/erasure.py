"""Erasure (UK GDPR Art. 17) through the personal-data registry, refused while a hold applies.

Every declared category erases its rows about the member, dependants first: copies of email
sent to them in the outbox (found by their addresses before the register record loses them),
decisions and expired cases, hits, links and rejected pairs, identifiers, the posts, observed handles and
profiles of accounts linked to nobody else, and last the register record (anonymised). Holds
(an open case, an adverse outcome inside its appeal window or retention) refuse the erasure with
what holds and until when; the member can be restricted instead. The audit chain is never
rewritten: the erasure is one more event, with counts and the operator's reason, not names.

Files are not transactional: outbox files go first, inside the transaction; should the rows then
fail to erase, the files stay gone and running the erasure again finishes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from oversight.privacy import (
    Category,
    FileCategory,
    Hold,
    Scope,
    categories,
    counts,
    file_categories,
    holds_on,
    scope_of,
)
from oversight.services import record

MIN_REASON_LENGTH = 10


class ErasureError(ValueError):
    """The erasure request itself is wrong (no reason, already erased)."""


class ErasureRefused(Exception):
    """Holds apply: the member's data must be kept for now."""

    def __init__(self, plan: ErasurePlan) -> None:
        self.plan = plan
        listed = "; ".join(str(h) for h in plan.holds)
        super().__init__(f"erasure refused: {len(plan.holds)} hold(s) apply: {listed}")


@dataclass
class ErasurePlan:
    member_id: int
    scope: Scope
    holds: list[Hold]
    rows: list[tuple[Category | FileCategory, int]]
    done: dict[str, int] = field(default_factory=dict)


def plan_erasure(member_id: int) -> ErasurePlan:
    """What erasing the member would remove, and what holds stop it."""
    scope = scope_of(member_id, only_theirs=True)
    now = timezone.now()
    return ErasurePlan(member_id, scope, holds_on(scope, now), counts(scope))


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise ErasureError(
            f"give a reason of at least {MIN_REASON_LENGTH} characters (a request reference, not a name)"
        )
    return reason


def erase_member(member_id: int, *, reason: str, actor: Any = None, apply: bool = False) -> ErasurePlan:
    """Erase the member's personal data (``apply``), or say what would go; raises ErasureRefused on holds."""
    reason = check_reason(reason)
    with transaction.atomic():
        plan = plan_erasure(member_id)
        if plan.holds:
            raise ErasureRefused(plan)
        if not apply:
            return plan
        plan.done = {f.key: f.erase(plan.scope) for f in file_categories()}
        plan.done |= {c.key: c.erase_for(plan.scope) for c in categories()}
        record(
            "member.erased",
            actor=actor,
            object_type="register.member",
            object_id=member_id,
            reason=reason,
            counts=plan.done,
            accounts=len(plan.scope.account_ids),
        )
    return plan
