"""`assay recheck` killed with SIGKILL while polling an X compliance job resumes polling that job:
no second job is created, the ids are not uploaded again, and the deletions land once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from evidence.tests import killresume as kr
from evidence.tests.fakes import x
from evidence.tests.fakes.x_compliance import JOBS, UPLOAD, XRecheckFake

pytestmark = pytest.mark.slow


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


def _recheck_cursor(db: Path) -> dict[str, Any]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute(
                "SELECT cursor FROM evidence_collectionrun WHERE connector = 'x_compliance' ORDER BY id DESC LIMIT 1"
            ).fetchone()
    except sqlite3.OperationalError:  # not there yet, or busy
        return {}
    cursor = json.loads(row[0]) if row else {}
    return cursor if isinstance(cursor, dict) else {}


def test_sigkill_while_polling_a_compliance_job_then_rerun_polls_the_same_job(tmp_path: Path):
    data_dir = tmp_path / "data"
    db = data_dir / "assay.sqlite3"
    fake = XRecheckFake(n=60, polls_to_complete=10**6)
    with fake:
        data_dir.mkdir(parents=True, exist_ok=True)
        kr.approve_purpose(data_dir)
        _run(data_dir, "sources", "add", "x-live", "--purpose", kr.PURPOSE, "--connector", "x_search",
             "--query", "#examplehashtag",
             "--base-url", fake.base_url, "--since", "2025-12-01T00:00:00Z", "--until", "2026-01-01T09:00:00Z",
             "--option", "page_size=20", "--option", "compliance_poll_seconds=0.05",
             "--option", "compliance_max_polls=100000")  # fmt: skip
        assert "60 imported" in _run(data_dir, "collect", "x-live")
        ids = [t["id"] for t in fake.corpus]
        fake.gone.update({ids[3]: "deleted", ids[17]: "protected", ids[42]: "suspended"})

        proc = _assay(data_dir, "recheck", "x-live", "--x-via", "compliance")
        deadline = time.monotonic() + 120
        while _recheck_cursor(db).get("job", {}).get("phase") != "in_progress":
            assert proc.poll() is None, f"the recheck ended before it could be killed: {proc.communicate()}"
            assert time.monotonic() < deadline, "no polling checkpoint within 120 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        [job] = fake.jobs.values()
        assert job["status"] == "in_progress" and job["polls"] >= 1
        job_id = _recheck_cursor(db)["job"]["job_id"]
        fake.polls_to_complete = job["polls"] + 2  # the job completes while nobody is watching

        out = _run(data_dir, "recheck", "x-live")  # auto: the job under way is resumed

    assert fake.errors == []
    assert "x-live: recheck (x_compliance) done [run 2]: 60 checked, 3 newly marked deleted" in out
    assert list(fake.jobs) == [job_id]
    assert len([r for r in fake.served(JOBS) if r.headers[":method"] == "POST"]) == 1  # no second job
    assert len(fake.served(UPLOAD)) == 1  # the ids went up once
    with sqlite3.connect(db) as conn:
        deleted = conn.execute(
            "SELECT platform_id, deleted_reason FROM evidence_post WHERE deleted_at IS NOT NULL ORDER BY platform_id"
        ).fetchall()
        runs = conn.execute("SELECT id, connector, status, deleted FROM evidence_collectionrun ORDER BY id").fetchall()
        posts = conn.execute("SELECT count(*) FROM evidence_post").fetchone()[0]
    assert [(pid, reason.split(" (")[0]) for pid, reason in deleted] == sorted(
        [(ids[3], "X compliance: deleted"), (ids[17], "X compliance: protected"), (ids[42], "X compliance: suspended")]
    )
    assert runs == [(1, "x_search", "done", 0), (2, "x_compliance", "done", 3)]
    assert posts == 60  # marked, never removed
