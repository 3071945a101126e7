"""The password step of signing in, in the audit chain: each failure, each success, lock-outs (django-axes).

Every failed password step is one ``auth.sign_in_failed`` event (Django's ``user_login_failed``,
received after axes has counted it): the username as typed when it is someone's (never the password;
a name that is nobody's may be a password typed into the wrong box, so only a keyed digest of it is
kept, ``unknown_name``: repeated tries with it still show as one name), the address and browser as
axes sees them, the failures counted so far and the limit, and why. A wrong password, an
unknown username and an inactive user get the same answer on the page; the event says which.

After ``ASSAY_LOGIN_FAILURE_LIMIT`` failures for one username from one address axes refuses that username
from that address for ``AXES_COOLOFF_TIME``; each try while locked out counts again and restarts it. The
try that reaches the limit is ``auth.locked_out`` instead (one event, not two). Tries while locked out
are refused without an event each, so nobody can flood the chain: one more ``auth.locked_out``
(``still_locked_out``) is recorded at most once per cool-off period while they go on, with the failures
counted so far (axes keeps counting); ``auth.unlocked`` counts the failures it clears. A successful password step
is ``auth.signed_in`` (recorded by the login view; the second factor then has its own events).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.crypto import salted_hmac

from oversight.models import AuditEvent
from oversight.services import record

SIGNED_IN = "auth.signed_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
LOCKED_OUT = "auth.locked_out"
UNLOCKED = "auth.unlocked"
WRONG_PASSWORD = "wrong password"  # noqa: S105 -- a reason in the audit log, not a password
UNKNOWN_USER = "unknown username"
INACTIVE_USER = "inactive user"
_TYPED_MAX = 150  # a username as typed is whatever the caller sent: keep no more than a real one can be
_AGENT_MAX = 200


def _person(username: str | None) -> dict[str, Any]:
    """The audit event's object: the user the username names, if it names one (anyone can type any name)."""
    pk = get_user_model().objects.filter(username=username).values_list("pk", flat=True).first() if username else None
    return {"object_type": "auth.user", "object_id": pk} if pk is not None else {}


def _name(typed: str, person: dict[str, Any]) -> dict[str, str]:
    """What the event keeps of the name typed: the username when it is someone's, else a keyed digest.

    The append-only chain can never forget what it is given, and a name that is nobody's is often a
    password typed into the wrong box. The digest (HMAC with the secret key) tells repeated tries with
    the same name apart from others without keeping it.
    """
    if person or not typed:
        return {"username": typed}
    return {"unknown_name": salted_hmac("assay.audit.unknown-username", typed).hexdigest()[:16]}


def _client(request: Any) -> dict[str, str]:
    """The address and browser the attempt came from, as axes sees them ("" without a request)."""
    if request is None:
        return {"ip_address": "", "user_agent": ""}
    from axes.helpers import get_client_ip_address, get_client_user_agent

    address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request) or ""
    agent = getattr(request, "axes_user_agent", None) or get_client_user_agent(request) or ""
    return {"ip_address": str(address), "user_agent": str(agent)[:_AGENT_MAX]}


def _limit(request: Any, credentials: Any) -> int:
    from axes.helpers import get_failure_limit

    return int(get_failure_limit(request, credentials))


def _why(username: str) -> tuple[str, dict[str, Any]]:
    """Why a password step failed, for the audit log only, and the event's object (the user, if any)."""
    user = get_user_model().objects.filter(username=username).only("pk", "is_active").first() if username else None
    if user is None:
        return UNKNOWN_USER, {}
    return (WRONG_PASSWORD if user.is_active else INACTIVE_USER), {"object_type": "auth.user", "object_id": user.pk}


def record_failed_sign_in(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    """Django's ``user_login_failed``: one event per failed password step, unless axes made it a lock-out.

    Django hands receivers the credentials with the password masked; only the username is kept.
    """
    if request is not None and getattr(request, "axes_locked_out", False):
        return  # the try reached the limit, or came while locked out: record_lockout has it
    typed = str(credentials.get(get_user_model().USERNAME_FIELD) or "")[:_TYPED_MAX]
    reason, person = _why(typed)
    failures = getattr(request, "axes_failures_since_start", None)  # None: axes is off and counts nothing
    where: dict[str, Any] = {**_name(typed, person), **_client(request), "failures": failures}
    where["limit"] = _limit(request, credentials)
    record(SIGN_IN_FAILED, actor="anonymous", **person, **where, reason=reason)


def record_signed_in(request: Any, user: Any, *, second_factor: bool) -> None:
    """A password step accepted (the login view): who, from where, and whether a second factor is asked next."""
    record(SIGNED_IN, actor=user, obj=user, **_client(request), second_factor="next" if second_factor else "off")


def _cool_off(request: Any) -> timedelta:
    from axes.helpers import get_cool_off

    return get_cool_off(request) or timedelta(hours=1)  # no cool-off (locked until unlocked): hourly, still


def record_lockout(sender: Any, request: Any, username: str | None, ip_address: str | None, **kwargs: Any) -> None:
    """axes' ``user_locked_out``: sent when the failures reach the limit, and on every try while locked out.

    The lock-out itself is recorded; the tries while it lasts are not, each: at most one event per
    cool-off period says the lock-out goes on, with the failures axes has counted since it began.
    """
    failures = getattr(request, "axes_failures_since_start", None)  # None: axes refused without counting
    limit = _limit(request, getattr(request, "axes_credentials", None))
    person = _person(username)
    where: dict[str, Any] = {**_name((username or "")[:_TYPED_MAX], person), "ip_address": ip_address or ""}
    if failures is not None and failures == limit:
        record(LOCKED_OUT, actor="anonymous", **person, **where, failures=failures, limit=limit)
        return
    since = timezone.now() - _cool_off(request)
    recent = AuditEvent.objects.filter(action=LOCKED_OUT, at__gte=since).filter(
        **{f"data__{key}": value for key, value in where.items()}
    )
    if recent.exists():
        return  # recorded within the cool-off already: refused, counted by axes, not recorded again
    refused: dict[str, Any] = {"still_locked_out": True, "failures": failures, "limit": limit}
    record(LOCKED_OUT, actor="anonymous", **person, **where, **refused)


def unlock(username: str, *, actor: Any = None) -> int:
    """Lift every lock-out of ``username`` (from any address) and forget its failed attempts; audited.

    Returns how many attempt records were removed (0: nothing to unlock, nothing recorded). The event
    counts the failures cleared, tries refused while locked out included.
    """
    from axes.models import AccessAttempt
    from axes.utils import reset

    with transaction.atomic():
        failures = AccessAttempt.objects.filter(username=username).aggregate(n=Sum("failures_since_start"))["n"]
        removed = int(reset(username=username))
        if removed:
            cleared: dict[str, Any] = {"attempts_removed": removed, "failures_cleared": int(failures or 0)}
            record(UNLOCKED, actor=actor, username=username, **cleared, **_person(username))
    return removed
