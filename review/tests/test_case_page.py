"""The case page: the evidence highlighted and escaped, why it was flagged, who it is about; audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from evidence.models import Post
from linkage.models import Link
from oversight.models import AuditEvent
from review.models import Case
from review.services import triage
from review.tests.world import World, assigned, case_of, login


@pytest.fixture
def triaged(hits: World, cast: dict[str, Any]) -> World:
    triage()
    assigned(hits.members["alice"], cast["rita"], by=cast["olivia"])
    assigned(hits.accounts["bobby"], cast["ravi"], by=cast["olivia"])
    return hits


def _url(case: Case) -> str:
    return reverse("review-case", args=[case.pk])


@pytest.mark.django_db
def test_the_hit_is_marked_and_the_text_escaped(client: Client, triaged: World) -> None:
    response = login(client, "rita").get(_url(case_of(triaged.members["alice"])))

    assert response.status_code == 200
    assert "You are all <mark>idiots</mark> &amp; &lt;fools&gt;" in response.text
    assert "<fools>" not in response.text
    assert "Great deals, <mark>buy now</mark>!" in response.text


@pytest.mark.django_db
def test_a_models_score_is_shown_as_evidence_not_a_decision(client: Client, triaged: World) -> None:
    hit = case_of(triaged.members["alice"]).hits.get(rule__code="ABUSE-1")
    hit.scores = {"offensive": 0.9312}
    hit.save(update_fields=["scores"])

    response = login(client, "rita").get(_url(case_of(triaged.members["alice"])))

    assert "offensive: 0.93" in response.text
    assert "evidence for you to weigh, never a decision" in response.text


@pytest.mark.django_db
def test_it_says_why_each_post_is_here(client: Client, triaged: World) -> None:
    response = login(client, "rita").get(_url(case_of(triaged.members["alice"])))

    for expected in ["ABUSE-1", "Abuse of other people", "Rulebook 4.2(a): abuse", "high", "Code of conduct v3"]:
        assert expected in response.text
    assert "https://x.example/status/" in response.text


@pytest.mark.django_db
def test_it_shows_the_member_and_the_confirmed_link(client: Client, triaged: World) -> None:
    response = login(client, "rita").get(_url(case_of(triaged.members["alice"])))

    for expected in ["Alice Archer", "M-0001", "Leeds", "declared by the member", "100%", "Confirmed"]:
        assert expected in response.text
    assert "needs confirmation" not in response.text


@pytest.mark.django_db
def test_a_proposed_link_is_shown_as_needing_confirmation(client: Client, triaged: World) -> None:
    response = login(client, "ravi").get(_url(case_of(triaged.accounts["bobby"])))

    assert "unlinked account @bobby" in response.text
    assert "probabilistic match" in response.text
    assert "87%" in response.text
    assert "needs confirmation" in response.text


@pytest.mark.django_db
def test_evidence_without_an_author_says_it_cannot_be_linked(client: Client, triaged: World) -> None:
    anon = case_of(triaged.accounts["anon"])
    authorless = triaged.hit_text(None, "idiots with no name", "ABUSE-1")
    anon.hits.add(authorless)  # the platform withheld the author of a post in the thread

    response = login(client, "lena").get(_url(anon))

    assert "the evidence cannot be linked to any member" in response.text
    assert "<mark>idiots</mark> with no name" in response.text


@pytest.mark.django_db
def test_another_reviewers_case_is_not_found(client: Client, triaged: World) -> None:
    response = login(client, "rita").get(_url(case_of(triaged.accounts["bobby"])))

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="case.viewed").exists()


@pytest.mark.django_db
def test_an_unassigned_case_is_not_found_for_a_reviewer(client: Client, triaged: World) -> None:
    assert login(client, "rita").get(_url(case_of(triaged.accounts["anon"]))).status_code == 404


@pytest.mark.django_db
def test_oversight_is_forbidden_from_case_pages(client: Client, triaged: World) -> None:
    assert login(client, "otto").get(_url(case_of(triaged.members["alice"]))).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["lena", "olivia"])
def test_leads_and_operators_see_every_case(client: Client, triaged: World, username: str) -> None:
    assert login(client, username).get(_url(case_of(triaged.accounts["bobby"]))).status_code == 200


@pytest.mark.django_db
def test_viewing_a_case_is_an_audit_event(client: Client, triaged: World) -> None:
    case = case_of(triaged.members["alice"])

    login(client, "rita").get(_url(case))

    event = AuditEvent.objects.get(action="case.viewed")
    assert (event.actor, event.object_type, event.object_id) == ("rita", "review.case", str(case.pk))


@pytest.mark.django_db
def test_the_decision_form_is_only_for_the_assignee(client: Client, triaged: World) -> None:
    url = _url(case_of(triaged.members["alice"]))

    assert "Record decision" in login(client, "rita").get(url).text
    assert "Record decision" not in login(client, "lena").get(url).text


@pytest.mark.django_db
def test_a_reply_is_shown_under_the_conversation_it_answered(
    client: Client, world: World, cast: dict[str, Any]
) -> None:
    top = world.post(world.accounts["bobby"], "Meeting moved to <Thursday>")
    middle = world.post(world.accounts["anon"], "Who decided that?", kind="reply", parent_platform_id=top.platform_id)
    middle.deleted_at = middle.collected_at
    middle.save(update_fields=["deleted_at"])
    world.hit(world.post(world.accounts["alice_x"], "You idiots", kind="reply", parent_platform_id=middle.platform_id),
              "ABUSE-1")  # fmt: skip
    unanswered = world.post(world.accounts["alice_x"], "idiots, all of them", kind="quote", parent_platform_id="977")
    world.hit(unanswered, "ABUSE-1")
    triage()
    case = assigned(world.members["alice"], cast["rita"], by=cast["olivia"])

    page = login(client, "rita").get(_url(case)).text

    assert "The conversation above this post, as collected:" in page
    assert page.index("Meeting moved to &lt;Thursday&gt;") < page.index("Who decided that?") < page.index("You <mark>")
    assert "The platform reported it deleted on" in page
    assert "This post is quoting a post assay has not collected" in page
    assert 'href="https://x.com/i/web/status/977"' in page


@pytest.mark.django_db
def test_a_purged_parent_shows_that_its_text_is_gone(client: Client, world: World, cast: dict[str, Any]) -> None:
    parent = world.post(world.accounts["bobby"], "a secret kept too long")
    Post.objects.filter(pk=parent.pk).update(text="", raw={}, purged_at=parent.collected_at)
    world.hit(world.post(world.accounts["alice_x"], "idiots", kind="reply", parent_platform_id=parent.platform_id),
              "ABUSE-1")  # fmt: skip
    triage()
    case = assigned(world.members["alice"], cast["rita"], by=cast["olivia"])

    page = login(client, "rita").get(_url(case)).text

    assert "Its text is no longer held" in page
    assert "a secret kept too long" not in page


@pytest.mark.django_db
def test_a_parent_by_a_restricted_members_account_is_not_shown(
    client: Client, world: World, cast: dict[str, Any]
) -> None:
    parent = world.post(world.accounts["bobby"], "Bob's own words")
    world.hit(world.post(world.accounts["alice_x"], "idiots", kind="reply", parent_platform_id=parent.platform_id),
              "ABUSE-1")  # fmt: skip
    world.links["bob"].status = Link.Status.CONFIRMED
    world.links["bob"].save()
    world.members["bob"].restricted_at = parent.collected_at
    world.members["bob"].save()
    triage()
    case = assigned(world.members["alice"], cast["rita"], by=cast["olivia"])

    page = login(client, "rita").get(_url(case)).text

    assert "asked for processing of their data to be restricted: not shown" in page
    assert "Bob&#x27;s own words" not in page and "bobby" not in page


@pytest.mark.django_db
def test_the_case_page_takes_the_same_queries_however_many_posts(
    client: Client, world: World, cast: dict[str, Any]
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(n_posts: int) -> int:
        for i in range(n_posts):
            parent = world.post(world.accounts["bobby"], f"parent {i}")
            middle = world.post(
                world.accounts["anon"], f"middle {i}", kind="reply", parent_platform_id=parent.platform_id
            )
            reply = world.post(
                world.accounts["alice_x"], f"idiots {i}", kind="reply", parent_platform_id=middle.platform_id
            )
            world.hit(reply, "ABUSE-1")
        triage()
        case = case_of(world.members["alice"])
        with CaptureQueriesContext(connection) as queries:
            assert client.get(_url(case)).status_code == 200
        return len(queries)

    login(client, "lena")
    few = queries_for(1)
    many = queries_for(20)  # the same case, now with 21 posts, each under a conversation two posts deep

    assert many == few
