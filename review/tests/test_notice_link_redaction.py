"""A member's notice link is a secret: a refused request to it never puts the token in a log line or audit event."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

from oversight.models import AuditEvent

TOKEN = secrets.token_urlsafe(32)  # the form notices.py issues


def _nothing_audited_names_the_token() -> None:
    for event in AuditEvent.objects.all():
        assert TOKEN not in json.dumps([event.actor, event.object_id, event.data])


@pytest.mark.django_db
def test_a_csrf_failure_on_the_notice_page_logs_the_path_without_the_token(caplog: pytest.LogCaptureFixture) -> None:
    member = Client(enforce_csrf_checks=True)

    response = member.post(f"/notice/{TOKEN}/", {"grounds": "I did not write this."})

    assert response.status_code == 403
    assert "Forbidden (CSRF cookie not set.): /notice/[redacted]/" in caplog.messages
    assert TOKEN not in caplog.text
    _nothing_audited_names_the_token()


@pytest.mark.django_db
def test_a_referer_quoted_in_a_csrf_failure_is_redacted_too(caplog: pytest.LogCaptureFixture) -> None:
    member = Client(enforce_csrf_checks=True)

    response = member.post(
        f"/notice/{TOKEN}/",
        {"grounds": "I did not write this."},
        secure=True,
        headers={"referer": f"https://elsewhere.example/notice/{TOKEN}/?from=mail"},
    )

    assert response.status_code == 403
    [line] = [m for m in caplog.messages if m.startswith("Forbidden (Referer checking failed")]
    assert "https://elsewhere.example/notice/[redacted]/?from=mail" in line
    assert line.endswith(": /notice/[redacted]/")
    assert TOKEN not in caplog.text
    _nothing_audited_names_the_token()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status(request: urllib.request.Request | str) -> int:
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310  # our own loopback server
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return refused.code


@pytest.mark.slow
def test_the_web_server_logs_notice_requests_without_the_token(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "ASSAY_DATABASE_URL"}  # the embedded database in tmp_path
    env.update(ASSAY_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="assay.settings")
    command = [sys.executable, "-m", "assay", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert _status(f"{base}/login/") == 200
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        post = urllib.request.Request(  # noqa: S310  # our own loopback server
            f"{base}/notice/{TOKEN}/",
            data=b"grounds=mine",
            headers={"Referer": f"{base}/notice/{TOKEN}/"},
            method="POST",
        )
        assert _status(post) == 403  # no CSRF cookie: refused before the view
        assert _status(f"{base}/notice/{TOKEN}/") == 404  # an unknown link
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)

    assert '"POST /notice/[redacted]/ HTTP/1.1" 403' in output  # the access log
    assert f'"{base}/notice/[redacted]/"' in output  # its Referer column
    assert "Forbidden (CSRF cookie not set.): /notice/[redacted]/" in output  # Django's own line
    assert TOKEN not in output
