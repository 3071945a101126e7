"""Retention, enforced: every declared rule's rows past their window are purged or deleted, except held ones.

Dry run by default. An applied run is one audit event with counts per rule (never contents), and
running it again changes nothing: purged rows are marked, deleted rows are gone. Audit events
themselves are kept: they hold ids, counts and outcomes, not posts or register details.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from oversight.privacy import RetentionRule, registry, without_held, without_member_holds
from oversight.services import record


class RetentionSettingError(ValueError):
    """A retention window is not a positive number of days."""


@dataclass
class RuleResult:
    rule: RetentionRule
    days: int
    cutoff: datetime
    due: int = 0  # past the window and not held
    held: int = 0  # past the window but held (open case, appeal window, awaiting triage)
    done: int = 0  # purged or deleted by this run (0 on a dry run)


def _window(rule: RetentionRule) -> int:
    days = int(getattr(settings, rule.setting))
    if days < 1:
        raise RetentionSettingError(f"ASSAY_{rule.setting}={days}: a retention window must be at least 1 day")
    return days


def rules() -> list[RetentionRule]:
    return sorted(registry.rules.values(), key=lambda r: (r.order, r.key))


def run_retention(
    *,
    apply: bool,
    actor: Any = None,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[RuleResult]:
    """Count (and with ``apply``, purge) what each retention rule finds past its window."""
    now = now or timezone.now()
    results = [RuleResult(rule, _window(rule), now - timedelta(days=_window(rule))) for rule in rules()]
    for i, result in enumerate(results, 1):
        with transaction.atomic():
            candidates = result.rule.candidates(result.cutoff)
            if isinstance(candidates, list):  # files: nothing holds them
                due: QuerySet[Any] | list[Any] = candidates
                result.due = len(candidates)
            else:
                due = without_held(candidates, now)
                if result.rule.member_holds:
                    due = without_member_holds(due, now)
                result.due = due.count()
                result.held = candidates.count() - result.due
            if apply and result.due:
                result.done = result.rule.apply(due)
        if progress is not None:
            progress(i)
    if apply:
        record(
            "retention.applied",
            actor=actor,
            object_type="retention",
            counts={r.rule.key: {"due": r.due, "held": r.held, r.rule.action: r.done} for r in results},
        )
    return results
