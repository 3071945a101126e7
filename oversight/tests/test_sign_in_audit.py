"""Every sign-in step in the audit chain, through the real login pages: failed passwords (below the lock-out
limit too), unknown and inactive users, successful sign-ins, and no flood from tries while locked out."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils.crypto import salted_hmac
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import PASSWORD
from oversight import twofactor
from oversight.models import AuditEvent

pytestmark = pytest.mark.second_factor  # plain password logins: these tests are about the steps themselves

ADDRESS = "192.0.2.10"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
WRONG = "not her password at all"


@pytest.fixture
def axes_on(settings: Any) -> Any:
    """axes as in production (conftest switches it off), with a limit of 3 failures."""
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    return settings


def sign_in(client: Client, name: str, password: str, address: str = ADDRESS) -> Any:
    return client.post(
        "/login/", {"username": name, "password": password}, REMOTE_ADDR=address, HTTP_USER_AGENT=BROWSER
    )


def refusal(name: str, password: str) -> str:
    """The page a new caller is shown, less the CSRF token each client is given and the name they typed."""
    page = sign_in(Client(), name, password).content.decode().replace(f'value="{name}"', 'value="NAME"')
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def events(*actions: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action__in=actions).order_by("seq"))


def test_a_wrong_password_below_the_limit_is_one_event_with_who_where_and_how_many(
    client: Client, cast: dict[str, Any], axes_on: Any
) -> None:
    response = sign_in(client, "rita", WRONG)

    assert response.status_code == 200  # the form again, with its error
    [event] = events("auth.sign_in_failed")
    assert (event.actor, event.object_type, event.object_id) == ("anonymous", "auth.user", str(cast["rita"].pk))
    assert event.data == {
        "username": "rita",
        "ip_address": ADDRESS,
        "user_agent": BROWSER,
        "failures": 1,
        "limit": 3,
        "reason": "wrong password",
    }
    sign_in(client, "rita", WRONG)
    assert [e.data["failures"] for e in events("auth.sign_in_failed")] == [1, 2]
    assert WRONG not in json.dumps(list(AuditEvent.objects.values_list("data", flat=True)))  # never the password


def test_unknown_and_inactive_users_get_the_same_page_and_the_same_event(
    client: Client, cast: dict[str, Any], axes_on: Any
) -> None:
    ravi = cast["ravi"]
    ravi.is_active = False
    ravi.save(update_fields=["is_active"])

    pages = [refusal("mallory", PASSWORD), refusal("ravi", PASSWORD), refusal("rita", WRONG)]

    assert pages[0] == pages[1] == pages[2]  # the caller cannot tell an unknown name, an inactive person, a typo
    assert "Please enter a correct username and password" in pages[0]
    found = [(e.data.get("username"), e.data["reason"], e.object_id) for e in events("auth.sign_in_failed")]
    assert found == [
        (None, "unknown username", ""),  # a name that is nobody's is kept only as a digest
        ("ravi", "inactive user", str(ravi.pk)),
        ("rita", "wrong password", str(cast["rita"].pk)),
    ]


def test_reaching_the_limit_is_the_lock_out_alone_and_tries_while_locked_out_add_no_events(
    client: Client, cast: dict[str, Any], axes_on: Any
) -> None:
    with time_machine.travel("2026-12-04 09:00:00Z", tick=False) as clock:
        for _ in range(3):
            sign_in(client, "rita", WRONG)
        for _ in range(20):  # an attacker carries on, the right password among the tries
            assert sign_in(client, "rita", WRONG).status_code == 429
        assert sign_in(client, "rita", PASSWORD).status_code == 429

        assert [e.data["failures"] for e in events("auth.sign_in_failed")] == [1, 2]  # the third is the lock-out
        [locked] = events("auth.locked_out")
        assert (locked.data["failures"], locked.data["limit"]) == (3, 3)

        clock.shift(59 * 60)  # each try restarted axes' hour: still locked out
        assert sign_in(client, "rita", WRONG).status_code == 429
        assert len(events("auth.locked_out")) == 1  # within the cool-off of the last event: none

        clock.shift(2 * 60)  # more than the cool-off since the last event: one event says it goes on
        for _ in range(5):
            assert sign_in(client, "rita", WRONG).status_code == 429
    later = events("auth.locked_out")[1:]
    assert [(e.data["still_locked_out"], e.data["failures"]) for e in later] == [(True, 26)]
    assert not events("auth.signed_in")


def test_unlocking_records_the_failures_it_clears(client: Client, cast: dict[str, Any], axes_on: Any) -> None:
    for _ in range(5):
        sign_in(client, "rita", WRONG)

    call_command("users", "unlock", "rita")

    [event] = events("auth.unlocked")
    assert event.data["failures_cleared"] == 5
    assert sign_in(client, "rita", PASSWORD).status_code == 302


def test_a_successful_sign_in_is_audited_with_where_from_and_the_step_next(
    client: Client, cast: dict[str, Any], axes_on: Any
) -> None:
    assert sign_in(client, "lena", PASSWORD).status_code == 302

    [event] = events("auth.signed_in")
    assert (event.actor, event.object_id) == ("lena", str(cast["lena"].pk))
    assert event.data == {"ip_address": ADDRESS, "user_agent": BROWSER, "second_factor": "next"}
    assert not events("auth.sign_in_failed", "auth.locked_out")


def test_failures_are_audited_with_axes_off_too(client: Client, cast: dict[str, Any]) -> None:
    sign_in(client, "rita", WRONG)

    [event] = events("auth.sign_in_failed")
    assert (event.data["failures"], event.data["reason"], event.data["ip_address"]) == (None, "wrong password", ADDRESS)


def test_codes_refused_while_the_device_waits_are_recorded_once_until_the_next_counted_code(
    client: Client, cast: dict[str, Any]
) -> None:
    device = twofactor.pending_device(cast["rita"])
    with time_machine.travel("2026-01-01 09:00:00Z", tick=False):
        twofactor.enrol(cast["rita"], f"{totp(device.bin_key):06d}")
    device = TOTPDevice.objects.get(pk=device.pk)
    right = f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}"
    wrong = "000000" if right != "000000" else "111111"
    assert sign_in(client, "rita", PASSWORD).status_code == 302
    with time_machine.travel("2026-12-04 09:00:00Z", tick=False) as clock:
        client.post("/login/code/", {"code": wrong})
        for _ in range(10):  # while django-otp makes the device wait: refused, counted against nothing
            assert "Too many wrong codes" in client.post("/login/code/", {"code": wrong}).content.decode()
        clock.shift(2)
        client.post("/login/code/", {"code": wrong})  # counted: the wait doubles
        client.post("/login/code/", {"code": wrong})

    reasons = [e.data["reason"] for e in events("auth.second_factor_failed")]
    assert reasons == ["wrong or used code", "throttled", "wrong or used code", "throttled"]


def test_assay_audit_list_shows_sign_in_events_in_plain_words(
    client: Client, cast: dict[str, Any], axes_on: Any
) -> None:
    from io import StringIO

    for _ in range(4):
        sign_in(client, "rita", WRONG)
    sign_in(Client(), "mallory", WRONG)
    sign_in(Client(), "lena", PASSWORD)
    out = StringIO()

    call_command("audit", "list", "--kind", "auth.", stdout=out)

    lines = [line.split(None, 4)[-1] for line in out.getvalue().splitlines()]
    assert lines == [
        f"sign-in failed for 'rita' from {ADDRESS}: wrong password (failure 1 of 3 before lock-out)",
        f"sign-in failed for 'rita' from {ADDRESS}: wrong password (failure 2 of 3 before lock-out)",
        f"'rita' from {ADDRESS} locked out after 3 wrong passwords (limit 3)",
        f"sign-in failed for a name that is nobody's (digest {MALLORY}) from {ADDRESS}: unknown username "
        "(failure 1 of 3 before lock-out)",
        f"lena signed in with their password from {ADDRESS} (second factor next)",
    ]
    [listed] = events("oversight.audit_listed")
    assert (listed.data["kind"], listed.data["events"]) == ("auth.", 5)


def test_assay_audit_list_names_a_bad_date(db: Any) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"--since '4 May': expected a date as YYYY-MM-DD"):
        call_command("audit", "list", "--since", "4 May")


def test_the_dashboard_counts_sign_ins_by_month(client: Client, cast: dict[str, Any], axes_on: Any) -> None:
    from django.utils import timezone

    from oversight import figures

    for _ in range(5):  # two refused, the lock-out, two refused while locked out (no events)
        sign_in(client, "rita", WRONG)
    sign_in(Client(), "lena", PASSWORD)

    table = figures.evaluate(figures.get("audit.sign_ins"), 5).value

    assert isinstance(table, figures.Table)
    assert table.columns == ("Month", "Passwords accepted", "Passwords refused", "Lock-outs", "Codes refused")
    assert table.rows == ((f"{timezone.now():%Y-%m}", 1, 2, 1, 0),)  # events, not people: nothing suppressed


def test_events_without_a_sentence_are_listed_with_who_what_and_their_data(db: Any) -> None:
    from io import StringIO

    call_command("audit", "list", "--kind", "auth.", stdout=StringIO())
    out = StringIO()

    call_command("audit", "list", "--kind", "oversight.audit_listed", stdout=out)

    [first] = out.getvalue().splitlines()  # the first listing; this one is recorded after it reads
    assert first.split(None, 4)[3:] == [
        "oversight.audit_listed",
        "by system: events=0, kind='auth.', limit=50, since=''",
    ]


def test_a_password_typed_as_the_username_is_never_kept(client: Client, cast: dict[str, Any], axes_on: Any) -> None:
    for _ in range(4):  # past the limit: the lock-out events keep no name either
        sign_in(client, PASSWORD, "rita")

    kept = json.dumps(list(AuditEvent.objects.values_list("data", flat=True)))
    assert PASSWORD not in kept
    digests = {e.data["unknown_name"] for e in events("auth.sign_in_failed")} | {
        e.data["unknown_name"] for e in events("auth.locked_out")
    }
    assert len(digests) == 1  # the same name each time: its tries still add up to one name


MALLORY = salted_hmac("assay.audit.unknown-username", "mallory").hexdigest()[:16]
