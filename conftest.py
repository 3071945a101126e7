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


@pytest.fixture
def cast(db: Any) -> dict[str, Any]:
    """The fixed cast, created through the same service as `assay createuser`."""
    from oversight.services import create_user

    return {name: create_user(name, role, password=PASSWORD) for name, role in CAST.items()}


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
