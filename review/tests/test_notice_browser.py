"""A member's notice end to end in headless Chromium: open the link, read the evidence, appeal;
an independent lead decides; the member sees the result."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from conftest import PASSWORD
from review import notices
from review.models import Appeal, Decision, Notice
from review.tests.world import World

GROUNDS = "The word was about the referee in a football match, not about members."
RESULT = "Read in context the post is about football refereeing, not other members."


@pytest.mark.browser
def test_a_member_appeals_from_the_emailed_link_and_an_independent_lead_allows_it(
    live_server: Any, page: Page, notice: Notice, hits: World, cast: dict[str, Any], lars: Any, settings: Any
) -> None:
    settings.PUBLIC_URL = live_server.url
    notices.send_notice(notice, actor=cast["olivia"])
    link = re.search(r"http://\S+/notice/[A-Za-z0-9_-]+/", str(mail.outbox[0].body))
    assert link

    page.goto(link.group(0))
    expect(page.get_by_role("heading", level=1)).to_have_text("A decision about your conduct as a member")
    expect(page.locator(".outcome")).to_have_text("Breach: formal warning")
    expect(page.locator(".post-text").first).to_have_text("You are all idiots & <fools>")
    expect(page.locator("code.sha").first).to_have_text(hits.posts[0].sha256)
    page.get_by_label("Your grounds for appeal").fill(GROUNDS)
    page.get_by_label("How should we contact you about it? (optional)").select_option(label="by email")
    page.get_by_role("button", name="Send my appeal").click()
    expect(page.get_by_role("status")).to_contain_text("Your appeal has been received")
    expect(page.locator(".appeal-state")).to_contain_text("being considered")

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("lars")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Appeals").click()
    appeal = Appeal.objects.get()
    page.get_by_role("link", name=f"#{appeal.pk}").first.click()
    expect(page.locator(".grounds")).to_have_text(GROUNDS)
    page.get_by_label("Lead", exact=True).select_option(label="lars")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_role("status")).to_contain_text("Appeal assigned to lars")
    page.get_by_label("Outcome").select_option(label="Allowed: the decision is overturned")
    page.get_by_label("Reason").fill(RESULT)
    page.get_by_role("button", name="Decide appeal").click()
    expect(page.get_by_role("status")).to_contain_text("the result was emailed to the member")

    assert Decision.objects.get(pk=notice.decision_id).overturned_by == lars
    page.goto(link.group(0))
    expect(page.locator(".appeal-result")).to_have_text("Allowed: the decision is overturned")
    expect(page.get_by_text(RESULT)).to_be_visible()
