"""The member pages: what is held, subject access download, erase/restrict; operators only, audited."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD
from oversight.models import AuditEvent
from register.models import DeclaredIdentifier, Member

REQUEST = "SAR-77: member's emailed request of 1 Dec"


@pytest.fixture
def dora(cast: dict[str, Any]) -> Member:
    member = Member.objects.create(number="M-0042", given_name="Dora", family_name="Diaz", town="Bath")
    DeclaredIdentifier.objects.create(member=member, kind="handle", platform="x", value="dora_d")
    return member


def _as(client: Client, username: str) -> Client:
    assert client.login(username=username, password=PASSWORD)
    return client


@pytest.mark.django_db
def test_an_operator_sees_what_is_held_and_the_view_is_audited(
    client: Client, dora: Member, django_assert_max_num_queries: Any
) -> None:
    # One count per category of personal data (it grows with the registry, not with the data), and the
    # member's addresses for the mail outbox.
    with django_assert_max_num_queries(45):
        response = _as(client, "olivia").get(reverse("register-member", args=[dora.pk]))

    assert response.status_code == 200
    assert "Dora Diaz" in response.text
    assert "Identifiers the member gave us" in response.text
    assert "Download subject access export" in response.text and "Erase / restrict" in response.text
    assert AuditEvent.objects.filter(action="member.viewed", object_id=str(dora.pk), actor="olivia").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["rita", "lena", "otto"])
def test_other_roles_may_not_see_members(client: Client, dora: Member, username: str) -> None:
    client = _as(client, username)

    assert client.get(reverse("register-member", args=[dora.pk])).status_code == 403
    assert client.get(reverse("register-find"), {"number": "M-0042"}).status_code == 403
    assert client.post(reverse("register-export", args=[dora.pk])).status_code == 403
    assert (
        client.post(reverse("register-erase", args=[dora.pk]), {"action": "erase", "reason": REQUEST}).status_code
        == 403
    )
    assert Member.objects.get(pk=dora.pk).erased_at is None


@pytest.mark.django_db
def test_search_by_membership_number(client: Client, dora: Member) -> None:
    client = _as(client, "olivia")

    found = client.get(reverse("register-find"), {"number": " M-0042 "})
    missing = client.get(reverse("register-find"), {"number": "M-9"})

    assert found.status_code == 302 and found["Location"] == reverse("register-member", args=[dora.pk])
    assert "no member with membership number &#x27;M-9&#x27;" in missing.text


@pytest.mark.django_db
def test_the_subject_access_download_is_a_zip_and_audited(client: Client, dora: Member) -> None:
    response = _as(client, "olivia").post(reverse("register-export", args=[dora.pk]))

    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        identifiers = json.loads(archive.read("register.identifier.json"))
    assert identifiers[0]["value"] == "dora_d"
    assert AuditEvent.objects.get(action="member.subject_access").actor == "olivia"


@pytest.mark.django_db
def test_erasure_needs_a_reason_then_erases(client: Client, dora: Member) -> None:
    client = _as(client, "olivia")
    url = reverse("register-erase", args=[dora.pk])

    blank = client.post(url, {"action": "erase", "reason": ""})
    done = client.post(url, {"action": "erase", "reason": REQUEST}, follow=True)

    assert blank.status_code == 200 and "This field is required" in blank.text
    assert "Personal data erased" in done.text
    erased = Member.objects.get(pk=dora.pk)
    assert erased.erased_at is not None and erased.family_name == ""
    assert not DeclaredIdentifier.objects.filter(member=dora).exists()
    assert AuditEvent.objects.get(action="member.erased").actor == "olivia"


@pytest.mark.django_db
def test_restriction_from_the_page(client: Client, dora: Member) -> None:
    response = _as(client, "olivia").post(
        reverse("register-erase", args=[dora.pk]), {"action": "restrict", "reason": REQUEST}, follow=True
    )

    assert "Processing restricted" in response.text
    assert "restricted since" in response.text
    assert Member.objects.get(pk=dora.pk).restricted_at is not None


@pytest.mark.django_db
def test_a_restriction_can_be_lifted_from_the_page(client: Client, dora: Member) -> None:
    client = _as(client, "olivia")
    url = reverse("register-erase", args=[dora.pk])
    client.post(url, {"action": "restrict", "reason": REQUEST})

    page = client.get(url)
    lifted = client.post(url, {"action": "lift", "reason": "SAR-77: member withdrew the objection"}, follow=True)

    assert "Lift the restriction" in page.text and "Restrict processing" not in page.text
    assert "Restriction lifted" in lifted.text
    assert Member.objects.get(pk=dora.pk).restricted_at is None
    assert AuditEvent.objects.filter(action="member.restriction_lifted", object_id=str(dora.pk)).exists()
