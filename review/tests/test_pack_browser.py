"""A lead downloads a case's evidence pack from the case page in headless Chromium, then checks it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conftest import PASSWORD
from review.models import Case, EvidencePack


@pytest.mark.browser
def test_a_lead_downloads_the_pack_and_it_verifies(
    live_server: Any, page: Page, referred: Case, tmp_path: Path
) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/review/case/{referred.pk}/")

    expect(page.get_by_role("heading", name="Evidence pack for the disciplinary panel")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Build evidence pack").click()

    assert download.value.suggested_filename == f"evidence-pack-case-{referred.pk}.zip"
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    zipfile.ZipFile(saved).extractall(tmp_path / "pack")
    checked = subprocess.run(
        [sys.executable, str(tmp_path / "pack" / "verify.py")], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0 and checked.stdout.startswith("OK:"), checked.stdout
    built_by = EvidencePack.objects.get(case=referred).built_by
    assert built_by is not None and built_by.username == "lena"
