"""Notices and appeals in the personal-data registry: exported, erased with their case, and holding it.

The retention windows are shortened to a day here so that only the member's own appeal window and an
undecided appeal stand between a closed adverse case and its expiry or erasure.
"""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from oversight.erasure import ErasureRefused, erase_member
from oversight.retention import run_retention
from review import notices
from review.models import Appeal, Case, Decision, Notice

GROUNDS = "The post was a quotation of abuse I had received, shared to criticise it."
RESULT = "The post quotes abuse in order to criticise it; the decision stands as the wording was repeated."
ERASURE = "DSAR-2026-031 erasure request"


@pytest.fixture
def short_windows(settings: Any) -> None:
    settings.RETENTION_ADVERSE_CASE_DAYS = 1
    settings.RETENTION_APPEAL_WINDOW_DAYS = 1
    settings.APPEAL_DAYS = 21


@pytest.fixture
def sent(notice: Notice, cast: dict[str, Any], short_windows: None) -> Notice:
    notices.send_notice(notice, actor=cast["olivia"])
    notice.refresh_from_db()
    assert notice.appeal_due_at is not None
    return notice


def _later(days: int) -> Any:
    return time_machine.travel(timezone.now() + timedelta(days=days), tick=False)


def _case_expired(now: Any) -> dict[str, int]:
    results = run_retention(apply=True, now=now)
    return {r.rule.key: r.done for r in results}


@pytest.mark.django_db
def test_the_subject_access_export_holds_the_notice_and_the_appeal_but_no_token(
    sent: Notice, tmp_path: Path, cast: dict[str, Any]
) -> None:
    notices.receive_appeal(sent, GROUNDS)
    out = tmp_path / "alice.zip"
    call_command("subject_access", "M-0001", "--out", str(out))

    with zipfile.ZipFile(out) as archive:
        [notice] = json.loads(archive.read("review.notice.json"))
        [appeal] = json.loads(archive.read("review.appeal.json"))
        everything = b"".join(archive.read(name) for name in archive.namelist())
    assert notice["outcome"] == "Breach: formal warning" and notice["sent_to"] == "alice@example.org"
    assert notice["sent_by"] == "operator"
    assert {e["text"] for e in notice["evidence"]} == {"You are all idiots & <fools>", "Great deals, buy now!"}
    assert appeal["grounds"] == GROUNDS and appeal["state"] == "received"
    assert sent.token_hash and sent.token_hash.encode() not in everything


@pytest.mark.django_db
def test_erasure_waits_for_the_members_window_to_appeal_and_for_their_appeal(
    sent: Notice, cast: dict[str, Any], lars: Any
) -> None:
    member_id = sent.member_id
    with _later(3), pytest.raises(ErasureRefused, match="the member's window to appeal"):
        erase_member(member_id, reason=ERASURE, apply=True)

    appeal = notices.receive_appeal(sent, GROUNDS)
    with _later(30), pytest.raises(ErasureRefused, match=f"appeal #{appeal.pk} on case #{sent.case_id} is received"):
        erase_member(member_id, reason=ERASURE, apply=True)

    notices.assign_appeal(appeal, lars, actor=cast["olivia"], expected_version=appeal.version)
    appeal.refresh_from_db()
    notices.decide_appeal(appeal, lars, "upheld", RESULT, expected_version=appeal.version)
    with _later(30):
        plan = erase_member(member_id, reason=ERASURE, apply=True)

    assert plan.done["review.appeal"] == 1 and plan.done["review.notice"] == 1
    assert not Appeal.objects.exists() and not Notice.objects.exists() and not Case.objects.filter(pk=sent.case_id)


@pytest.mark.django_db
def test_retention_keeps_a_case_while_its_appeal_is_undecided_then_expires_it_whole(
    sent: Notice, cast: dict[str, Any], lars: Any
) -> None:
    appeal = notices.receive_appeal(sent, GROUNDS)

    done = _case_expired(timezone.now() + timedelta(days=30))
    assert done["review.adverse_cases"] == 0 and Case.objects.filter(pk=sent.case_id).exists()

    notices.assign_appeal(appeal, lars, actor=cast["olivia"], expected_version=appeal.version)
    appeal.refresh_from_db()
    notices.decide_appeal(appeal, lars, "upheld", RESULT, expected_version=appeal.version)
    done = _case_expired(timezone.now() + timedelta(days=30))

    assert done["review.adverse_cases"] == 1
    assert not Case.objects.filter(pk=sent.case_id).exists() and not Notice.objects.exists()
    assert not Appeal.objects.exists() and not Decision.objects.exists()


@pytest.mark.django_db
def test_a_decision_overturned_on_appeal_is_kept_only_as_long_as_a_no_breach_case(
    sent: Notice, cast: dict[str, Any], lars: Any, settings: Any
) -> None:
    settings.RETENTION_ADVERSE_CASE_DAYS = 2190
    settings.RETENTION_NO_BREACH_CASE_DAYS = 365
    case_id = sent.case_id  # read before the case and its decisions go
    appeal = notices.receive_appeal(sent, GROUNDS)
    notices.assign_appeal(appeal, lars, actor=cast["olivia"], expected_version=appeal.version)
    appeal.refresh_from_db()
    notices.decide_appeal(appeal, lars, "allowed", RESULT, expected_version=appeal.version)

    assert _case_expired(timezone.now() + timedelta(days=300))["review.closed_cases"] == 0
    done = _case_expired(timezone.now() + timedelta(days=400))
    assert done["review.closed_cases"] == 1 and done["review.adverse_cases"] == 0
    assert not Case.objects.filter(pk=case_id).exists()
