"""The oversight dashboard's pages: who may open them, what they show, JSON and CSV, and verifying the chain."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD
from oversight import figures
from oversight.models import AuditEvent
from oversight.services import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def outcomes_figure():
    """A figure of our own about people: 3 is small (suppressed), 8 its complement, 4417 shown."""

    @figures.figure(
        "test.outcomes", section="review", label="Test outcomes", help="Made up for the test.", order=999, people=True
    )
    def outcomes() -> figures.Value:
        return figures.Table(("Outcome", "Decisions"), (("warning", 3), ("advice", 8), ("no breach", 4417)))

    yield
    figures.unregister("test.outcomes")


def _as(client: Client, cast, name: str) -> Client:
    client.force_login(cast[name])
    return client


@pytest.mark.parametrize("name", ["otto", "olivia", "lena"])
def test_oversight_operators_and_leads_open_the_dashboard_and_each_look_is_audited(client, cast, name):
    response = _as(client, cast, name).get(reverse("oversight-dashboard"))

    assert response.status_code == 200
    page = response.text
    for title in ["Collection", "Rules", "Linkage", "Review", "Audit"]:
        assert f">{title}</h2>" in page
    assert "Linkage policy in force" in page and "declared: accounts are linked to members only" in page
    assert "Cases by state" in page and "Members on the register, by status" in page
    assert "as at" in page and "UTC" in page
    event = AuditEvent.objects.filter(action="oversight.dashboard_viewed").get()
    assert (event.actor, event.data["form"]) == (name, "html")


def test_reviewers_may_not_open_the_dashboard_or_its_downloads(client, cast):
    client = _as(client, cast, "rita")
    for name in ["oversight-dashboard", "oversight-figures-json", "oversight-figures-csv"]:
        assert client.get(reverse(name)).status_code == 403
    assert client.post(reverse("oversight-verify")).status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="oversight.").exists()


def test_anyone_signed_out_is_sent_to_log_in(client, db):
    response = client.get(reverse("oversight-dashboard"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_small_counts_of_people_show_as_fewer_than_five(client, cast, outcomes_figure):
    page = _as(client, cast, "otto").get(reverse("oversight-dashboard")).text

    assert '<span class="suppressed small">fewer than 5</span>' in page
    assert '<span class="suppressed complement">withheld</span>' in page
    assert "4,417" in page
    assert '<td class="num">3</td>' not in page and '<td class="num">8</td>' not in page


def test_the_figures_as_json(client, cast, outcomes_figure):
    response = _as(client, cast, "otto").get(reverse("oversight-figures-json"))

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert data["min_cell"] == 5 and data["period"]["to"] == data["generated_at"]
    by_key = {f["key"]: f for f in data["figures"]}
    assert by_key["test.outcomes"]["table"]["rows"] == [
        ["warning", {"suppressed": "small", "text": "fewer than 5"}],
        ["advice", {"suppressed": "complement", "text": "withheld"}],
        ["no breach", 4417],
    ]
    assert by_key["linkage.policy"]["value"].startswith("declared")
    assert {f["section"] for f in data["figures"]} == {"collection", "rules", "linkage", "review", "audit"}
    assert AuditEvent.objects.get(action="oversight.dashboard_viewed").data["form"] == "json"


def test_the_figures_as_a_csv_download(client, cast, outcomes_figure):
    response = _as(client, cast, "lena").get(reverse("oversight-figures-csv"))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="assay-oversight-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "key", "label", "row", "column", "value", "suppressed"]
    assert rows[1][:3] == ["report", "generated_at", "Generated at"]
    assert ["review", "test.outcomes", "Test outcomes", "warning", "Decisions", "fewer than 5", "small"] in rows
    assert ["review", "test.outcomes", "Test outcomes", "no breach", "Decisions", "4417", ""] in rows
    assert AuditEvent.objects.get(action="oversight.dashboard_viewed").data["form"] == "csv"


def test_a_smaller_minimum_cell_comes_from_the_setting(client, cast, outcomes_figure, settings):
    settings.OVERSIGHT_MIN_CELL = 3

    data = _as(client, cast, "otto").get(reverse("oversight-figures-json")).json()

    rows = {f["key"]: f for f in data["figures"]}["test.outcomes"]["table"]["rows"]
    assert rows == [["warning", 3], ["advice", 8], ["no breach", 4417]]


def test_verify_chain_now_shows_an_intact_chain_and_records_the_check(client, cast):
    client = _as(client, cast, "otto")
    response = client.post(reverse("oversight-verify"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("oversight-dashboard") + "#audit"
    assert "Audit chain intact:" in response.text
    check = AuditEvent.objects.get(action="oversight.chain_verified")
    assert check.actor == "otto" and check.data["intact"] is True and check.data["via"] == "dashboard"
    assert "by otto" in response.text  # the last verification, shown in the audit section


def test_verify_chain_now_names_the_event_edited_by_hand(client, cast):
    for n in range(4):
        record("test.event", actor="olivia", object_type="thing", object_id=n)
    target = AuditEvent.objects.get(action="test.event", object_id="2")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE oversight_auditevent SET actor = %s WHERE id = %s", ["mallory", target.pk])

    response = _as(client, cast, "otto").post(reverse("oversight-verify"), follow=True)

    assert f"Audit chain BROKEN at event {target.seq}: its content does not match its hash" in response.text
    assert 'role="alert"' in response.text
    check = AuditEvent.objects.get(action="oversight.chain_verified")
    assert check.data["intact"] is False and check.data["broken_at"] == target.seq


def test_verifying_is_a_post(client, cast):
    assert _as(client, cast, "otto").get(reverse("oversight-verify")).status_code == 405


def test_each_role_lands_where_it_works(client, cast):
    expected = {"otto": "oversight-dashboard", "rita": "review-queue", "olivia": "review-queue", "lena": "review-queue"}
    for name, url_name in expected.items():
        client.force_login(cast[name])
        response = client.get("/")
        assert (name, response.status_code, response.url) == (name, 302, reverse(url_name))


def test_an_oversight_user_logging_in_lands_on_the_dashboard_not_a_403(client, cast):
    response = client.post(reverse("login"), {"username": "otto", "password": PASSWORD}, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("oversight-dashboard")
    assert "<h1>Oversight</h1>" in response.text


def test_the_nav_shows_oversight_only_to_roles_that_see_it(client, cast):
    link = f'<a href="{reverse("oversight-dashboard")}"'
    for name, shown in [("otto", True), ("lena", True), ("olivia", True), ("rita", False)]:
        client.force_login(cast[name])
        page = client.get(reverse("criteria-rulesets") if name != "rita" else reverse("review-queue")).text
        assert (name, link in page) == (name, shown)


def test_case_pages_are_not_offered_to_oversight_whose_role_sees_no_cases(client, cast):
    links = [f'<a href="{reverse(name)}"' for name in ("review-queue", "review-notices", "review-appeals")]
    for name, shown in [("otto", False), ("rita", True), ("olivia", True), ("lena", True)]:
        client.force_login(cast[name])
        page = client.get(reverse("criteria-rulesets") if name != "rita" else reverse("review-queue")).text
        assert (name, [link in page for link in links]) == (name, [shown] * 3)


def test_the_dashboard_links_to_the_rule_sets_oversight_may_read(client, cast):
    client = _as(client, cast, "otto")
    page = client.get(reverse("oversight-dashboard")).text

    assert f'href="{reverse("criteria-rulesets")}"' in page
    assert client.get(reverse("criteria-rulesets")).status_code == 200


def test_the_sources_page_is_offered_only_to_roles_that_may_open_it(client, cast):
    link = f'<a href="{reverse("evidence-sources")}"'
    for name, shown in [("otto", True), ("lena", True), ("olivia", True), ("rita", False)]:
        client.force_login(cast[name])
        page = client.get(reverse("oversight-dashboard") if name != "rita" else reverse("review-queue")).text
        assert (name, link in page) == (name, shown)
        assert (name, client.get(reverse("evidence-sources")).status_code) == (name, 200 if shown else 403)


def test_events_by_month_count_calendar_months_in_utc_and_the_views_among_them(client, cast):
    from datetime import UTC, datetime

    AuditEvent.objects.all().delete()  # the cast's own creation events: start from a known chain
    times = {
        "case.viewed": [datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)],
        "case.decided": [datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 4, 30, 12, tzinfo=UTC)],
        "member.viewed": [datetime(2026, 12, 31, 23, 0, tzinfo=UTC)],
    }
    for action, ats in times.items():
        for at in ats:
            AuditEvent.objects.filter(pk=record(action, actor="tester").pk).update(at=at)

    data = _as(client, cast, "otto").get(reverse("oversight-figures-json")).json()

    rows = {f["key"]: f for f in data["figures"]}["audit.by_month"]["table"]["rows"]
    # January: a view and a decision; February: the view at midnight; no rows for months with nothing;
    # then December 2026's view (with the test's own sign-in events if it runs then).
    assert rows[:3] == [["2026-01", 2, 1], ["2026-02", 1, 1], ["2026-04", 1, 0]]
    assert rows[3][0] == "2026-12" and rows[3][2] >= 1
