"""Collection: run a Source's connector page by page into evidence, and everything around a run.

:func:`collect` claims the source's run (resuming an interrupted or stopped one from its
checkpointed cursor), then stores each page with :func:`~evidence.services.store_page`: exchange,
records, rejects, deletions and the cursor in one transaction. Waits and backoff are the
connector client's; what waiting cannot fix (auth, quota, permission, a bad query, a reset further
away than a worker should wait) ends the run as ``stopped`` with the platform's reason.
:func:`rederive` rebuilds Posts and Accounts from stored exchanges with the current mapping.
:func:`request_collection` and :func:`enqueue_due` put collection jobs on the task queue.
"""

from __future__ import annotations

import calendar
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from evidence import registry
from evidence.connectors.errors import Action
from evidence.connectors.http import ClientOptions, CollectionStopped, RetryPolicy
from evidence.connectors.page import Connector, Page, Query
from evidence.connectors.x import XSearch
from evidence.models import CollectionRun, Exchange, Post, Source
from evidence.services import _mark_deleted, _save_exchange, _upsert_accounts, quarantine, store_page
from oversight import purposes
from oversight.models import Purpose
from oversight.services import record as audit

LEASE = timedelta(minutes=30)  # a run whose process has not been heard of for this long is abandoned
OVERLAP = timedelta(minutes=10)  # a scheduled run re-reads this much of the previous window
STALE_QUEUE = timedelta(hours=6)  # a job not started in this long is considered lost

OnPage = Callable[[CollectionRun], None]


class SourceBusy(Exception):
    """Another process is collecting this source right now."""


class SourceDisabled(Exception):
    """The source is disabled; enable it to collect."""


class PurposeNotInForce(SourceDisabled):
    """The source's purpose is missing, unapproved, retired or past its review: it may not collect."""


def purpose_refusal(source: Source) -> str | None:
    """Why ``source`` may not collect under its purpose now, or None."""
    try:
        purpose_in_force(source)
    except PurposeNotInForce as exc:
        return str(exc)
    return None


def purpose_in_force(source: Source) -> Purpose:
    """The purpose version ``source`` collects under now; raises PurposeNotInForce saying why not."""
    name = source.purpose.name if source.purpose_id is not None and source.purpose is not None else None
    try:
        return purposes.in_force(name, what=f"collecting {source.name}")
    except purposes.PurposeError as exc:
        raise PurposeNotInForce(str(exc)) from None


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _abandoned(run: CollectionRun, now: datetime) -> bool:
    """A running run whose process is gone: dead on this host, ours (left by an escaped error), or silent."""
    host, _, pid = run.owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and (int(pid) == os.getpid() or not _pid_alive(int(pid))):
        return True
    return run.heartbeat_at is None or now - run.heartbeat_at > LEASE


def _resumable(run: CollectionRun, source: Source) -> bool:
    """A stopped or failed run continues from its cursor, unless the source's query changed since."""
    same_query = (run.query, run.connector) == (source.query, source.connector)
    return run.status in (CollectionRun.Status.STOPPED, CollectionRun.Status.FAILED) and bool(run.cursor) and same_query


def _window(source: Source, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The query window of a new run: the source's, or since the last finished run (with overlap)."""
    since = source.since
    if since is None and source.every_minutes:
        done = source.runs.filter(status=CollectionRun.Status.DONE, window_until__isnull=False)
        last = done.exclude(connector__in=registry.NOT_COLLECTIONS).order_by("-pk").first()
        if last is not None and last.window_until is not None:
            since = last.window_until - OVERLAP
    until = source.until if source.until is not None else (None if registry.spec_for(source.connector).file else now)
    return since, until


def _claim(source: Source, trigger: str) -> tuple[CollectionRun, bool]:
    """The run to work on and whether it resumes one; raises SourceBusy when another process has it."""
    spec = registry.spec_for(source.connector)
    now = timezone.now()
    with transaction.atomic():
        locked = Source.objects.select_for_update().get(pk=source.pk)
        if not locked.enabled:
            raise SourceDisabled(f"{source.name} is disabled; enable it with `assay sources enable {source.name}`")
        purpose = purpose_in_force(locked)
        # Rechecks and context fetches are runs of the source too, but never what a collection resumes.
        latest = locked.runs.exclude(connector__in=registry.NOT_COLLECTIONS).order_by("-pk").first()
        if latest is not None and latest.status == CollectionRun.Status.RUNNING and not _abandoned(latest, now):
            raise SourceBusy(f"{source.name} is being collected by {latest.owner} (run {latest.pk})")
        Source.objects.filter(pk=source.pk).update(queued_at=None)
        if latest is not None and (latest.status == CollectionRun.Status.RUNNING or _resumable(latest, locked)):
            latest.status, latest.error, latest.stop_action, latest.resume_after = "running", "", "", None
            latest.owner, latest.heartbeat_at, latest.finished_at = _owner(), now, None
            latest.purpose = purpose
            latest.save(update_fields=["status", "error", "stop_action", "resume_after", "owner", "heartbeat_at",
                                       "finished_at", "purpose"])  # fmt: skip
            return latest, True
        since, until = _window(locked, now)
        run = CollectionRun.objects.create(
            source=locked,
            connector=spec.name,
            connector_version=spec.version,
            query=locked.query,
            started_at=now,
            window_since=since,
            window_until=until,
            trigger=trigger,
            owner=_owner(),
            heartbeat_at=now,
            purpose=purpose,
        )
        return run, False


def _heartbeat_sleep(run: CollectionRun, sleep: Callable[[float], None]) -> Callable[[float], None]:
    """Sleep (a rate-limit wait or a backoff) and tell others this run is alive."""

    def wait(seconds: float) -> None:
        sleep(seconds)
        run.heartbeat_at = timezone.now()
        CollectionRun.objects.filter(pk=run.pk).update(heartbeat_at=run.heartbeat_at)

    return wait


def _client_options(run: CollectionRun, options: ClientOptions | None) -> ClientOptions:
    if options is not None:
        return options
    base = float(getattr(settings, "ASSAY_COLLECT_BACKOFF_BASE", 1.0))
    return ClientOptions(policy=RetryPolicy(backoff_base=base), sleep=_heartbeat_sleep(run, time.sleep))


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _spent_this_month(source: Source, run: CollectionRun, now: datetime) -> int:
    """Posts read by the source's other runs this calendar month (this run's own are counted live)."""
    others = source.runs.filter(started_at__gte=_month_start(now)).exclude(pk=run.pk)
    return int(others.aggregate(n=Sum("read"))["n"] or 0)


def _cap_check(source: Source, run: CollectionRun, spent_before: int, page_size: int) -> None:
    """Stop before a page that could take the month's reads past the source's spending cap."""
    cap = source.spending_cap
    if cap is None or spent_before + run.read + page_size <= cap:
        return
    now = timezone.now()
    days = calendar.monthrange(now.year, now.month)[1] - now.day + 1
    message = (
        f"spending cap reached: {spent_before + run.read} of {cap} posts read this month; the next page could "
        f"read {page_size} more. Raise the cap or wait for next month ({days} day(s))."
    )
    raise CollectionStopped(Action.STOP_QUOTA, message)


@dataclass
class _Context:
    source: Source
    run: CollectionRun
    spec: registry.Spec
    on_page: OnPage | None


def collect(
    source: Source,
    *,
    trigger: str = "cli",
    options: ClientOptions | None = None,
    on_page: OnPage | None = None,
    actor: Any = None,
) -> CollectionRun:
    """Run ``source`` once (resuming its interrupted or stopped run), page by page; return the run.

    Raises :class:`SourceBusy`, :class:`SourceDisabled` or :class:`PurposeNotInForce` before
    starting; anything the platform says ends the run with a status and message instead of
    raising. Unexpected errors mark the run failed (its cursor still valid) and are raised.
    """
    spec = registry.spec_for(source.connector)
    run, resumed = _claim(source, trigger)
    ctx = _Context(source, run, spec, on_page)
    audit(
        "collection.run_started",
        actor=actor,
        obj=run,
        source=source.name,
        resumed=resumed,
        trigger=trigger,
        purpose=str(run.purpose),
    )
    try:
        credential = registry.read_credential(source)
        connector = spec.build(source, credential, _client_options(run, options))
        _pages(ctx, connector)
    except CollectionStopped as stop:
        _stop(ctx, stop.action.value, str(stop), stop)
    except registry.ConfigError as exc:
        _stop(ctx, Action.STOP_AUTH.value if "token" in str(exc) else "config", str(exc), None)
    except BaseException as exc:
        _stop(ctx, "", f"{type(exc).__name__}: {exc}", None, status=CollectionRun.Status.FAILED)
        raise
    finally:
        _schedule_next(ctx)
    return run


def _pages(ctx: _Context, connector: Connector) -> None:
    run, source, spec = ctx.run, ctx.source, ctx.spec
    spent = _spent_this_month(source, run, timezone.now()) if source.spending_cap is not None else 0
    page_size = int((source.options or {}).get("page_size", spec.page_size))
    query = Query(run.query, run.window_since, run.window_until)
    pages: Iterator[Page] = connector.pages(query, run.cursor or None)
    try:
        while True:
            _cap_check(source, run, spent, page_size)
            page = next(pages, None)
            if page is None:  # a connector that ended without a final page: the query is done
                _finish(ctx)
                return
            last = page.cursor is None
            store_page(run, page, origin=source.name, deletion_platform=spec.record_platform, finish=last)
            if ctx.on_page is not None:
                ctx.on_page(run)
            if last:
                _finished(ctx)
                return
    finally:
        close = getattr(connector, "close", None)
        if close is not None:
            close()


def _finish(ctx: _Context) -> None:
    run = ctx.run
    run.status, run.finished_at, run.cursor = CollectionRun.Status.DONE, timezone.now(), {}
    run.save(update_fields=["status", "finished_at", "cursor"])
    _finished(ctx)


def _finished(ctx: _Context) -> None:
    run = ctx.run
    audit(
        "collection.run_finished",
        obj=run,
        source=ctx.source.name,
        connector=run.connector,
        connector_version=run.connector_version,
        query=run.query,
        imported=run.imported,
        duplicates=run.duplicates,
        quarantined=run.quarantined,
        deleted=run.deleted,
        skipped=run.skipped,
        pages=run.pages,
    )


def _stop(ctx: _Context, action: str, message: str, stop: CollectionStopped | None, status: str = "stopped") -> None:
    stop_run(ctx.run, action, message, stop, event="collection.run_stopped", status=status)


def stop_run(
    run: CollectionRun,
    action: str,
    message: str,
    stop: CollectionStopped | None,
    *,
    event: str,
    status: str = "stopped",
    clear_cursor: bool = False,
) -> None:
    """End a run (collection, recheck or context fetch) with the platform's reason, audited as ``event``.

    The stopping exchange is kept as evidence too; the cursor stays (the next run resumes) unless
    ``clear_cursor``.
    """
    now = timezone.now()
    with transaction.atomic():
        fields = ["status", "stop_action", "error", "finished_at", "resume_after", "exchanges"]
        if stop is not None and stop.exchange is not None:
            _save_exchange(run, stop.exchange, Exchange.Role.STOP)
        run.status, run.stop_action, run.error, run.finished_at = status, action, message[:2000], now
        run.resume_after = now + timedelta(seconds=stop.resume_after) if stop and stop.resume_after else None
        if clear_cursor:
            run.cursor = {}
            fields.append("cursor")
        run.save(update_fields=fields)
        audit(event, obj=run, source=run.source.name, stop_action=action, message=message[:500])


def _schedule_next(ctx: _Context) -> None:
    run, source = ctx.run, ctx.source
    if run.resume_after is not None:
        next_run = run.resume_after
    elif source.every_minutes:
        next_run = timezone.now() + timedelta(minutes=source.every_minutes)
    else:
        next_run = None
    Source.objects.filter(pk=source.pk).update(next_run_at=next_run)
    source.next_run_at = next_run


@dataclass(frozen=True)
class Estimate:
    posts: int  # matching the query in the window, by the platform's count
    since: datetime | None
    until: datetime | None
    read_this_month: int  # by the source's runs, billed already


def estimate_reads(source: Source, *, options: ClientOptions | None = None, actor: Any = None) -> Estimate:
    """Ask X how many posts the source's next run would read, before reading (and paying for) any.

    The window is the one the next run would use; the count comes from ``/2/tweets/counts``,
    which bills no posts. Audited with the figure.
    """
    if source.connector != "x_search":
        raise registry.ConfigError(f"{source.name}: estimates are for x_search sources (X bills per post read)")
    now = timezone.now()
    since, until = _window(source, now)
    spec = registry.spec_for(source.connector)
    connector = spec.build(source, registry.read_credential(source), options)
    assert isinstance(connector, XSearch)
    try:
        posts, _ = connector.count(Query(source.query, since, until))
    finally:
        connector.close()
    spent = int(source.runs.filter(started_at__gte=_month_start(now)).aggregate(n=Sum("read"))["n"] or 0)
    audit("source.estimated", actor=actor, obj=source, name=source.name, posts=posts, read_this_month=spent,
          spending_cap=source.spending_cap)  # fmt: skip
    return Estimate(posts, since, until, spent)


# ---------------------------------------------------------------------------------------------
# sources


def add_source(
    name: str,
    *,
    connector: str,
    query: str,
    base_url: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    every_minutes: int | None = None,
    credential_env: str = "",
    spending_cap: int | None = None,
    options: dict[str, Any] | None = None,
    actor: Any = None,
    purpose: str = purposes.DEFAULT_PURPOSE,
) -> Source:
    """Create a source after checking it can be collected as described; raises ConfigError if not.

    ``purpose`` names the recorded purpose it collects for; it may be still awaiting approval
    (collection waits for it) but not retired or unknown.
    """
    spec = registry.spec_for(connector)
    recorded = source_purpose(purpose)
    if not name.strip() or Source.objects.filter(name=name).exists():
        raise registry.ConfigError(f"a source needs a new, non-empty name; {name!r} is taken or empty")
    if not query.strip():
        raise registry.ConfigError("a source needs a query (a page id for Facebook, a path for files)")
    if credential_env and not registry.ENV_NAME.match(credential_env):
        raise registry.ConfigError(
            f"--credential-env takes the NAME of an environment variable (like X_BEARER_TOKEN), "
            f"not a token: {len(credential_env)} characters given"
        )
    if since and until and since >= until:
        raise registry.ConfigError("the window's since must be before its until")
    if spending_cap is not None and spec.platform != "x":
        raise registry.ConfigError("a spending cap applies to X sources (X bills per post read)")
    source = Source(
        name=name,
        platform=spec.platform,
        connector=connector,
        query=query,
        base_url=base_url,
        since=since,
        until=until,
        every_minutes=every_minutes or None,
        credential_env=credential_env,
        spending_cap=spending_cap,
        options=options or {},
        purpose=recorded,
    )
    with transaction.atomic():
        source.full_clean()
        source.save()
        audit("source.added", actor=actor, obj=source, name=name, connector=connector, query=query, purpose=purpose)
    return source


def source_purpose(name: str) -> Purpose:
    """The purpose a source is to name: known (the default one is recorded when first named) and not retired."""
    found = purposes.default_purpose() if name == purposes.DEFAULT_PURPOSE else purposes.newest(name)
    if found is None:
        raise registry.ConfigError(f"--purpose {name!r}: no such purpose; record it with `assay purposes add`")
    if found.retired_at is not None:
        raise registry.ConfigError(f"--purpose {name!r}: the purpose is retired")
    return found


def set_enabled(source: Source, enabled: bool, *, actor: Any = None) -> None:
    with transaction.atomic():
        Source.objects.filter(pk=source.pk).update(enabled=enabled)
        source.enabled = enabled
        audit("source.enabled" if enabled else "source.disabled", actor=actor, obj=source, name=source.name)


# ---------------------------------------------------------------------------------------------
# re-deriving


@dataclass
class Rederived:
    exchanges: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0


_DERIVED_FIELDS = ("kind", "parent_platform_id", "text", "lang", "url", "created_at", "account_id")


def rederive(target: CollectionRun | Source, *, actor: Any = None) -> Rederived:
    """Rebuild Posts and Accounts from the stored exchanges with the current mapping.

    Posts derived from an exchange get its current mapping (raw and sha256, the evidence, never
    change); records the old mapping missed are created; accounts are created where missing but
    current profiles are left alone. Idempotent: a second call changes nothing.
    """
    runs = [target] if isinstance(target, CollectionRun) else list(target.runs.order_by("pk"))
    result = Rederived()
    for run in runs:
        spec = registry.spec_for(run.connector)
        if spec.derive is None:
            continue  # file imports: the file is the evidence; import it again
        pages = run.exchange_set.filter(role=Exchange.Role.PAGE, purged_at__isnull=True)  # purged: nothing to read
        for exchange in pages.order_by("seq").iterator(chunk_size=100):
            _rederive_exchange(run, spec, exchange, result)
    audit("collection.rederived", actor=actor, obj=target, **vars(result))
    return result


def _rederive_exchange(run: CollectionRun, spec: registry.Spec, exchange: Exchange, result: Rederived) -> None:
    assert spec.derive is not None
    derived = spec.derive(exchange, run.source)
    now = timezone.now()
    result.exchanges += 1
    with transaction.atomic():
        keys = [(r.post.platform, r.post.platform_id) for r in derived.records]
        held = {
            (p.platform, p.platform_id): p
            for p in Post.objects.filter(
                Q(exchange=exchange) | Q(platform_id__in=[k[1] for k in keys], platform=spec.record_platform)
            )
        }
        missing = [r for r in derived.records if (r.post.platform, r.post.platform_id) not in held]
        accounts = [r.account for r in derived.records if r.account is not None]
        account_ids = _upsert_accounts(accounts, now, run, refresh=False)
        changed: list[Post] = []
        for rec in derived.records:
            post = held.get((rec.post.platform, rec.post.platform_id))
            if post is None or post.exchange_id != exchange.pk or post.purged_at is not None:
                continue  # a purged post stays purged: retention and erasure are not undone
            account_id = account_ids[(rec.account.platform, rec.account.platform_id)] if rec.account else None
            values = (rec.post.kind, rec.post.parent_platform_id, rec.post.text, rec.post.lang, rec.post.url,
                      rec.post.created_at, account_id)  # fmt: skip
            if tuple(getattr(post, f) for f in _DERIVED_FIELDS) != values:
                for f, v in zip(_DERIVED_FIELDS, values, strict=True):
                    setattr(post, f, v)
                changed.append(post)
        if changed:
            Post.objects.bulk_update(changed, list(_DERIVED_FIELDS))
        if missing:
            from evidence.services import _insert_posts

            _insert_posts(run, {(r.post.platform, r.post.platform_id): r for r in missing}.values(), account_ids, now,
                          exchange.pk)  # fmt: skip
        quarantine(derived.rejected, origin=run.source.name, run=run)
        result.deleted += _mark_deleted(spec.record_platform, derived.deletions, now) if derived.deletions else 0
    result.created += len({(r.post.platform, r.post.platform_id) for r in missing})
    result.updated += len(changed)
    result.unchanged += len(derived.records) - len(missing) - len(changed)


# ---------------------------------------------------------------------------------------------
# jobs


def request_collection(source: Source, *, actor: Any = None, trigger: str = "ui") -> bool:
    """Queue a collection job for ``source`` (after commit); False if one is already waiting."""
    from evidence.tasks import collect_source

    now = timezone.now()
    with transaction.atomic():
        waiting = Q(queued_at__isnull=False) & Q(queued_at__gt=now - STALE_QUEUE)
        claimed = Source.objects.filter(pk=source.pk, enabled=True).exclude(waiting).update(queued_at=now)
        if not claimed:
            return False
        source.queued_at = now
        audit("collection.requested", actor=actor, obj=source, source=source.name, trigger=trigger)
        transaction.on_commit(lambda: collect_source.enqueue(source.pk, trigger))
    return True


def due_sources(now: datetime | None = None) -> list[Source]:
    """Enabled, scheduled sources whose next run is due and that have no job waiting."""
    now = now or timezone.now()
    return list(
        Source.objects.filter(enabled=True, every_minutes__isnull=False)
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lte=now - STALE_QUEUE))
        .order_by("next_run_at", "pk")
    )


def enqueue_due(now: datetime | None = None) -> list[Source]:
    """Queue a job for every due source; return those queued."""
    return [s for s in due_sources(now) if request_collection(s, trigger="worker")]


def describe(run: CollectionRun) -> str:
    """One line for the CLI and the worker's log."""
    counts = (
        f"{run.imported} imported, {run.duplicates} duplicate, {run.quarantined} quarantined, "
        f"{run.deleted} deleted, {run.skipped} skipped, {run.pages} page(s)"
    )
    if run.status == CollectionRun.Status.DONE:
        return f"{run.source.name}: done [run {run.pk}]: {counts}"
    when = f"; resumes after {run.resume_after:%Y-%m-%d %H:%M} UTC" if run.resume_after else ""
    return f"{run.source.name}: {run.status} ({run.stop_action or 'error'}) [run {run.pk}]: {run.error}{when}; {counts}"


__all__ = [
    "PurposeNotInForce",
    "Rederived",
    "SourceBusy",
    "SourceDisabled",
    "add_source",
    "collect",
    "describe",
    "due_sources",
    "enqueue_due",
    "estimate_reads",
    "purpose_in_force",
    "purpose_refusal",
    "rederive",
    "request_collection",
    "set_enabled",
]
