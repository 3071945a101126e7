"""Review's personal data: cases and decisions about a member, and the holds they put on everything else.

Legal holds, as a data-protection officer would set them:

- an open case (any state but closed) holds its subject's data and its evidence until it closes;
- a closed case with a signed-off adverse outcome holds for ``ASSAY_RETENTION_ADVERSE_CASE_DAYS``
  after closing (default six years: the limitation period for a claim about the decision), and is
  never purged inside ``ASSAY_RETENTION_APPEAL_WINDOW_DAYS``;
- any other closed case (no breach, not the member's account, merged, or an adverse decision an
  appeal overturned) is kept ``ASSAY_RETENTION_NO_BREACH_CASE_DAYS``; a member's erasure request
  ends it early;
- a case whose member's appeal window (``ASSAY_APPEAL_DAYS`` from the notice reaching them) is
  still open, or with an appeal not yet decided, is held whatever its age: the member must be able
  to see and answer the evidence. (A notice never sent holds nothing beyond the case's own window.)

An expired case goes with its decisions (and anything else declared ``of_cases``), its hits that
are in no other case, and the text of their posts (purged: id, times and sha256 stay).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from criteria.models import Hit
from evidence.models import Account, Post
from evidence.personal_data import purge_posts
from oversight.privacy import (
    Category,
    Hold,
    RetentionRule,
    Scope,
    erase_case_dependants,
    register_addresses_of,
    register_category,
    register_held_rows,
    register_member_hold,
    register_retention,
    staff_as_roles,
    without_held,
)
from register.personal_data import shares_address
from review.models import Appeal, Case, Conflict, Decision, EvidencePack, Notice, SecondLook
from review.workflow import ADVERSE, APPEAL_OUTCOME_LABELS, OUTCOME_LABELS, AppealOutcome, AppealState, Outcome, State

_CHUNK = 500  # cases per step: their hits and posts stay well under any IN (...) limit


def _days(name: str) -> timedelta:
    return timedelta(days=int(getattr(settings, name)))


def _adverse_case_ids() -> QuerySet[Any, Any]:
    adverse = [o.value for o in ADVERSE]
    return Decision.objects.standing().filter(outcome__in=adverse, signed_off_at__isnull=False).values("case_id")


def _closed_adverse() -> QuerySet[Case]:
    return Case.objects.filter(state=State.CLOSED.value, pk__in=_adverse_case_ids())


def _closed_other() -> QuerySet[Case]:
    return Case.objects.filter(state=State.CLOSED.value).exclude(pk__in=_adverse_case_ids())


def _live_cases(now: datetime) -> QuerySet[Case]:
    """Cases not yet past their retention: open, or closed within their window."""
    adverse_since = now - _days("RETENTION_ADVERSE_CASE_DAYS")
    other_since = now - _days("RETENTION_NO_BREACH_CASE_DAYS")
    return (
        Case.objects.exclude(state=State.CLOSED.value)
        | _closed_adverse().filter(closed_at__gte=adverse_since)
        | _closed_other().filter(closed_at__gte=other_since)
    )


def _in_appeal_window(now: datetime) -> QuerySet[Case]:
    return _closed_adverse().filter(closed_at__gte=now - _days("RETENTION_APPEAL_WINDOW_DAYS"))


def _answer_pending(now: datetime) -> QuerySet[Case]:
    """Cases the member may still answer: their appeal window is open, or their appeal is undecided."""
    unanswered = Notice.objects.filter(appeal_due_at__gt=now, appeal__isnull=True).values("decision__case_id")
    undecided = Appeal.objects.exclude(state=AppealState.DECIDED.value).values("notice__decision__case_id")
    return Case.objects.filter(Q(pk__in=unanswered) | Q(pk__in=undecided))


def _cases_of(scope: Scope) -> QuerySet[Case]:
    return Case.objects.filter(Q(member_id=scope.member_id) | Q(account_id__in=scope.account_ids))


def expire_cases(cases: QuerySet[Case]) -> int:
    """Delete the cases, what hangs off them, their hits in no other case; purge those posts."""
    ids = list(cases.values_list("pk", flat=True))
    now = timezone.now()
    with transaction.atomic():
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            hit_ids = list(Case.hits.through.objects.filter(case_id__in=chunk).values_list("hit_id", flat=True))
            erase_case_dependants(chunk)
            Case.objects.filter(pk__in=chunk).delete()
            orphans = Hit.objects.filter(pk__in=hit_ids, cases__isnull=True)
            post_ids = list(orphans.values_list("post_id", flat=True))
            orphans.delete()
            purge_posts(without_held(Post.objects.filter(pk__in=post_ids, hits__isnull=True), now))
    return len(ids)


def member_holds(scope: Scope, now: datetime) -> list[Hold]:
    holds = [
        Hold(f"case #{pk} is {state.replace('_', ' ')}", None)
        for pk, state in _cases_of(scope).exclude(state=State.CLOSED.value).values_list("pk", "state")
    ]
    adverse_days, appeal_days = _days("RETENTION_ADVERSE_CASE_DAYS"), _days("RETENTION_APPEAL_WINDOW_DAYS")
    for pk, closed_at in _cases_of(scope).filter(pk__in=_closed_adverse()).values_list("pk", "closed_at"):
        if closed_at is None:  # a closed case always has closed_at; nothing to hold by otherwise
            continue
        if closed_at + appeal_days > now:
            holds.append(Hold(f"case #{pk}: adverse outcome within its appeal window", closed_at + appeal_days))
        if closed_at + adverse_days > now:
            what = f"case #{pk}: adverse outcome kept for ASSAY_RETENTION_ADVERSE_CASE_DAYS after closing"
            holds.append(Hold(what, closed_at + adverse_days))
    for notice in Notice.objects.of_cases(_cases_of(scope)).select_related("decision", "appeal"):
        appeal = getattr(notice, "appeal", None)
        if appeal is None and notice.appeal_due_at is not None and notice.appeal_due_at > now:
            holds.append(Hold(f"case #{notice.case_id}: the member's window to appeal", notice.appeal_due_at))
        if appeal is not None and appeal.state != AppealState.DECIDED.value:
            holds.append(Hold(f"appeal #{appeal.pk} on case #{notice.case_id} is {appeal.state}", None))
    return holds


def _export_cases(cases: QuerySet[Case]) -> list[dict[str, Any]]:
    rows = list(cases.select_related("account").prefetch_related("hits__rule").order_by("opened_at", "pk"))
    roles = staff_as_roles(c.assigned_to_id for c in rows)
    return [
        {
            "case": case.pk,
            "about": "the member" if case.member_id else f"the account {case.account}",
            "state": case.get_state_display(),
            "severity": case.severity_label,
            "opened_at": case.opened_at,
            "due_at": case.due_at,
            "closed_at": case.closed_at,
            "assigned_to": roles.get(case.assigned_to_id) if case.assigned_to_id else None,
            "rules": sorted({hit.rule.code for hit in case.hits.all()}),
            "posts": sorted({hit.post_id for hit in case.hits.all()}),
        }
        for case in rows
    ]


def _export_decisions(decisions: QuerySet[Decision]) -> list[dict[str, Any]]:
    rows = list(decisions.order_by("decided_at", "pk"))
    roles = staff_as_roles(u for d in rows for u in (d.reviewer_id, d.signed_off_by_id, d.sent_back_by_id))
    return [
        {
            "case": d.case_id,
            "outcome": OUTCOME_LABELS[Outcome(d.outcome)],
            "reason": d.reason,
            "decided_at": d.decided_at,
            "decided_by": roles[d.reviewer_id],
            "signed_off_by": roles.get(d.signed_off_by_id) if d.signed_off_by_id else None,
            "signed_off_at": d.signed_off_at,
            "sent_back_by": roles.get(d.sent_back_by_id) if d.sent_back_by_id else None,
            "sent_back_at": d.sent_back_at,
            "sent_back_reason": d.sent_back_reason,
        }
        for d in rows
    ]


def _export_notices(notices: QuerySet[Notice]) -> list[dict[str, Any]]:
    rows = list(notices.select_related("decision").order_by("drafted_at", "pk"))
    roles = staff_as_roles(n.sent_by_id for n in rows)
    return [
        {
            "case": n.case_id,
            "status": n.get_status_display(),
            "outcome": n.outcome_label,
            "reasons": n.reasons,
            "rules": n.clauses,
            "evidence": n.evidence,
            "drafted_at": n.drafted_at,
            "sent_at": n.sent_at,
            "sent_by": roles.get(n.sent_by_id) if n.sent_by_id else None,
            "sent_to": n.email,
            "posted_at": n.posted_at,
            "appeal_until": n.appeal_due_at,
            "first_viewed_at": n.first_viewed_at,
            "last_viewed_at": n.last_viewed_at,
            "views": n.views,
        }
        for n in rows
    ]


def _export_appeals(appeals: QuerySet[Appeal]) -> list[dict[str, Any]]:
    rows = list(appeals.select_related("notice__decision").order_by("received_at", "pk"))
    roles = staff_as_roles(u for a in rows for u in (a.recorded_by_id, a.assigned_to_id, a.decided_by_id))
    return [
        {
            "case": a.case_id,
            "grounds": a.grounds,
            "contact_preference": a.get_contact_preference_display(),
            "contact_detail": a.contact_detail,
            "received_at": a.received_at,
            "received_via": a.get_received_via_display(),
            "recorded_by": roles.get(a.recorded_by_id) if a.recorded_by_id else None,
            "state": a.state,
            "due_at": a.due_at,
            "decided_by": roles.get(a.decided_by_id) if a.decided_by_id else None,
            "outcome": APPEAL_OUTCOME_LABELS[AppealOutcome(a.outcome)] if a.outcome else None,
            "reason": a.reason,
            "decided_at": a.decided_at,
        }
        for a in rows
    ]


def _export_packs(packs: QuerySet[EvidencePack]) -> list[dict[str, Any]]:
    rows = list(packs.order_by("built_at", "pk"))
    roles = staff_as_roles(p.built_by_id for p in rows)
    return [
        {
            "case": p.case_id,
            "built_at": p.built_at,
            "built_by": roles.get(p.built_by_id) if p.built_by_id else "the server (command line)",
            "sha256": p.sha256,
            "size": p.size,
        }
        for p in rows
    ]


def _addresses(member_id: int, only_theirs: bool) -> list[str]:
    """Where notices (and so appeal results) about the member were emailed, if it has changed since.

    ``only_theirs``: not an address another member has, or that notices about another member went to.
    """
    notices = Notice.objects.filter(decision__case__member_id=member_id).exclude(email="")
    found = set(notices.values_list("email", flat=True))
    if not only_theirs:
        return sorted(found)
    about_others = Notice.objects.exclude(decision__case__member_id=member_id).filter(email__in=found)
    shared = {e.lower() for e in about_others.values_list("email", flat=True)}
    return sorted(e for e in found if e.lower() not in shared and not shares_address(e, member_id))


register_member_hold(member_holds)
register_addresses_of(_addresses)
register_held_rows(Case, _answer_pending)
register_held_rows(Post, lambda now: Post.objects.filter(hits__cases__in=_live_cases(now)))
register_held_rows(Case, _in_appeal_window)
register_held_rows(Account, lambda now: Account.objects.filter(cases__in=_live_cases(now)))


def _export_conflicts(conflicts: QuerySet[Conflict]) -> list[dict[str, Any]]:
    rows = list(conflicts.order_by("declared_at", "pk"))
    roles = staff_as_roles(c.person_id for c in rows)
    return [
        {"declared_at": c.declared_at, "declared_by": roles[c.person_id], "case": c.case_id, "reason": c.reason}
        for c in rows
    ]


register_category(
    Category(
        key="review.conflict",
        label="conflicts of interest staff declared with the member (they step aside from the member's cases)",
        retention="kept while the member is on the register, so they keep stepping aside; deleted on erasure",
        rows=lambda scope: Conflict.objects.filter(Q(member_id=scope.member_id) | Q(account_id__in=scope.account_ids)),
        export=_export_conflicts,
        erase_order=5,
    )
)
register_category(
    Category(
        key="review.case",
        label="review cases",
        retention=(
            "open cases are kept; closed adverse cases ASSAY_RETENTION_ADVERSE_CASE_DAYS, "
            "other closed cases ASSAY_RETENTION_NO_BREACH_CASE_DAYS after closing"
        ),
        rows=_cases_of,
        export=_export_cases,
        erase=expire_cases,
        erase_order=10,
    )
)
register_category(
    Category(
        key="review.decision",
        label="decisions, with reasons",
        retention="kept with their case",
        rows=lambda scope: Decision.objects.filter(case__in=_cases_of(scope)),
        export=_export_decisions,
        erase_order=5,
        of_cases=lambda case_ids: Decision.objects.filter(case_id__in=case_ids),
    )
)
register_category(
    Category(
        key="review.notice",
        label="notices sent to the member, with the evidence they showed",
        retention="kept with their case",
        rows=lambda scope: Notice.objects.of_cases(_cases_of(scope)),
        export=_export_notices,
        erase_order=4,
        of_cases=lambda case_ids: Notice.objects.of_cases(case_ids),
    )
)
register_category(
    Category(
        key="review.appeal",
        label="the member's appeals and their results",
        retention="kept with their case",
        rows=lambda scope: Appeal.objects.of_cases(_cases_of(scope)),
        export=_export_appeals,
        erase_order=3,
        of_cases=lambda case_ids: Appeal.objects.of_cases(case_ids),
    )
)
register_category(
    Category(
        key="review.evidence_pack",
        label="evidence packs built about the member for the disciplinary panel",
        retention="the record of each build is kept with its case; assay keeps no copy of the pack itself",
        rows=lambda scope: EvidencePack.objects.filter(case__in=_cases_of(scope)),
        export=_export_packs,
        erase_order=2,
        of_cases=lambda case_ids: EvidencePack.objects.filter(case_id__in=case_ids),
    )
)


def _export_second_looks(looks: QuerySet[SecondLook]) -> list[dict[str, Any]]:
    rows = list(looks.select_related("decision").order_by("selected_at", "pk"))
    roles = staff_as_roles(u for look in rows for u in (look.decision.reviewer_id, look.looked_by_id))
    return [
        {
            "case": look.case_id,
            "decision": OUTCOME_LABELS[Outcome(look.decision.outcome)],
            "decided_by": roles[look.decision.reviewer_id],
            "selected_at": look.selected_at,
            "looked_by": roles.get(look.looked_by_id) if look.looked_by_id else None,
            "looked_at": look.looked_at,
            "agrees": look.agrees,
            "note": look.note,
            "posts_put_in_case": look.reopened_case_id,
        }
        for look in rows
    ]


register_category(
    Category(
        key="review.second_look",
        label="second looks a lead took at decisions that found no breach",
        retention="kept with their case",
        rows=lambda scope: SecondLook.objects.filter(case__in=_cases_of(scope)),
        export=_export_second_looks,
        erase_order=4,
        of_cases=lambda case_ids: SecondLook.objects.filter(case_id__in=case_ids),
    )
)
register_retention(
    RetentionRule(
        key="review.closed_cases",
        label="closed cases without an adverse outcome, and their evidence",
        setting="RETENTION_NO_BREACH_CASE_DAYS",
        candidates=lambda cutoff: _closed_other().filter(closed_at__lt=cutoff),
        apply=expire_cases,
        action="deleted",
        order=10,
    )
)
register_retention(
    RetentionRule(
        key="review.adverse_cases",
        label="closed cases with an adverse outcome, and their evidence",
        setting="RETENTION_ADVERSE_CASE_DAYS",
        candidates=lambda cutoff: _closed_adverse().filter(closed_at__lt=cutoff),
        apply=expire_cases,
        action="deleted",
        order=11,
    )
)
