"""Who ran a command: the `assay` command records ASSAY_ACTOR (an active staff user), else the OS user."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from oversight.models import AuditEvent
from oversight.services import acting_as, command_actor


def _assay(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`assay ARGS` as an operator types it, on its own embedded database (the test's is not visible to it)."""
    environment = {k: v for k, v in os.environ.items() if k != "ASSAY_ACTOR"}
    environment.update(
        ASSAY_DATA_DIR=str(data_dir),
        ASSAY_DATABASE_URL=f"sqlite:///{data_dir / 'cli.sqlite3'}",
        LOGNAME="deploy",  # what getpass.getuser() reads first: the operating-system user
        **env,
    )
    command = [sys.executable, "-m", "assay", *args]
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120, check=False)


def _events(data_dir: Path) -> list[tuple[str, str, dict[str, Any]]]:
    with sqlite3.connect(data_dir / "cli.sqlite3") as db:
        rows = db.execute("SELECT actor, action, data FROM oversight_auditevent ORDER BY seq").fetchall()
    return [(actor, action, json.loads(data)) for actor, action, data in rows]


def test_a_command_records_who_ran_it(tmp_path: Path) -> None:
    created = _assay(tmp_path, "createuser", "olivia", "--role", "operator")
    assert created.returncode == 0, created.stderr
    assert _assay(tmp_path, "createuser", "rita", "--role", "reviewer").returncode == 0

    reset = _assay(tmp_path, "users", "reset-2fa", "rita", ASSAY_ACTOR="olivia")
    assert reset.returncode == 0, reset.stderr
    verified = _assay(tmp_path, "audit", "verify", ASSAY_ACTOR="olivia")
    assert verified.returncode == 0, verified.stderr

    assert [(actor, action) for actor, action, _ in _events(tmp_path)] == [
        ("os:deploy", "user.created"),  # no ASSAY_ACTOR: the operating-system user
        ("os:deploy", "user.created"),
        ("olivia", "auth.device_reset"),
        ("olivia", "oversight.chain_verified"),
    ]
    # ASSAY_ACTOR is a claim: the operating-system user who made it is kept beside it.
    events = _events(tmp_path)
    assert [data.get("os_user") for _, _, data in events] == [None, None, "deploy", "deploy"]


def test_an_actor_who_may_not_act_stops_the_command_before_it_does_anything(tmp_path: Path) -> None:
    assert _assay(tmp_path, "createuser", "olivia", "--role", "operator").returncode == 0

    refused = _assay(tmp_path, "users", "reset-2fa", "olivia", ASSAY_ACTOR="mallory")

    assert refused.returncode != 0
    assert refused.stderr.strip() == "assay: ASSAY_ACTOR='mallory': no such user (see `assay users list`)"
    assert [action for _, action, _ in _events(tmp_path)] == ["user.created"]


def test_only_an_active_user_with_a_staff_role_may_be_the_actor(cast: dict[str, Any]) -> None:
    people = get_user_model().objects
    people.create_user("nobody-in-particular", password="x" * 12)
    people.filter(username="ravi").update(is_active=False)

    assert command_actor({"ASSAY_ACTOR": "lena"}) == "lena"
    with pytest.raises(ValueError, match=r"ASSAY_ACTOR='ravi': the user is not active"):
        command_actor({"ASSAY_ACTOR": "ravi"})
    with pytest.raises(ValueError, match=r"ASSAY_ACTOR='nobody-in-particular': the user has no staff role"):
        command_actor({"ASSAY_ACTOR": "nobody-in-particular"})
    assert command_actor({"LOGNAME": "deploy"}).startswith("os:")


def test_events_that_name_someone_keep_them_and_services_act_for_others(cast: dict[str, Any]) -> None:
    from oversight.services import record

    with acting_as("olivia"):
        call_command("audit", "verify")  # names nobody: the command's actor
        record("test.named", actor=cast["lena"])  # names someone: kept
        record("test.cli", actor="cli")
        with acting_as(None):  # as `assay serve` and `assay worker` do
            record("test.scheduled")
    record("test.outside")

    actors = dict(AuditEvent.objects.exclude(action="user.created").values_list("action", "actor"))
    assert actors == {
        "oversight.chain_verified": "olivia",
        "test.named": "lena",
        "test.cli": "olivia",
        "test.scheduled": "system",
        "test.outside": "system",
    }
