"""Pages for notices and appeals: staff lists and steps, and the member's own notice page.

Thin: who sees which notice or appeal is decided in :func:`_notices_visible_to` and
:func:`_appeals_visible_to`; the work is done in :mod:`review.notices`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from oversight.roles import Role, request_roles
from review import notices
from review.forms import AppealAssignForm, AppealDecisionForm, MemberAppealForm, StaffAppealForm
from review.models import Appeal, Notice
from review.workflow import AppealState, appeal_window_open

_Row = TypeVar("_Row", Notice, Appeal)

PAGE_SIZE = 50
_SEE_ALL = {Role.OPERATOR, Role.LEAD}
_NO_ACCESS = "notices and appeals show members' posts; your role sees aggregates only"


# ---------------------------------------------------------------------------------------------
# access: the one place that decides who sees which notice and appeal


def _visible(request: HttpRequest, rows: QuerySet[_Row], case: str) -> QuerySet[_Row]:
    """Need-to-know: operators and leads see every row, reviewers those of their own cases.

    ``case`` is the path from the row to its case (a notice's case is its decision's).
    """
    roles = request_roles(request)
    if roles & _SEE_ALL:
        return rows
    if Role.REVIEWER in roles:
        return rows.filter(**{f"{case}__assigned_to": request.user.pk})
    raise PermissionDenied(_NO_ACCESS)


def _notices_visible_to(request: HttpRequest) -> QuerySet[Notice]:
    return _visible(request, Notice.objects.all(), "decision__case")


def _appeals_visible_to(request: HttpRequest) -> QuerySet[Appeal]:
    return _visible(request, Appeal.objects.all(), "notice__decision__case")


def _get_notice_for_user(request: HttpRequest, notice_id: int) -> Notice:
    notices_ = _notices_visible_to(request).select_related("decision__case__member", "sent_by")
    return get_object_or_404(notices_, pk=notice_id)


def _get_appeal_for_user(request: HttpRequest, appeal_id: int) -> Appeal:
    appeals = _appeals_visible_to(request).select_related(
        "notice__decision__case__member",
        "notice__decision__reviewer",
        "notice__decision__signed_off_by",
        "assigned_to",
        "decided_by",
        "recorded_by",
    )
    return get_object_or_404(appeals, pk=appeal_id)


def _is_staff(request: HttpRequest) -> bool:
    return bool(request_roles(request) & _SEE_ALL)


# ---------------------------------------------------------------------------------------------
# the notice itself, as the member and staff read it


@dataclass
class _Post:
    text: str
    url: str
    platform: str
    account: str
    posted_at: datetime | None
    sha256: str
    rules: list[str]
    linked_by: dict[str, Any]
    confirmed_at: datetime | None
    deleted_at: datetime | None


def _when(value: str) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _posts(notice: Notice) -> list[_Post]:
    return [
        _Post(
            text=item["text"],
            url=item["url"],
            platform=item["platform"],
            account=item["account"],
            posted_at=_when(item["posted_at"]),
            sha256=item["sha256"],
            rules=item["rules"],
            linked_by=item["linked_by"],
            confirmed_at=_when(item["linked_by"].get("confirmed_at", "")),
            deleted_at=_when(item.get("deleted_at", "")),
        )
        for item in notice.evidence
    ]


def _notice_context(notice: Notice) -> dict[str, Any]:
    appeal = Appeal.objects.filter(notice=notice).select_related("notice").first()
    return {
        "notice": notice,
        "posts": _posts(notice),
        "appeal": appeal,
        "window_open": appeal_window_open(notice.appeal_due_at, timezone.now()),
    }


# ---------------------------------------------------------------------------------------------
# the member's page (no login: the token is the key)


def _missing() -> HttpResponse:
    """The same plain page for an unknown, mistyped or expired link: it reveals nothing."""
    response = HttpResponse(render_to_string("review/notice_missing.html"), status=404)
    response._has_been_logged = True  # type: ignore[attr-defined]  # keep the token out of the request log
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def member_notice(request: HttpRequest, token: str) -> HttpResponse:
    """The member reads the notice and the evidence, and appeals while the window is open."""
    notice = notices.notice_for_token(token)
    if notice is None:
        return _missing()
    form = MemberAppealForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            notices.receive_appeal(
                notice,
                form.cleaned_data["grounds"],
                contact_preference=form.cleaned_data["contact_preference"],
                contact_detail=form.cleaned_data["contact_detail"],
            )
        except notices.NoticeError as exc:
            messages.error(request, f"Your appeal was not received: {exc}.")
        else:
            messages.success(request, "Your appeal has been received. A senior reviewer will decide it.")
        return redirect(request.path)
    notices.record_member_view(notice)
    context = {**_notice_context(notice), "form": form}
    response = render(request, "review/member_notice.html", context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# ---------------------------------------------------------------------------------------------
# staff: notices


_NOTICE_FILTERS: dict[str, tuple[str, Q]] = {
    "draft": ("drafts to send", Q(status=Notice.Status.DRAFT)),
    "sent": ("sent, not yet viewed", Q(status=Notice.Status.SENT, first_viewed_at__isnull=True)),
    "viewed": ("viewed by the member", Q(first_viewed_at__isnull=False)),
    "to_post": ("to post", Q(status=Notice.Status.TO_POST)),
    "posted": ("posted", Q(status=Notice.Status.POSTED)),
    "all": ("all", Q()),
}


@login_required
@require_GET
def list_notices(request: HttpRequest) -> HttpResponse:
    """Notices by what needs doing: drafts to send, sent, viewed, to post."""
    visible = _notices_visible_to(request)
    chosen = request.GET.get("show", "draft")
    if chosen not in _NOTICE_FILTERS:
        chosen = "draft"
    rows = visible.filter(_NOTICE_FILTERS[chosen][1]).select_related("decision__case__member", "sent_by", "appeal")
    page = Paginator(rows.order_by("-drafted_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    counts = visible.aggregate(
        **{key: Count("pk", filter=q) for key, (_label, q) in _NOTICE_FILTERS.items() if key != "all"}
    )
    filters = [(key, label, counts.get(key)) for key, (label, _q) in _NOTICE_FILTERS.items()]
    context = {"page": page, "chosen": chosen, "chosen_label": _NOTICE_FILTERS[chosen][0], "filters": filters}
    return render(request, "review/notices.html", context)


@login_required
@require_GET
def show_notice(request: HttpRequest, notice_id: int) -> HttpResponse:
    """The notice as the member reads it, its delivery, and the steps staff take on it."""
    notice = _get_notice_for_user(request, notice_id)
    notices.record_staff_view(notice, request.user)
    context = {**_notice_context(notice), "can_act": _is_staff(request), "appeal_form": StaffAppealForm()}
    return render(request, "review/notice.html", context)


def _letter(request: HttpRequest, sent: notices.Sent) -> HttpResponse:
    """The printable letter, with the member's link shown this once."""
    context = {**_notice_context(sent.notice), "link": sent.link}
    return render(request, "review/letter.html", context)


@login_required
@require_POST
def send_notice(request: HttpRequest, notice_id: int) -> HttpResponse:
    notice = _get_notice_for_user(request, notice_id)
    try:
        sent = notices.send_notice(notice, actor=request.user)
    except notices.NoticeError as exc:
        messages.error(request, f"Nothing was sent: {exc}.")
        return redirect("review-notice", notice_id=notice.pk)
    if sent.by_post:
        messages.warning(request, "The member has no email address: print this letter and post it.")
        return _letter(request, sent)
    messages.success(request, f"Notice emailed to {sent.notice.email}.")
    return redirect("review-notice", notice_id=notice.pk)


@login_required
@require_POST
def reissue_link(request: HttpRequest, notice_id: int) -> HttpResponse:
    notice = _get_notice_for_user(request, notice_id)
    try:
        sent = notices.reissue_link(notice, actor=request.user)
    except notices.NoticeError as exc:
        messages.error(request, f"No link was issued: {exc}.")
        return redirect("review-notice", notice_id=notice.pk)
    if sent.by_post:
        messages.warning(request, "A new link is on this letter; the old one no longer works. Print and post it.")
        return _letter(request, sent)
    messages.success(request, f"A new link was emailed to {sent.notice.email}; the old one no longer works.")
    return redirect("review-notice", notice_id=notice.pk)


@login_required
@require_POST
def mark_posted(request: HttpRequest, notice_id: int) -> HttpResponse:
    notice = _get_notice_for_user(request, notice_id)
    try:
        notice = notices.mark_posted(notice, actor=request.user)
    except notices.NoticeError as exc:
        messages.error(request, f"Nothing was changed: {exc}.")
    else:
        messages.success(request, f"Marked posted. The member can appeal until {notice.appeal_due_at:%d %B %Y}.")
    return redirect("review-notice", notice_id=notice.pk)


@login_required
@require_POST
def record_appeal(request: HttpRequest, notice_id: int) -> HttpResponse:
    """Staff record an appeal the member made another way (a letter, a call)."""
    notice = _get_notice_for_user(request, notice_id)
    form = StaffAppealForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(f"{name}: {' '.join(str(e) for e in errors)}" for name, errors in form.errors.items())
        messages.error(request, f"The appeal was not recorded: {problems}")
        return redirect("review-notice", notice_id=notice.pk)
    data = form.cleaned_data
    try:
        appeal = notices.receive_appeal(
            notice,
            data["grounds"],
            contact_preference=data["contact_preference"],
            contact_detail=data["contact_detail"],
            via=data["via"],
            recorded_by=request.user,
        )
    except notices.NoticeError as exc:
        messages.error(request, f"The appeal was not recorded: {exc}.")
        return redirect("review-notice", notice_id=notice.pk)
    messages.success(request, "Appeal recorded for the member.")
    return redirect("review-appeal", appeal_id=appeal.pk)


# ---------------------------------------------------------------------------------------------
# staff: appeals


_APPEAL_STATES = [AppealState.RECEIVED, AppealState.ASSIGNED, AppealState.DECIDED]


@login_required
@require_GET
def list_appeals(request: HttpRequest) -> HttpResponse:
    """The appeals queue: received, assigned, decided; the most pressing first."""
    visible = _appeals_visible_to(request)
    chosen = request.GET.get("state", "active")
    states = {s.value for s in _APPEAL_STATES}
    if chosen in states:
        rows = visible.filter(state=chosen)
    elif chosen == "all":
        rows = visible
    else:
        chosen, rows = "active", visible.exclude(state=AppealState.DECIDED.value)
    rows = rows.select_related("notice__decision__case__member", "assigned_to", "decided_by").order_by("due_at", "pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    found = dict(visible.order_by().values_list("state").annotate(n=Count("pk")))
    counts = [(s.value, found.get(s.value, 0)) for s in _APPEAL_STATES]
    context = {"page": page, "chosen": chosen, "counts": counts, "now": timezone.now()}
    return render(request, "review/appeals.html", context)


def _leads() -> list[Any]:
    return list(
        get_user_model().objects.filter(groups__name=Role.LEAD.value, is_active=True).distinct().order_by("username")
    )


@login_required
@require_GET
def show_appeal(request: HttpRequest, appeal_id: int) -> HttpResponse:
    """An appeal, the decision it is against, and the steps: assign an independent lead, decide."""
    appeal = _get_appeal_for_user(request, appeal_id)
    notices.record_appeal_viewed(appeal, request.user)
    return render(request, "review/appeal.html", _appeal_context(request, appeal))


def _appeal_context(request: HttpRequest, appeal: Appeal, **forms: Any) -> dict[str, Any]:
    can_assign = _is_staff(request) and appeal.state != AppealState.DECIDED
    leads = [(lead, notices.independence_problem(appeal, lead)) for lead in _leads()] if can_assign else []
    initial = {"version": appeal.version}
    return {
        "appeal": appeal,
        "notice": appeal.notice,
        "decision": appeal.decision,
        "can_assign": can_assign,
        "leads": leads,
        "can_decide": appeal.state == AppealState.ASSIGNED and appeal.assigned_to_id == request.user.pk,
        "assign_form": AppealAssignForm(initial=initial),
        "decision_form": forms.get("decision_form") or AppealDecisionForm(initial=initial),
        "now": timezone.now(),
    }


@login_required
@require_POST
def assign_appeal(request: HttpRequest, appeal_id: int) -> HttpResponse:
    appeal = _get_appeal_for_user(request, appeal_id)
    form = AppealAssignForm(request.POST)
    lead = None
    if form.is_valid():
        lead = get_user_model().objects.filter(pk=form.cleaned_data["lead"], is_active=True).first()
    try:
        if lead is None:
            raise notices.NoticeError("choose a lead")
        notices.assign_appeal(appeal, lead, actor=request.user, expected_version=form.cleaned_data["version"])
    except notices.NoticeError as exc:
        messages.error(request, f"The appeal was not assigned: {exc}.")
    else:
        messages.success(request, f"Appeal assigned to {lead.username}.")
    return redirect("review-appeal", appeal_id=appeal.pk)


@login_required
@require_POST
def decide_appeal(request: HttpRequest, appeal_id: int) -> HttpResponse:
    appeal = _get_appeal_for_user(request, appeal_id)
    form = AppealDecisionForm(request.POST)
    if not form.is_valid():
        notices.record_appeal_viewed(appeal, request.user)
        return render(request, "review/appeal.html", _appeal_context(request, appeal, decision_form=form))
    data = form.cleaned_data
    try:
        appeal = notices.decide_appeal(
            appeal, request.user, data["outcome"], data["reason"], expected_version=data["version"]
        )
    except notices.NoticeError as exc:
        messages.error(request, f"Nothing was decided: {exc}.")
    else:
        if appeal.result_emailed_at:
            messages.success(request, "Appeal decided; the result was emailed to the member.")
        else:
            messages.warning(request, "Appeal decided. The result was not emailed: write to the member with it.")
    return redirect("review-appeal", appeal_id=appeal.pk)
