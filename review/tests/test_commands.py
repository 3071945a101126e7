"""The `assay triage` and `assay serve` commands, through the real command line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from review.models import Case
from review.tests.world import World


@pytest.mark.django_db
def test_triage_prints_its_summary_and_a_second_run_adds_nothing(hits: World) -> None:
    first, second = StringIO(), StringIO()

    call_command("triage", stdout=first)
    call_command("triage", stdout=second)

    assert first.getvalue() == (
        "triage: 3 cases opened, 0 cases updated, 4 hits added; 1 hits left out: their posts have no author account\n"
    )
    assert second.getvalue().startswith("triage: 0 cases opened, 0 cases updated, 0 hits added")
    assert Case.objects.count() == 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  # our own loopback server
        return response.status, response.read().decode()


@pytest.mark.slow
def test_serve_answers_pages_and_static_files(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "ASSAY_DATABASE_URL"}  # the embedded database in tmp_path
    env.update(ASSAY_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="assay.settings")
    server = subprocess.Popen(
        [sys.executable, "-m", "assay", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == f"assay: serving on http://127.0.0.1:{port}/  (Ctrl-C to stop)"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/login/")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert status == 200
        assert "Log in" in body
        status, css = _get(f"http://127.0.0.1:{port}/static/assay.css")
        assert status == 200
        assert "mark" in css
    finally:
        server.terminate()
        server.communicate(timeout=30)
