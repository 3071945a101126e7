"""A proposed link, seen with its evidence, confirmed or rejected by a person; the case follows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from linkage.models import Link
from oversight.models import AuditEvent
from review.models import Case
from review.services import assign_case, triage
from review.tests.world import World, case_of, login
from review.waterfall import likelihood, probability, waterfall

REASON = "Same name, town and photo as the register entry."


def test_the_waterfall_stacks_weights_from_the_prior_to_the_total():
    bars = waterfall(
        [
            {"comparison": "prior", "level": "", "weight": -10.0},
            {"comparison": "given_name", "level": "same", "weight": 8.0},
            {"comparison": "place", "level": "different", "weight": -2.0},
            {"comparison": "family_name", "level": "same", "weight": 9.0},
        ]
    )
    assert [b.total for b in bars] == [-10.0, -2.0, -4.0, 5.0]
    assert [b.direction for b in bars] == ["against", "for", "against", "for"]
    assert bars[0].left == 0 and bars[0].width == pytest.approx(10 / 15 * 100, abs=0.01)
    assert bars[3].left == pytest.approx(6 / 15 * 100, abs=0.01)
    assert all(0 <= b.left <= 100 and b.left + b.width <= 100.01 for b in bars)
    assert probability(5.0) == pytest.approx(32 / 33)
    assert waterfall([]) == []


@pytest.fixture
def bobs_case(hits: World, cast) -> Case:
    triage()
    case = case_of(hits.accounts["bobby"])
    assign_case(case, cast["rita"], actor=cast["olivia"], expected_version=case.version)
    case.refresh_from_db()
    return case


def _resolve(client, case: Case, link: Link, action: str, reason: str = REASON):
    url = reverse("review-link", kwargs={"case_id": case.pk, "link_id": link.pk})
    return client.post(url, {"action": action, "reason": reason, "version": case.version}, follow=True)


@pytest.mark.django_db
def test_the_case_page_shows_the_proposal_with_its_evidence_waterfall(client, hits: World, bobs_case: Case):
    page = login(client, "rita").get(reverse("review-case", kwargs={"case_id": bobs_case.pk}))

    html = page.content.decode()
    assert "Proposed: needs confirmation by a reviewer" in html
    assert "Why the model proposes Bob Baker for @bobby" in html
    assert "nickname of the same name" in html and "test-model-1" in html
    assert 'class="bar for"' in html and 'class="bar against"' in html
    assert "Is @bobby (X) the account of Bob Baker (M-0002)?" in html


@pytest.mark.django_db
def test_confirming_moves_the_case_to_the_member_and_labels_the_pair(client, hits: World, bobs_case: Case):
    page = _resolve(login(client, "rita"), bobs_case, hits.links["bob"], "confirm")

    assert "Link confirmed: this case is now about Bob Baker" in page.content.decode()
    link = Link.objects.get(pk=hits.links["bob"].pk)
    assert link.status == "confirmed" and link.reviewed_by is not None and link.reviewed_by.username == "rita"
    bobs_case.refresh_from_db()
    assert bobs_case.member == hits.members["bob"]
    event = AuditEvent.objects.get(action="link.confirmed")
    assert (event.actor, event.data["reason"]) == ("rita", REASON)


@pytest.mark.django_db
def test_confirming_when_the_member_has_an_open_case_merges_the_hits_into_it(client, hits: World, bobs_case: Case):
    # bob already has a case of his own, from another account he declared
    declared = hits.account("bob_declared")
    Link.objects.create(account=declared, member=hits.members["bob"], method="declared", probability=1.0,
                        status="confirmed", run=hits.links["alice"].run)  # fmt: skip
    hits.hit_text(declared, "idiots, the lot", "ABUSE-1")
    triage()
    member_case = case_of(hits.members["bob"])

    page = _resolve(login(client, "rita"), bobs_case, hits.links["bob"], "confirm")

    assert f"The evidence joined Bob Baker (M-0002)&#x27;s open case #{member_case.pk}" in page.content.decode()
    bobs_case.refresh_from_db()
    member_case.refresh_from_db()
    assert bobs_case.state == "closed"
    assert member_case.hits.count() == 2 and member_case.severity == 1
    assert AuditEvent.objects.filter(action="case.merged", object_id=str(bobs_case.pk)).exists()


@pytest.mark.django_db
def test_rejecting_keeps_the_case_on_the_account(client, hits: World, bobs_case: Case):
    page = _resolve(login(client, "rita"), bobs_case, hits.links["bob"], "reject")

    assert "will not be proposed for this account again" in page.content.decode()
    bobs_case.refresh_from_db()
    assert bobs_case.member is None and bobs_case.state == "assigned"
    assert Link.objects.get(pk=hits.links["bob"].pk).status == "rejected"


@pytest.mark.django_db
def test_a_reason_is_required_and_only_the_cases_reviewer_or_a_lead_may_resolve(client, hits: World, bobs_case):
    page = _resolve(login(client, "rita"), bobs_case, hits.links["bob"], "confirm", reason="yes")
    assert "at least 20 characters" in page.content.decode()

    client.logout()
    page = _resolve(login(client, "ravi"), bobs_case, hits.links["bob"], "confirm")
    assert page.status_code == 404  # not ravi's case: need-to-know

    client.logout()
    page = _resolve(login(client, "lena"), bobs_case, hits.links["bob"], "reject")
    assert Link.objects.get(pk=hits.links["bob"].pk).status == "rejected"
    page = _resolve(client, Case.objects.get(pk=bobs_case.pk), hits.links["bob"], "confirm")
    assert "no longer a proposal" in page.content.decode()


@pytest.mark.parametrize(
    ("p", "certain", "text"),
    [
        (1.0, True, "100%"),
        (0.87, False, "87%"),
        (0.9949, False, "99%"),
        (0.9995, False, "99.95%"),
        (0.999999, False, "over 99.99%"),
        (1.0, False, "over 99.99%"),  # a model's probability is never certainty
        (0.004, False, "under 1%"),
    ],
)
def test_a_probability_is_never_rounded_into_certainty(p: float, certain: bool, text: str) -> None:
    assert likelihood(p, certain=certain) == text


@pytest.mark.django_db
def test_a_near_certain_proposal_does_not_read_100_percent(client, hits: World, bobs_case: Case):
    Link.objects.filter(account=hits.accounts["bobby"]).update(probability=0.9995)

    html = login(client, "rita").get(reverse("review-case", kwargs={"case_id": bobs_case.pk})).content.decode()

    assert "<td>99.95%</td>" in html and "adding up to 99.95%." in html
    assert "100%" not in html
