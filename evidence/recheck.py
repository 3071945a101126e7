"""Rechecks: ask each platform which of a source's collected posts are gone, and mark them deleted.

A recheck is a :class:`~evidence.models.CollectionRun` of the source with its own connector name
(``x_compliance``, ``x_lookup``, ``bluesky_recheck``, ``mastodon_recheck``, ``facebook_recheck``),
so it has the same provenance, counts, stored exchanges and resumable cursor as a collection, and
goes through the same :func:`~evidence.services.store_page`: a deletion sets ``deleted_at`` and
``deleted_reason`` and never removes the row or its evidence. A post that comes back (protected,
then public again) is not un-deleted: the deletion was observed and stays on record; the run
counts it as ``reappeared`` (audited, and printed by ``assay recheck``) for a person to judge.

Which posts: the source's collected, not yet deleted posts, oldest first (``older_than``: only
those collected at least that long ago; ``limit``: at most that many). Batch platforms checkpoint
``after_pk`` after each batch; X compliance checkpoints the job (id, URLs, phase), so a killed
recheck resumes polling the same job. :func:`due_rechecks` and :func:`enqueue_due_rechecks` run
rechecks on a schedule: a source option ``recheck_every_hours``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from evidence import registry
from evidence.collect import SourceBusy, SourceDisabled, _abandoned, _client_options, _owner, stop_run
from evidence.connectors.errors import Action
from evidence.connectors.http import ClientOptions, CollectionStopped
from evidence.connectors.page import Page
from evidence.connectors.recheck import BlueskyRecheck, FacebookRecheck, MastodonRecheck
from evidence.connectors.x_compliance import JobEnded, XCompliance, XLookup
from evidence.models import CollectionRun, Post, Source
from evidence.services import store_page
from oversight.services import record as audit

X_LOOKUP_MAX = 100  # up to this many posts, X is asked by lookup (one request); more: a compliance job
RECHECKERS = ("x_compliance", "x_lookup", "bluesky_recheck", "mastodon_recheck", "facebook_recheck")
_BATCH = {"x_lookup": 100, "bluesky_recheck": 25, "mastodon_recheck": 20, "facebook_recheck": 50}
_RESUMABLE = (CollectionRun.Status.STOPPED, CollectionRun.Status.FAILED, CollectionRun.Status.RUNNING)


@dataclass(frozen=True)
class Selection:
    """Which posts a recheck covers; kept in the run's cursor so a resumed run covers the same ones."""

    older_than_days: float | None = None
    limit: int | None = None
    include_deleted: bool = False  # ask about posts already marked deleted too: do any come back?

    def describe(self) -> str:
        parts = [f"older than {self.older_than_days:g} day(s)"] if self.older_than_days is not None else []
        parts += [f"at most {self.limit}"] if self.limit is not None else []
        parts += ["including those marked deleted"] if self.include_deleted else []
        return "recheck" + (f" ({', '.join(parts)})" if parts else "")


@dataclass
class Outcome:
    run: CollectionRun
    checked: int = 0
    reappeared: list[str] = dataclasses.field(default_factory=list)  # marked deleted, but returned again


def recheck_connector(source: Source, via: str = "auto", *, count: int | None = None) -> str:
    """The recheck connector for ``source`` (X: ``via`` is ``compliance``, ``lookup`` or ``auto``)."""
    spec = registry.spec_for(source.connector)
    if spec.file or source.platform not in ("x", "bluesky", "mastodon", "facebook"):
        raise registry.ConfigError(
            f"{source.name} is a file import: there is no platform to ask; recheck the live source instead"
        )
    if source.platform != "x":
        return f"{source.platform}_recheck"
    if via in ("compliance", "lookup"):
        return f"x_{via}"
    if via != "auto":
        raise registry.ConfigError(f"--x-via is compliance, lookup or auto, not {via!r}")
    return "x_lookup" if count is not None and count <= X_LOOKUP_MAX else "x_compliance"


def _candidates(source: Source, selection: Selection, after_pk: int = 0) -> Any:
    posts = Post.objects.filter(run__source=source, pk__gt=after_pk)
    if not selection.include_deleted:
        posts = posts.filter(deleted_at__isnull=True)
    if selection.older_than_days is not None:
        posts = posts.filter(collected_at__lte=timezone.now() - timedelta(days=selection.older_than_days))
    return posts.order_by("pk")


def _resumable(previous: CollectionRun | None, connector: str, now: datetime) -> bool:
    """The source's last recheck, of this connector, interrupted or stopped with a cursor to go on from."""
    if previous is None or previous.connector != connector or previous.status not in _RESUMABLE:
        return False
    return bool(previous.cursor) and (previous.status != CollectionRun.Status.RUNNING or _abandoned(previous, now))


def _collection_to_resume(source: Source, latest: CollectionRun | None, now: datetime) -> bool:
    """The source's last run is a collection that ``assay collect`` would resume from its cursor.

    Collection resumes only its source's latest run, so a recheck run after it would make the
    collection start over (and, on X, pay for the posts again).
    """
    if latest is None or latest.connector in registry.NOT_COLLECTIONS or not latest.cursor:
        return False
    if latest.status == CollectionRun.Status.RUNNING:
        return _abandoned(latest, now)
    same = (latest.query, latest.connector) == (source.query, source.connector)
    return same and latest.status in (CollectionRun.Status.STOPPED, CollectionRun.Status.FAILED)


def _claim(source: Source, connector: str, selection: Selection, trigger: str) -> tuple[CollectionRun, bool]:
    """The recheck run to work on (an interrupted one of the same connector resumes) and whether it resumes."""
    now = timezone.now()
    with transaction.atomic():
        locked = Source.objects.select_for_update().get(pk=source.pk)
        if not locked.enabled:
            raise SourceDisabled(f"{source.name} is disabled; enable it with `assay sources enable {source.name}`")
        latest = locked.runs.order_by("-pk").first()
        if latest is not None and latest.status == CollectionRun.Status.RUNNING and not _abandoned(latest, now):
            raise SourceBusy(f"{source.name} is being collected or rechecked by {latest.owner} (run {latest.pk})")
        if _collection_to_resume(locked, latest, now):
            assert latest is not None
            raise SourceBusy(
                f"{source.name} has an interrupted collection (run {latest.pk}) to resume first: "
                f"`assay collect {source.name}` (a recheck now would make it start over)"
            )
        previous = locked.runs.filter(connector__in=RECHECKERS).order_by("-pk").first()
        if _resumable(previous, connector, now):
            assert previous is not None
            previous.status, previous.error, previous.stop_action, previous.resume_after = "running", "", "", None
            previous.owner, previous.heartbeat_at, previous.finished_at = _owner(), now, None
            previous.save(update_fields=["status", "error", "stop_action", "resume_after", "owner", "heartbeat_at",
                                         "finished_at"])  # fmt: skip
            return previous, True
        run = CollectionRun.objects.create(
            source=locked,
            connector=connector,
            connector_version=registry.spec_for(connector).version,
            query=selection.describe(),
            started_at=now,
            trigger=trigger,
            owner=_owner(),
            heartbeat_at=now,
            cursor={"selection": dataclasses.asdict(selection), "after_pk": 0, "checked": 0},
        )
        return run, False


def _resumable_compliance(source: Source) -> bool:
    previous = source.runs.filter(connector__in=RECHECKERS).order_by("-pk").first()
    return (
        previous is not None
        and previous.connector == "x_compliance"
        and previous.status in _RESUMABLE
        and bool(previous.cursor.get("job"))
    )


def recheck(
    source: Source,
    *,
    older_than_days: float | None = None,
    limit: int | None = None,
    include_deleted: bool = False,
    via: str = "auto",
    trigger: str = "cli",
    options: ClientOptions | None = None,
    on_page: Callable[[CollectionRun], None] | None = None,
    actor: Any = None,
) -> Outcome:
    """Recheck ``source``'s posts once (resuming its interrupted recheck); return the run and what was seen.

    Raises SourceBusy, SourceDisabled or ConfigError before starting; what the platform says ends
    the run with a status and message; unexpected errors mark it failed (cursor still valid) and raise.
    """
    selection = Selection(older_than_days, limit, include_deleted)
    if source.platform == "x" and via == "auto" and _resumable_compliance(source):
        connector = "x_compliance"  # a job is under way: finish it rather than start another check
    else:
        count = _candidates(source, selection).count() if source.platform == "x" and via == "auto" else None
        if count is not None and limit is not None:
            count = min(count, limit)
        connector = recheck_connector(source, via, count=count)
    run, resumed = _claim(source, connector, selection, trigger)
    selection = Selection(**run.cursor.get("selection", {})) if resumed else selection
    outcome = Outcome(run)
    audit("recheck.run_started", actor=actor, obj=run, source=source.name, connector=connector, resumed=resumed,
          trigger=trigger, selection=selection.describe())  # fmt: skip
    try:
        credential = registry.read_credential(source)
        client = _client_options(run, options)
        if connector == "x_compliance":
            _compliance(source, run, selection, credential, client, outcome, on_page)
        else:
            _batches(source, run, selection, connector, credential, client, outcome, on_page)
        _finish(run)
    except JobEnded as ended:
        _stop(run, ended.action.value, str(ended), ended, clear_cursor=True)
    except CollectionStopped as stop:
        _stop(run, stop.action.value, str(stop), stop)
    except registry.ConfigError as exc:
        _stop(run, Action.STOP_AUTH.value if "token" in str(exc) else "config", str(exc), None)
    except BaseException as exc:
        _stop(run, "", f"{type(exc).__name__}: {exc}", None, status=CollectionRun.Status.FAILED)
        raise
    finally:
        audit("recheck.run_finished", obj=run, source=source.name, connector=connector, status=run.status,
              deleted=run.deleted, checked=outcome.checked, reappeared=outcome.reappeared[:100],
              error=run.error[:500])  # fmt: skip
    return outcome


def _store(run: CollectionRun, page: Page, cursor: dict[str, Any], outcome: Outcome) -> None:
    """One page with the recheck's cursor, in one transaction; posts marked deleted and returned are noted."""
    returned = [r.post.platform_id for r in page.records]
    if returned:
        platform = page.records[0].post.platform
        outcome.reappeared += list(
            Post.objects.filter(platform=platform, platform_id__in=returned, deleted_at__isnull=False).values_list(
                "platform_id", flat=True
            )
        )
    store_page(run, dataclasses.replace(page, cursor=cursor), origin=run.source.name,
               deletion_platform=run.source.platform)  # fmt: skip


def _compliance(
    source: Source,
    run: CollectionRun,
    selection: Selection,
    credential: str,
    client: ClientOptions,
    outcome: Outcome,
    on_page: Callable[[CollectionRun], None] | None,
) -> None:
    opts = source.options or {}
    connector = XCompliance(
        credential,
        base_url=str(source.base_url or "https://api.x.com"),
        poll_seconds=float(opts.get("compliance_poll_seconds", 60)),
        max_polls=int(opts.get("compliance_max_polls", 30)),
        job_name=f"assay-{source.name}-run-{run.pk}",
        options=client,
    )
    job = run.cursor.get("job") or None
    ids: list[str] = []
    if job is None:  # the ids are needed only to upload them
        ids = list(_limited(_candidates(source, selection), selection.limit).values_list("platform_id", flat=True))
        if not ids:
            return
    outcome.checked = int(run.cursor.get("checked") or len(ids))
    base = {"selection": dataclasses.asdict(selection), "checked": outcome.checked}
    try:
        for page in connector.recheck(ids, job):
            cursor = {**base, "job": page.cursor} if page.cursor is not None else {}
            _store(run, page, cursor, outcome)
            if on_page is not None:
                on_page(run)
    finally:
        connector.close()


def _limited(posts: Any, limit: int | None) -> Any:
    return posts[:limit] if limit is not None else posts


def _batches(
    source: Source,
    run: CollectionRun,
    selection: Selection,
    connector_name: str,
    credential: str,
    client: ClientOptions,
    outcome: Outcome,
    on_page: Callable[[CollectionRun], None] | None,
) -> None:
    connector, check = _batch_connector(source, connector_name, credential, client)
    after_pk, checked = int(run.cursor.get("after_pk", 0)), int(run.cursor.get("checked", 0))
    size = _BATCH[connector_name]
    try:
        while selection.limit is None or checked < selection.limit:
            take = size if selection.limit is None else min(size, selection.limit - checked)
            batch = list(_candidates(source, selection, after_pk).values_list("pk", "platform_id", "raw")[:take])
            if not batch:
                return
            before = {"selection": dataclasses.asdict(selection), "after_pk": after_pk, "checked": checked}
            after_pk, checked = batch[-1][0], checked + len(batch)
            after = {**before, "after_pk": after_pk, "checked": checked}
            asked = False
            for page, last in _with_last(check(batch)):
                asked = True
                _store(run, page, after if last else before, outcome)
                if on_page is not None:
                    on_page(run)
            if not asked:  # nothing to ask about in this batch (no local ids): move past it all the same
                run.cursor = after
                CollectionRun.objects.filter(pk=run.pk).update(cursor=after)
            outcome.checked = checked
    finally:
        close = getattr(connector, "close", None)
        if close is not None:
            close()


Batch = list[tuple[int, str, Any]]


def _batch_connector(
    source: Source, name: str, credential: str, client: ClientOptions
) -> tuple[Any, Callable[[Batch], Iterator[Page]]]:
    if name == "x_lookup":
        x = XLookup(credential, base_url=str(source.base_url or "https://api.x.com"), options=client)
        return x, lambda batch: x.recheck([pid for _, pid, _ in batch])
    if name == "bluesky_recheck":
        bsky = BlueskyRecheck(credential, base_url=_bluesky_appview(source), options=client)
        return bsky, lambda batch: bsky.recheck([pid for _, pid, _ in batch])
    if name == "facebook_recheck":
        fb = FacebookRecheck(credential, base_url=str(source.base_url or "https://graph.facebook.com"), options=client)
        return fb, lambda batch: fb.recheck([pid for _, pid, _ in batch])
    if not source.base_url:
        raise registry.ConfigError(f"{source.name} has no instance URL (--base-url) to ask")
    masto = MastodonRecheck(str(source.base_url), credential, options=client)
    return masto, lambda batch: masto.recheck(_local_ids(batch))


def _bluesky_appview(source: Source) -> str:
    """Where to ask: a search source's AppView; else (Jetstream's base URL is a WebSocket) option
    ``recheck_base_url``, by default the public AppView, where getPosts needs no session."""
    if source.connector == "bluesky_search":
        return str(source.base_url or "https://api.bsky.app")
    return str((source.options or {}).get("recheck_base_url") or "https://public.api.bsky.app")


def _local_ids(batch: Batch) -> dict[str, str]:
    """Instance-local status id → uri, both from the stored raw status."""
    return {str(raw["id"]): uri for _, uri, raw in batch if isinstance(raw, dict) and raw.get("id")}


def _with_last(pages: Iterable[Page]) -> Iterator[tuple[Page, bool]]:
    """Each page, and whether it is the last: its cursor may then move past the batch."""
    iterator = iter(pages)
    current = next(iterator, None)
    while current is not None:
        following = next(iterator, None)
        yield current, following is None
        current = following


def _finish(run: CollectionRun) -> None:
    run.status, run.finished_at, run.cursor = CollectionRun.Status.DONE, timezone.now(), {}
    run.save(update_fields=["status", "finished_at", "cursor"])


def _stop(
    run: CollectionRun,
    action: str,
    message: str,
    stop: CollectionStopped | None,
    *,
    status: str = "stopped",
    clear_cursor: bool = False,
) -> None:
    stop_run(run, action, message, stop, event="recheck.run_stopped", status=status, clear_cursor=clear_cursor)


# ---------------------------------------------------------------------------------------------
# schedule


def _every(source: Source) -> float | None:
    value = (source.options or {}).get("recheck_every_hours")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        hours = float(value)
    except ValueError:
        return None
    return hours if hours > 0 else None


def next_recheck_at(source: Source) -> datetime | None:
    """When the worker next rechecks ``source``: never without ``recheck_every_hours``; now if never rechecked."""
    hours = _every(source)
    if hours is None:
        return None
    last = source.runs.filter(connector__in=RECHECKERS).order_by("-pk").first()
    if last is None:
        return timezone.now() - timedelta(seconds=1)
    if last.status == CollectionRun.Status.STOPPED and last.resume_after is not None and last.cursor:
        return last.resume_after  # a compliance job still running, or a long rate limit: resume then
    return last.started_at + timedelta(hours=hours)


def _waiting(source_ids: Iterable[int]) -> set[int]:
    """Sources with a recheck job already queued or running."""
    from django_tasks_db.models import DBTaskResult

    jobs = DBTaskResult.objects.filter(task_path="evidence.tasks.recheck_source", status__in=["READY", "RUNNING"])
    wanted = set(source_ids)
    return {int(j.args_kwargs["args"][0]) for j in jobs if j.args_kwargs.get("args") and j.args_kwargs["args"][0]
            in wanted}  # fmt: skip


def due_rechecks(now: datetime | None = None) -> list[Source]:
    """Enabled live sources with ``recheck_every_hours`` whose next recheck is due and not yet queued."""
    now = now or timezone.now()
    scheduled = [s for s in Source.objects.filter(enabled=True).exclude(platform="file").order_by("pk") if _every(s)]
    waiting = _waiting(s.pk for s in scheduled)
    due = []
    for source in scheduled:
        when = next_recheck_at(source)
        if when is None or when > now or source.pk in waiting:
            continue
        if not _collection_to_resume(source, source.runs.order_by("-pk").first(), now):  # else: after it resumes
            due.append(source)
    return due


def enqueue_due_rechecks(now: datetime | None = None) -> list[Source]:
    """Queue a recheck job for every due source (after commit); return those queued."""
    from evidence.tasks import recheck_source

    due = due_rechecks(now)
    for source in due:
        with transaction.atomic():
            audit("recheck.requested", obj=source, source=source.name, trigger="worker")
            transaction.on_commit(functools.partial(recheck_source.enqueue, source.pk, "worker"))
    return due


def describe(outcome: Outcome) -> str:
    """One line for the CLI and the worker's log."""
    run = outcome.run
    counts = f"{outcome.checked} checked, {run.deleted} newly marked deleted, {run.pages} page(s)"
    head = f"{run.source.name}: recheck ({run.connector})"
    if run.status == CollectionRun.Status.DONE:
        line = f"{head} done [run {run.pk}]: {counts}"
    else:
        when = f"; resumes after {run.resume_after:%Y-%m-%d %H:%M} UTC" if run.resume_after else ""
        line = f"{head} {run.status} ({run.stop_action or 'error'}) [run {run.pk}]: {run.error}{when}; {counts}"
    if outcome.reappeared:
        shown = ", ".join(outcome.reappeared[:10])
        line += (f"\n  {len(outcome.reappeared)} post(s) marked deleted are visible again (left marked; "
                 f"judge them by hand): {shown}")  # fmt: skip
    return line


__all__ = [
    "RECHECKERS",
    "Outcome",
    "Selection",
    "describe",
    "due_rechecks",
    "enqueue_due_rechecks",
    "next_recheck_at",
    "recheck",
    "recheck_connector",
]
