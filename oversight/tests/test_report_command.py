"""`assay oversight-report`: the dashboard's figures in the terminal, as JSON and to a file; audited."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from oversight import figures
from oversight.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_figure():
    @figures.figure("test.small", section="review", label="Small cells", help="Made up.", order=999, people=True)
    def small() -> figures.Value:
        return figures.Table(("Outcome", "Decisions"), (("warning", 2), ("advice", 2), ("no breach", 4417)))

    yield
    figures.unregister("test.small")


def test_it_prints_every_section_with_the_period_and_when_it_was_generated(capsys, small_figure):
    call_command("oversight_report")

    out = capsys.readouterr().out
    assert "assay oversight report, generated " in out and "Period: everything recorded up to" in out
    for title in ["Collection", "Rules", "Linkage", "Review", "Audit"]:
        assert title in out
    assert "Linkage policy in force: declared" in out
    assert "fewer than 5" in out and "4,417" in out
    event = AuditEvent.objects.get(action="oversight.report_generated")
    assert (event.actor, event.data["form"], event.data["out"]) == ("system", "text", "")


def test_json_is_the_same_as_the_dashboards(capsys, small_figure):
    call_command("oversight_report", "--json")

    data = json.loads(capsys.readouterr().out)
    rows = {f["key"]: f for f in data["figures"]}["test.small"]["table"]["rows"]
    assert rows[0] == ["warning", {"suppressed": "small", "text": "fewer than 5"}]
    assert data["generated_at"] and "from" in data["period"]


def test_out_writes_the_report_to_a_file(tmp_path, capsys):
    target = tmp_path / "report.json"

    call_command("oversight_report", "--json", "--out", str(target))

    assert f"oversight report written to {target}" in capsys.readouterr().out
    assert json.loads(target.read_text(encoding="utf-8"))["min_cell"] == 5
    assert AuditEvent.objects.get(action="oversight.report_generated").data["out"] == str(target)


def test_out_into_a_missing_folder_is_refused_naming_it(tmp_path):
    with pytest.raises(CommandError, match=r"--out .*nowhere/report.txt: the folder .*nowhere does not exist"):
        call_command("oversight_report", "--out", str(tmp_path / "nowhere" / "report.txt"))
    assert not AuditEvent.objects.filter(action="oversight.report_generated").exists()


def _env(tmp_path, **extra: str) -> dict[str, str]:
    """Its own embedded database: the subprocess cannot see the test's."""
    db = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    return {**os.environ, "ASSAY_DATA_DIR": str(tmp_path), "ASSAY_DATABASE_URL": db, **extra}


def test_the_assay_command_lists_and_runs_it(tmp_path):
    env = _env(tmp_path)
    overview = subprocess.run([sys.executable, "-m", "assay", "--help"], capture_output=True, text=True, env=env)
    assert "oversight-report Print the oversight figures" in overview.stdout

    target = tmp_path / "report.txt"
    command = [sys.executable, "-m", "assay", "oversight-report", "--out", str(target)]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    text = target.read_text(encoding="utf-8")
    assert "assay oversight report" in text and "Events in the audit chain" in text


def test_audit_verify_records_its_check_for_the_dashboard(capsys):
    call_command("audit", "verify")

    event = AuditEvent.objects.get(action="oversight.chain_verified")
    assert (event.actor, event.data["via"], event.data["intact"]) == ("system", "command", True)
    assert event.data["events"] == 0


def test_a_minimum_cell_below_one_stops_the_command_with_check_e001(tmp_path):
    env = _env(tmp_path, ASSAY_OVERSIGHT_MIN_CELL="0")

    done = subprocess.run([sys.executable, "-m", "assay", "oversight-report"], capture_output=True, text=True, env=env)

    assert done.returncode != 0
    assert "oversight.E001" in done.stderr and "ASSAY_OVERSIGHT_MIN_CELL is 0" in done.stderr
