"""Benchmark importing twarc-style NDJSON (raw X API v2 search responses, 100 posts a line).

    .venv/bin/python bench/collect.py                        # 1,000,000 posts, SQLite and PostgreSQL
    .venv/bin/python bench/collect.py --posts 100000 --pg ""  # SQLite only

Prints, for each database, posts/s of ``import_posts(fmt="twarc")`` (parse, normalise, hash, dedup,
upsert authors, insert) and the peak RSS of the importing process, next to the ceiling: a bare
``json.loads`` loop over the same file, measured in the same run. Memory must stay flat as the file
grows (the file is streamed): the SQLite import is also run on the first tenth of the file, and
both peaks are printed. PostgreSQL gets a scratch database of its own (assay_bench), dropped after.
Last, the SQLite floor: the tenth's posts, already parsed and hashed, only inserted as the import
inserts them: the database's own share, which no importer can beat.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

WORDS = [
    "council",
    "vote",
    "members",
    "motion",
    "branch",
    "conference",
    "policy",
    "housing",
    "rates",
    "transport",
    "schools",
    "budget",
    "Straße",
    "café",
    "naïve",
    "Zürich",
    "東京",
    "مرحبا",
    "привет",
    "🎉",
    "✊",
    "👋",
    "#examplehashtag",
    "@someone",
    "https://t.co/AbC",
]
PER_LINE = 100
USERS = 50_000


def _tweet(rng: random.Random, n: int, author: int) -> dict[str, object]:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
    tweet_id = str(1_800_000_000_000_000_000 + n)
    tweet: dict[str, object] = {
        "id": tweet_id,
        "text": text,
        "author_id": str(10_000 + author),
        "created_at": f"2026-0{1 + n % 9}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:{n % 59:02d}.000Z",
        "conversation_id": tweet_id,
        "lang": rng.choice(["en", "de", "fr", "ja", "ar"]),
        "edit_history_tweet_ids": [tweet_id],
        "possibly_sensitive": False,
        "reply_settings": "everyone",
    }
    if n % 5 == 0:
        tweet["referenced_tweets"] = [{"type": rng.choice(["replied_to", "quoted", "retweeted"]), "id": str(n - 1)}]
    if "#examplehashtag" in text:
        start = text.index("#examplehashtag")
        tweet["entities"] = {"hashtags": [{"start": start, "end": start + 15, "tag": "examplehashtag"}]}
    return tweet


def generate(path: Path, posts: int, seed: int = 7) -> None:
    """twarc2 search output: each line one API response with its posts' authors in includes.users."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for start in range(0, posts, PER_LINE):
            count = min(PER_LINE, posts - start)
            authors = [rng.randrange(USERS) for _ in range(count)]
            data = [_tweet(rng, start + i, a) for i, a in enumerate(authors)]
            users = [
                {"id": str(10_000 + a), "username": f"user_{a}", "name": f"User {a}", "description": "member of x",
                 "location": "Leeds", "protected": False, "verified": False}
                for a in sorted(set(authors))
            ]  # fmt: skip
            ids = [str(t["id"]) for t in data]
            meta = {"result_count": count, "newest_id": max(ids), "oldest_id": min(ids), "next_token": "t"}
            body = {"data": data, "includes": {"users": users}, "meta": meta}
            fh.write(json.dumps(body, ensure_ascii=False) + "\n")


def parse_only(path: Path) -> float:
    """Seconds for a bare json.loads loop over the file: the ceiling no importer can beat."""
    started = time.perf_counter()
    with path.open("rb") as fh:
        for line in fh:
            json.loads(line)
    return time.perf_counter() - started


def prefix(path: Path, fraction: float, out: Path) -> Path:
    lines = sum(1 for _ in path.open("rb"))
    with path.open("rb") as src, out.open("wb") as dst:
        for i, line in enumerate(src):
            if i >= max(1, int(lines * fraction)):
                break
            dst.write(line)
    return out


def child(url: str, path: Path) -> None:
    """In a fresh process: migrate, then time only the import; print figures as JSON."""
    import django
    from django.core.management import call_command

    os.environ["DJANGO_SETTINGS_MODULE"] = "assay.settings"
    django.setup()
    call_command("migrate", verbosity=0)
    from evidence.services import import_posts

    started = time.perf_counter()
    summary = import_posts(path, fmt="twarc")
    elapsed = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"imported": summary.imported, "seconds": elapsed, "peak_rss_mb": rss}))


def floor_child(url: str, path: Path) -> None:
    """In a fresh process: the database's own share, measured alone.

    The posts of the file, already parsed, normalised and hashed, their authors stored (all
    untimed), inserted into the posts table exactly as the import's hot path does (one statement per batch of 2,000, a
    transaction each): what no importer on this database can beat, whatever its parsing costs.
    """
    import django
    from django.core.management import call_command

    os.environ["DJANGO_SETTINGS_MODULE"] = "assay.settings"
    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import transaction
    from django.utils import timezone

    from evidence.connectors.files import TwarcNdjson
    from evidence.models import CollectionRun, Source
    from evidence.services import _insert_posts, _upsert_accounts

    source = Source.objects.create(name="floor", platform="file", connector="twarc_ndjson")
    run = CollectionRun.objects.create(source=source, connector="twarc_ndjson", connector_version="1",
                                       started_at=timezone.now())  # fmt: skip
    with path.open("rb") as fh:
        records = [r for _, derived in TwarcNdjson().read(fh) for r in derived.records]
    for record in records:
        record.canonical()
    now = timezone.now()
    with transaction.atomic():
        accounts = _upsert_accounts([r.account for r in records if r.account is not None], now, run)
    started = time.perf_counter()
    for start in range(0, len(records), 2000):
        with transaction.atomic():
            _insert_posts(run, records[start : start + 2000], accounts, now, skip_existing=True)
    elapsed = time.perf_counter() - started
    print(json.dumps({"imported": len(records), "seconds": elapsed, "peak_rss_mb": 0}))


def run_child(url: str, path: Path, data_dir: Path, mode: str = "--child") -> dict[str, float]:
    env = {**os.environ, "ASSAY_DATABASE_URL": url, "ASSAY_DATA_DIR": str(data_dir)}
    out = subprocess.run(
        [sys.executable, __file__, mode, url, str(path)], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"import into {url} failed:\n{out.stderr}")
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/test", help="'' to skip PostgreSQL")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--floor-child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    if args.floor_child:
        floor_child(args.floor_child[0], Path(args.floor_child[1]))
        return
    with tempfile.TemporaryDirectory(prefix="assay-bench-") as tmp:
        work = Path(tmp)
        source = work / "search.jsonl"
        started = time.perf_counter()
        generate(source, args.posts)
        size = source.stat().st_size
        took = time.perf_counter() - started
        print(f"generated {args.posts:,} posts in {size / 1e6:,.0f} MB of twarc NDJSON ({took:.0f} s)")
        ceiling = args.posts / parse_only(source)
        print(f"parse-only ceiling (bare json.loads loop): {ceiling:,.0f} posts/s")
        small = prefix(source, 0.1, work / "tenth.jsonl")
        targets = [("SQLite (1/10 of the file)", f"sqlite:///{work / 'small.sqlite3'}", small, args.posts // 10)]
        targets.append(("SQLite", f"sqlite:///{work / 'bench.sqlite3'}", source, args.posts))
        if args.pg:
            parts = urlsplit(args.pg)
            scratch = urlunsplit(parts._replace(path="/assay_bench"))
            _pg_admin(args.pg, "DROP DATABASE IF EXISTS assay_bench")
            _pg_admin(args.pg, "CREATE DATABASE assay_bench")
            targets.append(("PostgreSQL", scratch, source, args.posts))
        try:
            for label, url, path, posts in targets:
                figures = run_child(url, path, work)
                rate = posts / figures["seconds"]
                print(
                    f"{label:<26} {figures['imported']:>10,.0f} posts in {figures['seconds']:7.1f} s = "
                    f"{rate:>9,.0f} posts/s, {ceiling / rate:4.1f}x the parse-only ceiling, "
                    f"peak RSS {figures['peak_rss_mb']:,.0f} MB"
                )
            floor = run_child(f"sqlite:///{work / 'floor.sqlite3'}", small, work, "--floor-child")
            rate = floor["imported"] / floor["seconds"]
            print(
                f"{'SQLite floor (inserts only)':<26} {floor['imported']:>10,.0f} posts in {floor['seconds']:7.1f} s = "
                f"{rate:>9,.0f} posts/s, {ceiling / rate:4.1f}x the parse-only ceiling: the database's share alone, "
                f"rows already built (the 4x goal is {ceiling / 4:,.0f} posts/s)"
            )
        finally:
            if args.pg:
                _pg_admin(args.pg, "DROP DATABASE IF EXISTS assay_bench")


if __name__ == "__main__":
    main()
