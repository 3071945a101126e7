"""A reviewer signs in through the real UI with a password and the code their authenticator shows, each step audited
(a mistyped password and a wrong code too)."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from conftest import PASSWORD
from oversight import twofactor
from oversight.models import AuditEvent


@pytest.mark.browser
@pytest.mark.second_factor
def test_a_reviewer_signs_in_with_password_and_authenticator_code(
    live_server: Any, page: Page, cast: dict[str, Any]
) -> None:
    device = twofactor.pending_device(cast["rita"])
    with time_machine.travel("2026-01-01 09:00:00Z", tick=False):  # enrolled long ago
        outcome, _ = twofactor.enrol(cast["rita"], f"{totp(device.bin_key):06d}")
    assert outcome.device is not None

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("a wrong guess")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code").fill("000000" if f"{totp(device.bin_key):06d}" != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("not right")

    page.wait_for_timeout(1100)  # django-otp's throttle after one wrong code: one second
    page.get_by_label("Code").fill(f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(page.get_by_text("Signed in as rita")).to_be_visible()
    steps = AuditEvent.objects.filter(action__startswith="auth.").order_by("seq")
    assert [(e.action, e.data.get("reason"), e.data.get("ip_address")) for e in steps][1:] == [
        ("auth.sign_in_failed", "wrong password", "127.0.0.1"),  # the browser's address, as axes sees it
        ("auth.signed_in", None, "127.0.0.1"),
        ("auth.second_factor_failed", "wrong or used code", None),
        ("auth.second_factor_verified", None, None),
    ]
    assert "a wrong guess" not in str(list(AuditEvent.objects.values_list("data", flat=True)))
