"""Review services: triage hits into cases, and the reviewer verbs that move a case along.

Every verb runs inside ``transaction.atomic`` and appends an audit event. Verbs that two people
can race (assign, decide, sign off, send back) save with ``UPDATE ... WHERE version = expected``,
so the second one to act gets :class:`StaleCaseError` instead of silently overwriting the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone

from criteria.models import Hit, RuleSet
from linkage.models import Link
from linkage.services import LinkReviewError, confirm_link, reject_link
from oversight.roles import Role, has_role
from oversight.services import record
from register.models import Member
from review import notices, workflow
from review.models import Case, Conflict, Decision, SecondLook, update_versioned
from review.workflow import Outcome, State

# Ids per IN (...) list: well under SQLite's 32766 bound variables, small enough for any backend.
_CHUNK = 5000


class ReviewError(Exception):
    """A step the review rules forbid; the message is meant for the person who tried it."""


class StaleCaseError(ReviewError):
    """Someone else changed the case between the page being shown and the form being sent."""

    def __init__(self, message: str = "the case changed since you opened it; reload it and try again") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class TriageSummary:
    cases_opened: int = 0
    cases_updated: int = 0
    hits_added: int = 0
    hits_without_author: int = 0  # the platform withheld the author: no subject to open a case on
    hits_restricted: int = 0  # by accounts of restricted members: held back, no case (UK GDPR Art. 18)

    def __str__(self) -> str:
        text = f"{self.cases_opened} cases opened, {self.cases_updated} cases updated, {self.hits_added} hits added"
        if self.hits_without_author:
            text += f"; {self.hits_without_author} hits left out: their posts have no author account"
        if self.hits_restricted:
            text += f"; {self.hits_restricted} hits held back: their member's processing is restricted"
        return text


# ---------------------------------------------------------------------------------------------
# triage


@dataclass
class _Subject:
    """New hits for one member or one unlinked account."""

    member_id: int | None
    account_id: int | None
    severity: int
    hit_ids: list[int]


def _chunks(ids: Iterable[int], size: int = _CHUNK) -> Iterator[list[int]]:
    batch: list[int] = []
    for i in ids:
        batch.append(i)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _untriaged_hits() -> QuerySet[Hit]:
    """Hits in no case yet, from rule sets a second person approved."""
    return Hit.objects.filter(cases__isnull=True).exclude(ruleset__status=RuleSet.Status.DRAFT)


def _confirmed_members(hits: QuerySet[Hit]) -> dict[int, set[int]]:
    """account id -> members it has a confirmed link to, for the accounts behind ``hits``."""
    links = Link.objects.filter(
        status=Link.Status.CONFIRMED, account_id__in=hits.values("post__account_id")
    ).values_list("account_id", "member_id")
    members: dict[int, set[int]] = {}
    for account_id, member_id in links:
        members.setdefault(account_id, set()).add(member_id)
    return members


def restricted_accounts() -> QuerySet[Link, Any]:
    """The ``account_id``s confirmed to a restricted (or erased) member: their posts are not processed."""
    return (
        Link.objects.filter(status=Link.Status.CONFIRMED)
        .filter(Q(member__restricted_at__isnull=False) | Q(member__erased_at__isnull=False))
        .values("account_id")
    )


def _restricted_hits(hits: QuerySet[Hit]) -> QuerySet[Hit]:
    """Hits by accounts confirmed to a restricted (or erased) member: no case is opened or fed with them."""
    return hits.filter(post__account_id__in=restricted_accounts())


def _group_by_subject(hits: QuerySet[Hit]) -> tuple[dict[tuple[str, int], _Subject], int]:
    """New hits grouped per member (confirmed link) or per account (none, or ambiguous)."""
    members = _confirmed_members(hits)
    subjects: dict[tuple[str, int], _Subject] = {}
    without_author = 0
    rows = hits.values_list("id", "post__account_id", "rule__severity").order_by("id")
    for hit_id, account_id, severity in rows.iterator(chunk_size=_CHUNK):
        if account_id is None:
            without_author += 1
            continue
        linked = members.get(account_id, set())
        # Two confirmed members for one account is a conflict a person must resolve: keep it on the account.
        key = ("member", next(iter(linked))) if len(linked) == 1 else ("account", account_id)
        subject = subjects.get(key)
        if subject is None:
            member_id = key[1] if key[0] == "member" else None
            account = account_id if key[0] == "account" else None
            subject = subjects[key] = _Subject(member_id, account, severity, [])
        subject.severity = min(subject.severity, severity)
        subject.hit_ids.append(hit_id)
    return subjects, without_author


def _open_cases_for(subjects: dict[tuple[str, int], _Subject]) -> dict[tuple[str, int], tuple[int, int]]:
    """(kind, id) -> (case id, severity) of the non-closed case each subject already has."""
    found: dict[tuple[str, int], tuple[int, int]] = {}
    open_cases = Case.objects.exclude(state=State.CLOSED.value)
    for kind in ("member", "account"):
        ids = [key[1] for key in subjects if key[0] == kind]
        for batch in _chunks(ids):
            rows = open_cases.filter(**{f"{kind}_id__in": batch}).values_list(f"{kind}_id", "id", "severity")
            for subject_id, case_id, severity in rows:
                found[(kind, subject_id)] = (case_id, severity)
    return found


def _due(opened_at: datetime, severity: int) -> datetime:
    return opened_at + timedelta(days=settings.CASE_DEADLINE_DAYS[severity])


def _update_existing(updates: dict[int, int]) -> None:
    """Bump each case's version; raise severity (and pull in the deadline) where the new hit is worse."""
    for batch in _chunks(updates):
        Case.objects.filter(pk__in=batch).update(version=F("version") + 1)
    for severity in sorted(set(updates.values())):
        due = ExpressionWrapper(
            F("opened_at") + timedelta(days=settings.CASE_DEADLINE_DAYS[severity]), output_field=DateTimeField()
        )
        ids = [case_id for case_id, sev in updates.items() if sev == severity]
        for batch in _chunks(ids):
            Case.objects.filter(pk__in=batch, severity__gt=severity).update(severity=severity, due_at=due)


_TRIAGE_LOCK = 0x7472_6961_6765  # "triage": the PostgreSQL advisory lock key that serialises triage runs


def _one_triage_at_a_time() -> None:
    """Make a concurrent triage (the worker's and an operator's) wait for this one to commit.

    Otherwise both read the same untriaged hits and the second fails on the one-open-case
    constraint. On PostgreSQL a transaction-scoped advisory lock; SQLite transactions begin
    IMMEDIATE (settings), which already serialises writers.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_TRIAGE_LOCK])


def triage(*, actor: Any = None) -> TriageSummary:
    """Put every untriaged hit into a case: the open one for its member or account, else a new one.

    Set-based: a fixed number of queries per few thousand hits, whatever the total.
    Idempotent: a hit already in a case is never added again.
    """
    with transaction.atomic():
        _one_triage_at_a_time()
        restricted = _restricted_hits(_untriaged_hits())
        held_back = restricted.count()
        subjects, without_author = _group_by_subject(_untriaged_hits().exclude(pk__in=restricted.values("pk")))
        existing = _open_cases_for(subjects)
        now = timezone.now()
        new_keys = [key for key in subjects if key not in existing]
        new_cases = Case.objects.bulk_create(
            [
                Case(
                    member_id=subjects[key].member_id,
                    account_id=subjects[key].account_id,
                    severity=subjects[key].severity,
                    opened_at=now,
                    due_at=_due(now, subjects[key].severity),
                )
                for key in new_keys
            ],
            batch_size=1000,
        )
        case_of = {key: case.pk for key, case in zip(new_keys, new_cases, strict=True)}
        case_of.update({key: case_id for key, (case_id, _) in existing.items()})
        _update_existing({existing[key][0]: subjects[key].severity for key in existing})
        through = Case.hits.through
        links = [through(case_id=case_of[key], hit_id=h) for key, s in subjects.items() for h in s.hit_ids]
        through.objects.bulk_create(links, batch_size=_CHUNK)
        summary = TriageSummary(len(new_cases), len(existing), len(links), without_author, held_back)
        counts: dict[str, Any] = {
            "cases_opened": summary.cases_opened,
            "cases_updated": summary.cases_updated,
            "hits_added": summary.hits_added,
            "hits_without_author": summary.hits_without_author,
        }
        if summary.hits_restricted:
            counts["hits_restricted"] = summary.hits_restricted
        record("triage.run", actor=actor, **counts)
    return summary


# ---------------------------------------------------------------------------------------------
# reviewer verbs


def _save(case: Case, expected_version: int, **changes: Any) -> None:
    """Write ``changes`` only if nobody changed the case since ``expected_version``; bump the version."""
    if not update_versioned(case, expected_version, **changes):
        raise StaleCaseError()


def _check_fresh(case: Case, expected_version: int) -> None:
    """Fail early, with the clearer message, when the form was built from an older version."""
    if case.version != expected_version:
        raise StaleCaseError()


def _transition(step: Any, *args: Any, **kwargs: Any) -> State:
    try:
        result: State = step(*args, **kwargs)
    except workflow.TransitionError as exc:
        raise ReviewError(str(exc)) from exc
    return result


def _pending_decision(case: Case) -> Decision:
    decision = case.decisions.filter(signed_off_at__isnull=True, sent_back_at__isnull=True).last()
    if decision is None:  # the state says there is one; a missing row is corruption, not a user error
        raise ReviewError(f"{case} is awaiting sign-off but has no pending decision")
    return decision


def assign_case(case: Case, reviewer: Any, *, actor: Any, expected_version: int) -> Case:
    """Give the case to a reviewer (or a lead). Operators and leads assign (and `assay assign`, on the server)."""
    if actor != notices.CLI_ACTOR and not has_role(actor, Role.OPERATOR, Role.LEAD):
        raise ReviewError("only operators and leads assign cases")
    if not has_role(reviewer, Role.REVIEWER, Role.LEAD):
        raise ReviewError(f"{reviewer.username} is not a reviewer")
    if has_conflict(case, reviewer):
        raise ReviewError(f"{reviewer.username} declared a conflict of interest with the person this case is about")
    if disagreed_with(case, reviewer):
        raise ReviewError(
            f"a lead's second look disagreed with {reviewer.username}'s decision on these posts: "
            "someone else must decide them"
        )
    with transaction.atomic():
        _check_fresh(case, expected_version)
        state = _transition(workflow.assign, State(case.state))
        previous = case.assigned_to.username if case.assigned_to else ""
        _save(case, expected_version, state=state.value, assigned_to=reviewer)
        record("case.assigned", actor=actor, obj=case, reviewer=reviewer.username, previous=previous)
    return case


def record_decision(
    case: Case, reviewer: Any, outcome: Outcome | str, reason: str, *, expected_version: int
) -> Decision:
    """The assignee's decision with reasons; adverse outcomes wait for a lead's sign-off."""
    outcome = Outcome(outcome)
    with transaction.atomic():
        _check_fresh(case, expected_version)
        is_assignee = case.assigned_to_id is not None and case.assigned_to_id == reviewer.pk
        state = _transition(
            workflow.decide,
            State(case.state),
            outcome,
            reason,
            decider_is_assignee=is_assignee,
            about_member=case.member_id is not None,
        )
        now = timezone.now()
        closed_at = now if state is State.CLOSED else None
        _save(case, expected_version, state=state.value, closed_at=closed_at)
        decision = Decision.objects.create(
            case=case, reviewer=reviewer, outcome=outcome.value, reason=reason.strip(), decided_at=now
        )
        record("case.decided", actor=reviewer, obj=case, decision=decision.pk, outcome=outcome.value, state=state.value)
        if state is State.CLOSED:
            _maybe_select_for_second_look(case, decision)
    return decision


MAX_ASSIGN_AT_ONCE = 200


@dataclass(frozen=True)
class Dealt:
    """What :func:`assign_next` did: the cases given, and how many it passed over for a conflict."""

    cases: list[Case]
    passed_over: int  # a conflict of interest, or a second look disagreed with their decision on the posts


def assign_next(reviewer: Any, count: int, *, actor: Any) -> Dealt:
    """Give ``reviewer`` the ``count`` most urgent unassigned open cases (severity, then due date).

    Cases about someone they declared a conflict with (or whose posts a second look found they
    decided wrongly) are passed over (and left for others); each
    assignment is the same step, audited, as assigning one case by hand.
    """
    if not 1 <= count <= MAX_ASSIGN_AT_ONCE:
        raise ReviewError(f"give between 1 and {MAX_ASSIGN_AT_ONCE} cases at once (asked for {count})")
    given: list[Case] = []
    passed_over = 0
    open_cases = Case.objects.filter(state=State.OPEN.value, assigned_to__isnull=True).order_by(
        "severity", "due_at", "pk"
    )
    for case in open_cases.iterator(chunk_size=100):
        if len(given) == count:
            break
        if has_conflict(case, reviewer) or disagreed_with(case, reviewer):
            passed_over += 1
            continue
        given.append(assign_case(case, reviewer, actor=actor, expected_version=case.version))
    return Dealt(given, passed_over)


def _require_lead(signer: Any, case: Case) -> None:
    if not has_role(signer, Role.LEAD):
        raise ReviewError("only a lead can sign off or send back a decision")
    if has_conflict(case, signer):
        raise ReviewError("you declared a conflict of interest with the person this case is about: another lead must")


# ---------------------------------------------------------------------------------------------
# conflicts of interest


def has_conflict(case: Case, person: Any) -> bool:
    """Whether ``person`` declared a conflict of interest with whoever ``case`` is about."""
    return Conflict.objects.about(case).filter(person_id=person.pk).exists()


def declare_conflict(case: Case, person: Any, reason: str, *, expected_version: int) -> Conflict:
    """``person`` steps aside from the person ``case`` is about, for good; the assignee hands the case back.

    Anyone who works cases may declare one on a case they can open. The reason (how they know the
    member, say) is kept on the conflict, which erasure removes; the audit log records that it was
    declared, by whom and on which case, not why.
    """
    if not has_role(person, Role.REVIEWER, Role.LEAD, Role.OPERATOR):
        raise ReviewError("only reviewers, leads and operators declare conflicts of interest")
    if len(reason.strip()) < workflow.MIN_REASON_LENGTH:
        raise ReviewError(
            f"say briefly why, in at least {workflow.MIN_REASON_LENGTH} characters (kept off the audit log)"
        )
    with transaction.atomic():
        _check_fresh(case, expected_version)
        if has_conflict(case, person):
            raise ReviewError("you have already declared a conflict of interest with this person")
        is_assignee = case.assigned_to_id is not None and case.assigned_to_id == person.pk
        state = _transition(workflow.step_aside, State(case.state), is_assignee=is_assignee)
        if state != State(case.state):
            _save(case, expected_version, state=state.value, assigned_to=None)
        conflict = Conflict.objects.create(
            person=person,
            member_id=case.member_id,
            account_id=None if case.member_id else case.account_id,
            case=case,
            reason=reason.strip(),
            declared_at=timezone.now(),
        )
        record("case.conflict_declared", actor=person, obj=case, conflict=conflict.pk, state=state.value)
    return conflict


def sign_off(case: Case, signer: Any, *, expected_version: int) -> Decision:
    """A lead, not the decider, confirms the pending adverse decision; the case closes."""
    _require_lead(signer, case)
    with transaction.atomic():
        _check_fresh(case, expected_version)
        decision = _pending_decision(case)
        state = _transition(workflow.sign_off, State(case.state), signer_is_decider=decision.reviewer_id == signer.pk)
        now = timezone.now()
        _save(case, expected_version, state=state.value, closed_at=now)
        decision.signed_off_by, decision.signed_off_at = signer, now
        decision.save(update_fields=["signed_off_by", "signed_off_at"])
        record("case.signed_off", actor=signer, obj=case, decision=decision.pk, outcome=decision.outcome)
        notices.draft_notice(decision, actor=signer)  # the member must be told, with the evidence
    return decision


def send_back(case: Case, signer: Any, reason: str, *, expected_version: int) -> Decision:
    """A lead, not the decider, declines the pending decision with reasons; the case returns to its reviewer."""
    _require_lead(signer, case)
    with transaction.atomic():
        _check_fresh(case, expected_version)
        decision = _pending_decision(case)
        is_decider = decision.reviewer_id == signer.pk
        state = _transition(workflow.send_back, State(case.state), reason, signer_is_decider=is_decider)
        _save(case, expected_version, state=state.value)
        decision.sent_back_by, decision.sent_back_at, decision.sent_back_reason = signer, timezone.now(), reason.strip()
        decision.save(update_fields=["sent_back_by", "sent_back_at", "sent_back_reason"])
        record("case.sent_back", actor=signer, obj=case, decision=decision.pk)
    return decision


def record_case_viewed(case: Case, viewer: Any) -> None:
    """Viewing a case shows a member's personal data: audit it."""
    with transaction.atomic():
        record("case.viewed", actor=viewer, obj=case, state=case.state, version=case.version)


def resolve_link(case: Case, link: Link, person: Any, *, confirm: bool, reason: str, expected_version: int) -> Case:
    """The case's reviewer (or a lead) confirms or rejects a proposed link, seeing its evidence.

    Confirming moves the case to the member: onto the member's open case if there is one (the
    hits join it and this case closes as merged), else this case becomes the member's.
    Rejecting keeps the case on the account; the pair is never proposed again.
    """
    is_assignee = case.assigned_to_id is not None and case.assigned_to_id == person.pk
    if not (is_assignee or has_role(person, Role.LEAD)):
        raise ReviewError("only the case's reviewer or a lead can confirm or reject a link")
    if link.account_id != case.account_id or case.state == State.CLOSED.value:
        raise ReviewError("that link is not a proposal about this open case's account")
    if len(reason.strip()) < workflow.MIN_REASON_LENGTH:
        raise ReviewError(f"give a reason of at least {workflow.MIN_REASON_LENGTH} characters")
    with transaction.atomic():
        _check_fresh(case, expected_version)
        try:
            (confirm_link if confirm else reject_link)(link, person, reason.strip())
        except LinkReviewError as exc:
            raise ReviewError(str(exc)) from exc
        if not confirm:
            _save(case, expected_version)
            return case
        target = Case.objects.filter(member=link.member).exclude(state=State.CLOSED.value).exclude(pk=case.pk).first()
        if target is None:
            _save(case, expected_version, member=link.member)
            record("case.subject_confirmed", actor=person, obj=case, member=link.member_id, link=link.pk)
            return case
        target.hits.add(*case.hits.all())
        Case.objects.filter(pk=target.pk).update(
            version=F("version") + 1,
            severity=min(target.severity, case.severity),
            due_at=min(target.due_at, case.due_at),
        )
        _save(case, expected_version, state=State.CLOSED.value, closed_at=timezone.now())
        record("case.merged", actor=person, obj=case, into=target.pk, member=link.member_id, link=link.pk)
        return target


# ---------------------------------------------------------------------------------------------
# second looks at decisions that found no breach


def _maybe_select_for_second_look(case: Case, decision: Decision) -> SecondLook | None:
    """Put a share (``ASSAY_SECOND_LOOK_SHARE``) of no-breach decisions to a lead for a second look.

    The audit log records the pick; the reviewer is not told (the queue and case page show it to leads only).
    """
    share = float(settings.SECOND_LOOK_SHARE)
    if not workflow.selected_for_second_look(settings.SECRET_KEY, case.pk, share):
        return None
    look = SecondLook.objects.create(case=case, decision=decision, selected_at=timezone.now())
    record("case.second_look_selected", obj=case, second_look=look.pk, decision=decision.pk, share=share)
    return look


def disagreed_with(case: Case, reviewer: Any) -> bool:
    """Whether a second look disagreed with ``reviewer``'s decision and put its posts into ``case``."""
    return SecondLook.objects.filter(reopened_case=case, agrees=False, decision__reviewer_id=reviewer.pk).exists()


def second_look_problem(look: SecondLook, lead: Any) -> str:
    """Why ``lead`` may not take this second look, or "" when they may."""
    if not has_role(lead, Role.LEAD):
        return "only a lead takes a second look at a decision"
    return workflow.second_look_problem(
        lead.pk,
        decider_id=look.decision.reviewer_id,
        conflicted_ids=Conflict.objects.about(look.case).values_list("person_id", flat=True),
        looked=look.looked_at is not None,
    )


def _restricted(case: Case) -> bool:
    member_id = _subject_now(case)[0]
    if member_id is None:
        return False
    member = case.member if member_id == case.member_id else Member.objects.filter(pk=member_id).first()
    return member is not None and (member.restricted_at is not None or member.erased_at is not None)


def _subject_now(case: Case) -> tuple[int | None, int | None]:
    """(member id, account id) whose case the case's posts belong in today, as triage would decide.

    A case about an account nobody was confirmed to own belongs to the member once one link to a
    member is confirmed (two confirmed members are a conflict a person must resolve: the account).
    """
    if case.member_id is not None:
        return case.member_id, None
    linked = _confirmed_members(case.hits.all()).get(case.account_id or 0, set())
    return (next(iter(linked)), None) if len(linked) == 1 else (None, case.account_id)


def _put_before_a_reviewer_again(case: Case, decision: Decision, now: datetime) -> tuple[Case, bool]:
    """The case's hits in a case for the same member (or account, or the member since confirmed as its owner):
    their open one, else a new one.

    Returns the case and whether it is new. The decider does not get it (:func:`disagreed_with`); if
    the open case is assigned to them and undecided, it goes back to the queue.
    """
    _one_triage_at_a_time()  # triage may be opening this subject's case right now
    # The original case's subject as it stands now: its member, the member the account has since been
    # confirmed to belong to, or still the account no member is confirmed to own.
    member_id, account_id = _subject_now(case)
    subject = Q(member_id=member_id) if member_id is not None else Q(account_id=account_id)
    hits = list(case.hits.all())
    target = Case.objects.select_for_update().filter(subject).exclude(state=State.CLOSED.value).first()
    if target is None:
        target = Case.objects.create(
            member_id=member_id,
            account_id=account_id,
            severity=case.severity,
            opened_at=now,
            due_at=_due(now, case.severity),
        )
        target.hits.add(*hits)
        return target, True
    target.hits.add(*hits)
    changes: dict[str, Any] = {"version": F("version") + 1}
    if case.severity < target.severity:
        changes.update(severity=case.severity, due_at=min(target.due_at, _due(target.opened_at, case.severity)))
    if target.state == State.ASSIGNED.value and target.assigned_to_id == decision.reviewer_id:
        changes.update(state=State.OPEN.value, assigned_to=None)
    Case.objects.filter(pk=target.pk).update(**changes)
    target.refresh_from_db()
    return target, False


def record_second_look(look: SecondLook, lead: Any, *, agrees: bool, note: str) -> SecondLook:
    """A lead who took no part in the decision agrees with it, or disagrees and the posts go to a reviewer again.

    The decision stands as recorded either way. The note stays on the second look (erased with the
    case); the audit log records who looked, when and what they found.
    """
    problem = second_look_problem(look, lead)
    if problem:
        raise ReviewError(problem)
    if len(note.strip()) < workflow.MIN_REASON_LENGTH:
        raise ReviewError(f"give a note of at least {workflow.MIN_REASON_LENGTH} characters")
    case = look.case
    if not agrees and _restricted(case):
        raise ReviewError(
            "the member's processing is restricted (or they were erased): no case can be opened for them; "
            "record your disagreement once the restriction is lifted"
        )
    with transaction.atomic():
        now = timezone.now()
        taken = SecondLook.objects.filter(pk=look.pk, looked_at__isnull=True).update(
            looked_by=lead, looked_at=now, agrees=agrees, note=note.strip()
        )
        if taken != 1:
            raise ReviewError("another lead took this second look first; reload the page")
        look.looked_by, look.looked_at, look.agrees, look.note = lead, now, agrees, note.strip()
        reopened: Case | None = None
        opened = False
        if not agrees:
            reopened, opened = _put_before_a_reviewer_again(case, look.decision, now)
            look.reopened_case = reopened
            look.save(update_fields=["reopened_case"])
        record(
            "case.second_look",
            actor=lead,
            obj=case,
            second_look=look.pk,
            decision=look.decision_id,
            agrees=agrees,
            reopened_case=reopened.pk if reopened else None,
        )
        if reopened is not None:
            what = "case.opened_by_second_look" if opened else "case.hits_added_by_second_look"
            record(what, actor=lead, obj=reopened, from_case=case.pk, second_look=look.pk, hits=case.hits.count())
    return look
