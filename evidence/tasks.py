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
