"""A reviewer's whole path through the real UI in headless Chromium: log in, open a case, decide it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conftest import PASSWORD
from review.models import Case, Decision
from review.services import triage
from review.tests.world import World, assigned
from review.workflow import State

REASON = "Calling other members idiots breaches clause 4.2(a) of the rulebook."


@pytest.mark.browser
def test_a_reviewer_logs_in_opens_a_case_and_records_a_decision(
    live_server: Any, page: Page, hits: World, cast: dict[str, Any]
) -> None:
    triage()
    case = assigned(hits.members["alice"], cast["rita"], by=cast["olivia"])

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(page.get_by_text("Signed in as rita")).to_be_visible()
    page.get_by_role("link", name=f"#{case.pk}").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Alice Archer")
    expect(page.locator(".post-text mark", has_text="idiots")).to_be_visible()
    page.get_by_label("Outcome").select_option(label="Breach: formal warning")
    page.get_by_label("Reason").fill(REASON)
    page.get_by_role("button", name="Record decision").click()

    expect(page.get_by_role("status")).to_contain_text("waits for a lead's sign-off")
    expect(page.locator("dd.state")).to_have_text("awaiting signoff")
    expect(page.get_by_role("button", name="Record decision")).to_have_count(0)
    case = Case.objects.get(pk=case.pk)
    assert case.state == State.AWAITING_SIGNOFF
    decision = Decision.objects.get(case=case)
    assert (decision.reviewer.username, decision.outcome, decision.reason) == ("rita", "warning", REASON)
