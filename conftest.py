"""Shared fixtures: a fixed cast of users by role, and the browser set-up for Debian's Chromium.

The cast: olivia (operator), rita and ravi (reviewers), lena (lead), otto (oversight).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API beside live_server

PASSWORD = "correct horse battery staple"  # noqa: S105 -- the test cast's password

CAST = {
    "olivia": "operator",
    "rita": "reviewer",
    "ravi": "reviewer",
    "lena": "lead",
    "otto": "oversight",
}


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any, tmp_path: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_ENABLED = False
    settings.EMAIL_FILE_PATH = str(tmp_path / "outbox")  # retention and erasure read it: never the real one
    settings.SECOND_LOOK_SHARE = 0.0  # no random second looks; their tests pick every case (1.0) or none


@pytest.fixture(autouse=True)
def _purpose_in_force(request: pytest.FixtureRequest) -> None:
    """Sources collect only under an approved, current purpose (oversight/purposes.py): every test
    database starts with the default purpose approved, as the demo does. Tests of refusals mark
    themselves ``no_default_purpose`` and record their own."""
    names = request.fixturenames
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in names or "live_server" in names or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
    elif "db" in names or marker is not None:
        request.getfixturevalue("db")
    else:
        return
    if request.node.get_closest_marker("no_default_purpose"):
        return
    from django.utils import timezone

    from oversight.models import Purpose
    from oversight.purposes import DEFAULT_PURPOSE, DEFAULT_TERMS

    # Test data, like the review world: set directly, so no test's audit trail starts with it.
    purpose, _ = Purpose.objects.get_or_create(name=DEFAULT_PURPOSE, version=1, defaults=DEFAULT_TERMS)
    if not purpose.approved:
        purpose.approved_by, purpose.approved_at = "test-approver", timezone.now()
        purpose.save(update_fields=["approved_by", "approved_at"])


@pytest.fixture
def probabilistic_purpose(db: Any) -> Any:
    """The default purpose, approved and covering probabilistic matching with a (fictional) DPIA."""
    from datetime import date

    from oversight.models import Purpose
    from oversight.purposes import DEFAULT_PURPOSE

    Purpose.objects.filter(name=DEFAULT_PURPOSE).update(
        probabilistic=True, dpia_reference="DPIA-TEST-1", dpia_date=date(2026, 1, 5)
    )
    return Purpose.objects.get(name=DEFAULT_PURPOSE, version=1)


@pytest.fixture(autouse=True)
def _verified_logins(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test login (``client.force_login``, ``client.login``, the browser's login form) passes the second factor.

    The one mechanism that keeps the suite signing in as staff do, with ``ASSAY_REQUIRE_2FA`` on: a
    ``user_logged_in`` receiver gives the person a confirmed TOTP device (if they have none) and marks the
    session verified with it, as ``django_otp.login`` does. Tests of the second-factor step itself are marked
    ``@pytest.mark.second_factor`` and get plain, unverified logins.
    """
    if request.node.get_closest_marker("second_factor"):
        yield
        return
    from django.contrib.auth.signals import user_logged_in

    def verify(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
        from django_otp import DEVICE_ID_SESSION_KEY

        request.session[DEVICE_ID_SESSION_KEY] = _TEST_DEVICES.get(user.pk) or _test_device(user)

    user_logged_in.connect(verify, dispatch_uid=_VERIFY_UID)
    yield
    user_logged_in.disconnect(dispatch_uid=_VERIFY_UID)
    _TEST_DEVICES.clear()


_VERIFY_UID = "assay-tests-verified-login"
_TEST_DEVICES: dict[int, str] = {}  # user pk -> persistent id of their test authenticator, this test only


def _test_device(user: Any) -> str:
    """A confirmed TOTP device for ``user`` (made once per test, so a login costs no queries after)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test authenticator", confirmed=True)
    _TEST_DEVICES[user.pk] = device.persistent_id
    return str(device.persistent_id)


@pytest.fixture
def cast(db: Any, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The fixed cast, created through the same service as `assay createuser`.

    Each has a test authenticator (so later logins are verified without queries), unless the test is
    marked ``second_factor``.
    """
    from oversight.services import create_user

    people = {name: create_user(name, role, password=PASSWORD) for name, role in CAST.items()}
    if not request.node.get_closest_marker("second_factor"):
        for person in people.values():
            _test_device(person)
    return people


@pytest.fixture(scope="session", autouse=True)
def _static_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """WhiteNoise warns (an error here) when STATIC_ROOT is missing; nothing is collected in tests.

    Session-wide, because the live server loads its middleware once for the session.
    """
    from django.test import override_settings

    with override_settings(STATIC_ROOT=tmp_path_factory.mktemp("static")):
        yield


@pytest.fixture(scope="session")
def base_url() -> str | None:
    """Shadow pytest-playwright's fallback ``base_url``: pytest 9 deprecates its form, an error here."""
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium (never a downloaded browser) with flags that suit this machine."""
    executable = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    return {
        **browser_type_launch_args,
        "executable_path": executable,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ],
    }
