"""Sign-in lock-out with django-axes switched on (the rest of the suite runs with it off): audited, and lifted
by an operator with `assay users unlock`."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils.crypto import salted_hmac

from conftest import PASSWORD
from oversight.models import AuditEvent

pytestmark = pytest.mark.second_factor  # plain password logins: the lock-out comes before the second factor


@pytest.fixture
def axes_on(settings: Any) -> Any:
    """axes as in production (conftest switches it off), with a limit of 3 failures."""
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    return settings


def sign_in(client: Client, name: str, password: str, address: str = "192.0.2.10") -> Any:
    return client.post("/login/", {"username": name, "password": password}, REMOTE_ADDR=address)


def audited(*actions: str) -> list[tuple[str, str, dict[str, Any]]]:
    events = AuditEvent.objects.filter(action__in=actions).order_by("seq")
    return [(e.action, e.actor, {**e.data, "object": f"{e.object_type}:{e.object_id}"}) for e in events]


def test_the_configured_failures_lock_the_person_out_and_it_is_audited(
    client: Client, cast: dict[str, Any], axes_on: Any
) -> None:
    for _ in range(2):
        assert sign_in(client, "rita", "wrong password").status_code == 200  # the form again, with its error
    assert not audited("auth.locked_out")

    locked = sign_in(client, "rita", "wrong password")  # the third: the limit
    assert locked.status_code == 429
    refused = sign_in(client, "rita", PASSWORD)  # the right password no longer opens the door
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session
    assert sign_in(Client(), "rita", PASSWORD, address="198.51.100.7").status_code == 302  # per username+address

    rita = {"username": "rita", "ip_address": "192.0.2.10", "object": f"auth.user:{cast['rita'].pk}"}
    assert audited("auth.locked_out") == [  # the lock-out; the try while locked out is refused, counted by axes
        ("auth.locked_out", "anonymous", {**rita, "failures": 3, "limit": 3}),
    ]


def test_an_operator_unlocks_a_person_with_assay_users_unlock(
    client: Client, cast: dict[str, Any], axes_on: Any
) -> None:
    for _ in range(3):
        sign_in(client, "rita", "wrong password")
    assert sign_in(client, "rita", PASSWORD).status_code == 429

    out = StringIO()
    call_command("users", "unlock", "rita", stdout=out)

    assert out.getvalue().startswith("rita: unlocked (")
    assert sign_in(client, "rita", PASSWORD).status_code == 302
    [(action, actor, data)] = audited("auth.unlocked")
    assert (action, actor, data["username"], data["object"]) == (
        "auth.unlocked",
        "system",
        "rita",
        f"auth.user:{cast['rita'].pk}",
    )
    assert data["attempts_removed"] >= 1


def test_unlocking_someone_who_is_not_locked_out_says_so_and_records_nothing(
    cast: dict[str, Any], axes_on: Any
) -> None:
    out = StringIO()

    call_command("users", "unlock", "otto", stdout=out)

    assert out.getvalue().strip() == "otto: not locked out, no failed attempts recorded"
    assert not audited("auth.unlocked")


def test_a_name_that_is_nobody_is_locked_out_too_without_naming_a_user(client: Client, db: Any, axes_on: Any) -> None:
    for _ in range(3):
        sign_in(client, "mallory", "guess")

    [(action, _, data)] = audited("auth.locked_out")
    assert (action, "username" in data, data["object"]) == ("auth.locked_out", False, ":")
    assert data["unknown_name"] == salted_hmac("assay.audit.unknown-username", "mallory").hexdigest()[:16]
