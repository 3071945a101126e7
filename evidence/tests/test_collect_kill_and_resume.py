"""`assay collect` killed with SIGKILL mid-run and run again gives exactly the rows of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evidence.tests.fakes import x
from evidence.tests.fakes.server import Reply

pytestmark = pytest.mark.slow

POSTS, PAGE_SIZE = 200, 10


class SlowX(x.XFake):
    """Answers every page after a pause, so a collector can be caught between checkpoints."""

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        reply = super().route(path, params, headers)
        reply.delay = 0.15
        return reply


def _assay(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "ASSAY_DATA_DIR": str(data_dir),
        "ASSAY_DATABASE_URL": f"sqlite:///{data_dir / 'assay.sqlite3'}",
        "X_BEARER_TOKEN": x.TOKEN,
    }
    return subprocess.Popen([sys.executable, "-m", "assay", *args], env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip


def _run(data_dir: Path, *args: str) -> str:
    proc = _assay(data_dir, *args)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return out


def _add_source(data_dir: Path, base_url: str) -> None:
    _run(data_dir, "sources", "add", "x-live", "--connector", "x_search", "--query", "#examplehashtag",
         "--base-url", base_url, "--since", "2025-12-01T00:00:00Z", "--until", "2026-01-01T09:00:00Z",
         "--option", f"page_size={PAGE_SIZE}")  # fmt: skip


def _pages_checkpointed(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT pages FROM evidence_collectionrun ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError:  # not there yet, or busy
        return 0
    return int(row[0]) if row else 0


def _rows(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        queries = [
            "SELECT p.platform_id, p.sha256, p.raw, p.text, p.kind, p.parent_platform_id, a.platform_id, e.sha256 "
            "FROM evidence_post p LEFT JOIN evidence_account a ON a.id = p.account_id "
            "LEFT JOIN evidence_exchange e ON e.id = p.exchange_id ORDER BY p.platform_id",
            "SELECT platform, platform_id, handle, display_name FROM evidence_account ORDER BY 1, 2",
            "SELECT a.platform_id, o.handle FROM evidence_accountobservation o "
            "JOIN evidence_account a ON a.id = o.account_id ORDER BY 1, 2",
            "SELECT seq, page, role, url, status, sha256 FROM evidence_exchange ORDER BY seq",
            "SELECT imported, duplicates, quarantined, pages, read, status FROM evidence_collectionrun",
        ]
        return [row for q in queries for row in conn.execute(q).fetchall()]


def test_sigkill_mid_collect_then_rerun_equals_an_uninterrupted_collect(tmp_path: Path):
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    with SlowX(n=POSTS) as fake:
        for data_dir in (killed_dir, clean_dir):
            _add_source(data_dir, fake.base_url)

        proc = _assay(killed_dir, "collect", "x-live")
        deadline = time.monotonic() + 120
        while _pages_checkpointed(killed_dir / "assay.sqlite3") == 0:
            assert proc.poll() is None, f"the collector ended before it could be killed: {proc.communicate()}"
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        stopped_at = _pages_checkpointed(killed_dir / "assay.sqlite3")
        assert 0 < stopped_at < POSTS // PAGE_SIZE

        resumed = _run(killed_dir, "collect", "x-live")
        clean = _run(clean_dir, "collect", "x-live")

    assert "x-live: done [run 1]: 200 imported, 0 duplicate" in resumed
    assert "x-live: done [run 1]: 200 imported, 0 duplicate" in clean
    assert _rows(killed_dir / "assay.sqlite3") == _rows(clean_dir / "assay.sqlite3")
    assert fake.errors == []
