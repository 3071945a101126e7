"""The case page's "Build evidence pack" button: a download for leads and operators, audited."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from oversight.models import AuditEvent
from review.models import Case, EvidencePack
from review.services import triage
from review.tests.privacy import close_case
from review.tests.world import World, case_of, login


def _pack_url(case: Case) -> str:
    return reverse("review-evidence-pack", args=[case.pk])


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["lena", "olivia"])
def test_leads_and_operators_download_the_pack(client: Client, referred: Case, username: str) -> None:
    page = login(client, username).get(reverse("review-case", args=[referred.pk]))
    assert "Build evidence pack" in page.text and _pack_url(referred) in page.text

    response = client.post(_pack_url(referred))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="evidence-pack-case-{referred.pk}.zip"'
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert {"index.html", "manifest.json", "verify.py", "audit.json"} <= set(names)
    digest = hashlib.sha256(response.content).hexdigest()
    pack = EvidencePack.objects.get(case=referred)
    assert pack.built_by is not None
    assert (pack.built_by.username, pack.sha256, pack.size) == (username, digest, len(response.content))
    event = AuditEvent.objects.get(action="case.pack_built")
    assert (event.actor, event.object_id, event.data["sha256"]) == (username, str(referred.pk), digest)
    # The page lists the build, and building again (after that view) gives the same pack.
    assert digest in client.get(reverse("review-case", args=[referred.pk])).text
    assert hashlib.sha256(client.post(_pack_url(referred)).content).hexdigest() == digest


@pytest.mark.django_db
def test_reviewers_and_oversight_are_refused_as_for_cases(client: Client, referred: Case, cast: dict[str, Any]) -> None:
    # rita decided the case, so it is still assigned to her: she sees it, but builds no pack.
    page = login(client, "rita").get(reverse("review-case", args=[referred.pk]))
    assert page.status_code == 200 and "Build evidence pack" not in page.text
    assert client.post(_pack_url(referred)).status_code == 403
    assert login(Client(), "ravi").post(_pack_url(referred)).status_code == 404
    assert login(Client(), "otto").post(_pack_url(referred)).status_code == 403
    assert Client().post(_pack_url(referred)).status_code == 302  # to the login page
    assert login(Client(), "lena").get(_pack_url(referred)).status_code == 405
    assert not EvidencePack.objects.exists()
    assert not AuditEvent.objects.filter(action="case.pack_built").exists()


@pytest.mark.django_db
def test_no_button_and_a_clear_refusal_for_a_case_without_an_adverse_outcome(
    client: Client, collected: World, cast: dict[str, Any]
) -> None:
    triage()
    case = close_case(collected.members["alice"], cast, "no_breach")
    login(client, "lena")
    assert "Build evidence pack" not in client.get(reverse("review-case", args=[case.pk])).text

    response = client.post(_pack_url(case), follow=True)

    assert response.redirect_chain[-1][0] == reverse("review-case", args=[case.pk])
    assert f"no evidence pack for case {case.pk}: the case has no signed-off adverse outcome" in response.text
    assert not EvidencePack.objects.exists()


@pytest.mark.django_db
def test_an_open_case_offers_no_pack(client: Client, collected: World) -> None:
    triage()
    case = case_of(collected.members["alice"])
    page = login(client, "olivia").get(reverse("review-case", args=[case.pk]))
    assert "Build evidence pack" not in page.text
    assert "the case is open" in client.post(_pack_url(case), follow=True).text
