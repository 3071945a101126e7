"""/oversight/purposes/: oversight, operators and leads read every purpose in full; operators record,
revise and retire; a second person (operator or lead) approves; reviewers see nothing."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from oversight import purposes
from oversight.models import AuditEvent, Purpose
from oversight.purposes import DEFAULT_PURPOSE

FORM = {
    "name": "Matching",
    "description": "Proposing links between accounts and members for reviewers to confirm",
    "lawful_basis": "legitimate_interests",
    "review_due": "2099-01-01",
    "probabilistic": "on",
    "dpia_reference": "DPIA-2026-04",
    "dpia_date": "2026-04-01",
}


def _as(client: Client, cast, name: str) -> Client:
    client.force_login(cast[name])
    return client


@pytest.mark.parametrize("name", ["otto", "olivia", "lena"])
def test_oversight_operators_and_leads_see_purposes_in_full(client, cast, name):
    default = Purpose.objects.get(name=DEFAULT_PURPOSE)

    page = _as(client, cast, name).get(reverse("oversight-purposes")).text

    row = page.split(f'id="purpose-{default.pk}"')[1].split("</tr>")[0]
    assert DEFAULT_PURPOSE in row and "Art. 6(1)(f) legitimate interests" in row and "in force" in row
    assert "test-approver" in row and "migration" in row


def test_reviewers_may_not_see_or_change_purposes(client, cast):
    client = _as(client, cast, "rita")
    assert client.get(reverse("oversight-purposes")).status_code == 403
    assert client.post(reverse("oversight-purpose-new"), FORM).status_code == 403
    purpose = Purpose.objects.get()
    for name in ["oversight-purpose-approve", "oversight-purpose-retire"]:
        assert client.post(reverse(name, args=[purpose.pk])).status_code == 403


def test_oversight_reads_but_does_not_change(client, cast):
    client = _as(client, cast, "otto")
    assert "Record a purpose" not in client.get(reverse("oversight-purposes")).text
    assert client.get(reverse("oversight-purpose-new")).status_code == 403
    assert client.post(reverse("oversight-purpose-retire", args=[Purpose.objects.get().pk])).status_code == 403


def test_an_operator_records_and_a_second_person_approves(client, cast):
    response = _as(client, cast, "olivia").post(reverse("oversight-purpose-new"), FORM, follow=True)
    matching = Purpose.objects.get(name="Matching")
    assert "Matching v1 recorded" in response.text and "awaiting approval" in response.text
    assert (matching.probabilistic, matching.dpia_reference, matching.dpia_date) == (
        True,
        "DPIA-2026-04",
        date(2026, 4, 1),
    )

    response = client.post(reverse("oversight-purpose-approve", args=[matching.pk]), follow=True)
    assert "olivia wrote this version: a second person must approve it" in response.text
    assert Purpose.objects.get(pk=matching.pk).approved_at is None

    response = _as(Client(), cast, "lena").post(reverse("oversight-purpose-approve", args=[matching.pk]), follow=True)
    assert "Matching v1 approved." in response.text
    assert purposes.refusal("Matching", probabilistic=True) is None
    actions = AuditEvent.objects.filter(object_type="oversight.purpose").values_list("action", "actor")
    assert list(actions) == [("purpose.created", "olivia"), ("purpose.approved", "lena")]


def test_a_bad_form_names_the_field(client, cast):
    response = _as(client, cast, "olivia").post(reverse("oversight-purpose-new"), {**FORM, "dpia_reference": ""})
    assert response.status_code == 200
    assert "DPIA reference: probabilistic matching is high-risk processing and needs a DPIA" in response.text
    assert not Purpose.objects.filter(name="Matching").exists()


def test_editing_makes_a_new_version_from_the_old_one(client, cast):
    default = Purpose.objects.get()
    client = _as(client, cast, "olivia")
    form = client.get(reverse("oversight-purpose-edit", args=[default.pk])).text
    assert "New version of" in form and "published conduct rulebook, so that breaches" in form

    fields = {**FORM, "name": DEFAULT_PURPOSE, "probabilistic": "", "dpia_reference": "", "dpia_date": ""}
    client.post(reverse("oversight-purpose-edit", args=[default.pk]), fields)

    assert list(Purpose.objects.values_list("version", flat=True).order_by("version")) == [1, 2]
    assert purposes.current(DEFAULT_PURPOSE) == default  # v1 stays in force until v2 is approved


def test_retiring_from_the_page_stops_the_purpose(client, cast):
    default = Purpose.objects.get()
    response = _as(client, cast, "olivia").post(reverse("oversight-purpose-retire", args=[default.pk]), follow=True)
    assert "retired: nothing collects or links under it now" in response.text
    assert purposes.refusal(DEFAULT_PURPOSE) == f"purpose {DEFAULT_PURPOSE!r} is retired"
    assert AuditEvent.objects.filter(action="purpose.retired", actor="olivia").exists()


def test_the_list_takes_a_fixed_number_of_queries(client, cast, django_assert_max_num_queries):
    client = _as(client, cast, "otto")
    client.get(reverse("oversight-purposes"))
    for n in range(5):
        purposes.record_purpose(purposes.PurposeTerms(f"P{n}", "d", "consent", date(2099, 1, 1)), actor="olivia")
    with django_assert_max_num_queries(12):
        client.get(reverse("oversight-purposes"))
