"""An operator erases a member through the real UI in headless Chromium: find, confirm with a reason."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conftest import PASSWORD
from register.models import DeclaredIdentifier, Member


@pytest.mark.browser
def test_an_operator_finds_a_member_and_erases_them_after_confirming(
    live_server: Any, page: Page, cast: dict[str, Any]
) -> None:
    member = Member.objects.create(number="M-0042", given_name="Dora", family_name="Diaz", town="Bath")
    DeclaredIdentifier.objects.create(member=member, kind="handle", platform="x", value="dora_d")

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Membership number").fill("M-0042")
    page.get_by_role("button", name="Find").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Dora Diaz")
    page.get_by_role("link", name="Erase / restrict").click()
    expect(page.get_by_role("heading", name="What erasure removes")).to_be_visible()
    page.get_by_label("Erase their personal data").check()
    expect(page.get_by_label("Reason")).to_have_attribute("required", "")  # no erasure without a reason
    page.get_by_label("Reason").fill("SAR-77: member's emailed request of 1 Dec")
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("status")).to_contain_text("Personal data erased")
    expect(page.locator("dd.dp-status")).to_contain_text("erased on")
    assert Member.objects.get(pk=member.pk).erased_at is not None
    assert not DeclaredIdentifier.objects.filter(member=member).exists()
