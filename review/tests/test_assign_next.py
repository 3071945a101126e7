"""Giving a reviewer the next most urgent unassigned cases at once: from the queue page and `assay assign`."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from oversight.models import AuditEvent
from review.models import Case
from review.services import ReviewError, assign_next, declare_conflict, triage
from review.tests.world import World, login
from review.workflow import State

WHY = "I coach bob's son's football team every Saturday."


@pytest.fixture
def open_cases(hits: World) -> list[Case]:
    """The standard hits' cases (alice's, @bobby's and @anon's), all open, most urgent first."""
    triage()
    return list(Case.objects.order_by("severity", "due_at", "pk"))


@pytest.mark.django_db
def test_the_most_urgent_unassigned_cases_go_first(open_cases: list[Case], cast: dict[str, Any]) -> None:
    dealt = assign_next(cast["rita"], 2, actor=cast["olivia"])

    assert [c.pk for c in dealt.cases] == [c.pk for c in open_cases[:2]]
    assert set(Case.objects.filter(assigned_to=cast["rita"]).values_list("state", flat=True)) == {State.ASSIGNED}
    assert AuditEvent.objects.filter(action="case.assigned", actor="olivia").count() == 2
    # Again: only what is still unassigned.
    assert [c.pk for c in assign_next(cast["ravi"], 5, actor=cast["olivia"]).cases] == [open_cases[2].pk]
    assert assign_next(cast["ravi"], 5, actor=cast["olivia"]).cases == []


@pytest.mark.django_db
def test_cases_about_someone_they_stepped_aside_from_are_passed_over(
    hits: World, open_cases: list[Case], cast: dict[str, Any]
) -> None:
    first = open_cases[0]
    declare_conflict(first, cast["rita"], WHY, expected_version=first.version)

    dealt = assign_next(cast["rita"], 3, actor=cast["lena"])

    assert first.pk not in [c.pk for c in dealt.cases] and len(dealt.cases) == 2 and dealt.passed_over == 1
    assert Case.objects.get(pk=first.pk).assigned_to is None  # left for someone else


@pytest.mark.django_db
def test_only_operators_and_leads_and_a_sensible_number(open_cases: list[Case], cast: dict[str, Any]) -> None:
    with pytest.raises(ReviewError, match="only operators and leads"):
        assign_next(cast["rita"], 1, actor=cast["ravi"])
    with pytest.raises(ReviewError, match="between 1 and 200"):
        assign_next(cast["rita"], 0, actor=cast["olivia"])
    assert not Case.objects.filter(assigned_to__isnull=False).exists()


@pytest.mark.django_db
def test_from_the_queue_page(client: Client, open_cases: list[Case], cast: dict[str, Any]) -> None:
    page = login(client, "olivia").get(reverse("review-queue")).text
    assert "Give the next" in page

    response = client.post(reverse("review-assign-next"), {"reviewer": cast["ravi"].pk, "count": 2}, follow=True)

    assert "2 case(s) assigned to ravi." in response.text
    assert Case.objects.filter(assigned_to=cast["ravi"]).count() == 2
    assert "Give the next" not in login(client, "rita").get(reverse("review-queue")).text  # reviewers do not assign
    assert client.post(reverse("review-assign-next"), {"reviewer": cast["rita"].pk, "count": 1}).status_code == 403


@pytest.mark.django_db
def test_assay_assign(open_cases: list[Case], cast: dict[str, Any]) -> None:
    out = StringIO()
    call_command("assign", "rita", "--count", "2", stdout=out)

    assert out.getvalue().startswith("assigned 2 case(s) to rita: #")
    assert Case.objects.filter(assigned_to=cast["rita"]).count() == 2
    with pytest.raises(CommandError, match="no active user 'nobody'"):
        call_command("assign", "nobody")
    with pytest.raises(CommandError, match="between 1 and 200"):
        call_command("assign", "rita", "--count", "500")
