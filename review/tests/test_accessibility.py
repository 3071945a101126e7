"""Accessibility: axe-core (the engine browsers' own audits use) finds no WCAG 2.1 A/AA violation on the
pages members and staff use, in headless Chromium. Members include disabled people; so do volunteers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core import mail
from django.urls import reverse
from playwright.sync_api import Page

from conftest import PASSWORD
from review import notices
from review.models import Notice
from review.services import triage
from review.tests.world import World, case_of

# WCAG 2.0/2.1 at levels A and AA, the standard public bodies are held to (and best practice beside).
OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def _violations(page: Page) -> list[str]:
    results = Axe().run(page, options=OPTIONS)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


@pytest.mark.browser
def test_the_check_finds_what_it_is_for(page: Page) -> None:
    # The harness itself: a page with the faults it must find fails it, so a pass below means something.
    page.set_content('<html><body><img src="x.png"><input type="text"></body></html>')
    found = {v.split(" ")[0] for v in _violations(page)}
    assert {"image-alt", "label", "html-has-lang", "document-title"} <= found


def _sign_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.browser
def test_the_members_notice_page_and_the_login_page(
    live_server: Any, page: Page, notice: Notice, cast: dict[str, Any], settings: Any
) -> None:
    settings.PUBLIC_URL = live_server.url
    notices.send_notice(notice, actor=cast["olivia"])
    link = re.search(r"http://\S+/notice/[A-Za-z0-9_-]+/", str(mail.outbox[0].body))
    assert link

    page.goto(link.group(0))
    assert _violations(page) == []
    page.goto(f"{live_server.url}/login/")
    assert _violations(page) == []


@pytest.mark.browser
@pytest.mark.parametrize(
    ("username", "pages"),
    [
        (
            "lena",
            ["review-queue", "case:alice", "case:bobby", "review-notices", "review-appeals", "review-second-looks"],
        ),
        (
            "olivia",
            [
                "criteria-rulesets",
                "ruleset",
                "criteria-new",
                "evidence-sources",
                "run",
                "register-find",
                "member",
                "oversight-purpose-new",
            ],
        ),
        ("otto", ["oversight-dashboard", "oversight-purposes"]),
    ],
)
def test_staff_pages(live_server: Any, page: Page, hits: World, username: str, pages: list[str]) -> None:
    triage()
    _sign_in(page, live_server.url, username)
    found = {}
    for name in pages:
        if name == "ruleset":
            path = reverse("criteria-ruleset", args=[hits.ruleset.pk])
        elif name == "run":
            path = reverse("evidence-run", args=[hits.run.pk])
        elif name == "member":
            path = reverse("register-member", args=[hits.members["alice"].pk])
        elif name.startswith("case:"):
            subject = name.partition(":")[2]
            case = case_of(hits.members[subject] if subject in hits.members else hits.accounts[subject])
            path = reverse("review-case", args=[case.pk])
        else:
            path = reverse(name)
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, (name, path)  # the page itself, not an error
        found[name] = _violations(page)
    assert found == {name: [] for name in pages}
