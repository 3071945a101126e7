"""The review queue: need-to-know, ordering, counts, filters and a constant number of queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from review.models import Case
from review.services import triage
from review.tests.world import World, assigned, case_of, login
from review.workflow import State

QUEUE = reverse("review-queue")


@pytest.fixture
def triaged(hits: World, cast: dict[str, Any]) -> World:
    triage()
    assigned(hits.members["alice"], cast["rita"], by=cast["olivia"])
    assigned(hits.accounts["bobby"], cast["ravi"], by=cast["olivia"])
    return hits


def _case_ids(response: Any) -> list[int]:
    return [row.case.pk for row in response.context["rows"]]


@pytest.mark.django_db
def test_a_reviewer_sees_only_the_cases_assigned_to_them(client: Client, triaged: World) -> None:
    response = login(client, "rita").get(QUEUE)

    assert response.status_code == 200
    assert _case_ids(response) == [case_of(triaged.members["alice"]).pk]
    assert "Alice Archer" in response.text
    assert "bobby" not in response.text
    assert {s: n for s, _, n in response.context["counts"]} == {
        "open": 0,
        "assigned": 1,
        "awaiting_signoff": 0,
        "closed": 0,
    }


@pytest.mark.django_db
def test_a_lead_sees_every_case_ordered_by_state_severity_and_due_date(client: Client, triaged: World) -> None:
    response = login(client, "lena").get(QUEUE)

    alice, bobby = case_of(triaged.members["alice"]), case_of(triaged.accounts["bobby"])
    anon = case_of(triaged.accounts["anon"])
    # open first (anon), then assigned by severity: alice (high) before bobby (medium)
    assert _case_ids(response) == [anon.pk, alice.pk, bobby.pk]
    assert "unlinked account @anon" in response.text
    assert 'name="reviewer"' in response.text  # leads get the assign control


@pytest.mark.django_db
def test_a_reviewer_gets_no_assign_control(client: Client, triaged: World) -> None:
    assert 'name="reviewer"' not in login(client, "rita").get(QUEUE).text


@pytest.mark.django_db
def test_the_queue_shows_hits_rules_and_overdue_cases(client: Client, triaged: World) -> None:
    alice = case_of(triaged.members["alice"])
    Case.objects.filter(pk=alice.pk).update(due_at=alice.opened_at - timedelta(days=1))

    response = login(client, "olivia").get(QUEUE)

    row = next(r for r in response.context["rows"] if r.case.pk == alice.pk)
    assert (row.n_hits, row.rule_codes, row.overdue) == (2, ["ABUSE-1", "SPAM-3"], True)
    assert response.text.count('class="overdue"') == 1


@pytest.mark.django_db
def test_it_filters_by_state_and_hides_closed_cases_by_default(client: Client, triaged: World) -> None:
    anon = case_of(triaged.accounts["anon"])
    Case.objects.filter(pk=anon.pk).update(state=State.CLOSED.value)
    login(client, "lena")

    assert anon.pk not in _case_ids(client.get(QUEUE))
    assert _case_ids(client.get(QUEUE, {"state": "closed"})) == [anon.pk]
    assert len(_case_ids(client.get(QUEUE, {"state": "all"}))) == 3
    assert len(_case_ids(client.get(QUEUE, {"state": "assigned"}))) == 2


@pytest.mark.django_db
def test_oversight_cannot_see_the_queue(client: Client, triaged: World) -> None:
    assert login(client, "otto").get(QUEUE).status_code == 403


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_log_in(client: Client) -> None:
    response = client.get(QUEUE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_an_operator_assigns_from_the_queue(client: Client, triaged: World, cast: dict[str, Any]) -> None:
    anon = case_of(triaged.accounts["anon"])
    login(client, "olivia")

    response = client.post(
        reverse("review-assign", args=[anon.pk]),
        {"reviewer": cast["ravi"].pk, "version": anon.version, "next": QUEUE + "?state=open"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == QUEUE + "?state=open"
    assert f"Case {anon.pk} assigned to ravi." in response.text
    anon.refresh_from_db()
    assert (anon.state, anon.assigned_to_id) == (State.ASSIGNED, cast["ravi"].pk)


def _cases_for_new_accounts(world: World, n: int) -> None:
    for i in range(n):
        world.hit_text(world.account(f"extra{i}"), f"buy now {i}", "SPAM-3")
    triage()


@pytest.mark.django_db
@pytest.mark.parametrize("n_cases", [1, 60])
def test_the_queue_takes_the_same_queries_however_many_cases(
    client: Client, world: World, cast: dict[str, Any], django_assert_num_queries: Any, n_cases: int
) -> None:
    _cases_for_new_accounts(world, n_cases)
    for case in Case.objects.all()[:5]:
        assert case.account is not None
        assigned(case.account, cast["rita"], by=cast["lena"])
    login(client, "lena")

    # session, user, roles, state counts, page count, page, the page's accounts (and one for its members
    # when it has members' cases: these are all accounts'), rule codes, assignable users, conflicts of
    # interest (who may be offered each case; plus one for members' confirmed accounts when the page has
    # members' cases), nav groups
    with django_assert_num_queries(11):
        response = client.get(QUEUE)

    assert len(response.context["rows"]) == min(n_cases, 50)
