"""Oversight pages: the dashboard of every app's figures, its JSON and CSV, and "verify chain now".

Thin: who may look is decided in :func:`_require_dashboard`; the figures and the audit are in
:mod:`oversight.services`. Every look is an audit event (``oversight.dashboard_viewed``).
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from oversight import services
from oversight.roles import landing, request_roles, sees_dashboard


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
