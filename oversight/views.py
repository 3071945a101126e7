"""Oversight pages: the dashboard of every app's figures, its JSON and CSV, "verify chain now", and
the purposes of processing with their lawful basis.

Thin: who may look is decided in :func:`_require_dashboard`; the figures and the audit are in
:mod:`oversight.services`. Every look is an audit event (``oversight.dashboard_viewed``).
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from oversight import purposes, services
from oversight.forms import PurposeForm
from oversight.models import Purpose
from oversight.roles import Role, landing, request_roles, sees_dashboard


def _require_dashboard(request: HttpRequest) -> None:
    if not sees_dashboard(request_roles(request)):
        raise PermissionDenied("the oversight dashboard is for the oversight body, operators and leads")


@login_required
@require_GET
def land(request: HttpRequest) -> HttpResponse:
    """Where each person starts: the review queue for those who work cases, the dashboard for oversight."""
    return redirect(landing(request_roles(request)))


@login_required
@require_GET
def show_dashboard(request: HttpRequest) -> HttpResponse:
    """Every app's figures, computed now, by section, with the audit chain's status."""
    _require_dashboard(request)
    report = services.view_report(request.user, form="html")
    return render(request, "oversight/dashboard.html", {"report": report, "sections": report.sections()})


@login_required
@require_GET
def figures_json(request: HttpRequest) -> JsonResponse:
    """The same figures as JSON (suppressed counts are objects saying why, never the number)."""
    _require_dashboard(request)
    report = services.view_report(request.user, form="json")
    return JsonResponse(report.as_json(), json_dumps_params={"ensure_ascii": False, "indent": 2})


@login_required
@require_GET
def figures_csv(request: HttpRequest) -> HttpResponse:
    """The same figures as a CSV download, one line per value."""
    _require_dashboard(request)
    report = services.view_report(request.user, form="csv")
    name = f"assay-oversight-{report.generated_at:%Y%m%d-%H%M}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    csv.writer(response).writerows(report.csv_rows())
    return response


@login_required
@require_POST
def verify_chain_now(request: HttpRequest) -> HttpResponse:
    """Recompute every audit event's hash; show the result (the check is itself recorded)."""
    _require_dashboard(request)
    check = services.verify_and_record(request.user, via="dashboard")
    if check.intact:
        messages.success(request, f"Audit chain {check}.")
    else:
        messages.error(request, f"Audit chain {check}.")
    return redirect(reverse("oversight-dashboard") + "#audit")


# ---------------------------------------------------------------------------------------------
# purposes and lawful basis: everyone who sees the dashboard reads them; operators change them


def _require_operator(request: HttpRequest) -> None:
    if Role.OPERATOR not in request_roles(request):
        raise PermissionDenied("only operators record, approve and retire purposes")


def _get_purpose_for_user(request: HttpRequest, purpose_id: int, *, write: bool = False) -> Purpose:
    _require_operator(request) if write else _require_dashboard(request)
    return get_object_or_404(Purpose, pk=purpose_id)


def _require_approver(request: HttpRequest) -> None:
    if not request_roles(request) & {Role.OPERATOR, Role.LEAD}:
        raise PermissionDenied("only operators and leads approve purposes")


@login_required
@require_GET
def list_purposes(request: HttpRequest) -> HttpResponse:
    """Every purpose and version: lawful basis, DPIA, who approved it, the sources and runs under it."""
    _require_dashboard(request)
    roles = request_roles(request)
    context = {
        "rows": purposes.listing(),
        "can_change": Role.OPERATOR in roles,
        "can_approve": bool(roles & {Role.OPERATOR, Role.LEAD}),
    }
    return render(request, "oversight/purposes.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def new_purpose(request: HttpRequest, purpose_id: int | None = None) -> HttpResponse:
    """Record a purpose, or (from an existing version) its next version, for a second operator to approve."""
    _require_operator(request)
    base = _get_purpose_for_user(request, purpose_id, write=True) if purpose_id else None
    initial = vars(purposes.terms_of(base)) if base else None
    form = PurposeForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_valid():
        try:
            purpose = purposes.record_purpose(form.terms(), actor=request.user)
        except purposes.PurposeError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{purpose} recorded. Another operator must approve it before it is used.")
            return redirect(reverse("oversight-purposes") + f"#purpose-{purpose.pk}")
    return render(request, "oversight/purpose_form.html", {"form": form, "base": base})


@login_required
@require_POST
def approve_purpose(request: HttpRequest, purpose_id: int) -> HttpResponse:
    """A second person (operator or lead) approves the version; sources and linkage run under it from now."""
    _require_approver(request)
    purpose = get_object_or_404(Purpose, pk=purpose_id)
    try:
        purposes.approve(purpose.name, actor=request.user, version=purpose.version)
    except purposes.PurposeError as exc:
        messages.error(request, f"Not approved: {exc}")
    else:
        messages.success(request, f"{purpose} approved.")
    return redirect(reverse("oversight-purposes") + f"#purpose-{purpose.pk}")


@login_required
@require_POST
def retire_purpose(request: HttpRequest, purpose_id: int) -> HttpResponse:
    """Retire the purpose (every version): nothing collects or links under it again."""
    purpose = _get_purpose_for_user(request, purpose_id, write=True)
    try:
        purposes.retire(purpose.name, actor=request.user, reason=request.POST.get("reason", ""))
    except purposes.PurposeError as exc:
        messages.error(request, f"Not retired: {exc}")
    else:
        messages.success(request, f"{purpose.name} retired: nothing collects or links under it now.")
    return redirect(reverse("oversight-purposes") + f"#purpose-{purpose.pk}")
