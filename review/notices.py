"""Notices to members and their appeals: the verbs that draft, send and answer them.

A notice is drafted when a lead signs off an adverse decision about a member, from the case as
it then stood (outcome, reasons, the rulebook clauses the evidence hit, each post as collected
with its sha256, and how the account was linked to the member). An operator or lead sends it:
by email with a link to the member's page, or, for a member without an email address, as a
printed letter carrying the same link. Only the sha256 of a link's token is stored.

An appeal is received from the member's page (or recorded for the member by staff) while the
window is open, and decided by a lead independent of the decision (see :mod:`review.workflow`).
Every step appends an audit event; every view of a notice or appeal is one too.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from linkage.models import Link
from oversight.roles import Role, has_role
from oversight.services import record
from review import workflow
from review.models import Appeal, Case, Conflict, Decision, Notice, update_versioned
from review.workflow import APPEAL_OUTCOME_LABELS, AppealOutcome, AppealState, Outcome

logger = logging.getLogger(__name__)

# The audit's name for whoever runs `assay notices` on the server (they hold the server, so they may send).
CLI_ACTOR = "cli"


class NoticeError(Exception):
    """A step the notice and appeal rules forbid; the message is meant for the person who tried it."""


class StaleAppealError(NoticeError):
    def __init__(self) -> None:
        super().__init__("the appeal changed since you opened it; reload it and try again")


@dataclass(frozen=True)
class Sent:
    """What sending (or reissuing) did: the notice, how it goes to the member, and the link in it."""

    notice: Notice
    by_post: bool
    link: str  # shown once, to print on the letter; never stored


# ---------------------------------------------------------------------------------------------
# drafting


def _clauses(case: Case) -> list[dict[str, str]]:
    rules = case.hits.values_list("rule__code", "rule__title", "rule__clause").distinct().order_by("rule__code")
    return [{"code": code, "title": title, "clause": clause} for code, title, clause in rules]


def _linked_by(links: dict[int, Link], account_id: int | None) -> dict[str, Any]:
    link = links.get(account_id) if account_id is not None else None
    if link is None:
        return {"method": ""}
    reviewed = link.reviewed_at.isoformat() if link.reviewed_at else ""
    return {"method": link.method, "probability": link.probability, "confirmed_at": reviewed}


def _evidence(case: Case) -> list[dict[str, Any]]:
    """Each post of the case as collected, with the rules it hit and how its account is the member's."""
    hits = case.hits.select_related("post__account", "rule").order_by("post__created_at", "post_id", "rule__code")
    confirmed = Link.objects.filter(member=case.member, status=Link.Status.CONFIRMED)
    links = {link.account_id: link for link in confirmed}
    posts: dict[int, dict[str, Any]] = {}
    for hit in hits:
        post = hit.post
        item = posts.get(post.pk)
        if item is None:
            item = posts[post.pk] = {
                "text": post.text,
                "url": post.url,
                "platform": post.get_platform_display(),
                "account": str(post.account) if post.account else "",
                "posted_at": post.created_at.isoformat() if post.created_at else "",
                "sha256": post.sha256,
                "deleted_at": post.deleted_at.isoformat() if post.deleted_at else "",
                "rules": [],
                "linked_by": _linked_by(links, post.account_id),
            }
        if hit.rule.code not in item["rules"]:
            item["rules"].append(hit.rule.code)
    return list(posts.values())


def draft_notice(decision: Decision, *, actor: Any) -> Notice | None:
    """The draft notice of a signed-off adverse decision about a member (None: nobody to notify)."""
    case = decision.case
    if case.member_id is None or not workflow.is_adverse(Outcome(decision.outcome)):
        return None
    with transaction.atomic():
        notice = Notice.objects.create(
            decision=decision,
            outcome=decision.outcome,
            reasons=decision.reason,
            clauses=_clauses(case),
            evidence=_evidence(case),
            appeal_days=settings.APPEAL_DAYS,
            appeal_contact=settings.APPEAL_CONTACT,
            drafted_at=timezone.now(),
        )
        record(
            "notice.drafted", actor=actor, obj=notice, case=case.pk, decision=decision.pk, posts=len(notice.evidence)
        )
    return notice


# ---------------------------------------------------------------------------------------------
# links


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def member_url(token: str) -> str:
    return settings.PUBLIC_URL.rstrip("/") + reverse("notice-member", kwargs={"token": token})


def _new_token(notice: Notice, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    notice.token_hash = hash_token(token)
    notice.token_expires_at = now + timedelta(days=settings.NOTICE_LINK_DAYS)
    return token


def notice_for_token(token: str) -> Notice | None:
    """The notice a member's link opens, or None when the token is unknown or expired."""
    if not token or len(token) > 100:
        return None
    return (
        Notice.objects.select_related("decision__case__member")
        .filter(token_hash=hash_token(token), token_expires_at__gt=timezone.now())
        .first()
    )


def _locked(notice: Notice) -> Notice:
    """``notice`` re-read and locked for an update, with its decision, case and member (the decision's)."""
    return Notice.objects.select_for_update(of=("self",)).select_related("decision__case__member").get(pk=notice.pk)


def _require_staff(actor: Any, what: str) -> None:
    if actor == CLI_ACTOR:
        return
    if not has_role(actor, Role.OPERATOR, Role.LEAD):
        raise NoticeError(f"only operators and leads {what}")


# ---------------------------------------------------------------------------------------------
# sending


def _email_notice(notice: Notice, token: str, *, reissued: bool = False) -> None:
    context = {"notice": notice, "member": notice.member, "link": member_url(token), "reissued": reissued}
    body = render_to_string("review/email/notice.txt", context)
    subject = "Your new link to the conduct notice" if reissued else "A decision about your conduct as a member"
    try:
        send_mail(subject, body, None, [notice.email])
    except (OSError, smtplib.SMTPException) as exc:  # the caller's transaction rolls back: nothing is marked sent
        raise NoticeError(f"the email to {notice.email} could not be sent ({exc}); nothing was changed") from exc


def send_notice(notice: Notice, *, actor: Any) -> Sent:
    """Send a draft: by email with the member's link, or mark it for post when there is no address.

    The email goes out inside the transaction: if the mail server refuses it, nothing is marked sent.
    """
    _require_staff(actor, "send notices")
    with transaction.atomic():
        notice = _locked(notice)
        if notice.status != Notice.Status.DRAFT:
            raise NoticeError(f"notice {notice.pk} was already {notice.get_status_display()}")
        now = timezone.now()
        token = _new_token(notice, now)
        notice.sent_at, notice.sent_by = now, None if actor == CLI_ACTOR else actor
        notice.email = notice.member.email
        if notice.email:
            notice.status = Notice.Status.SENT
            notice.appeal_due_at = workflow.appeal_deadline(now, notice.appeal_days)
        else:
            notice.status = Notice.Status.TO_POST  # the window opens when it is posted
        notice.save()
        record("notice.sent", actor=actor, obj=notice, case=notice.case_id, by="email" if notice.email else "post")
        if notice.email:
            _email_notice(notice, token)
    return Sent(notice, notice.by_post, member_url(token))


def mark_posted(notice: Notice, *, actor: Any) -> Notice:
    """The printed notice went in the post: the appeal window opens now."""
    _require_staff(actor, "mark notices posted")
    with transaction.atomic():
        notice = _locked(notice)
        if notice.status != Notice.Status.TO_POST:
            raise NoticeError(f"notice {notice.pk} is {notice.get_status_display()}, not waiting to be posted")
        now = timezone.now()
        notice.status, notice.posted_at = Notice.Status.POSTED, now
        notice.appeal_due_at = workflow.appeal_deadline(now, notice.appeal_days)
        notice.save(update_fields=["status", "posted_at", "appeal_due_at"])
        record("notice.posted", actor=actor, obj=notice, case=notice.case_id)
    return notice


def reissue_link(notice: Notice, *, actor: Any) -> Sent:
    """A new link for the member (emailed, or to print); the old one stops working at once."""
    _require_staff(actor, "reissue links")
    with transaction.atomic():
        notice = _locked(notice)
        if notice.status == Notice.Status.DRAFT:
            raise NoticeError(f"notice {notice.pk} is a draft: send it first")
        token = _new_token(notice, timezone.now())
        notice.save(update_fields=["token_hash", "token_expires_at"])
        by = "post" if notice.by_post else "email"
        record("notice.link_reissued", actor=actor, obj=notice, case=notice.case_id, by=by)
        if not notice.by_post:
            _email_notice(notice, token, reissued=True)
    return Sent(notice, notice.by_post, member_url(token))


def send_all_drafts(*, actor: Any) -> list[Sent]:
    """Send every draft, oldest first."""
    return [send_notice(n, actor=actor) for n in Notice.objects.filter(status=Notice.Status.DRAFT).order_by("pk")]


# ---------------------------------------------------------------------------------------------
# views (audited)


def record_member_view(notice: Notice) -> None:
    """The member opened their link. The audit names the notice, never the token."""
    now = timezone.now()
    with transaction.atomic():
        Notice.objects.filter(pk=notice.pk, first_viewed_at__isnull=True).update(first_viewed_at=now)
        Notice.objects.filter(pk=notice.pk).update(last_viewed_at=now, views=F("views") + 1)
        record("notice.viewed", actor="member", obj=notice, case=notice.case_id)


def record_staff_view(notice: Notice, viewer: Any) -> None:
    with transaction.atomic():
        record("notice.staff_viewed", actor=viewer, obj=notice, case=notice.case_id, status=notice.status)


def record_appeal_viewed(appeal: Appeal, viewer: Any) -> None:
    with transaction.atomic():
        record("appeal.viewed", actor=viewer, obj=appeal, case=appeal.case_id, state=appeal.state)


# ---------------------------------------------------------------------------------------------
# appeals


def _transition(step: Any, *args: Any, **kwargs: Any) -> AppealState:
    try:
        result: AppealState = step(*args, **kwargs)
    except workflow.TransitionError as exc:
        raise NoticeError(str(exc)) from exc
    return result


def receive_appeal(
    notice: Notice,
    grounds: str,
    *,
    contact_preference: str = "",
    contact_detail: str = "",
    via: str = Appeal.Via.MEMBER_PAGE,
    recorded_by: Any = None,
) -> Appeal:
    """An appeal from the member's page, or one staff record for the member (a letter, a call)."""
    if via != Appeal.Via.MEMBER_PAGE:
        _require_staff(recorded_by, "record appeals on a member's behalf")
    with transaction.atomic():
        notice = _locked(notice)
        now = timezone.now()
        already = Appeal.objects.filter(notice=notice).exists()
        _transition(workflow.receive_appeal, notice.appeal_due_at, now, grounds, already_appealed=already)
        appeal = Appeal.objects.create(
            notice=notice,
            grounds=grounds.strip(),
            contact_preference=contact_preference,
            contact_detail=contact_detail.strip(),
            received_at=now,
            received_via=via,
            recorded_by=recorded_by,
            due_at=now + timedelta(days=settings.APPEAL_DECISION_DAYS),
        )
        actor = recorded_by if recorded_by is not None else "member"
        record("appeal.received", actor=actor, obj=appeal, case=appeal.case_id, notice=notice.pk, via=via)
    return appeal


def independence_problem(appeal: Appeal, lead: Any) -> str:
    """Why ``lead`` may not decide ``appeal`` ("" when they may)."""
    decision = appeal.decision
    sent_back = Decision.objects.filter(case_id=appeal.case_id, sent_back_by__isnull=False).values_list(
        "sent_back_by_id", flat=True
    )
    conflicted = Conflict.objects.about(decision.case).values_list("person_id", flat=True)
    return workflow.independence_problem(
        lead.pk,
        decider_id=decision.reviewer_id,
        signer_id=decision.signed_off_by_id,
        sent_back_ids=list(sent_back),
        conflicted_ids=list(conflicted),
    )


def _save(appeal: Appeal, expected_version: int, **changes: Any) -> None:
    if not update_versioned(appeal, expected_version, **changes):
        raise StaleAppealError()


def assign_appeal(appeal: Appeal, lead: Any, *, actor: Any, expected_version: int) -> Appeal:
    """Give the appeal to a lead who had no part in the decision. Operators and leads assign."""
    _require_staff(actor, "assign appeals")
    if not has_role(lead, Role.LEAD):
        raise NoticeError(f"{lead.username} is not a lead: appeals are decided by leads")
    with transaction.atomic():
        if appeal.version != expected_version:
            raise StaleAppealError()
        state = _transition(
            workflow.assign_appeal, AppealState(appeal.state), problem=independence_problem(appeal, lead)
        )
        _save(appeal, expected_version, state=state.value, assigned_to=lead, assigned_at=timezone.now())
        record("appeal.assigned", actor=actor, obj=appeal, case=appeal.case_id, lead=lead.username)
    return appeal


def _email_result(appeal: Appeal) -> None:
    notice = appeal.notice
    email = notice.member.email
    if not email:
        return  # staff see on the appeal's page that the result must go by post
    context = {"appeal": appeal, "notice": notice, "member": notice.member, "outcome": _outcome_label(appeal)}
    body = render_to_string("review/email/appeal_result.txt", context)
    try:
        send_mail("The result of your appeal", body, None, [email])
    except (OSError, smtplib.SMTPException) as exc:
        # The decision stands; the appeal's page says the result was not emailed, so staff write instead.
        logger.warning("appeal %s: the result email could not be sent: %s", appeal.pk, exc)
        return
    appeal.result_emailed_at = timezone.now()
    Appeal.objects.filter(pk=appeal.pk).update(result_emailed_at=appeal.result_emailed_at)


def _outcome_label(appeal: Appeal) -> str:
    return APPEAL_OUTCOME_LABELS[AppealOutcome(appeal.outcome)] if appeal.outcome else ""


def decide_appeal(
    appeal: Appeal, lead: Any, outcome: AppealOutcome | str, reason: str, *, expected_version: int
) -> Appeal:
    """The assigned independent lead upholds the decision or allows the appeal (overturning it)."""
    outcome = AppealOutcome(outcome)
    with transaction.atomic():
        if appeal.version != expected_version:
            raise StaleAppealError()
        is_assignee = appeal.assigned_to_id is not None and appeal.assigned_to_id == lead.pk
        problem = independence_problem(appeal, lead) or ("" if has_role(lead, Role.LEAD) else "they are not a lead")
        state = _transition(
            workflow.decide_appeal, AppealState(appeal.state), reason, is_assignee=is_assignee, problem=problem
        )
        now = timezone.now()
        _save(
            appeal,
            expected_version,
            state=state.value,
            outcome=outcome.value,
            reason=reason.strip(),
            decided_by=lead,
            decided_at=now,
        )
        record("appeal.decided", actor=lead, obj=appeal, case=appeal.case_id, outcome=outcome.value)
        if outcome is AppealOutcome.ALLOWED:
            Decision.objects.filter(pk=appeal.decision_id).update(overturned_at=now, overturned_by=lead)
            record(
                "case.decision_overturned", actor=lead, obj=appeal.case, decision=appeal.decision_id, appeal=appeal.pk
            )
        _email_result(appeal)
    return appeal
