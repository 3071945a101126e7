"""The rule editor in headless Chromium: an operator drafts a rule with live validation and tests
it on recent posts; then a lead, in a second browser session, approves the draft."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import PASSWORD
from criteria.models import RuleSet
from criteria.tests.test_views import approved, make_posts
from oversight.models import AuditEvent

__all__ = ["approved"]  # a fixture this module uses


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()


@pytest.mark.browser
def test_an_operator_drafts_a_rule_with_live_validation_and_a_lead_approves_it(
    live_server: Any, page: Page, browser: Browser, approved: RuleSet
) -> None:
    make_posts(
        [
            "Those scum in the members' forum again",
            "Members are great, scum are not",  # 'members' is three words before 'scum': a hit
            "Nothing to see here",
            "scum, said nobody about the weather in June to the members",  # too far apart
        ]
    )

    _log_in(page, live_server.url, "olivia")
    page.get_by_role("link", name="Rule sets").click()
    page.get_by_role("link", name="Conduct v1").click()
    page.get_by_role("button", name="Edit: start draft v2 from this version").click()
    expect(page.get_by_role("status")).to_contain_text("Draft version 2 made from version 1")
    page.get_by_role("link", name="Add a rule").click()

    page.get_by_label("Code").fill("ABUSE-2")
    page.get_by_label("Title").fill("Abuse of members")
    page.get_by_label("Rulebook clause").fill("4.2(b) Abuse of members")
    page.get_by_label("Severity").select_option(label="high")
    query = page.get_by_label("Query")
    query.press_sequentially("scum NEAR/20 members")

    # live: no submit yet, the linter's verdict arrives as it is typed, caret at the fault
    diagnostics = page.locator("#query-diagnostics")
    expect(diagnostics).to_contain_text("Error at position 5: NEAR/20 is too far")
    expect(diagnostics.locator(".caret")).to_have_text("N")
    expect(diagnostics).to_contain_text("Hint: use at most NEAR/10, or AND")
    expect(query).to_have_attribute("aria-invalid", "true")

    query.fill("scum NEAR/3 members")
    expect(diagnostics).to_have_text("No problems found.")

    page.get_by_role("button", name="Test this rule on the last 10,000 posts").click()
    expect(page.locator(".preview-count")).to_contain_text("2 of the last 4 posts match")
    marks = page.locator("#preview .post-text mark")
    expect(marks.first).to_be_visible()
    assert sorted({m.lower() for m in marks.all_inner_texts()}) == ["members", "scum"]
    expect(page.get_by_label("Query")).to_have_value("scum NEAR/3 members")

    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("status")).to_contain_text("Rule ABUSE-2 saved in draft version 2")
    expect(page.locator("#rule-ABUSE-2 code.query")).to_have_text("scum NEAR/3 members")
    expect(page.get_by_role("button", name="Approve version 2")).to_be_disabled()
    expect(page.locator("#approve-why")).to_contain_text("someone other than its author")

    lead = browser.new_context()
    try:
        lead_page = lead.new_page()
        _log_in(lead_page, live_server.url, "lena")
        lead_page.get_by_role("link", name="Rule sets").click()
        lead_page.get_by_role("link", name="Conduct v2").click()
        lead_page.get_by_role("button", name="Approve version 2").click()
        expect(lead_page.get_by_role("status")).to_contain_text("Conduct version 2 approved")
        expect(lead_page.locator(".facts .status")).to_have_text("Approved")
    finally:
        lead.close()

    v2 = RuleSet.objects.get(name="Conduct", version=2)
    assert (v2.status, v2.created_by.username, v2.approved_by and v2.approved_by.username) == (
        "approved",
        "olivia",
        "lena",
    )
    assert v2.rules.get(code="ABUSE-2").query == "scum NEAR/3 members"
    assert AuditEvent.objects.filter(action="criteria.preview", actor="olivia").count() == 1
