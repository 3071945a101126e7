"""The `assay` command as a user runs it: help for everything, one clear line for bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assay.__main__ import COMMANDS


def _assay(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "ASSAY_DATA_DIR": str(data_dir),
        "ASSAY_DATABASE_URL": f"sqlite:///{data_dir / 'cli.sqlite3'}",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "assay", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def test_help_lists_every_subcommand_with_what_it_does(tmp_path: Path):
    result = _assay("--help", data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    for name in COMMANDS:
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(name + " "))
        assert len(line.split(None, 1)[1]) > 20, f"{name} has no description"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_subcommand_has_its_own_help(tmp_path: Path, name: str):
    result = _assay(name, "--help", data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: assay {name}")


def test_a_missing_file_is_one_clear_line_not_a_traceback(tmp_path: Path):
    result = _assay("import-posts", str(tmp_path / "missing.ndjson"), data_dir=tmp_path)

    assert result.returncode != 0
    assert f"{tmp_path / 'missing.ndjson'}: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_one_clear_line(tmp_path: Path):
    url = "postgres://assay:secret@127.0.0.1:1/nowhere"
    result = _assay("run-rules", data_dir=tmp_path, ASSAY_DATABASE_URL=url)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("assay: cannot use the database at postgres://assay:***@127.0.0.1:1/nowhere")
    assert "secret" not in result.stderr


def test_a_bad_setting_is_named(tmp_path: Path):
    result = _assay("--help", data_dir=tmp_path, ASSAY_DEBUG="maybe")

    assert result.returncode != 0
    assert "ASSAY_DEBUG='maybe'" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ASSAY_EMAIL_BACKEND", "pigeon", "ASSAY_EMAIL_BACKEND='pigeon': expected one of file, console, smtp, locmem"),
        ("ASSAY_PUBLIC_URL", "assay.example.org", "ASSAY_PUBLIC_URL='assay.example.org': expected an http://"),
        ("ASSAY_NOTICE_LINK_DAYS", "0", "ASSAY_NOTICE_LINK_DAYS=0: expected at least 1 day"),
    ],
)
def test_a_bad_notice_setting_is_named(tmp_path: Path, name: str, value: str, message: str):
    result = _assay("--help", data_dir=tmp_path, **{name: value})

    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr


def test_notices_on_an_empty_database_says_so(tmp_path: Path):
    result = _assay("notices", data_dir=tmp_path)

    assert (result.returncode, result.stdout) == (0, "no notices\n"), result.stderr
