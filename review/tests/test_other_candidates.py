"""A proposal's other candidate members on the case page: ranked, explained, need-to-know."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from linkage.services import reject_link
from register.models import Member
from review.models import Case
from review.services import assign_case, triage
from review.tests.world import World, case_of, login
from review.waterfall import rivals

HEADING = "Other candidate members"


@pytest.fixture
def robert(world: World) -> Member:
    return Member.objects.create(number="M-0003", given_name="Robert", family_name="Baker", town="Hull")


@pytest.fixture
def bobs_case(hits: World, cast: dict[str, Any], robert: Member) -> Case:
    """@bobby's case, assigned to rita; the proposal of Bob kept Robert and Alice as runners-up."""
    link = hits.links["bob"]
    # The world's evidence adds up to 2.9; the runners-up are stored worst first to check the order.
    link.explanation["others"] = [
        {"member_id": hits.members["alice"].pk, "probability": 0.000004, "match_weight": -6.5},
        {"member_id": robert.pk, "probability": 0.08, "match_weight": 0.4},
    ]
    link.save(update_fields=["explanation"])
    triage()
    case = case_of(hits.accounts["bobby"])
    assign_case(case, cast["rita"], actor=cast["olivia"], expected_version=case.version)
    case.refresh_from_db()
    return case


def _page(client: Client, username: str, case: Case) -> str:
    response = login(client, username).get(reverse("review-case", kwargs={"case_id": case.pk}))
    assert response.status_code == 200
    return response.content.decode()


def _others_section(html: str) -> str:
    found = re.search(r'<section class="other-candidates".*?</section>', html, re.S)
    assert found, "the page should have an other-candidates section"
    return found.group(0)


@pytest.mark.django_db
def test_the_case_page_lists_the_other_candidates_best_first_with_why_they_ranked_lower(client, bobs_case: Case):
    section = _others_section(_page(client, "rita", bobs_case))

    assert HEADING in section and '<ol class="rivals">' in section
    items = re.findall(r"<li>.*?</li>", section, re.S)
    assert len(items) == 2
    assert "Robert Baker (M-0003), Hull" in items[0] and "Alice Archer (M-0001), Leeds" in items[1]
    assert "<dt>Probability</dt><dd>8%</dd>" in items[0]
    assert "<dt>Probability</dt><dd>under 1%</dd>" in items[1]  # never a misleading 0%
    assert "total weight of evidence 0.40 (log₂ odds), 2.50 below Bob Baker's" in items[0]
    assert "-6.50 (log₂ odds), 9.40 below" in items[1]


@pytest.mark.django_db
def test_no_runner_up_says_so(client, bobs_case: Case, hits: World):
    link = hits.links["bob"]
    link.explanation["others"] = []
    link.save(update_fields=["explanation"])

    section = _others_section(_page(client, "rita", bobs_case))

    assert "No other member scored for @bobby (X)." in section and "<li>" not in section


@pytest.mark.django_db
def test_a_proposal_stored_before_runners_up_were_kept_does_not_claim_there_were_none(client, hits, cast):
    triage()
    case = case_of(hits.accounts["bobby"])
    assign_case(case, cast["rita"], actor=cast["olivia"], expected_version=case.version)

    section = _others_section(_page(client, "rita", case))

    assert "stored without its other candidates" in section and "No other member scored" not in section


@pytest.mark.django_db
def test_a_member_who_left_the_register_is_named_by_number_only(client, bobs_case: Case, robert: Member):
    robert_id = robert.pk
    robert.delete()

    section = _others_section(_page(client, "rita", bobs_case))

    assert f"member #{robert_id} (no longer in the register)" in section


@pytest.mark.django_db
def test_other_members_are_need_to_know(client, bobs_case: Case, hits: World, cast: dict[str, Any]):
    # The reviewer sees them while deciding; once the link is decided they are no longer theirs to see.
    reject_link(hits.links["bob"], cast["rita"], "Different person: the photo and employer differ.")
    html = _page(client, "rita", bobs_case)
    assert HEADING not in html and "Robert Baker" not in html

    # Leads and operators, who see every case, still see whom the model weighed.
    client.logout()
    assert "Robert Baker (M-0003)" in _others_section(_page(client, "lena", bobs_case))
    client.logout()
    assert "Robert Baker (M-0003)" in _others_section(_page(client, "olivia", bobs_case))

    # Another reviewer does not see the case at all.
    client.logout()
    login(client, "ravi")
    assert client.get(reverse("review-case", kwargs={"case_id": bobs_case.pk})).status_code == 404


def test_rivals_read_from_an_explanation_are_ranked_and_measured_against_the_proposal():
    explanation = {
        "evidence": [
            {"comparison": "prior", "weight": -10.0},
            {"comparison": "family_name", "weight": 14.0},
            {"comparison": "other candidates", "weight": -1.0},
        ],
        "others": [{"member_id": 2, "probability": 0.1, "match_weight": 1.0}, {"member_id": 3, "match_weight": 3.0}],
    }
    found = rivals(explanation)
    assert found is not None
    assert [(r.member_id, r.behind) for r in found] == [(3, 1.0), (2, 3.0)]
    assert rivals({"evidence": []}) is None
    assert rivals({"others": []}) == []
