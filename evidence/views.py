"""Sources pages: what each source collected, how its runs went, and "collect now".

Thin: who may see what is decided in :func:`_access` and :func:`_get_source_for_user`; the work
is in :mod:`evidence.collect`. Operators and leads see everything; oversight sees counts only
(no queries, errors or quarantined records); other roles see nothing here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from evidence.collect import purpose_refusal, request_collection
from evidence.models import CollectionRun, Source
from evidence.registry import NOT_COLLECTIONS, RECHECK_SPECS
from oversight.roles import SOURCE_ROLES, Role, request_roles
from oversight.services import record as audit

FULL, COUNTS = "full", "counts"
RUNS_SHOWN = 20
QUARANTINE_PAGE = 50


def _access(request: HttpRequest) -> str:
    """FULL for operators and leads, COUNTS for oversight; others may not see sources at all."""
    roles = request_roles(request)
    if roles & {Role.OPERATOR, Role.LEAD}:
        return FULL
    if roles & SOURCE_ROLES:
        return COUNTS
    raise PermissionDenied("the sources pages are for operators, leads and oversight")


def _get_source_for_user(request: HttpRequest, source_id: int) -> Source:
    if _access(request) != FULL:
        raise PermissionDenied("oversight sees the sources' counts, not their runs")
    return get_object_or_404(Source, pk=source_id)


Row = tuple[Source, CollectionRun | None, CollectionRun | None]


def _with_last_runs(sources: QuerySet[Source]) -> list[Row]:
    """Each source with its latest collection and its latest recheck, in two queries whatever the
    number of sources."""
    runs_of = CollectionRun.objects.filter(source=OuterRef("pk")).order_by("-pk")
    collected = runs_of.exclude(connector__in=NOT_COLLECTIONS).values("pk")[:1]
    rechecked = runs_of.filter(connector__in=RECHECK_SPECS).values("pk")[:1]
    rows = list(sources.annotate(last_run_id=Subquery(collected), last_recheck_id=Subquery(rechecked)).order_by("name"))
    runs = CollectionRun.objects.in_bulk([i for s in rows for i in (s.last_run_id, s.last_recheck_id) if i])
    return [(s, runs.get(s.last_run_id), runs.get(s.last_recheck_id)) for s in rows]


@login_required
@require_GET
def list_sources(request: HttpRequest) -> HttpResponse:
    """Every source: last collection, status, counts, errors, next run, and its last recheck."""
    access = _access(request)
    rows = _with_last_runs(Source.objects.all())
    busy = any(
        s.queued_at or any(r and r.status == CollectionRun.Status.RUNNING for r in (run, recheck))
        for s, run, recheck in rows
    )
    context = {"rows": rows, "full": access == FULL, "refresh": busy}
    return render(request, "evidence/sources.html", context)


@login_required
@require_GET
def show_source(request: HttpRequest, source_id: int) -> HttpResponse:
    """One source's configuration (never its credential, only the variable's name) and recent runs."""
    source = _get_source_for_user(request, source_id)
    runs = list(source.runs.order_by("-pk")[:RUNS_SHOWN])
    running = bool(runs) and runs[0].status == CollectionRun.Status.RUNNING
    context = {
        "source": source,
        "runs": runs,
        "can_collect": Role.OPERATOR in request_roles(request),
        "refresh": bool(source.queued_at) or running,
        "purpose_refusal": purpose_refusal(source),
    }
    return render(request, "evidence/source.html", context)


@login_required
@require_GET
def show_run(request: HttpRequest, run_id: int) -> HttpResponse:
    """A run's provenance and counts, and its quarantined records with position and reason (audited)."""
    run = get_object_or_404(CollectionRun.objects.select_related("source"), pk=run_id)
    _get_source_for_user(request, run.source_id)
    page = Paginator(run.quarantine.order_by("pk"), QUARANTINE_PAGE).get_page(request.GET.get("page"))
    audit("evidence.run_viewed", actor=request.user, obj=run, quarantine_page=page.number)
    context: dict[str, Any] = {"run": run, "source": run.source, "page": page}
    return render(request, "evidence/run.html", context)


@login_required
@require_POST
def collect_now(request: HttpRequest, source_id: int) -> HttpResponse:
    """Queue a collection of this source for the worker (operators only)."""
    source = _get_source_for_user(request, source_id)
    if Role.OPERATOR not in request_roles(request):
        raise PermissionDenied("only operators start collections")
    refused = purpose_refusal(source)
    if not source.enabled:
        messages.error(request, f"{source.name} is disabled; enable it before collecting.")
    elif refused:
        messages.error(request, f"Not queued: {refused}.")
    elif request_collection(source, actor=request.user):
        messages.success(request, f"Collection of {source.name} queued; a worker will start it shortly.")
    else:
        messages.info(request, f"A collection of {source.name} is already waiting for a worker.")
    return redirect("evidence-source", source_id=source.pk)
