"""Two-factor sign-in over HTTP: enforcement, enrolment, codes, recovery codes, throttling, reset."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import PASSWORD
from oversight.exempt import needs_second_factor
from oversight.models import AuditEvent

pytestmark = pytest.mark.second_factor


def code_for(device: TOTPDevice) -> str:
    """The code the person's authenticator app shows now."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def actions() -> list[str]:
    return list(AuditEvent.objects.filter(action__startswith="auth.").order_by("seq").values_list("action", flat=True))


def password_login(client: Client, name: str) -> Client:
    response = client.post("/login/", {"username": name, "password": PASSWORD})
    assert response.status_code == 302
    return client


def enrolled(user: Any) -> tuple[TOTPDevice, list[str]]:
    from oversight import twofactor

    device = twofactor.pending_device(user)
    with time_machine.travel("2026-01-01 09:00:00Z", tick=False):  # long ago: today's codes are fresh
        outcome, codes = twofactor.enrol(user, code_for(device))
    assert outcome.device is not None
    return device, codes


# --- the pure rule and the setting -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/review/", True),
        ("/", True),
        ("/oversight/figures.csv", True),
        ("/login/", False),
        ("/login/code/", False),
        ("/login/enrol/", False),
        ("/logout/", False),
        ("/notice/abc123/", False),
        ("/static/assay.css", False),
    ],
)
def test_which_paths_need_the_second_factor(path: str, expected: bool) -> None:
    assert needs_second_factor(path, required=True, authenticated=True, verified=False) is expected


def test_no_second_factor_is_asked_when_verified_anonymous_or_switched_off() -> None:
    assert not needs_second_factor("/review/", required=True, authenticated=True, verified=True)
    assert not needs_second_factor("/review/", required=True, authenticated=False, verified=False)
    assert not needs_second_factor("/review/", required=False, authenticated=True, verified=False)


def test_the_suite_runs_with_the_requirement_on() -> None:
    from django.conf import settings

    assert settings.ASSAY_REQUIRE_2FA is True


# --- over HTTP ---------------------------------------------------------------------------------------


def test_a_password_alone_does_not_open_staff_pages(client: Client, cast: dict[str, Any]) -> None:
    client.force_login(cast["rita"])
    response = client.get("/review/")
    assert response.status_code == 302
    assert response["Location"] == "/login/code/?next=%2Freview%2F"


def test_with_the_requirement_off_a_password_is_enough(client: Client, cast: dict[str, Any], settings: Any) -> None:
    settings.ASSAY_REQUIRE_2FA = False
    client.force_login(cast["rita"])
    assert client.get("/review/").status_code == 200


def test_a_member_notice_page_needs_no_second_factor(client: Client, cast: dict[str, Any]) -> None:
    client.force_login(cast["rita"])
    response = client.get("/notice/no-such-token/")
    assert response.status_code == 404  # reached the notice view itself, not the code step


def test_first_sign_in_enrols_shows_ten_codes_once_then_opens_the_queue(client: Client, cast: dict[str, Any]) -> None:
    password_login(client, "rita")
    response = client.get("/review/", follow=True)
    assert response.redirect_chain[-1][0] == "/login/enrol/"
    page = response.content.decode()
    assert "<svg" in page and "otp-secret" in page
    device = TOTPDevice.objects.get(user=cast["rita"], confirmed=False)
    secret = re.search(r'<code id="otp-secret">([A-Z2-7 ]+)</code>', page)
    assert secret is not None and "".join(secret.group(1).split()).startswith(
        __import__("base64").b32encode(device.bin_key).decode()[:8]
    )

    response = client.post("/login/enrol/", {"code": code_for(device)})
    assert response["Location"] == "/login/recovery-codes/"
    page = client.get("/login/recovery-codes/").content.decode()
    codes = re.findall(r"<li><code>(\w+)</code></li>", page)
    assert 'href="/review/"' in page  # then on to where they were going
    assert len(codes) == 10
    assert client.get("/login/recovery-codes/").status_code == 302  # shown once
    assert client.get("/review/").status_code == 200
    assert actions() == ["auth.signed_in", "auth.device_enrolled"]


def test_a_wrong_enrolment_code_is_refused_clearly(client: Client, cast: dict[str, Any]) -> None:
    password_login(client, "rita")
    client.get("/login/enrol/")
    response = client.post("/login/enrol/", {"code": "12345"})
    assert response.status_code == 400
    assert "6-digit code" in response.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=True).exists()
    assert actions() == ["auth.signed_in", "auth.second_factor_failed"]


def test_an_enrolled_person_enters_the_code_and_lands_where_they_were_going(
    client: Client, cast: dict[str, Any]
) -> None:
    device, _ = enrolled(cast["rita"])
    password_login(client, "rita")
    response = client.get("/review/")
    assert response["Location"] == "/login/code/?next=%2Freview%2F"
    page = client.get(response["Location"]).content.decode()
    assert "6-digit code" in page and "recovery code" in page
    response = client.post("/login/code/", {"code": code_for(device), "next": "/review/"})
    assert response["Location"] == "/review/"
    assert client.get("/review/").status_code == 200
    assert actions()[-1] == "auth.second_factor_verified"


def test_wrong_codes_are_refused_audited_and_throttled(client: Client, cast: dict[str, Any]) -> None:
    device, _ = enrolled(cast["rita"])
    password_login(client, "rita")
    with time_machine.travel("2026-12-04 09:00:00Z", tick=False) as clock:
        response = client.post("/login/code/", {"code": "000000" if code_for(device) != "000000" else "111111"})
        assert response.status_code == 400
        assert "not right" in response.content.decode()
        response = client.post("/login/code/", {"code": code_for(device)})  # right, but too soon after a wrong one
        assert response.status_code == 400
        assert "Too many wrong codes" in response.content.decode()
        assert client.get("/review/").status_code == 302
        clock.shift(5)
        assert client.post("/login/code/", {"code": code_for(device)}).status_code == 302
    assert actions()[2:] == ["auth.second_factor_failed", "auth.second_factor_failed", "auth.second_factor_verified"]


def wrong_totp(device: TOTPDevice) -> str:
    return "000000" if code_for(device) != "000000" else "111111"


def failure_counts(user: Any) -> tuple[int, int]:
    """(authenticator, recovery codes): django-otp's count of wrong codes on each device."""
    totp_device = TOTPDevice.objects.get(user=user, confirmed=True)
    return totp_device.throttling_failure_count, StaticDevice.objects.get(user=user).throttling_failure_count


def test_wrong_authenticator_codes_do_not_lock_out_the_recovery_codes(client: Client, cast: dict[str, Any]) -> None:
    device, codes = enrolled(cast["rita"])
    password_login(client, "rita")
    with time_machine.travel("2026-12-04 09:00:00Z", tick=False) as clock:
        for wait in (1, 2, 0):  # each wrong code doubles the authenticator's wait
            assert "code is not right" in client.post("/login/code/", {"code": wrong_totp(device)}).content.decode()
            clock.shift(wait)
        refused = client.post("/login/code/", {"code": code_for(device)})  # right, but the authenticator waits
        assert refused.status_code == 400
        assert "Too many wrong codes. Try again in 4 seconds, or use a recovery code." in refused.content.decode()
        assert failure_counts(cast["rita"]) == (3, 0)

        assert client.post("/login/code/", {"code": codes[0]})["Location"] == "/"
    assert client.get("/review/").status_code == 200
    failed = AuditEvent.objects.filter(action="auth.second_factor_failed")
    assert [(e.data["device"], e.data["reason"]) for e in failed] == [("totp", "wrong or used code")] * 3 + [
        ("totp", "throttled")
    ]  # fmt: skip
    assert actions()[-2:] == ["auth.recovery_code_used", "auth.second_factor_verified"]


def test_wrong_recovery_codes_do_not_lock_out_the_authenticator(client: Client, cast: dict[str, Any]) -> None:
    device, codes = enrolled(cast["rita"])
    password_login(client, "rita")
    with time_machine.travel("2026-12-04 09:00:00Z", tick=False) as clock:
        for wrong, wait in [("aaaaaaaa", 1), ("BBBBBBBB", 0)]:  # recovery codes' form, but not hers (either case)
            assert "recovery code is not right" in client.post("/login/code/", {"code": wrong}).content.decode()
            clock.shift(wait)
        refused = client.post("/login/code/", {"code": codes[0].upper()})  # hers, but too soon
        assert refused.status_code == 400
        assert "Too many wrong codes. Try again in 2 seconds, or use the 6-digit code" in refused.content.decode()
        assert failure_counts(cast["rita"]) == (0, 2)
        assert StaticDevice.objects.get(user=cast["rita"]).token_set.count() == 10  # the refused one is not used up

        assert client.post("/login/code/", {"code": code_for(device)})["Location"] == "/"
    assert client.get("/review/").status_code == 200
    assert actions()[-1] == "auth.second_factor_verified"
    assert AuditEvent.objects.get(action="auth.second_factor_verified").data["device"] == "totp"


def test_what_is_neither_kind_of_code_is_refused_without_throttling_either(
    client: Client, cast: dict[str, Any]
) -> None:
    device, _ = enrolled(cast["rita"])
    password_login(client, "rita")
    with time_machine.travel("2026-12-04 09:00:00Z", tick=False):
        for typo in ("12345", "1234567", "not-a-code"):
            response = client.post("/login/code/", {"code": typo})
            assert response.status_code == 400
            assert "or a recovery code (8 letters and digits)" in response.content.decode()
        assert failure_counts(cast["rita"]) == (0, 0)
        assert client.post("/login/code/", {"code": code_for(device)}).status_code == 302
    # Each refused, one event: they count against no device, so repeats would only flood the chain.
    assert [e.data["reason"] for e in AuditEvent.objects.filter(action="auth.second_factor_failed")] == ["not a code"]


def test_a_recovery_code_works_once(cast: dict[str, Any]) -> None:
    _, codes = enrolled(cast["rita"])
    first = password_login(Client(), "rita")
    assert first.post("/login/code/", {"code": codes[0]}).status_code == 302
    assert first.get("/review/").status_code == 200
    assert actions()[-2:] == ["auth.recovery_code_used", "auth.second_factor_verified"]
    event = AuditEvent.objects.get(action="auth.recovery_code_used")
    assert event.data["recovery_codes_left"] == 9

    second = password_login(Client(), "rita")
    assert second.post("/login/code/", {"code": codes[0]}).status_code == 400
    assert StaticDevice.objects.get(user=cast["rita"]).token_set.count() == 9


SESSION_ENGINES = [
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.signed_cookies",
    "django.contrib.sessions.backends.cache",
]


@pytest.mark.parametrize("engine", SESSION_ENGINES)
def test_an_operator_resets_a_lost_device_and_the_person_enrols_again(
    cast: dict[str, Any], settings: Any, engine: str
) -> None:
    from io import StringIO

    settings.SESSION_ENGINE = engine
    _, codes = enrolled(cast["rita"])
    phone, laptop = password_login(Client(), "rita"), password_login(Client(), "rita")
    for session, code in [(phone, codes[0]), (laptop, codes[1])]:
        assert session.post("/login/code/", {"code": code}).status_code == 302
        assert session.get("/review/").status_code == 200
    _, other_codes = enrolled(cast["ravi"])
    colleague = password_login(Client(), "ravi")
    assert colleague.post("/login/code/", {"code": other_codes[0]}).status_code == 302

    out = StringIO()
    call_command("users", "reset-2fa", "rita", stdout=out)

    for session in (phone, laptop):  # signed out everywhere, whichever store holds the session
        assert session.get("/review/")["Location"].startswith("/login/?next=")
        assert session.get("/review/")["Location"].startswith("/login/?next=")  # and it stays so
    assert colleague.get("/review/").status_code == 200  # nobody else is signed out
    assert "rita" in out.getvalue() and "2 device" in out.getvalue()
    assert not TOTPDevice.objects.filter(user=cast["rita"]).exists()
    assert not StaticDevice.objects.filter(user=cast["rita"]).exists()
    event = AuditEvent.objects.get(action="auth.device_reset")
    assert (event.object_type, event.object_id) == ("auth.user", str(cast["rita"].pk))
    assert event.data["username"] == "rita" and event.data["signed_out_everywhere"] is True
    again = password_login(Client(), "rita")  # a new sign-in holds: it is made under the new key
    assert again.get("/review/", follow=True).redirect_chain[-1][0] == "/login/enrol/"
    assert again.get("/login/enrol/").status_code == 200


def test_a_second_reset_ends_the_sessions_begun_after_the_first(cast: dict[str, Any]) -> None:
    call_command("users", "reset-2fa", "rita")
    _, codes = enrolled(cast["rita"])
    session = password_login(Client(), "rita")
    assert session.post("/login/code/", {"code": codes[0]}).status_code == 302
    assert session.get("/review/").status_code == 200

    call_command("users", "reset-2fa", "rita")

    assert session.get("/review/")["Location"].startswith("/login/?next=")


def test_the_users_list_shows_role_second_factor_and_last_login(cast: dict[str, Any]) -> None:
    from io import StringIO

    enrolled(cast["rita"])
    password_login(Client(), "rita")
    out = StringIO()
    call_command("users", "list", stdout=out)
    lines = {line.split()[0]: line.split() for line in out.getvalue().splitlines()[1:] if line.strip()}
    assert lines["rita"][1:3] == ["reviewer", "on"]
    assert lines["rita"][3] != "never"
    assert lines["otto"][1:4] == ["oversight", "off", "never"]


def test_resetting_an_unknown_user_names_them(cast: dict[str, Any]) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("users", "reset-2fa", "nobody")
