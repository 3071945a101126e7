"""Background jobs of the evidence stage, run by `assay worker` (django-tasks, database backend).

Payloads are JSON (a source's id and what asked for it); the job calls the same service the CLI
does, so a job and ``assay collect`` behave the same.
"""

from __future__ import annotations

from typing import Any

from django_tasks import task

from evidence.collect import SourceBusy, SourceDisabled, collect
from evidence.models import Source
from evidence.registry import ConfigError


@task()
def collect_source(source_id: int, trigger: str = "worker") -> dict[str, Any]:
    """Collect one source once; the outcome is on its CollectionRun (and returned for the job's record)."""
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return {"source": source_id, "outcome": "source no longer exists"}
    try:
        run = collect(source, trigger=trigger)
    except (SourceBusy, SourceDisabled, ConfigError) as exc:  # nothing started
        Source.objects.filter(pk=source_id).update(queued_at=None)
        return {"source": source_id, "outcome": str(exc)}
    return {"source": source_id, "run": run.pk, "status": run.status, "imported": run.imported, "error": run.error}


@task()
def recheck_source(source_id: int, trigger: str = "worker") -> dict[str, Any]:
    """Recheck one source's collected posts (which are gone now); the outcome is on its CollectionRun."""
    from evidence.recheck import recheck

    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return {"source": source_id, "outcome": "source no longer exists"}
    try:
        outcome = recheck(source, trigger=trigger)
    except (SourceBusy, SourceDisabled, ConfigError) as exc:  # nothing started; the schedule tries again
        return {"source": source_id, "outcome": str(exc)}
    run = outcome.run
    return {"source": source_id, "run": run.pk, "status": run.status, "deleted": run.deleted,
            "reappeared": outcome.reappeared[:100], "error": run.error}  # fmt: skip


@task()
def fetch_context_job(post_ids: list[int], depth: int = 3, trigger: str = "ui") -> dict[str, Any]:
    """Fetch the conversation context of these posts (``evidence.context.fetch_context``); the
    outcome is on the context runs, the parent lookups and the audit trail, and returned here."""
    from evidence.context import fetch_context

    summary = fetch_context(post_ids, depth=depth, trigger=trigger)
    return {"posts": len(post_ids), "runs": [r.pk for r in summary.runs], **summary.counts(),
            "stopped": summary.stopped}  # fmt: skip
