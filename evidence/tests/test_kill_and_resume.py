"""A collection killed with SIGKILL mid-run and run again gives exactly the rows of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evidence.tests import killresume as kr

pytestmark = pytest.mark.slow

POSTS = 120_000


def _write_posts(path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for n in range(POSTS):
            author = n % 5000
            item = {
                "platform": "x",
                "id": str(n),
                "text": f"post {n} — naïve café ☕",
                "created_at": "2026-10-01T12:00:00Z",
                "author": {"id": str(author), "handle": f"user{author}"},
            }
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
            if n % 40_000 == 0:
                fh.write("{not json}\n")


def _env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ASSAY_DATA_DIR": str(data_dir),
        "ASSAY_DATABASE_URL": f"sqlite:///{data_dir / 'assay.sqlite3'}",
    }


def _assay(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "assay", *args],
        env=_env(data_dir),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _checkpointed_line(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT cursor FROM evidence_collectionrun ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError:  # not migrated yet, or busy
        return 0
    return int(json.loads(row[0]).get("line", 0)) if row else 0


def _rows(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        posts = conn.execute(
            "SELECT p.platform, p.platform_id, p.sha256, p.text, p.raw, a.platform_id FROM evidence_post p "
            "LEFT JOIN evidence_account a ON a.id = p.account_id ORDER BY p.platform, p.platform_id"
        ).fetchall()
        accounts = conn.execute("SELECT platform, platform_id, handle FROM evidence_account ORDER BY 1, 2").fetchall()
        quarantine = conn.execute("SELECT origin, position, reason FROM evidence_quarantine ORDER BY 2").fetchall()
    return [*posts, *accounts, *quarantine]


def test_sigkill_mid_import_then_rerun_equals_an_uninterrupted_import(tmp_path: Path):
    source = tmp_path / "posts.ndjson"
    _write_posts(source)
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    for data_dir in (killed_dir, clean_dir):
        data_dir.mkdir()
        kr.approve_purpose(data_dir)

    proc = _assay(killed_dir, "import-posts", str(source))
    deadline = time.monotonic() + 120
    while _checkpointed_line(killed_dir / "assay.sqlite3") == 0:
        assert proc.poll() is None, f"the import ended before it could be killed: {proc.communicate()}"
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    stopped_at = _checkpointed_line(killed_dir / "assay.sqlite3")
    assert 0 < stopped_at < POSTS

    resumed = _assay(killed_dir, "import-posts", str(source))
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert f"(resumed after line {stopped_at})" in out
    assert "0 duplicate" in out

    clean = _assay(clean_dir, "import-posts", str(source))
    clean.communicate(timeout=300)
    assert clean.returncode == 0

    assert _rows(killed_dir / "assay.sqlite3") == _rows(clean_dir / "assay.sqlite3")
