"""Retention erases members whose membership lapsed over ASSAY_RETENTION_LAPSED_MEMBER_DAYS ago, as an
erasure request would, unless a hold applies (an open case, an appeal, ...) or processing is restricted."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from oversight.models import AuditEvent
from register.models import DeclaredIdentifier, Member
from register.personal_data import LAPSED_REASON
from review.services import triage
from review.tests.world import World, case_of


def _import(tmp_path: Path, *rows: str) -> None:
    path = tmp_path / "register.csv"
    path.write_text("number,given_name,family_name,town,status,x_handle\n" + "".join(f"{r}\n" for r in rows))
    call_command("import_register", str(path), stdout=StringIO())


def _retention(*args: str, days: int) -> str:
    out = StringIO()
    with time_machine.travel(timezone.now() + timedelta(days=days), tick=False):
        call_command("retention", *args, stdout=out)
    return next(line for line in out.getvalue().splitlines() if "membership lapsed" in line)


def _counts() -> Any:
    return AuditEvent.objects.get(action="retention.applied").data["counts"]["register.lapsed_members"]


@pytest.fixture
def dora(world: World, tmp_path: Path, settings: Any) -> Member:
    settings.RETENTION_LAPSED_MEMBER_DAYS = 730
    _import(tmp_path, "M-0005,Dora,Diaz,Bath,lapsed,@dora_d", "M-0006,Eve,Evans,Ely,active,@eve_e")
    return Member.objects.get(number="M-0005")


@pytest.mark.django_db
def test_a_lapsed_member_is_erased_after_the_window_and_only_then(dora: Member) -> None:
    assert "would be erased: 0" in _retention(days=700)
    assert "would be erased: 1" in _retention(days=731)
    assert Member.objects.get(pk=dora.pk).erased_at is None  # a dry run

    applied = _retention("--apply", days=731)

    assert "1 erased" in applied
    erased = Member.objects.get(pk=dora.pk)
    assert erased.erased_at is not None and (erased.given_name, erased.town, erased.lapsed_at) == ("", "", None)
    assert not DeclaredIdentifier.objects.filter(member_id=dora.pk).exists()
    assert Member.objects.get(number="M-0006").given_name == "Eve"  # active: untouched
    event = AuditEvent.objects.get(action="member.erased")
    assert (event.object_id, event.data["reason"]) == (str(dora.pk), LAPSED_REASON)
    assert _counts() == {"due": 1, "held": 0, "erased": 1}
    assert "would be erased: 0" in _retention(days=800)  # a second run changes nothing


@pytest.mark.django_db
def test_an_open_case_holds_a_lapsed_member(hits: World, tmp_path: Path, settings: Any) -> None:
    settings.RETENTION_LAPSED_MEMBER_DAYS = 730
    triage()
    _import(tmp_path, "M-0001,Alice,Archer,Leeds,lapsed,@alice_x")
    alice = Member.objects.get(number="M-0001")
    assert case_of(alice).state != "closed"

    line = _retention("--apply", days=731)

    assert "0 erased" in line
    assert _counts() == {"due": 0, "held": 1, "erased": 0}  # past the window, held
    assert Member.objects.get(pk=alice.pk).erased_at is None
    assert not AuditEvent.objects.filter(action="member.erased").exists()


@pytest.mark.django_db
def test_a_restricted_lapsed_member_is_held(dora: Member) -> None:
    call_command("erase", "M-0005", "--restrict", "--reason", "SAR-9: keep for a claim", "--apply", stdout=StringIO())

    line = _retention("--apply", days=731)

    assert "0 erased" in line
    assert _counts() == {"due": 0, "held": 1, "erased": 0}
    assert Member.objects.get(pk=dora.pk).erased_at is None
