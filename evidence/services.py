"""Evidence services: store normalised records as immutable evidence, with provenance.

:func:`store_page` (a connector's page with its raw exchange) and :func:`store_batch` (records
read from a file) are the one place records become rows; every run goes through them. They
deduplicate by (platform, platform id), upsert authors by stable id (recording each handle and
name an account is seen with), quarantine rejects, mark reported deletions, and commit the run's
cursor in the same transaction as the rows, so a crash and a re-run give exactly the rows of an
uninterrupted run. :func:`import_posts` reads files in any supported format the same way.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field, JSONField, Model
from django.utils import timezone

from evidence.connectors import files, ndjson
from evidence.connectors.base import AccountRecord, Record, Rejected
from evidence.connectors.http import Exchange as HttpExchange
from evidence.connectors.page import Deletion, Derived, Page, Skipped
from evidence.models import Account, AccountObservation, CollectionRun, Exchange, Platform, Post, Quarantine, Source
from oversight import purposes
from oversight.services import record as audit

BATCH_SIZE = 5000  # posts per transaction (and checkpoint) of a file import
BULK_CACHE_KIB = 64 * 1024  # SQLite page cache during an import
BULK_CHECKPOINT_PAGES = 10_000  # SQLite WAL pages (about 40 MB) between checkpoints during an import
_ACCOUNT_FIELDS = ("handle", "display_name", "bio", "location", "url")
_ACCOUNT_COLUMNS = ("platform", "platform_id", *_ACCOUNT_FIELDS, "first_seen", "last_seen")
_OBSERVATION_COLUMNS = ("account", "handle", "display_name", "observed_at", "run")
FORMATS = {"ndjson": ndjson.NAME, "twarc": "twarc_ndjson", "zeeschuimer": "zeeschuimer_ndjson", "csv": "csv"}

Progress = Callable[[int], None]  # called with the bytes of input consumed so far


@dataclass
class ImportSummary:
    run_id: int
    imported: int = 0
    duplicates: int = 0
    quarantined: int = 0
    resumed_from_line: int = 0
    deleted: int = 0
    skipped: int = 0


@dataclass
class Stored:
    """What one page or batch changed."""

    imported: int = 0
    duplicates: int = 0
    quarantined: int = 0
    deleted: int = 0
    skipped: int = 0
    unlinkable: int = 0


class ImportFileError(Exception):
    """The input file cannot be read at all (missing, a directory, unreadable)."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _file_source(connector: str, purpose: str = purposes.DEFAULT_PURPOSE) -> Source:
    """The source file imports of one format run under, one per purpose they are made for."""
    if purpose == purposes.DEFAULT_PURPOSE:
        name, recorded = f"file import ({connector})", purposes.default_purpose()
    else:
        found = purposes.newest(purpose)
        if found is None:
            raise purposes.PurposeError(f"--purpose {purpose!r}: no such purpose; record it with `assay purposes add`")
        name, recorded = f"file import ({connector}) for {purpose}"[:100], found
    source, _ = Source.objects.get_or_create(
        name=name, defaults={"platform": Platform.FILE, "connector": connector, "query": "", "purpose": recorded}
    )
    return source


AccountKey = tuple[str, str]
Profile = tuple[str, ...]  # _ACCOUNT_FIELDS in order


class AccountCache:
    """The accounts one import has already stored: (platform, id) -> (pk, profile as stored).

    Authors recur on every page of a large file; remembering what this process wrote spares a
    lookup per author per batch. Bounded: cleared when full, so memory stays flat.
    """

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self.known: dict[AccountKey, tuple[int, Profile]] = {}

    def remember(self, key: AccountKey, pk: int, profile: Profile) -> None:
        if len(self.known) >= self.limit:
            self.known.clear()
        self.known[key] = (pk, profile)


def _profile(account: AccountRecord) -> Profile:
    return (account.handle, account.display_name, account.bio, account.location, account.url)


def _upsert_accounts(
    accounts: Iterable[AccountRecord],
    now: datetime,
    run: CollectionRun | None,
    *,
    refresh: bool = True,
    cache: AccountCache | None = None,
) -> dict[tuple[str, str], int]:
    """Create unseen authors; refresh changed profile fields; return ids by (platform, id).

    Each new account, and each change of handle or name, is kept as an :class:`AccountObservation`,
    so an old handle still leads to the account. ``refresh=False`` (re-deriving old pages) only
    creates what is missing and leaves current profiles alone; so does a record that carries no
    profile at all, only the account's id. With a ``cache``, authors this
    import already stored, unchanged, are not looked up again.
    """
    latest: dict[tuple[str, str], AccountRecord] = {}
    for acc in accounts:
        latest[(acc.platform, acc.platform_id)] = acc
    if not latest:
        return {}
    ids: dict[tuple[str, str], int] = {}
    changed: list[Account] = []
    renamed: list[Account] = []
    lookup = latest
    if cache is not None:
        lookup = {}
        for key, seen in latest.items():
            hit = cache.known.get(key)
            if hit is not None and (hit[1] == _profile(seen) or not any(_profile(seen))):
                ids[key] = hit[0]
            else:
                lookup[key] = seen
    for platform, platform_ids in _by_platform(lookup).items():
        for pk, platform_id, *profile in _select_in(Account, ("pk", "platform_id", *_ACCOUNT_FIELDS), platform,
                                                    platform_ids):  # fmt: skip
            key = (platform, platform_id)
            ids[key] = pk
            seen = latest[key]
            # A record with no profile at all (a Jetstream commit carries only the author's DID)
            # says nothing about the profile: keep what we know.
            if refresh and any(_profile(seen)) and tuple(profile) != _profile(seen):
                existing = Account(pk=pk, platform=platform, platform_id=platform_id, last_seen=now,
                                   **{f: getattr(seen, f) for f in _ACCOUNT_FIELDS})  # fmt: skip
                if (profile[0], profile[1]) != (seen.handle, seen.display_name):
                    renamed.append(existing)
                changed.append(existing)
    if changed:
        Account.objects.bulk_update(changed, [*_ACCOUNT_FIELDS, "last_seen"])
    seen_at = connection.ops.adapt_datetimefield_value(now)
    run_id = run.pk if run is not None else None
    observed = [(a.pk, a.handle, a.display_name, seen_at, run_id) for a in renamed]
    new = [
        (a.platform, a.platform_id, a.handle, a.display_name, a.bio, a.location, a.url, seen_at, seen_at)
        for key, a in latest.items()
        if key not in ids
    ]
    if new:
        _insert_many(Account, _ACCOUNT_COLUMNS, new)
        fresh = [key for key in latest if key not in ids]
        for platform, platform_ids in _by_platform(fresh).items():
            ids.update(((platform, pid), pk) for pk, pid in _select_in(Account, ("pk", "platform_id"), platform,
                                                                       platform_ids))  # fmt: skip
        observed += [(ids[k], latest[k].handle, latest[k].display_name, seen_at, run_id) for k in fresh]
    if observed:
        _insert_many(AccountObservation, _OBSERVATION_COLUMNS, observed)
    if cache is not None and refresh:
        for key in lookup:
            cache.remember(key, ids[key], _profile(latest[key]))
    return ids


def _by_platform(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for platform, platform_id in keys:
        grouped.setdefault(platform, []).append(platform_id)
    return grouped


def quarantine(rejects: Iterable[Rejected], *, origin: str, run: CollectionRun | None = None) -> None:
    """Keep bad records with where they were and why; the same record from the same place is kept once."""
    Quarantine.objects.bulk_create(
        [
            Quarantine(
                run=run,
                origin=origin,
                position=r.position,
                reason=r.reason,
                raw=r.raw,
                raw_sha256=Quarantine.digest(r.raw),
            )
            for r in rejects
        ],
        ignore_conflicts=True,
    )


_POST_COLUMNS = (
    "platform", "platform_id", "account", "kind", "parent_platform_id", "text", "lang", "url",
    "created_at", "collected_at", "run", "raw", "sha256", "exchange",
)  # fmt: skip


def _insert_posts(
    run: CollectionRun,
    records: Iterable[Record],
    account_ids: dict[tuple[str, str], int],
    now: datetime,
    exchange_id: int | None = None,
    *,
    skip_existing: bool = False,
) -> int:
    """Insert new posts with one parameterised statement per batch; return how many were inserted.

    The hot path of every collection: the ORM's per-field SQL compilation cost more than the
    database itself, so values are adapted once here and the canonical JSON computed for the
    hash is stored as is (the same document, sorted keys, no whitespace). ``skip_existing``
    leaves posts already held alone (the database skips them on the unique key), for callers
    that did not look them up first.
    """
    adapt_dt = _datetime_adapter()
    collected_at = adapt_dt(now)
    rows = []
    for rec in records:
        post, author = rec.post, rec.account
        raw_json, sha256 = rec.canonical()
        rows.append((
            post.platform, post.platform_id,
            account_ids[(author.platform, author.platform_id)] if author else None,
            post.kind, post.parent_platform_id, post.text, post.lang, post.url,
            adapt_dt(post.created_at) if post.created_at else None,
            collected_at, run.pk, raw_json, sha256, exchange_id,
        ))  # fmt: skip
    if not rows:
        return 0
    return _insert_many(Post, _POST_COLUMNS, rows, on_conflict=("platform", "platform_id") if skip_existing else ())


def _datetime_adapter() -> Callable[[datetime], Any]:
    """Django's adaptation, but for SQLite the same text written directly (the per-value call costs)."""
    if connection.vendor != "sqlite" or not settings.USE_TZ:
        return connection.ops.adapt_datetimefield_value
    return lambda value: value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def _insert_many(
    model: type[Model], field_names: Sequence[str], rows: list[tuple[Any, ...]], *, on_conflict: Sequence[str] = ()
) -> int:
    """Insert ``rows`` in one statement (COPY on PostgreSQL); return how many rows were inserted.

    ``on_conflict`` names a unique key whose existing rows are left alone (``ON CONFLICT DO
    NOTHING``; not ``OR IGNORE``, which would also drop rows failing other constraints silently).
    COPY cannot skip rows, so on PostgreSQL callers filter what exists before.
    """
    meta, quote = model._meta, connection.ops.quote_name
    columns, placeholders = [], []
    for name in field_names:
        model_field = meta.get_field(name)
        assert isinstance(model_field, Field) and model_field.column, f"{name} is not a concrete column"
        columns.append(quote(model_field.column))
        is_json = isinstance(model_field, JSONField)
        placeholders.append("%s::jsonb" if is_json and connection.vendor == "postgresql" else "%s")
    if connection.vendor == "postgresql" and not on_conflict:  # COPY: several times faster than INSERTs there
        copy_sql = f"COPY {quote(meta.db_table)} ({', '.join(columns)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
        return len(rows)
    # Identifiers come from model metadata, quoted; every value is a bound parameter.
    sql = f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) VALUES ({', '.join(placeholders)})"  # noqa: S608
    if on_conflict:
        sql += f" ON CONFLICT ({', '.join(quote(_column(model, name)) for name in on_conflict)}) DO NOTHING"
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
        return int(cursor.rowcount)


_IN_CHUNK = 900  # bound parameters per lookup: under every SQLite build's limit


def _select_in(
    model: type[Model], field_names: Sequence[str], platform: str, platform_ids: Sequence[str]
) -> Iterator[tuple[Any, ...]]:
    """Rows of ``model`` for these platform ids, as plain tuples.

    On the import hot path the ORM's compilation of large ``IN`` lists and model instantiation
    cost more than the lookup itself; identifiers come from model metadata, values are bound.
    """
    meta, quote = model._meta, connection.ops.quote_name
    columns = ", ".join(quote(meta.pk.column if f == "pk" else _column(model, f)) for f in field_names)
    unique = list(dict.fromkeys(platform_ids))
    if connection.vendor == "postgresql":  # one array parameter: nothing for the driver to splice in
        sql = (
            f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(_column(model, 'platform'))} = %s "  # noqa: S608
            f"AND {quote(_column(model, 'platform_id'))} = ANY(%s)"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [platform, unique])
            yield from cursor.fetchall()
        return
    with connection.cursor() as cursor:
        for start in range(0, len(unique), _IN_CHUNK):
            chunk = unique[start : start + _IN_CHUNK]
            sql = (
                f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(_column(model, 'platform'))} = %s "  # noqa: S608
                f"AND {quote(_column(model, 'platform_id'))} IN ({', '.join(['%s'] * len(chunk))})"
            )
            cursor.execute(sql, [platform, *chunk])
            yield from cursor.fetchall()


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column, f"{name} is not a concrete column"
    return field.column


def _existing_post_keys(keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for platform, platform_ids in _by_platform(keys).items():
        found.update((platform, pid) for (pid,) in _select_in(Post, ("platform_id",), platform, platform_ids))
    return found


def _mark_deleted(platform: str, deletions: Sequence[Deletion], now: datetime) -> int:
    """Mark reported deletions on the posts we hold (never delete a row); already marked ones stay as they are."""
    marked = 0
    by_reason: dict[tuple[str, bool], list[str]] = {}
    for d in deletions:
        by_reason.setdefault((d.reason[:300], d.whole_account), []).append(d.platform_id)
    for (reason, whole_account), ids in by_reason.items():
        held = Post.objects.filter(platform=platform, deleted_at__isnull=True)
        if whole_account:
            held = held.filter(account__platform=platform, account__platform_id__in=ids)
        else:
            held = held.filter(platform_id__in=ids)
        marked += held.update(deleted_at=now, deleted_reason=reason)
    return marked


def _store(
    run: CollectionRun,
    records: Sequence[Record],
    rejects: Sequence[Rejected],
    *,
    origin: str,
    deletions: Sequence[Deletion] = (),
    skipped: Sequence[Skipped] = (),
    deletion_platform: str = "",
    exchange_id: int | None = None,
    now: datetime,
    accounts: AccountCache | None = None,
) -> Stored:
    """Rows for one batch, inside the caller's transaction; the run's counters are updated in memory.

    On PostgreSQL the posts already held are looked up first (COPY cannot skip them); SQLite
    skips them in the INSERT itself, which spares a lookup per post.
    """
    look_up = connection.vendor != "sqlite"
    existing = _existing_post_keys([(r.post.platform, r.post.platform_id) for r in records]) if look_up else set()
    fresh: dict[tuple[str, str], Record] = {}
    for rec in records:
        key = (rec.post.platform, rec.post.platform_id)
        if key not in existing and key not in fresh:
            fresh[key] = rec
    # Authors of duplicates too: a handle seen changed is an observation even on a post we hold.
    account_ids = _upsert_accounts((r.account for r in records if r.account is not None), now, run, cache=accounts)
    authorless = [r for r in fresh.values() if r.account is None]
    authored = [r for r in fresh.values() if r.account is not None] if authorless else fresh.values()
    imported = _insert_posts(run, authored, account_ids, now, exchange_id, skip_existing=not look_up)
    unlinkable = _insert_posts(run, authorless, account_ids, now, exchange_id, skip_existing=not look_up)
    quarantine(rejects, origin=origin, run=run)
    stored = Stored(
        imported=imported + unlinkable,
        duplicates=len(records) - imported - unlinkable,
        quarantined=len(rejects),
        deleted=_mark_deleted(deletion_platform, deletions, now) if deletions else 0,
        skipped=len(skipped),
        unlinkable=unlinkable,
    )
    run.imported += stored.imported
    run.duplicates += stored.duplicates
    run.quarantined += stored.quarantined
    run.deleted += stored.deleted
    run.skipped += stored.skipped
    run.unlinkable += stored.unlinkable
    return stored


_RUN_COUNTERS = ["imported", "duplicates", "quarantined", "deleted", "skipped", "unlinkable", "cursor"]


def store_batch(
    run: CollectionRun, items: Sequence[Record | Rejected], *, origin: str, cursor: dict[str, Any]
) -> tuple[int, int, int]:
    """Store one batch and checkpoint ``cursor`` with it; return (imported, duplicates, quarantined)."""
    records = [r for r in items if isinstance(r, Record)]
    rejects = [r for r in items if isinstance(r, Rejected)]
    with transaction.atomic():
        stored = _store(run, records, rejects, origin=origin, now=timezone.now())
        run.cursor = cursor
        run.save(update_fields=_RUN_COUNTERS)
    return stored.imported, stored.duplicates, stored.quarantined


def _save_exchange(run: CollectionRun, exchange: HttpExchange, role: str) -> Exchange:
    run.exchanges += 1
    return Exchange.objects.create(
        run=run,
        seq=run.exchanges,
        page=run.pages,
        role=role,
        method=exchange.method,
        url=exchange.url,
        params=dict(exchange.params),
        status=exchange.status,
        headers=[list(pair) for pair in exchange.headers],
        body=exchange.body,
        retrieved_at=exchange.retrieved_at,
        connector=exchange.connector,
        connector_version=exchange.connector_version,
        sha256=exchange.sha256,
    )


def store_page(run: CollectionRun, page: Page, *, origin: str, deletion_platform: str, finish: bool = False) -> Stored:
    """One connector page in one transaction: its exchange (and the failed attempts before it), the
    records derived from it, rejects, deletions, and the cursor to resume from after it.

    With ``finish`` (the last page) the run is marked done in the same transaction, so a crash can
    never leave a finished query looking resumable from its start.
    """
    now = timezone.now()
    with transaction.atomic():
        run.pages += 1
        for attempt in page.attempts:
            _save_exchange(run, attempt, Exchange.Role.ATTEMPT)
        saved = _save_exchange(run, page.exchange, Exchange.Role.PAGE) if page.exchange is not None else None
        stored = _store(
            run,
            page.records,
            page.rejected,
            origin=origin,
            deletions=page.deletions,
            skipped=page.skipped,
            deletion_platform=deletion_platform,
            exchange_id=saved.pk if saved is not None else None,
            now=now,
        )
        run.read += len(page.records) + len(page.rejected) + len(page.skipped)
        run.cursor = page.cursor if page.cursor is not None else {}
        run.heartbeat_at = now
        fields = [*_RUN_COUNTERS, "read", "pages", "exchanges", "heartbeat_at"]
        if finish:
            run.status, run.finished_at = CollectionRun.Status.DONE, now
            fields += ["status", "finished_at"]
        run.save(update_fields=fields)
    return stored


def _open_run(path: Path, digest: str, connector: str, version: str, purpose_name: str) -> tuple[CollectionRun, int]:
    """Resume an interrupted run of this exact file under this purpose, or start a new one."""
    source = _file_source(connector, purpose_name)
    name = source.purpose.name if source.purpose is not None else None
    purpose = purposes.in_force(name, what=f"importing {path}")
    interrupted = (
        CollectionRun.objects.filter(source=source, input_sha256=digest, status=CollectionRun.Status.RUNNING)
        .order_by("-pk")
        .first()
    )
    if interrupted is not None:
        return interrupted, int(interrupted.cursor.get("line", 0))
    run = CollectionRun.objects.create(
        source=source,
        connector=connector,
        connector_version=version,
        query=str(path),
        input_sha256=digest,
        started_at=timezone.now(),
        cursor={"line": 0},
        trigger="cli",
        purpose=purpose,
    )
    return run, 0


class LineReader(Protocol):
    """A file format's reader: ``(line number, what the line gave)`` for the lines after ``start_line``."""

    def read(self, stream: IO[bytes], start_line: int = 0) -> Iterator[tuple[int, Derived]]: ...


def _reader(fmt: str, mapping: dict[str, str] | None, record_platform: str) -> tuple[LineReader, str]:
    """(the format's line reader, the platform deletions refer to)."""
    if fmt == "ndjson":
        return ndjson.NdjsonLines(), ""
    if fmt == "twarc":
        return files.TwarcNdjson(), Platform.X.value
    if fmt == "zeeschuimer":
        return files.ZeeschuimerNdjson(), ""
    if fmt == "csv":
        if not mapping:
            raise ImportFileError("CSV needs a column mapping: --map id=COLUMN --map text=COLUMN [...]")
        try:
            return files.CsvFile(mapping, record_platform), record_platform
        except ValueError as exc:
            raise ImportFileError(str(exc)) from None
    raise ImportFileError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


@contextmanager
def _bulk_allocation() -> Iterator[None]:
    """Collect garbage less often while a large import runs.

    A batch keeps thousands of parsed posts alive until it is stored, so the collector's
    default young-generation threshold (700 allocations) runs it constantly over objects that
    are not garbage; that cost a third of the import. Long-lived objects (Django, the models)
    are frozen out of the scans, and the threshold restored afterwards.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], 100_000), threshold[1], threshold[2])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


@contextmanager
def _bulk_writes() -> Iterator[None]:
    """On SQLite, while a large import runs: a bigger page cache and fewer WAL checkpoints.

    The default cache (2 MB) stops holding the posts' indexes after a few hundred thousand rows,
    and a checkpoint after every batch copies and syncs the same index pages again and again. The
    connection's settings are restored afterwards. Durability is unchanged: every batch still
    commits with its cursor.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cache = cursor.execute("PRAGMA cache_size").fetchone()[0]
        checkpoint = cursor.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {BULK_CHECKPOINT_PAGES}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(cache)}")
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint)}")


def import_posts(
    path: Path,
    *,
    actor: Any = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    fmt: str = "ndjson",
    mapping: dict[str, str] | None = None,
    record_platform: str = Platform.FILE.value,
    purpose: str = purposes.DEFAULT_PURPOSE,
) -> ImportSummary:
    """Import a file of posts under ``purpose``; resumable and idempotent.

    Like a collection, an import runs only while ``purpose`` has an approved version in force
    (else :class:`oversight.purposes.PurposeError` says why) and its run records that version.

    Formats: ``ndjson`` (assay's normalised form, docs/formats.md), ``twarc`` (raw X API v2
    responses, one page a line), ``zeeschuimer`` (Zeeschuimer/4CAT exports) and ``csv`` (with a
    ``mapping`` of assay fields to columns). Checkpoints fall only on line boundaries, since one
    twarc line holds a whole page of posts.
    """
    path = Path(path)
    reader, deletion_platform = _reader(fmt, mapping, record_platform)
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file" if not path.exists() else f"{path}: not a regular file")
    digest = file_sha256(path)
    connector = FORMATS[fmt]
    run, start_line = _open_run(path, digest, connector, ndjson.VERSION if fmt == "ndjson" else "1", purpose)
    summary = ImportSummary(run_id=run.pk, resumed_from_line=start_line)
    batch = _Batch(run, str(path), deletion_platform, summary)
    last_line = start_line
    with path.open("rb") as fh, _bulk_allocation(), _bulk_writes():
        for number, derived in reader.read(fh, start_line):
            batch.add(derived)
            last_line = number
            if batch.size >= batch_size:
                batch.flush(last_line)
                if progress is not None:
                    progress(fh.tell())
        batch.flush(last_line)
        if progress is not None:
            progress(fh.tell())
    run.status = CollectionRun.Status.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    audit(
        "collection.run_finished",
        actor=actor,
        obj=run,
        connector=run.connector,
        input=str(path),
        input_sha256=digest,
        imported=run.imported,
        duplicates=run.duplicates,
        quarantined=run.quarantined,
        deleted=run.deleted,
    )
    return summary


def _no_flush_wait() -> None:
    """On PostgreSQL, commit this import batch without waiting for its WAL to reach the disk.

    The same trade SQLite's WAL mode makes with ``synchronous=NORMAL``: a crash of the database
    server's machine may lose the last few batches, never corrupt anything; the cursor commits in
    the same transaction as the rows, so a re-run re-reads exactly what was lost. Waiting for the
    disk at every batch otherwise dominates a large import.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


class _Batch:
    """Whole lines of a file, stored together with the line to resume after."""

    def __init__(self, run: CollectionRun, origin: str, deletion_platform: str, summary: ImportSummary) -> None:
        self.run, self.origin, self.deletion_platform, self.summary = run, origin, deletion_platform, summary
        self.accounts = AccountCache()
        self._clear()

    def _clear(self) -> None:
        self.records: list[Record] = []
        self.rejects: list[Rejected] = []
        self.deletions: list[Deletion] = []
        self.skipped: list[Skipped] = []
        self.size = 0

    def add(self, derived: Derived) -> None:
        self.records += derived.records
        self.rejects += derived.rejected
        self.deletions += derived.deletions
        self.skipped += derived.skipped
        self.size += max(1, len(derived.records) + len(derived.rejected))

    def flush(self, last_line: int) -> None:
        run = self.run
        with transaction.atomic():
            _no_flush_wait()
            stored = _store(
                run,
                self.records,
                self.rejects,
                origin=self.origin,
                deletions=self.deletions,
                skipped=self.skipped,
                deletion_platform=self.deletion_platform,
                now=timezone.now(),
                accounts=self.accounts,
            )
            run.cursor = {"line": last_line}
            run.save(update_fields=_RUN_COUNTERS)
        summary = self.summary
        summary.imported += stored.imported
        summary.duplicates += stored.duplicates
        summary.quarantined += stored.quarantined
        summary.deleted += stored.deleted
        summary.skipped += stored.skipped
        self._clear()
