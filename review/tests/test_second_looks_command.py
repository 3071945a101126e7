"""`assay second-looks`: list the no-breach decisions picked for a second look, and take one as the lead
ASSAY_ACTOR names, through the same service as the case page."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from evidence.models import Account
from oversight.models import AuditEvent
from oversight.services import acting_as
from register.models import Member
from review.models import Case, Conflict, SecondLook
from review.services import record_decision, triage
from review.tests.world import World, assigned

NO_BREACH = "The posts are robust but aimed at no one; no clause of the rulebook is breached."
NOTE = "Read all three posts: the word is aimed at a referee, so it breaches 4.2(a)."


def second_looks(*args: str, actor: str | None = None) -> str:
    out = StringIO()
    with acting_as(actor):
        call_command("second_looks", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def picked(hits: World, cast: dict[str, Any], settings: Any) -> dict[str, Case]:
    """alice's case and bobby's (an account nobody is confirmed to own) closed with no breach by rita and ravi,
    every such decision picked."""
    settings.SECOND_LOOK_SHARE = 1.0
    triage()
    closed = {}
    subjects: list[tuple[str, Member | Account, str]] = [
        ("alice", hits.members["alice"], "rita"),
        ("bob", hits.accounts["bobby"], "ravi"),
    ]
    for name, subject, reviewer in subjects:
        case = assigned(subject, cast[reviewer], by=cast["olivia"])
        record_decision(case, cast[reviewer], "no_breach", NO_BREACH, expected_version=case.version)
        closed[name] = case
    return closed


def test_it_lists_the_waiting_second_looks_longest_waiting_first(picked: dict[str, Case]) -> None:
    lines = second_looks().splitlines()

    assert lines[0].split() == ["case", "about", "outcome", "decided", "by", "picked", "found"]
    assert lines[1].split()[:4] == [str(picked["alice"].pk), "M-0001", "no_breach", "rita"]
    assert lines[2].split()[:3] == [str(picked["bob"].pk), "account", "@bobby"]
    assert lines[2].split()[4:6] == ["no_breach", "ravi"]
    assert all(line.endswith("waiting") for line in lines[1:3])
    assert lines[3] == "2 second look(s) waiting; each case's page: /review/case/CASE/"
    assert second_looks("list", "--decided-by", "ravi").splitlines()[1].split()[0] == str(picked["bob"].pk)
    assert second_looks("list", "--done").strip() == "no second looks taken (ASSAY_SECOND_LOOK_SHARE=1)"


def test_a_lead_agrees_from_the_command_line_and_it_is_audited_as_them(
    picked: dict[str, Case], cast: dict[str, Any]
) -> None:
    case = picked["alice"]

    out = second_looks("take", str(case.pk), "--agree", "--note", NOTE, actor="lena")

    assert out.strip() == f"case {case.pk}: second look recorded: lena agrees; the case stays closed"
    look = SecondLook.objects.get(case=case)
    assert (look.looked_by, look.agrees, look.note) == (cast["lena"], True, NOTE)
    event = AuditEvent.objects.get(action="case.second_look")
    assert (event.actor, event.data["agrees"], event.object_id) == ("lena", True, str(case.pk))
    done = second_looks("list", "--done").splitlines()[1]
    assert done.split()[0] == str(case.pk) and "agreed by lena on" in done
    assert [line.split()[0] for line in second_looks().splitlines()[1:-1]] == [str(picked["bob"].pk)]


def test_disagreeing_puts_the_posts_in_a_case_for_another_reviewer(
    picked: dict[str, Case], cast: dict[str, Any]
) -> None:
    case = picked["bob"]

    out = second_looks("take", str(case.pk), "--disagree", "--note", NOTE, actor="lena")

    look = SecondLook.objects.get(case=case)
    assert look.agrees is False and look.reopened_case is not None
    assert f"the posts are in case #{look.reopened_case_id} for another reviewer" in out
    assert set(look.reopened_case.hits.all()) == set(case.hits.all())
    assert f"disagreed by lena on {look.looked_at:%Y-%m-%d}; posts in case #{look.reopened_case_id}" in second_looks(
        "list", "--all"
    )


@pytest.mark.parametrize(
    ("actor", "args", "message"),
    [
        (None, ["--agree", "--note", NOTE], "name the lead taking the second look: ASSAY_ACTOR=LEAD"),
        ("rita", ["--agree", "--note", NOTE], "only a lead takes a second look"),
        ("lena", ["--agree", "--note", "too short"], "give a note of at least 20 characters"),
    ],
)
def test_it_refuses_clearly_naming_what_is_wrong(
    picked: dict[str, Case], actor: str | None, args: list[str], message: str
) -> None:
    case = picked["alice"]

    with pytest.raises(CommandError, match=message):
        second_looks("take", str(case.pk), *args, actor=actor)

    assert SecondLook.objects.get(case=case).pending


def test_a_lead_who_stepped_aside_neither_sees_nor_takes_the_case(
    picked: dict[str, Case], cast: dict[str, Any]
) -> None:
    case = picked["alice"]
    Conflict.objects.create(
        person=cast["lena"], member=case.member, reason="My sister-in-law.", declared_at=timezone.now()
    )
    with pytest.raises(CommandError, match=f"case {case.pk} has no second look waiting for lena"):
        second_looks("take", str(case.pk), "--agree", "--note", NOTE, actor="lena")
    assert [line.split()[0] for line in second_looks(actor="lena").splitlines()[1:-1]] == [str(picked["bob"].pk)]
    with pytest.raises(CommandError, match="case 999999 has no second look waiting"):
        second_looks("take", "999999", "--agree", "--note", NOTE, actor="lena")


def test_assay_second_looks_is_a_command_with_help(tmp_path: Path) -> None:
    env = {**os.environ, "ASSAY_DATA_DIR": str(tmp_path), "ASSAY_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}
    helped = subprocess.run(
        [sys.executable, "-m", "assay", "second-looks", "--help"], capture_output=True, text=True, env=env, check=False
    )
    overview = subprocess.run([sys.executable, "-m", "assay"], capture_output=True, text=True, env=env, check=False)

    assert helped.returncode == 0 and "ASSAY_ACTOR=LEAD assay second-looks take CASE --agree" in helped.stdout
    assert "second-looks" in overview.stdout
