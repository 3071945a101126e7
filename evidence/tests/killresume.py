"""Helpers for the SIGKILL tests: `assay` in a subprocess on its own SQLite file, polled from outside.

The collector runs as the operator runs it (``python -m assay collect``), so a SIGKILL hits a real
process mid-page; the test reads the database file read-only while it runs, and compares whole
tables afterwards. Migrating a fresh database costs more than a page of collection, so one
migrated file is made per test module and copied for each data directory (:func:`prepare`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DB = "assay.sqlite3"
COUNTS = re.compile(r"\d+ imported, .* page\(s\)")


def assay(data_dir: Path, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    environ = {
        **os.environ,
        **(env or {}),
        "ASSAY_DATA_DIR": str(data_dir),
        "ASSAY_DATABASE_URL": f"sqlite:///{data_dir / DB}",
    }
    return subprocess.Popen([sys.executable, "-m", "assay", *args], env=environ, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> str:
    """Wait for ``proc``; its stdout, asserting it succeeded."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"assay ran over {timeout} s: {out}{err}") from None
    assert proc.returncode == 0, f"assay failed ({proc.returncode}): {out}{err}"
    return out


def run(data_dir: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    return finish(assay(data_dir, *args, env=env))


def migrated(directory: Path) -> Path:
    """A data directory whose database has every migration applied (``assay`` applies them on start)."""
    directory.mkdir(parents=True, exist_ok=True)
    run(directory, "sources", "list")
    approve_purpose(directory)
    return directory / DB


PURPOSE = "Conduct review under the published rulebook"


def approve_purpose(directory: Path) -> None:
    """Record and approve (two operators) the purpose the sources collect under."""
    for name in ("olivia", "oscar"):
        run(directory, "createuser", name, "--role", "operator")
    run(directory, "purposes", "add", PURPOSE, "--by", "olivia", "--description", "conduct review",
        "--basis", "legitimate_interests", "--review-due", "2099-01-01")  # fmt: skip
    run(directory, "purposes", "approve", PURPOSE, "--by", "oscar")


def prepare(template: Path, *data_dirs: Path) -> None:
    """Give each data directory its own copy of ``template`` (a database closed by its last writer)."""
    for data_dir in data_dirs:
        data_dir.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{template}{suffix}").exists():
                shutil.copyfile(f"{template}{suffix}", data_dir / f"{DB}{suffix}")


def latest_run(db: Path) -> tuple[int, int, str]:
    """(pages, imported, status) of the newest collection run; zeros while there is none or it is busy."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute(
                "SELECT pages, imported, status FROM evidence_collectionrun ORDER BY id DESC LIMIT 1"
            ).fetchone()
    except sqlite3.OperationalError:  # not there yet, or busy
        return 0, 0, ""
    return (int(row[0]), int(row[1]), str(row[2])) if row else (0, 0, "")


def kill_after(proc: subprocess.Popen[str], db: Path, pages: int, timeout: float = 60) -> tuple[int, int]:
    """SIGKILL ``proc`` once its run has checkpointed ``pages`` pages; (pages, imported) it left behind."""
    deadline = time.monotonic() + timeout
    while latest_run(db)[0] < pages:
        assert proc.poll() is None, f"the collector ended before it could be killed: {proc.communicate()}"
        assert time.monotonic() < deadline, f"no {pages} checkpointed pages within {timeout} s"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    left, imported, status = latest_run(db)
    assert status == "running", f"the run was {status!r} when killed: not mid-run"
    return left, imported


_PEER_GONE = ("ConnectionResetError: [Errno 104] Connection reset by peer", "BrokenPipeError: [Errno 32] Broken pipe")


def unexpected(errors: list[str]) -> list[str]:
    """A fake's serving errors, less those of a client that vanished mid-exchange: the SIGKILL's doing."""
    return [e for e in errors if not e.rstrip().endswith(_PEER_GONE)]


def counts(out: str) -> str:
    """The run's counters as `assay collect` printed them ("N imported, … page(s)")."""
    found = COUNTS.findall(out)
    assert found, f"no counters in {out!r}"
    return str(found[-1])


def _without(url: str, params: str, names: tuple[str, ...]) -> tuple[str, str]:
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names])
    pairs = json.loads(params)
    kept = [p for p in pairs if p[0] not in names] if isinstance(pairs, list) else {
        k: v for k, v in pairs.items() if k not in names}  # fmt: skip
    return urlunsplit(parts._replace(query=query)), json.dumps(kept)


def rows(db: Path, *, ignore_params: tuple[str, ...] = ()) -> dict[str, list[tuple[object, ...]]]:
    """Every row collection derives, keyed by table, without what differs between two identical runs.

    Left out, each for a reason that is not the data: database ids (assigned per file), wall-clock
    times (``collected_at``, ``retrieved_at``, ``first_seen``/``last_seen``, ``observed_at``, a run's
    start, heartbeat, owner and finish, ``deleted_at``, whose presence is kept), and an exchange's
    response headers (a live server's ``Date``); and ``ignore_params``, request parameters that
    legitimately differ in a resumed run (a stream's reconnect cursor). Posts keep their raw item,
    its sha256 and the sha256 of the exchange they came from, so a post re-fetched into another page
    or body would differ.
    """
    queries = {
        "posts": "SELECT p.platform, p.platform_id, p.sha256, p.raw, p.text, p.kind, p.parent_platform_id, p.lang, "
        "p.url, p.created_at, p.deleted_at IS NULL, p.deleted_reason, a.platform_id, e.sha256, e.page "
        "FROM evidence_post p LEFT JOIN evidence_account a ON a.id = p.account_id "
        "LEFT JOIN evidence_exchange e ON e.id = p.exchange_id ORDER BY p.platform, p.platform_id",
        "accounts": "SELECT platform, platform_id, handle, display_name, bio, location, url FROM evidence_account "
        "ORDER BY 1, 2",
        "observations": "SELECT a.platform_id, o.handle, o.display_name FROM evidence_accountobservation o "
        "JOIN evidence_account a ON a.id = o.account_id ORDER BY 1, 2, 3",
        "exchanges": "SELECT seq, page, role, method, url, params, status, body, sha256, connector, connector_version "
        "FROM evidence_exchange ORDER BY seq",
        "runs": "SELECT connector, connector_version, query, window_since, window_until, status, cursor, imported, "
        "duplicates, quarantined, deleted, skipped, unlinkable, read, pages, exchanges, stop_action, error "
        "FROM evidence_collectionrun ORDER BY id",
        "quarantine": "SELECT origin, position, reason, raw FROM evidence_quarantine ORDER BY 1, 2, 3",
    }
    with sqlite3.connect(db) as conn:
        found = {name: conn.execute(query).fetchall() for name, query in queries.items()}
    if ignore_params:
        found["exchanges"] = [(*e[:4], *_without(e[4], e[5], ignore_params), *e[6:]) for e in found["exchanges"]]
    return found
