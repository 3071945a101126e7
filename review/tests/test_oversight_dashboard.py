"""The oversight dashboard over the whole flow: its cost does not grow with the data, and in a browser an
oversight user lands on it, reads the figures and cannot open a case."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from conftest import PASSWORD
from criteria.models import Hit, Rule, RuleSet
from evidence.models import Account, CollectionRun, Post, Quarantine, Source
from linkage.models import Link
from oversight.services import record
from register.models import DeclaredIdentifier, Member
from review.models import Case, Decision
from review.services import triage
from review.tests.world import POSTED, World


def _grow(world: World, cast: dict[str, Any], n: int) -> None:
    """n more of everything the figures count, spread over several months, platforms and states."""
    months = [POSTED - timedelta(days=31 * k) for k in range(6)]
    sources = Source.objects.bulk_create(
        Source(name=f"src {i}", platform=["x", "bluesky", "mastodon"][i % 3], connector="ndjson") for i in range(n)
    )
    runs = CollectionRun.objects.bulk_create(
        CollectionRun(source=s, connector="ndjson", connector_version="1", started_at=months[i % 6], imported=10)
        for i, s in enumerate(sources)
    )
    accounts = Account.objects.bulk_create(
        Account(platform="bluesky", platform_id=f"grow-{i}", handle=f"g{i}", first_seen=POSTED, last_seen=POSTED)
        for i in range(n)
    )
    posts = Post.objects.bulk_create(
        Post(platform="bluesky", platform_id=f"grow-{i}", account=a, text="idiots", collected_at=POSTED,
             run=runs[i % len(runs)], raw={}, sha256="0" * 64, deleted_at=months[i % 6] if i % 4 == 0 else None)
        for i, a in enumerate(accounts)
    )  # fmt: skip
    Quarantine.objects.bulk_create(
        Quarantine(run=runs[0], origin="f", position=str(i), reason="bad", raw=str(i), raw_sha256=str(i))
        for i in range(n)
    )
    members = Member.objects.bulk_create(
        Member(number=f"G{i}", given_name="G", family_name=str(i), status=["active", "lapsed"][i % 2]) for i in range(n)
    )
    DeclaredIdentifier.objects.bulk_create(
        DeclaredIdentifier(member=m, kind="handle", platform="bluesky", value=f"g{i}") for i, m in enumerate(members)
    )
    for v in range(4, 4 + n // 10):
        extra = RuleSet.objects.create(name="Code of conduct", version=v, created_by=cast["olivia"])
        Rule.objects.create(ruleset=extra, code="X-1", title="x", query="x", clause=f"9.{v}")
    Hit.objects.bulk_create(
        Hit(post=p, rule=world.rules["ABUSE-1"], ruleset=world.ruleset, spans=[[0, 6]]) for p in posts
    )
    run = world.links["alice"].run
    Link.objects.bulk_create(
        Link(
            account=a,
            member=m,
            method="probabilistic",
            probability=0.9,
            status=["proposed", "rejected"][i % 2],
            run=run,
        )
        for i, (a, m) in enumerate(zip(accounts, members, strict=True))
    )
    cases = Case.objects.bulk_create(
        Case(member=m, state="closed", severity=1, opened_at=months[i % 6], due_at=POSTED, closed_at=POSTED)
        for i, m in enumerate(members)
    )
    Decision.objects.bulk_create(
        Decision(case=c, reviewer=cast["rita"], outcome=["no_breach", "warning"][i % 2], reason="r" * 20,
                 decided_at=POSTED, signed_off_by=cast["lena"], signed_off_at=POSTED)
        for i, c in enumerate(cases)
    )  # fmt: skip
    for i in range(n):
        record(f"test.kind_{i % 7}", actor="olivia", object_id=i)


@pytest.mark.django_db
def test_the_dashboard_costs_the_same_queries_for_a_few_rows_or_many(
    client: Client, hits: World, cast: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    triage()
    client.force_login(cast["otto"])
    with django_assert_max_num_queries(60) as few:
        assert client.get(reverse("oversight-dashboard")).status_code == 200

    _grow(hits, cast, 120)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("oversight-dashboard"))
    assert response.status_code == 200
    assert "Posts collected, by platform" in response.text


@pytest.mark.browser
def test_an_oversight_user_lands_on_the_dashboard_sees_the_figures_and_cannot_open_a_case(
    live_server: Any, page: Page, hits: World, cast: dict[str, Any]
) -> None:
    triage()
    case = Case.objects.filter(member=hits.members["alice"]).get()

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("otto")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Oversight", level=1)).to_be_visible()
    assert page.url == f"{live_server.url}{reverse('oversight-dashboard')}"
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Oversight")).to_be_visible()
    policy = page.locator("#linkage\\.policy")
    expect(policy).to_contain_text("Linkage policy in force")
    expect(policy).to_contain_text("declared: accounts are linked to members only")
    states = page.get_by_role("table", name="Cases by state")
    expect(states.get_by_role("row", name="open")).to_contain_text("fewer than 5")
    expect(page.get_by_role("table", name="Hits by rule and rulebook clause")).to_contain_text("Rulebook 4.2(a): abuse")
    expect(page.get_by_text("idiots")).to_have_count(0)  # never a member's post

    page.get_by_role("button", name="Verify chain now").click()
    expect(page.get_by_role("status")).to_contain_text("Audit chain intact:")

    response = page.goto(f"{live_server.url}{reverse('review-case', args=[case.pk])}")
    assert response is not None and response.status == 403


@pytest.mark.django_db
def test_oversight_follows_a_rule_set_version_from_the_dashboard_and_reads_it_in_full(
    client: Client, world: World, cast: dict[str, Any]
) -> None:
    client.force_login(cast["otto"])
    page = client.get(reverse("oversight-dashboard")).text
    version = reverse("criteria-ruleset", args=[world.ruleset.pk])
    assert f'<a href="{version}">v3</a>' in page

    ruleset_page = client.get(version)

    assert ruleset_page.status_code == 200
    assert "Rulebook 4.2(a): abuse" in ruleset_page.text and "&quot;idiots&quot;" in ruleset_page.text
