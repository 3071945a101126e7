"""Evidence packs as personal data (subject access lists them; they go with their case) and in oversight's figures."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from oversight import figures
from oversight.retention import run_retention
from register.services import restrict_member
from review.models import Case, EvidencePack
from review.packs import PackError, build_pack


@pytest.mark.django_db
def test_subject_access_lists_the_packs_built_about_the_member(
    referred: Case, cast: dict[str, Any], tmp_path: Path
) -> None:
    built = build_pack(referred, actor=cast["lena"])
    out = tmp_path / "alice.zip"
    call_command("subject_access", "M-0001", "--out", str(out))

    with zipfile.ZipFile(out) as archive:
        [pack] = json.loads(archive.read("review.evidence_pack.json"))
    assert (pack["case"], pack["built_by"], pack["sha256"]) == (referred.pk, "lead", built.record.sha256)


@pytest.mark.django_db
def test_the_record_of_a_pack_expires_with_its_case(referred: Case, cast: dict[str, Any], settings: Any) -> None:
    settings.RETENTION_ADVERSE_CASE_DAYS = 1
    settings.RETENTION_APPEAL_WINDOW_DAYS = 1
    build_pack(referred, actor=cast["olivia"])

    results = run_retention(apply=True, now=timezone.now() + timedelta(days=30))

    assert {r.rule.key: r.done for r in results}["review.adverse_cases"] == 1
    assert not EvidencePack.objects.exists() and not Case.objects.filter(pk=referred.pk).exists()


@pytest.mark.django_db
def test_no_pack_about_a_member_whose_processing_is_restricted(referred: Case, cast: dict[str, Any]) -> None:
    assert referred.member is not None
    restrict_member(referred.member, reason="Art. 18 request: accuracy contested", actor=cast["olivia"])

    with pytest.raises(PackError, match="processing of the member's data is restricted"):
        build_pack(referred, actor=cast["lena"])


@pytest.mark.django_db
def test_oversight_counts_the_packs_built_without_naming_anyone(referred: Case, cast: dict[str, Any]) -> None:
    build_pack(referred, actor=cast["lena"])
    build_pack(referred, actor=cast["olivia"])

    value = figures.evaluate(figures.get("review.evidence_packs"), 1).value

    assert isinstance(value, figures.Table)
    assert value.rows == (("cases packed", 1), ("packs built", 2))
