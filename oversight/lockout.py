"""Sign-in lock-outs (django-axes): audited when they happen, lifted by an operator with `assay users unlock`.

After ``ASSAY_LOGIN_FAILURE_LIMIT`` wrong passwords for one username from one address, axes refuses that
username from that address for ``AXES_COOLOFF_TIME`` (each try while locked out counts again and restarts
it). Audit: ``auth.locked_out`` on the lock-out and on every try while locked out, with the failures
counted; ``auth.unlocked``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from oversight.services import record

LOCKED_OUT = "auth.locked_out"
UNLOCKED = "auth.unlocked"


def _person(username: str | None) -> dict[str, Any]:
    """The audit event's object: the user the username names, if it names one (anyone can type any name)."""
    pk = get_user_model().objects.filter(username=username).values_list("pk", flat=True).first() if username else None
    return {"object_type": "auth.user", "object_id": pk} if pk is not None else {}


def record_lockout(sender: Any, request: Any, username: str | None, ip_address: str | None, **kwargs: Any) -> None:
    """axes' ``user_locked_out``: sent when the failures reach the limit, and on every try while locked out."""
    failures = getattr(request, "axes_failures_since_start", None)  # None: axes refused without counting
    where: dict[str, Any] = {"username": username or "", "ip_address": ip_address or "", "failures": failures}
    record(LOCKED_OUT, actor="anonymous", **_person(username), **where)


def unlock(username: str, *, actor: Any = None) -> int:
    """Lift every lock-out of ``username`` (from any address) and forget its failed attempts; audited.

    Returns how many attempt records were removed (0: nothing to unlock, nothing recorded).
    """
    from axes.utils import reset

    with transaction.atomic():
        removed = int(reset(username=username))
        if removed:
            record(UNLOCKED, actor=actor, username=username, attempts_removed=removed, **_person(username))
    return removed
