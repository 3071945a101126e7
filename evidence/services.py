"""Evidence services: store normalised records as immutable evidence, with provenance.

:func:`store_batch` is the one place records become rows; every connector's run goes through
it. It deduplicates by (platform, platform id), upserts authors by stable id, quarantines
rejects, and commits the run's cursor in the same transaction as the rows, so a crash and a
re-run give exactly the rows of an uninterrupted run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.db.models import Field, JSONField, Model
from django.utils import timezone

from evidence.connectors import ndjson
from evidence.connectors.base import AccountRecord, Record, Rejected
from evidence.models import Account, CollectionRun, Platform, Post, Quarantine, Source
from oversight.services import record as audit

BATCH_SIZE = 2000
_ACCOUNT_FIELDS = ("handle", "display_name", "bio", "location", "url")
_ACCOUNT_COLUMNS = ("platform", "platform_id", *_ACCOUNT_FIELDS, "first_seen", "last_seen")

Progress = Callable[[int], None]  # called with the bytes of input consumed so far


@dataclass
class ImportSummary:
    run_id: int
    imported: int = 0
    duplicates: int = 0
    quarantined: int = 0
    resumed_from_line: int = 0


class ImportFileError(Exception):
    """The input file cannot be read at all (missing, a directory, unreadable)."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _file_source(connector: str) -> Source:
    source, _ = Source.objects.get_or_create(
        name=f"file import ({connector})",
        defaults={"platform": Platform.FILE, "connector": connector, "query": ""},
    )
    return source


def _upsert_accounts(accounts: Iterable[AccountRecord], now: Any) -> dict[tuple[str, str], int]:
    """Create unseen authors; refresh changed profile fields; return ids by (platform, id)."""
    latest: dict[tuple[str, str], AccountRecord] = {}
    for acc in accounts:
        latest[(acc.platform, acc.platform_id)] = acc
    if not latest:
        return {}
    ids: dict[tuple[str, str], int] = {}
    changed: list[Account] = []
    for platform, platform_ids in _by_platform(latest).items():
        for existing in Account.objects.filter(platform=platform, platform_id__in=platform_ids):
            key = (platform, existing.platform_id)
            ids[key] = existing.pk
            seen = latest[key]
            if any(getattr(existing, f) != getattr(seen, f) for f in _ACCOUNT_FIELDS):
                for f in _ACCOUNT_FIELDS:
                    setattr(existing, f, getattr(seen, f))
                existing.last_seen = now
                changed.append(existing)
    if changed:
        Account.objects.bulk_update(changed, [*_ACCOUNT_FIELDS, "last_seen"])
    seen_at = connection.ops.adapt_datetimefield_value(now)
    new = [
        (a.platform, a.platform_id, a.handle, a.display_name, a.bio, a.location, a.url, seen_at, seen_at)
        for key, a in latest.items()
        if key not in ids
    ]
    if new:
        _insert_many(Account, _ACCOUNT_COLUMNS, new)
        for platform, platform_ids in _by_platform(key for key in latest if key not in ids).items():
            rows = Account.objects.filter(platform=platform, platform_id__in=platform_ids)
            ids.update(((platform, pid), pk) for pid, pk in rows.values_list("platform_id", "pk"))
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
    "created_at", "collected_at", "run", "raw", "sha256",
)  # fmt: skip


def _insert_posts(
    run: CollectionRun, records: Iterable[Record], account_ids: dict[tuple[str, str], int], now: datetime
) -> None:
    """Insert new posts with one parameterised statement per batch.

    The hot path of every collection: the ORM's per-field SQL compilation cost more than the
    database itself, so values are adapted once here and the canonical JSON computed for the
    hash is stored as is (the same document, sorted keys, no whitespace).
    """
    adapt_dt = connection.ops.adapt_datetimefield_value
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
            collected_at, run.pk, raw_json, sha256,
        ))  # fmt: skip
    if rows:
        _insert_many(Post, _POST_COLUMNS, rows)


def _insert_many(model: type[Model], field_names: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    meta, quote = model._meta, connection.ops.quote_name
    columns, placeholders = [], []
    for name in field_names:
        model_field = meta.get_field(name)
        assert isinstance(model_field, Field) and model_field.column, f"{name} is not a concrete column"
        columns.append(quote(model_field.column))
        is_json = isinstance(model_field, JSONField)
        placeholders.append("%s::jsonb" if is_json and connection.vendor == "postgresql" else "%s")
    # Identifiers come from model metadata, quoted; every value is a bound parameter.
    sql = f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) VALUES ({', '.join(placeholders)})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _existing_post_keys(keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for platform, platform_ids in _by_platform(keys).items():
        rows = Post.objects.filter(platform=platform, platform_id__in=platform_ids).values_list(
            "platform_id", flat=True
        )
        found.update((platform, pid) for pid in rows)
    return found


def store_batch(
    run: CollectionRun, items: Sequence[Record | Rejected], *, origin: str, cursor: dict[str, Any]
) -> tuple[int, int, int]:
    """Store one batch and checkpoint ``cursor`` with it; return (imported, duplicates, quarantined)."""
    now = timezone.now()
    records = [r for r in items if isinstance(r, Record)]
    rejects = [r for r in items if isinstance(r, Rejected)]
    with transaction.atomic():
        existing = _existing_post_keys([(r.post.platform, r.post.platform_id) for r in records])
        fresh: dict[tuple[str, str], Record] = {}
        duplicates = 0
        for rec in records:
            key = (rec.post.platform, rec.post.platform_id)
            if key in existing or key in fresh:
                duplicates += 1
            else:
                fresh[key] = rec
        account_ids = _upsert_accounts((r.account for r in fresh.values() if r.account is not None), now)
        _insert_posts(run, fresh.values(), account_ids, now)
        quarantine(rejects, origin=origin, run=run)
        run.imported += len(fresh)
        run.duplicates += duplicates
        run.quarantined += len(rejects)
        run.cursor = cursor
        run.save(update_fields=["imported", "duplicates", "quarantined", "cursor"])
    return len(fresh), duplicates, len(rejects)


def _open_run(path: Path, digest: str) -> tuple[CollectionRun, int]:
    """Resume an interrupted run of this exact file, or start a new one."""
    source = _file_source(ndjson.NAME)
    interrupted = (
        CollectionRun.objects.filter(source=source, input_sha256=digest, status=CollectionRun.Status.RUNNING)
        .order_by("-pk")
        .first()
    )
    if interrupted is not None:
        return interrupted, int(interrupted.cursor.get("line", 0))
    run = CollectionRun.objects.create(
        source=source,
        connector=ndjson.NAME,
        connector_version=ndjson.VERSION,
        query=str(path),
        input_sha256=digest,
        started_at=timezone.now(),
        cursor={"line": 0},
    )
    return run, 0


def import_posts(
    path: Path, *, actor: Any = None, progress: Progress | None = None, batch_size: int = BATCH_SIZE
) -> ImportSummary:
    """Import a normalised NDJSON file (see evidence/connectors/ndjson.py); resumable and idempotent."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file" if not path.exists() else f"{path}: not a regular file")
    digest = file_sha256(path)
    run, start_line = _open_run(path, digest)
    summary = ImportSummary(run_id=run.pk, resumed_from_line=start_line)
    origin = str(path)
    batch: list[Record | Rejected] = []
    last_line = start_line
    with path.open("rb") as fh:
        for number, item in ndjson.read(fh, start_line=start_line):
            batch.append(item)
            last_line = number
            if len(batch) >= batch_size:
                _flush(run, batch, origin, last_line, summary)
                batch = []
                if progress is not None:
                    progress(fh.tell())
        _flush(run, batch, origin, last_line, summary)
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
        input=origin,
        input_sha256=digest,
        imported=run.imported,
        duplicates=run.duplicates,
        quarantined=run.quarantined,
    )
    return summary


def _flush(
    run: CollectionRun,
    batch: list[Record | Rejected],
    origin: str,
    last_line: int,
    summary: ImportSummary,
) -> None:
    imported, duplicates, quarantined = store_batch(run, batch, origin=origin, cursor={"line": last_line})
    summary.imported += imported
    summary.duplicates += duplicates
    summary.quarantined += quarantined
