"""Review pages. Thin: access is decided in :func:`_get_case_for_user`, work is done in services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case as SqlCase
from django.db.models import Count, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from criteria.models import Hit
from evidence import context
from evidence.highlight import highlight
from evidence.models import Account, Post
from evidence.threads import Thread, ancestors
from linkage.models import Link
from oversight.roles import Role, request_roles
from register.models import Member
from review import packs, services
from review.forms import (
    AssignForm,
    AssignNextForm,
    ConflictForm,
    DecisionForm,
    LinkForm,
    SecondLookForm,
    SignOffForm,
)
from review.models import Case, Conflict, Decision, SecondLook
from review.waterfall import Bar, Rival, rivals, waterfall
from review.workflow import State

PAGE_SIZE = 50
_STATE_ORDER = [State.OPEN, State.ASSIGNED, State.AWAITING_SIGNOFF, State.CLOSED]
_ACTIVE = "active"  # the queue's default filter: every state but closed
_SEE_ALL = {Role.OPERATOR, Role.LEAD}


# ---------------------------------------------------------------------------------------------
# access: the one place that decides who sees which case


def _cases_visible_to(request: HttpRequest) -> QuerySet[Case]:
    """Need-to-know: leads and operators see every case, reviewers their own, anyone else none.

    Nobody sees the cases of a person they declared a conflict of interest with (they stepped aside).
    """
    roles = request_roles(request)
    if roles & _SEE_ALL:
        stepped_aside = Conflict.objects.filter(person_id=request.user.pk).cases()
        return Case.objects.exclude(pk__in=stepped_aside.values("pk"))
    if Role.REVIEWER in roles:
        return Case.objects.filter(assigned_to=request.user.pk)
    raise PermissionDenied("case pages show members' posts; your role sees aggregates only")


def _get_case_for_user(request: HttpRequest, case_id: int) -> Case:
    """The case, if this user may see it: 404 when it is not theirs, 403 when their role sees no cases."""
    cases = _cases_visible_to(request).select_related("member", "account", "assigned_to")
    return get_object_or_404(cases, pk=case_id)


def _assignable_users() -> list[Any]:
    return list(
        get_user_model()
        .objects.filter(groups__name__in=[Role.REVIEWER.value, Role.LEAD.value], is_active=True)
        .distinct()
        .order_by("username")
    )


# ---------------------------------------------------------------------------------------------
# the queue


@dataclass
class _QueueRow:
    case: Case
    n_hits: int
    rule_codes: list[str]
    overdue: bool
    reviewers: list[Any]  # whom it may be assigned to: not those who stepped aside from its person


def _conflicted(cases: list[Case]) -> dict[int, frozenset[int]]:
    """Case id -> who declared a conflict with its person (``Conflict.objects.about``, for a page at once)."""
    members = {c.member_id for c in cases if c.member_id is not None}
    accounts = {c.account_id for c in cases if c.account_id is not None}
    owner = dict(
        Link.objects.filter(member_id__in=members, status=Link.Status.CONFIRMED).values_list("account_id", "member_id")
    )
    by_member: dict[int, set[int]] = {}
    by_account: dict[int, set[int]] = {}
    rows = Conflict.objects.filter(Q(member_id__in=members) | Q(account_id__in=accounts | set(owner)))
    for person, member, account in rows.values_list("person_id", "member_id", "account_id"):
        if member is not None:
            by_member.setdefault(member, set()).add(person)
        if account is not None:
            by_account.setdefault(account, set()).add(person)
            if account in owner:
                by_member.setdefault(owner[account], set()).add(person)
    return {
        c.pk: frozenset(by_member.get(c.member_id, set()) if c.member_id else by_account.get(c.account_id or 0, set()))
        for c in cases
    }


def _rules_hit(case_ids: list[int]) -> dict[int, list[str]]:
    """Case id -> the rule code of each of its hits, sorted (a page of cases in one query)."""
    pairs = Case.hits.through.objects.filter(case_id__in=case_ids).values_list("case_id", "hit__rule__code")
    codes: dict[int, list[str]] = {}
    for case_id, code in pairs:
        codes.setdefault(case_id, []).append(code)
    return {case_id: sorted(found) for case_id, found in codes.items()}


def _queue_rows(cases: list[Case], reviewers: list[Any]) -> list[_QueueRow]:
    hits = _rules_hit([c.pk for c in cases])
    conflicted = _conflicted(cases) if reviewers else {}
    now = timezone.now()
    rows = []
    for case in cases:
        barred = conflicted.get(case.pk, frozenset())
        overdue = case.state != State.CLOSED and case.due_at < now
        codes = hits.get(case.pk, [])
        rows.append(
            _QueueRow(case, len(codes), sorted(set(codes)), overdue, [r for r in reviewers if r.pk not in barred])
        )
    return rows


def _ordered_for_queue(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Most urgent first. Only the cases (and their few assignees) are sorted; what the page shows about
    them (members and accounts: :meth:`prefetch_related`; hits: :func:`_rules_hit`) is fetched for that
    page alone. Joining them before sorting made the queue's one big query read every member and account."""
    state_rank = SqlCase(
        *[When(state=s.value, then=Value(i)) for i, s in enumerate(_STATE_ORDER)], output_field=IntegerField()
    )
    return (
        cases.select_related("assigned_to")
        .prefetch_related("member", "account")
        .annotate(state_rank=state_rank)
        .order_by("state_rank", "severity", "due_at", "pk")
    )


def _state_counts(cases: QuerySet[Case]) -> list[tuple[str, str, int]]:
    found = dict(cases.order_by().values_list("state").annotate(n=Count("pk")))
    return [(s.value, s.value.replace("_", " "), found.get(s.value, 0)) for s in _STATE_ORDER]


@login_required
@require_GET
def show_queue(request: HttpRequest) -> HttpResponse:
    """The cases this user may see, most urgent first, with counts per state."""
    visible = _cases_visible_to(request)
    chosen = request.GET.get("state", _ACTIVE)
    if chosen == _ACTIVE or chosen not in {s.value for s in State} | {"all"}:
        chosen, cases = _ACTIVE, visible.exclude(state=State.CLOSED.value)
    else:
        cases = visible if chosen == "all" else visible.filter(state=chosen)
    page = Paginator(_ordered_for_queue(cases), PAGE_SIZE).get_page(request.GET.get("page"))
    can_assign = bool(request_roles(request) & _SEE_ALL)
    reviewers = _assignable_users() if can_assign else []
    context = {
        "page": page,
        "rows": _queue_rows(list(page.object_list), reviewers),
        "counts": _state_counts(visible),
        "chosen": chosen,
        "chosen_label": chosen.replace("_", " "),
        "filters": [(_ACTIVE, "active"), *[(s.value, s.value.replace("_", " ")) for s in _STATE_ORDER], ("all", "all")],
        "can_assign": can_assign,
        "assignable_states": {State.OPEN.value, State.ASSIGNED.value},
        "reviewers": reviewers,
    }
    return render(request, "review/queue.html", context)


@login_required
@require_POST
def assign_next(request: HttpRequest) -> HttpResponse:
    """Operators and leads give a reviewer the next most urgent unassigned cases in one step."""
    if not request_roles(request) & _SEE_ALL:
        raise PermissionDenied("only operators and leads assign cases")
    form = AssignNextForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a reviewer and how many cases (1 to 200) to give them.")
        return redirect("review-queue")
    reviewer = get_user_model().objects.filter(pk=form.cleaned_data["reviewer"], is_active=True).first()
    try:
        if reviewer is None:
            raise services.ReviewError("that reviewer does not exist")
        dealt = services.assign_next(reviewer, form.cleaned_data["count"], actor=request.user)
    except services.ReviewError as exc:
        messages.error(request, f"No cases were assigned: {exc}.")
        return redirect("review-queue")
    skipped = (
        f" {dealt.passed_over} passed over: {reviewer.username} declared a conflict with their person."
        if dealt.passed_over
        else ""
    )
    if dealt.cases:
        messages.success(request, f"{len(dealt.cases)} case(s) assigned to {reviewer.username}.{skipped}")
    else:
        messages.info(request, f"No unassigned open cases to give {reviewer.username}.{skipped}")
    return redirect("review-queue")


# ---------------------------------------------------------------------------------------------
# one case


@dataclass
class _PostEvidence:
    post: Post
    hits: list[Hit] = field(default_factory=list)
    thread: Thread | None = None  # the conversation above the post, as far as we hold it
    # Accounts in the thread whose member restricted processing: their posts' words are not shown.
    restricted: frozenset[int] = frozenset()

    @property
    def marked_text(self) -> SafeString:
        # highlight() escapes every character of the text; only its own <mark> tags are markup.
        return mark_safe(highlight(self.post.text, [span for hit in self.hits for span in hit.spans]))  # noqa: S308


def _evidence(case: Case) -> list[_PostEvidence]:
    hits = case.hits.select_related("post__account", "rule", "ruleset").order_by(
        "post__created_at", "post_id", "rule__severity", "rule__code"
    )
    by_post: dict[int, _PostEvidence] = {}
    for hit in hits:
        by_post.setdefault(hit.post_id, _PostEvidence(hit.post)).hits.append(hit)
    threads = ancestors(item.post for item in by_post.values())
    authors = {a.post.account_id for t in threads.values() for a in t.above if a.post and a.post.account_id}
    restricted = (
        frozenset(services.restricted_accounts().filter(account_id__in=authors).values_list("account_id", flat=True))
        if authors
        else frozenset()
    )
    for item in by_post.values():
        item.thread, item.restricted = threads[item.post.pk], restricted
    return list(by_post.values())


@dataclass
class _OtherCandidate:
    rival: Rival
    member: Member | None  # None: the member has left the register since the proposal was made


@dataclass
class _LinkView:
    link: Link
    bars: list[Bar]
    # The other members the model ranked below this one; None when this viewer may not see them
    # or none were recorded with the link (see ``others_recorded``).
    others: list[_OtherCandidate] | None = None
    others_recorded: bool = True


def _may_see_other_candidates(request: HttpRequest, case: Case, link: Link) -> bool:
    """Other members' names are need-to-know: leads and operators (who see every case) always;
    the case's reviewer while the link awaits a decision, because weighing it against them is
    the decision. Once decided, the members it was not about are no longer that reviewer's business.
    """
    if request_roles(request) & _SEE_ALL:
        return True
    return link.status == Link.Status.PROPOSED and case.assigned_to_id == request.user.pk


def _links(request: HttpRequest, case: Case, accounts: list[Account]) -> list[_LinkView]:
    """How the subject is tied to the evidence: the member's links, or the account's proposals."""
    links = Link.objects.select_related("member", "account").order_by("-probability", "pk")
    if case.member_id is not None:
        links = links.filter(member_id=case.member_id, account__in=accounts)
    else:
        links = links.filter(account=case.account)
    views = []
    for link in links:
        view = _LinkView(link, waterfall(link.explanation.get("evidence", [])))
        if link.method == Link.Method.PROBABILISTIC and _may_see_other_candidates(request, case, link):
            found = rivals(link.explanation)
            view.others_recorded = found is not None
            view.others = [_OtherCandidate(r, None) for r in found or []]
        views.append(view)
    members = Member.objects.in_bulk({o.rival.member_id for v in views for o in v.others or []})
    for view in views:
        for other in view.others or []:
            other.member = members.get(other.rival.member_id)
    return views


def _case_context(request: HttpRequest, case: Case, **forms: Any) -> dict[str, Any]:
    roles = request_roles(request)
    evidence = _evidence(case)
    accounts = list({e.post.account_id: e.post.account for e in evidence if e.post.account is not None}.values())
    decisions = list(case.decisions.select_related("reviewer", "signed_off_by", "sent_back_by", "overturned_by"))
    pending: Decision | None = next((d for d in reversed(decisions) if d.is_pending), None)
    awaiting = case.state == State.AWAITING_SIGNOFF
    is_lead = Role.LEAD in roles
    initial = {"version": case.version}
    conflicts = list(Conflict.objects.about(case).select_related("person"))
    conflicted = {c.person_id for c in conflicts}
    # Second looks are for leads' eyes: the reviewer who decided is never shown that theirs was picked.
    looks = list(case.second_looks.select_related("decision", "looked_by", "reopened_case")) if is_lead else []
    pending_look = next((look for look in looks if look.pending), None)
    return {
        "second_looks": looks,
        "pending_look": pending_look,
        "second_look_problem": services.second_look_problem(pending_look, request.user) if pending_look else "",
        "second_look_form": forms.get("second_look_form") or SecondLookForm(),
        "case": case,
        "evidence": evidence,
        "links": _links(request, case, accounts),
        "decisions": decisions,
        "notices": list(case.notices.select_related("appeal")),
        "pending": pending,
        "can_decide": case.state == State.ASSIGNED and case.assigned_to_id == request.user.pk,
        "can_sign_off": awaiting
        and is_lead
        and pending is not None
        and pending.reviewer_id != request.user.pk
        and request.user.pk not in conflicted,
        "own_decision_awaits": awaiting and pending is not None and pending.reviewer_id == request.user.pk,
        "can_assign": bool(roles & _SEE_ALL) and case.state in (State.OPEN, State.ASSIGNED),
        "can_see_member": Role.OPERATOR in roles,
        "can_build_pack": bool(roles & _SEE_ALL) and case.state == State.CLOSED and not packs.pack_problem(case),
        "packs_built": list(case.packs.select_related("built_by")) if roles & _SEE_ALL else [],
        "reviewers": [p for p in _assignable_users() if p.pk not in conflicted] if roles & _SEE_ALL else [],
        "conflicts": conflicts if roles & _SEE_ALL else [],
        "can_declare_conflict": case.state != State.CLOSED and request.user.pk not in conflicted,
        "can_fetch_context": case.state != State.CLOSED and any(_fetchable(item.thread) for item in evidence),
        "conflict_form": forms.get("conflict_form") or ConflictForm(initial=initial),
        "can_resolve_links": case.state != State.CLOSED
        and case.member_id is None
        and (case.assigned_to_id == request.user.pk or is_lead),
        "link_form": forms.get("link_form") or LinkForm(initial=initial),
        "decision_form": forms.get("decision_form")
        or DecisionForm(initial=initial, about_member=case.member_id is not None),
        "sign_off_form": forms.get("sign_off_form") or SignOffForm(initial=initial),
    }


def _render_case(request: HttpRequest, case: Case, **forms: Any) -> HttpResponse:
    services.record_case_viewed(case, request.user)
    return render(request, "review/case.html", _case_context(request, case, **forms))


@login_required
@require_GET
def show_case(request: HttpRequest, case_id: int) -> HttpResponse:
    """Everything a reviewer needs to decide a case: the evidence, why it was flagged, who it is about."""
    return _render_case(request, _get_case_for_user(request, case_id))


# ---------------------------------------------------------------------------------------------
# steps (POST, then redirect)


def _back_to_case(case: Case) -> HttpResponseRedirect:
    return redirect("review-case", case_id=case.pk)


def _safe_next(request: HttpRequest, target: str, fallback: str) -> str:
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if target and ok else fallback


@login_required
@require_POST
def assign(request: HttpRequest, case_id: int) -> HttpResponse:
    """Give a case to a reviewer (operators and leads)."""
    case = _get_case_for_user(request, case_id)
    form = AssignForm(request.POST)
    fallback = reverse("review-case", kwargs={"case_id": case.pk})
    if not form.is_valid():
        messages.error(request, "Choose a reviewer to assign the case to.")
        return redirect(fallback)
    reviewer = get_user_model().objects.filter(pk=form.cleaned_data["reviewer"], is_active=True).first()
    try:
        if reviewer is None:
            raise services.ReviewError("that reviewer does not exist")
        services.assign_case(case, reviewer, actor=request.user, expected_version=form.cleaned_data["version"])
    except services.ReviewError as exc:
        messages.error(request, f"Case {case.pk} was not assigned: {exc}.")
    else:
        messages.success(request, f"Case {case.pk} assigned to {reviewer.username}.")
    return redirect(_safe_next(request, form.cleaned_data["next"], fallback))


@login_required
@require_POST
def decide(request: HttpRequest, case_id: int) -> HttpResponse:
    """The assignee records an outcome with reasons."""
    case = _get_case_for_user(request, case_id)
    form = DecisionForm(request.POST, about_member=case.member_id is not None)
    if not form.is_valid():
        return _render_case(request, case, decision_form=form)
    data = form.cleaned_data
    try:
        services.record_decision(case, request.user, data["outcome"], data["reason"], expected_version=data["version"])
    except services.ReviewError as exc:
        messages.error(request, f"Your decision was not recorded: {exc}.")
    else:
        if case.state == State.AWAITING_SIGNOFF:
            messages.success(request, "Decision recorded. It is adverse, so it now waits for a lead's sign-off.")
        else:
            messages.success(request, "Decision recorded. The case is closed.")
    return _back_to_case(case)


@login_required
@require_POST
def declare_conflict(request: HttpRequest, case_id: int) -> HttpResponse:
    """Someone who works the case steps aside from the person it is about (for good); the assignee hands it back."""
    case = _get_case_for_user(request, case_id)
    form = ConflictForm(request.POST)
    if not form.is_valid():
        return _render_case(request, case, conflict_form=form)
    was_assignee = case.assigned_to_id == request.user.pk
    try:
        services.declare_conflict(
            case, request.user, form.cleaned_data["reason"], expected_version=form.cleaned_data["version"]
        )
    except services.ReviewError as exc:
        messages.error(request, f"Your conflict of interest was not recorded: {exc}.")
        return _back_to_case(case)
    back = f" Case {case.pk} is back in the queue for someone else." if was_assignee else ""
    messages.success(
        request,
        f"Conflict of interest recorded.{back} You will no longer see this person's cases, nor be given them, "
        "their sign-offs or their appeals.",
    )
    return redirect("review-queue")  # they may no longer open it


@login_required
@require_POST
def sign_off_or_send_back(request: HttpRequest, case_id: int) -> HttpResponse:
    """A lead confirms the pending adverse decision, or sends it back with reasons."""
    case = _get_case_for_user(request, case_id)
    form = SignOffForm(request.POST)
    if not form.is_valid():
        return _render_case(request, case, sign_off_form=form)
    data = form.cleaned_data
    try:
        if data["action"] == SignOffForm.SIGN_OFF:
            services.sign_off(case, request.user, expected_version=data["version"])
            messages.success(request, "Decision signed off. The case is closed.")
        else:
            services.send_back(case, request.user, data["reason"], expected_version=data["version"])
            messages.success(request, "Decision sent back to the reviewer.")
    except services.ReviewError as exc:
        messages.error(request, f"Nothing was changed: {exc}.")
    return _back_to_case(case)


@login_required
@require_POST
def resolve_link(request: HttpRequest, case_id: int, link_id: int) -> HttpResponse:
    """The case's reviewer (or a lead) confirms or rejects a proposed link, having seen its evidence."""
    case = _get_case_for_user(request, case_id)
    link = get_object_or_404(Link.objects.select_related("member"), pk=link_id, account_id=case.account_id)
    form = LinkForm(request.POST)
    if not form.is_valid():
        return _render_case(request, case, link_form=form)
    data = form.cleaned_data
    confirm = data["action"] == LinkForm.CONFIRM
    try:
        now_in = services.resolve_link(
            case, link, request.user, confirm=confirm, reason=data["reason"], expected_version=data["version"]
        )
    except services.ReviewError as exc:
        messages.error(request, f"Nothing was changed: {exc}.")
        return _back_to_case(case)
    if not confirm:
        messages.success(request, f"Link rejected: {link.member} will not be proposed for this account again.")
    elif now_in.pk != case.pk:
        messages.success(request, f"Link confirmed. The evidence joined {link.member}'s open case #{now_in.pk}.")
        return redirect("review-queue")
    else:
        messages.success(request, f"Link confirmed: this case is now about {link.member}.")
    return _back_to_case(case)


@login_required
@require_POST
def build_evidence_pack(request: HttpRequest, case_id: int) -> HttpResponse:
    """Download the case's evidence pack for the disciplinary panel (operators and leads); audited."""
    case = _get_case_for_user(request, case_id)
    if not request_roles(request) & _SEE_ALL:
        raise PermissionDenied("evidence packs are built by operators and leads")
    try:
        built = packs.build_pack(case, actor=request.user)
    except packs.PackError as exc:
        messages.error(request, f"{exc}.")
        return _back_to_case(case)
    response = HttpResponse(built.data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{built.filename}"'
    return response


# ---------------------------------------------------------------------------------------------
# second looks at decisions that found no breach


def _require_lead(request: HttpRequest) -> None:
    if Role.LEAD not in request_roles(request):
        raise PermissionDenied("second looks at decisions are taken by leads")


@login_required
@require_GET
def list_second_looks(request: HttpRequest) -> HttpResponse:
    """Leads: the no-breach decisions picked for a second look, the longest waiting first (or those done)."""
    _require_lead(request)
    done = request.GET.get("show") == "done"
    visible = SecondLook.objects.filter(case__in=_cases_visible_to(request))  # not those they stepped aside from
    looks = visible.select_related("case__member", "case__account", "decision__reviewer", "looked_by")
    if done:
        looks = looks.filter(looked_at__isnull=False).order_by("-looked_at", "-pk")
    else:
        looks = looks.filter(looked_at__isnull=True).order_by("selected_at", "pk")
    page = Paginator(looks, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "done": done,
        "pending_count": visible.filter(looked_at__isnull=True).count(),
        "share": settings.SECOND_LOOK_SHARE,
    }
    return render(request, "review/second_looks.html", context)


@login_required
@require_POST
def fetch_context(request: HttpRequest, case_id: int) -> HttpResponse:
    """Ask the platforms for the posts the case's posts answer that assay does not hold (queued for the worker)."""
    case = _get_case_for_user(request, case_id)
    if case.state == State.CLOSED:
        messages.error(request, "The case is closed: its conversation is no longer fetched.")
        return _back_to_case(case)
    posts = [item.post for item in _evidence(case) if _fetchable(item.thread)]
    if not posts:
        messages.info(request, "Nothing to fetch: each post's conversation is held, or the platform no longer has it.")
        return _back_to_case(case)
    context.request_context(posts, actor=request.user)
    messages.success(
        request,
        f"Asked a worker to fetch the conversation above {len(posts)} post(s) from the platforms "
        "(public posts, by id). Reload this page in a minute.",
    )
    return _back_to_case(case)


def _fetchable(thread: Thread | None) -> bool:
    """The thread stops at a post not held, on a platform assay can ask, that nobody found gone yet."""
    missing = thread.missing if thread is not None else None
    return missing is not None and missing.unavailable is None and missing.platform in context.CONNECTORS


@login_required
@require_POST
def take_second_look(request: HttpRequest, case_id: int) -> HttpResponse:
    """A lead who took no part in the decision agrees, or disagrees and the posts go before a reviewer again."""
    _require_lead(request)
    case = _get_case_for_user(request, case_id)
    look = case.second_looks.filter(looked_at__isnull=True).select_related("decision").first()
    if look is None:
        messages.error(request, "This case has no second look waiting (another lead may have taken it).")
        return _back_to_case(case)
    form = SecondLookForm(request.POST)
    if not form.is_valid():
        return _render_case(request, case, second_look_form=form)
    agrees = form.cleaned_data["verdict"] == SecondLookForm.AGREE
    try:
        services.record_second_look(look, request.user, agrees=agrees, note=form.cleaned_data["note"])
    except services.ReviewError as exc:
        messages.error(request, f"Your second look was not recorded: {exc}.")
        return _back_to_case(case)
    if agrees:
        messages.success(request, "Second look recorded: you agree with the decision.")
    else:
        reopened = look.reopened_case
        assert reopened is not None  # a disagreement always puts the posts somewhere
        messages.success(
            request,
            f"Second look recorded: you disagree. The posts are in case #{reopened.pk} for another reviewer; "
            "the decision stands as recorded.",
        )
    return redirect("review-second-looks")
