"""Conversation context: fetch the posts that collected posts answered, so a reviewer sees what a
reply replied to, what a quote quoted and what a repost reposted.

A search matches the reply, not its parent, so the parent is often not held. :func:`fetch_context`
finds the parents of the given posts that are not held (a Post of the same platform whose id is
the child's ``parent_platform_id``), asks the platform for them by id, stores what comes back as
ordinary evidence (:func:`~evidence.services.store_page`: raw and sha256, the exchange kept), and
repeats for the parents' own parents, ``depth`` levels up (through parents already held as well).

Each source whose posts need parents gets a :class:`~evidence.models.CollectionRun` with its own
connector name (``x_context``, ``bluesky_context``, ``mastodon_context``), claimed as a recheck
claims its run (one run of a source at a time; an interrupted collection resumes first), under
the source's purpose, which must be in force as for collecting. What the platform answered is kept
per parent as a :class:`~evidence.models.ParentLookup`: fetched (and which post it is), gone, or
withheld by policy. That row, not the run's cursor, is where the answer lives because the case
page asks per parent ("the platform no longer shows the post it replied to"), a parent is never
asked twice (idempotent, and a gone parent is not retried endlessly), and on Mastodon the id a
child names its parent by (the instance API URL) is not the post's own (its ``uri``).

Limits are the connectors' (rate-limit waits, backoff); what waiting cannot fix stops that
source's run with the platform's reason and, for a long rate limit, ``resume_after``; the next
fetch resumes that run and asks only what is still unanswered. An X source's spending cap is
checked before each lookup, as collection checks it. File imports (no platform to ask) are
skipped with the reason, and so is Facebook: a page's comments are collected with the post they
comment on and the comments they reply to, so their parents come with them; a fetch by id for
Facebook is not built.

For the case page: :func:`held` and :func:`gone` answer per (platform, parent id as children
name it); :func:`request_context` queues a fetch for the worker.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from evidence import registry
from evidence.collect import (
    PurposeNotInForce,
    SourceBusy,
    SourceDisabled,
    _abandoned,
    _cap_check,
    _client_options,
    _owner,
    _spent_this_month,
    purpose_in_force,
    stop_run,
)
from evidence.connectors.context import BlueskyContext, MastodonContext, XContext, mastodon_status_id
from evidence.connectors.errors import Action
from evidence.connectors.http import ClientOptions, CollectionStopped
from evidence.connectors.page import Page
from evidence.models import CollectionRun, Exchange, ParentLookup, Post, Source
from evidence.recheck import _bluesky_appview, _collection_to_resume
from evidence.services import store_page
from oversight.services import record as audit

CONNECTORS = {"x": "x_context", "bluesky": "bluesky_context", "mastodon": "mastodon_context"}
MAX_DEPTH = 10
_BATCH = {"x_context": 100, "bluesky_context": 25, "mastodon_context": 1}  # ids per request
_RESUMABLE = (CollectionRun.Status.STOPPED, CollectionRun.Status.FAILED, CollectionRun.Status.RUNNING)
_CHUNK = 500  # ids per IN (...) lookup
FILE_SKIP = "a file import: there is no platform to ask"
FACEBOOK_SKIP = "Facebook: not fetched (a page's comments are collected with the post and the comments they answer)"

Progress = Callable[["Summary"], None]


@dataclass
class Summary:
    """What one :func:`fetch_context` did, for the CLI, the worker's log and the audit trail."""

    asked: int = 0  # parents asked of a platform
    fetched: int = 0  # returned and now held
    gone: int = 0  # reported deleted or no longer visible
    withheld: int = 0  # returned, but not collected by policy (protected, noindex, logged-out opt-out)
    unanswered: int = 0  # asked, but the answer could not be read (quarantined): asked again next time
    known: int = 0  # parents held already or known gone: not asked
    levels: int = 0  # how far up it went
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> parents not asked for it
    stopped: list[str] = field(default_factory=list)  # a source's run the platform stopped, and why
    runs: list[CollectionRun] = field(default_factory=list)

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n

    def counts(self) -> dict[str, Any]:
        return {"asked": self.asked, "fetched": self.fetched, "gone": self.gone, "withheld": self.withheld,
                "unanswered": self.unanswered, "known": self.known, "levels": self.levels,
                "skipped": dict(self.skipped)}  # fmt: skip

    def describe(self) -> str:
        """A few lines: the counts, then each skip reason and each stop."""
        lines = [
            f"context: {self.asked} parent(s) asked, {self.fetched} fetched, {self.gone} gone, "
            f"{self.withheld} withheld by policy, {self.unanswered} unanswered, {self.known} already known, "
            f"{sum(self.skipped.values())} skipped; {self.levels} level(s) up"
        ]
        lines += [f"  skipped {n}: {reason}" for reason, n in sorted(self.skipped.items())]
        lines += [f"  stopped: {message}" for message in self.stopped]
        lines += [f"  run {run.pk} ({run.source.name}, {run.connector}): {run.status}" for run in self.runs]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# what the case page asks


def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    unique = list(dict.fromkeys(i for i in ids if i))
    for start in range(0, len(unique), _CHUNK):
        yield unique[start : start + _CHUNK]


def held(platform: str, parent_ids: Iterable[str]) -> dict[str, Post]:
    """The parents we hold, by the id their children name them with (``parent_platform_id``).

    A Post of ``platform`` with that id, else the post a context fetch got when it asked for that
    id (on Mastodon a child may name its parent by the instance API URL, the post is keyed by its
    ``uri``). Ids not held are absent. Two queries per 500 ids at most (the posts' accounts come with them).
    """
    found: dict[str, Post] = {}
    for chunk in _chunks(parent_ids):
        posts = Post.objects.filter(platform=platform, platform_id__in=chunk).select_related("account")
        found.update((p.platform_id, p) for p in posts)
        missing = [i for i in chunk if i not in found]
        if missing:
            lookups = ParentLookup.objects.filter(platform=platform, asked_id__in=missing, post__isnull=False)
            found.update(
                (lk.asked_id, lk.post) for lk in lookups.select_related("post__account") if lk.post is not None
            )
    return found


def gone(platform: str, parent_ids: Iterable[str]) -> dict[str, ParentLookup]:
    """The parents a context fetch found the platform no longer shows, by the id their children name
    them with: ``outcome`` is ``gone`` (deleted, or no longer visible) or ``withheld`` (there, but
    not public: a protected account, an opt-out), with the platform's ``reason`` and ``asked_at``.
    Ids held, never asked, or not yet answered are absent. One query per 500 ids."""
    found: dict[str, ParentLookup] = {}
    unavailable = [ParentLookup.Outcome.GONE, ParentLookup.Outcome.WITHHELD]
    for chunk in _chunks(parent_ids):
        rows = ParentLookup.objects.filter(platform=platform, asked_id__in=chunk, outcome__in=unavailable)
        found.update((lk.asked_id, lk) for lk in rows)
    return found


# ---------------------------------------------------------------------------------------------
# fetching


@dataclass(frozen=True)
class _Wanted:
    """A parent to ask for: the id its children name it with, and the id to ask the platform for."""

    asked_id: str
    lookup_id: str


def fetch_context(
    posts: Iterable[Post | int],
    *,
    depth: int = 3,
    trigger: str = "cli",
    options: ClientOptions | None = None,
    on_progress: Progress | None = None,
    actor: Any = None,
) -> Summary:
    """Fetch the parents of ``posts`` (Posts or their ids) not held, ``depth`` levels up; see the module.

    Never raises for what a platform or a source's configuration says: those are skips and stops
    in the summary. Unexpected errors mark the run failed (resumable) and are raised.
    """
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be 1 to {MAX_DEPTH}, not {depth}")
    ids = sorted({p.pk if isinstance(p, Post) else int(p) for p in posts})
    summary = Summary()
    audit("context.fetch_started", actor=actor, posts=len(ids), depth=depth, trigger=trigger)
    runs: dict[int, CollectionRun] = {}
    blocked: dict[int, str] = {}  # source id -> why it is not asked any more in this fetch
    try:
        children = _posts(ids)
        for level in range(1, depth + 1):
            if not _parents(children):
                break
            summary.levels = level
            for source, parents in _wanted(children, summary, blocked).items():
                _ask_source(source, parents, level, depth, runs, blocked, summary, trigger, options, on_progress)
            children = _held_parents(children)
    finally:
        summary.runs = [_finish(run, summary) for run in runs.values()]
        audit("context.fetch_finished", actor=actor, posts=len(ids), depth=depth, trigger=trigger,
              runs=[r.pk for r in summary.runs], **summary.counts())  # fmt: skip
    return summary


def _posts(ids: Sequence[int]) -> list[Post]:
    found: list[Post] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = Post.objects.filter(pk__in=ids[start : start + _CHUNK]).select_related("run__source")
        found += chunk.only("pk", "platform", "platform_id", "parent_platform_id", "raw", "run__source")
    return found


def _parents(children: Iterable[Post]) -> dict[tuple[str, str], Post]:
    """Each parent named (platform, id as named) -> the first child naming it."""
    named: dict[tuple[str, str], Post] = {}
    for child in children:
        if child.parent_platform_id:
            named.setdefault((child.platform, child.parent_platform_id), child)
    return named


def _held_parents(children: Iterable[Post]) -> list[Post]:
    """The parents of ``children`` held now (fetched or held before): the next level's children."""
    by_platform: dict[str, list[str]] = {}
    for platform, parent_id in _parents(children):
        by_platform.setdefault(platform, []).append(parent_id)
    found = [p.pk for platform, parent_ids in by_platform.items() for p in held(platform, parent_ids).values()]
    return _posts(sorted(set(found)))


def _wanted(children: Iterable[Post], summary: Summary, blocked: dict[int, str]) -> dict[Source, list[_Wanted]]:
    """The parents to ask for, by the source of the child naming them; skips counted with reasons."""
    named = _parents(children)
    by_platform: dict[str, list[str]] = {}
    for platform, parent_id in named:
        by_platform.setdefault(platform, []).append(parent_id)
    known: set[tuple[str, str]] = set()
    for platform, parent_ids in by_platform.items():
        known |= {(platform, i) for i in held(platform, parent_ids)}
        for chunk in _chunks(parent_ids):
            asked = ParentLookup.objects.filter(platform=platform, asked_id__in=chunk)
            known |= {(platform, i) for i in asked.values_list("asked_id", flat=True)}
    summary.known += len(known)
    wanted: dict[Source, list[_Wanted]] = {}
    for (platform, parent_id), child in named.items():
        if (platform, parent_id) in known:
            continue
        source = child.run.source
        refusal = blocked.get(source.pk) or _refusal(source)
        if refusal:
            blocked[source.pk] = refusal
            summary.skip(refusal)
            continue
        lookup_id = mastodon_status_id(parent_id, child.raw) if platform == "mastodon" else parent_id
        if not lookup_id:
            summary.skip(f"{source.name}: Mastodon: the parent's id on the instance is not known")
            continue
        wanted.setdefault(source, []).append(_Wanted(parent_id, lookup_id))
    return wanted


def _refusal(source: Source) -> str:
    """Why ``source``'s posts' parents cannot be asked for, or ''."""
    spec = registry.SPECS.get(source.connector)
    if source.platform == "file" or (spec is not None and spec.file):
        return f"{source.name}: {FILE_SKIP}"
    if source.platform == "facebook":
        return f"{source.name}: {FACEBOOK_SKIP}"
    if source.platform not in CONNECTORS:
        return f"{source.name}: no context lookup for {source.platform}"
    if not source.enabled:
        return f"{source.name}: the source is disabled"
    try:
        purpose_in_force(source)
    except PurposeNotInForce as exc:
        return f"{source.name}: {exc}"
    return ""


def _claim(source: Source, connector: str, trigger: str, level: int, depth: int) -> CollectionRun:
    """The source's context run: its interrupted one resumes, else a new one. Raises SourceBusy,
    SourceDisabled or PurposeNotInForce, as collecting would."""
    now = timezone.now()
    cursor = {"level": level, "depth": depth}
    with transaction.atomic():
        locked = Source.objects.select_for_update().get(pk=source.pk)
        if not locked.enabled:
            raise SourceDisabled(f"{source.name}: the source is disabled")
        purpose = purpose_in_force(locked)
        latest = locked.runs.order_by("-pk").first()
        if latest is not None and latest.status == CollectionRun.Status.RUNNING and not _abandoned(latest, now):
            raise SourceBusy(f"{source.name}: being collected or rechecked by {latest.owner} (run {latest.pk})")
        if _collection_to_resume(locked, latest, now):
            assert latest is not None
            raise SourceBusy(f"{source.name}: an interrupted collection (run {latest.pk}) is to resume first: "
                             f"`assay collect {source.name}`")  # fmt: skip
        previous = locked.runs.filter(connector=connector).order_by("-pk").first()
        if previous is not None and previous.status in _RESUMABLE and previous.cursor:
            previous.status, previous.error, previous.stop_action, previous.resume_after = "running", "", "", None
            previous.owner, previous.heartbeat_at, previous.finished_at = _owner(), now, None
            previous.purpose, previous.cursor, previous.trigger = purpose, cursor, trigger
            previous.save(update_fields=["status", "error", "stop_action", "resume_after", "owner", "heartbeat_at",
                                         "finished_at", "purpose", "cursor", "trigger"])  # fmt: skip
            run, resumed = previous, True
        else:
            run = CollectionRun.objects.create(
                source=locked, connector=connector, connector_version=registry.spec_for(connector).version,
                query="conversation context: the parents of collected posts, asked for by id", started_at=now,
                trigger=trigger, owner=_owner(), heartbeat_at=now, cursor=cursor, purpose=purpose,
            )  # fmt: skip
            resumed = False
        audit("context.run_started", obj=run, source=source.name, connector=connector, resumed=resumed,
              trigger=trigger, purpose=str(purpose))  # fmt: skip
    return run


def _ask_source(
    source: Source,
    parents: list[_Wanted],
    level: int,
    depth: int,
    runs: dict[int, CollectionRun],
    blocked: dict[int, str],
    summary: Summary,
    trigger: str,
    options: ClientOptions | None,
    on_progress: Progress | None,
) -> None:
    connector = CONNECTORS[source.platform]
    run = runs.get(source.pk)
    if run is None:
        try:
            run = _claim(source, connector, trigger, level, depth)
        except (SourceBusy, SourceDisabled) as exc:
            blocked[source.pk] = str(exc)
            summary.skip(str(exc), len(parents))
            return
        runs[source.pk] = run
    cursor = {"level": level, "depth": depth}
    try:
        _ask(source, run, parents, cursor, summary, options, on_progress)
    except CollectionStopped as stop:
        _stop(run, stop.action.value, str(stop), stop, summary, blocked)
    except registry.ConfigError as exc:
        _stop(run, Action.STOP_AUTH.value if "token" in str(exc) else "config", str(exc), None, summary, blocked)
    except BaseException as exc:
        _stop(run, "", f"{type(exc).__name__}: {exc}", None, summary, blocked, status=CollectionRun.Status.FAILED)
        raise


def _ask(
    source: Source,
    run: CollectionRun,
    parents: list[_Wanted],
    cursor: dict[str, Any],
    summary: Summary,
    options: ClientOptions | None,
    on_progress: Progress | None,
) -> None:
    connector, ask = _connector(source, run, options)
    size = _BATCH[run.connector]
    spent = _spent_this_month(source, run, timezone.now()) if source.spending_cap is not None else 0
    try:
        for start in range(0, len(parents), size):
            batch = parents[start : start + size]
            _cap_check(source, run, spent, len(batch))  # X bills lookups per post read
            answered: set[str] = set()
            for page in ask(batch):
                answered |= _store(run, page, batch, cursor, summary)
            summary.asked += len(batch)
            summary.unanswered += len(batch) - len(answered)
            if on_progress is not None:
                on_progress(summary)
    finally:
        connector.close()


Ask = Callable[[list[_Wanted]], Iterable[Page]]


def _connector(source: Source, run: CollectionRun, options: ClientOptions | None) -> tuple[Any, Ask]:
    credential = registry.read_credential(source)
    client = _client_options(run, options)
    if source.platform == "x":
        x = XContext(credential, base_url=str(source.base_url or "https://api.x.com"), options=client)
        return x, lambda batch: x.recheck([w.lookup_id for w in batch])
    if source.platform == "bluesky":
        bsky = BlueskyContext(credential, base_url=_bluesky_appview(source), options=client)
        return bsky, lambda batch: bsky.recheck([w.lookup_id for w in batch])
    if not source.base_url:
        raise registry.ConfigError(f"{source.name} has no instance URL (--base-url) to ask")
    masto = MastodonContext(str(source.base_url), credential, options=client)
    return masto, lambda batch: masto.recheck({w.lookup_id: w.asked_id for w in batch})


def _store(run: CollectionRun, page: Page, batch: list[_Wanted], cursor: dict[str, Any], summary: Summary) -> set[str]:
    """One answer, stored as evidence with the run's cursor, and what it says of each parent asked;
    returns the asked ids it answered."""
    answers = _answers(page, batch)
    with transaction.atomic():
        store_page(run, dataclasses.replace(page, cursor=cursor), origin=run.source.name,
                   deletion_platform=run.source.platform)  # fmt: skip
        exchange = Exchange.objects.get(run=run, seq=run.exchanges) if page.exchange is not None else None
        fetched = {a: pid for a, (outcome, pid, _) in answers.items() if outcome == ParentLookup.Outcome.FETCHED}
        posts = {p.platform_id: p for p in Post.objects.filter(platform=run.source.platform,
                                                               platform_id__in=set(fetched.values()))}  # fmt: skip
        now = timezone.now()
        rows = [
            ParentLookup(platform=run.source.platform, asked_id=asked, outcome=outcome, reason=reason[:300],
                         post=posts.get(pid) if pid else None, run=run, exchange=exchange, asked_at=now)
            for asked, (outcome, pid, reason) in answers.items()
        ]  # fmt: skip
        ParentLookup.objects.bulk_create(rows, ignore_conflicts=True)
        gone_now = sum(1 for outcome, _, _ in answers.values() if outcome == ParentLookup.Outcome.GONE)
        if gone_now:  # the run counts the parents reported gone (store_page counts only posts held)
            run.deleted += gone_now
            CollectionRun.objects.filter(pk=run.pk).update(deleted=run.deleted)
    for outcome, _, _ in answers.values():
        setattr(summary, outcome, getattr(summary, outcome) + 1)
    return set(answers)


Answer = tuple[str, str, str]  # (outcome, the post's platform id when fetched, reason)


def _answers(page: Page, batch: list[_Wanted]) -> dict[str, Answer]:
    """What ``page`` says of each parent asked: fetched, gone or withheld (or nothing)."""
    if len(batch) == 1 and batch[0].lookup_id != batch[0].asked_id:  # Mastodon: keyed by uri, asked by id
        asked = batch[0].asked_id
        if page.records:
            return {asked: (ParentLookup.Outcome.FETCHED, page.records[0].post.platform_id, "")}
        if page.skipped:
            return {asked: (ParentLookup.Outcome.WITHHELD, "", page.skipped[0].reason)}
        if page.deletions:
            return {asked: (ParentLookup.Outcome.GONE, "", page.deletions[0].reason)}
        return {}
    by_lookup = {w.lookup_id: w.asked_id for w in batch}
    answers: dict[str, Answer] = {}
    for deletion in page.deletions:
        if deletion.platform_id in by_lookup and not deletion.whole_account:
            answers[by_lookup[deletion.platform_id]] = (ParentLookup.Outcome.GONE, "", deletion.reason)
    for skipped in page.skipped:
        if skipped.platform_id in by_lookup:
            answers[by_lookup[skipped.platform_id]] = (ParentLookup.Outcome.WITHHELD, "", skipped.reason)
    for record in page.records:
        if record.post.platform_id in by_lookup:
            asked = by_lookup[record.post.platform_id]
            answers[asked] = (ParentLookup.Outcome.FETCHED, record.post.platform_id, "")
    return answers


def _stop(
    run: CollectionRun,
    action: str,
    message: str,
    stop: CollectionStopped | None,
    summary: Summary,
    blocked: dict[int, str],
    *,
    status: str = "stopped",
) -> None:
    """End the source's run with the platform's reason (the stopping answer kept as evidence); its
    cursor stays, so the next fetch resumes this run."""
    stop_run(run, action, message, stop, event="context.run_stopped", status=status)
    when = f"; resumes after {run.resume_after:%Y-%m-%d %H:%M} UTC" if run.resume_after else ""
    summary.stopped.append(f"{run.source.name} ({run.connector}, run {run.pk}): {message}{when}")
    blocked[run.source_id] = f"{run.source.name}: stopped ({action or 'error'}); not asked further this time"


def _finish(run: CollectionRun, summary: Summary) -> CollectionRun:
    if run.status == CollectionRun.Status.RUNNING:
        run.status, run.finished_at, run.cursor = CollectionRun.Status.DONE, timezone.now(), {}
        run.save(update_fields=["status", "finished_at", "cursor"])
    audit("context.run_finished", obj=run, source=run.source.name, connector=run.connector, status=run.status,
          imported=run.imported, gone=run.deleted, withheld=run.skipped, quarantined=run.quarantined,
          pages=run.pages, error=run.error[:500])  # fmt: skip
    return run


# ---------------------------------------------------------------------------------------------
# jobs and selections


def request_context(
    posts: Iterable[Post | int], *, depth: int = 3, actor: Any = None, trigger: str = "ui"
) -> list[int]:
    """Queue a context fetch of ``posts`` for the worker (after commit); return the post ids queued.

    For a page's button: the request returns at once, ``assay worker`` runs the fetch.
    """
    from evidence.tasks import fetch_context_job

    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be 1 to {MAX_DEPTH}, not {depth}")
    ids = sorted({p.pk if isinstance(p, Post) else int(p) for p in posts})
    if not ids:
        return []
    with transaction.atomic():
        audit("context.requested", actor=actor, posts=len(ids), post_ids=ids[:100], depth=depth, trigger=trigger)
        transaction.on_commit(functools.partial(fetch_context_job.enqueue, ids, depth, trigger))
    return ids


def posts_of_source(source: Source) -> list[int]:
    """The ids of the posts ``source`` collected that name a parent (its context runs' posts too)."""
    rows = Post.objects.filter(run__source=source).exclude(parent_platform_id="")
    return list(rows.order_by("pk").values_list("pk", flat=True))


__all__ = [
    "CONNECTORS",
    "MAX_DEPTH",
    "Summary",
    "fetch_context",
    "gone",
    "held",
    "posts_of_source",
    "request_context",
]
