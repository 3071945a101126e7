"""Audit: append events to the chain and verify it. Every app calls :func:`record`."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from oversight import chain
from oversight import figures as registry
from oversight.models import AuditEvent, ChainHead

# Who runs the `assay` command in hand (set by assay/__main__.py through acting_as); None outside commands.
_command_actor: ContextVar[str | None] = ContextVar("assay_command_actor", default=None)
# What commands pass when nobody in particular acts: recorded as the command's actor when there is one.
_NOBODY = frozenset({"cli", "system"})


def _actor_name(actor: Any) -> str:
    if actor is None or (isinstance(actor, str) and actor in _NOBODY):
        return _command_actor.get() or actor or "system"
    if isinstance(actor, str):
        return actor
    return str(getattr(actor, "username", actor))


@contextmanager
def acting_as(name: str | None) -> Iterator[None]:
    """Record ``name`` as the actor of events that name nobody (actor None, "cli" or "system") in this block.

    ``None`` undoes an outer one: long-running services (``assay serve``, ``assay worker``) act for others,
    whose events keep the actor they name, or "system".
    """
    token = _command_actor.set(name)
    try:
        yield
    finally:
        _command_actor.reset(token)


def running_as() -> str | None:
    """The person ``ASSAY_ACTOR`` named for the command in hand (checked at its start), or None.

    None outside commands and when no person was named (the operating-system user, ``os:NAME``): commands
    that act as a particular person (a lead taking a second look) need one.
    """
    name = _command_actor.get()
    return None if not name or name.startswith("os:") else name


def command_actor(environ: Mapping[str, str] | None = None) -> str:
    """Who runs a command: ``ASSAY_ACTOR`` (an active user with a staff role), else the OS user as ``os:NAME``.

    Raises ValueError naming the variable when ASSAY_ACTOR names nobody who may act.
    """
    from django.contrib.auth import get_user_model

    from oversight.roles import roles_of

    environ = os.environ if environ is None else environ
    name = environ.get("ASSAY_ACTOR", "").strip()
    if not name:
        return f"os:{_os_user()}"
    user = get_user_model().objects.filter(username=name).prefetch_related("groups").first()
    if user is None:
        raise ValueError(f"ASSAY_ACTOR={name!r}: no such user (see `assay users list`)")
    if not user.is_active:
        raise ValueError(f"ASSAY_ACTOR={name!r}: the user is not active")
    if not roles_of(user):
        raise ValueError(f"ASSAY_ACTOR={name!r}: the user has no staff role (operator, reviewer, lead, oversight)")
    return str(user.username)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return f"uid{os.getuid()}"


def record(
    action: str,
    *,
    actor: Any = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    **data: Any,
) -> AuditEvent:
    """Append one event to the audit chain, inside the caller's transaction."""
    if obj is not None:
        # A proxy (a session's SignedInUser) is recorded as the model it stands for (auth.user).
        object_type = object_type or obj._meta.concrete_model._meta.label_lower
        object_id = object_id or obj.pk
    named = _command_actor.get()
    if named and not named.startswith("os:") and _actor_name(actor) == named:
        # ASSAY_ACTOR is a claim anyone with a shell can make: keep the operating-system user beside it.
        data = {**data, "os_user": _os_user()}
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(
            pk=1, defaults={"last_seq": 0, "last_hash": chain.GENESIS_HASH}
        )
        event = AuditEvent(
            seq=head.last_seq + 1,
            at=timezone.now(),
            actor=_actor_name(actor),
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            data=data,
            prev_hash=head.last_hash,
        )
        # Hash what the database will give back: round-trip data through JSON now.
        event.data = chain.json_roundtrip(event.data)
        event.hash = chain.event_hash(event.prev_hash, event.body())
        event.save()
        head.last_seq, head.last_hash = event.seq, event.hash
        head.save(update_fields=["last_seq", "last_hash"])
    return event


def _chained_events() -> Iterator[chain.ChainedEvent]:
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=5000):
        yield chain.ChainedEvent(event.seq, event.body(), event.prev_hash, event.hash)


def verify_chain() -> tuple[int, chain.ChainBreak | None]:
    """Verify the whole chain; return (events checked, first break or None)."""
    total = AuditEvent.objects.count()
    broken = chain.verify(_chained_events())
    if broken is None:
        head = ChainHead.objects.filter(pk=1).first()
        if head is not None and head.last_seq != total:
            broken = chain.ChainBreak(head.last_seq, f"the chain's tip is event {head.last_seq} but {total} exist")
    return total, broken


def create_user(username: str, role: str, *, password: str, email: str = "", actor: Any = None) -> Any:
    """Create a user with one role (a Django group); audited. Raises ValueError on a bad role or name."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from oversight.roles import Role

    try:
        role_enum = Role(role)
    except ValueError:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}") from None
    user_model = get_user_model()
    with transaction.atomic():
        if user_model.objects.filter(username=username).exists():
            raise ValueError(f"user {username!r} already exists")
        user = user_model.objects.create_user(username=username, email=email, password=password)
        group, _ = Group.objects.get_or_create(name=role_enum.value)
        user.groups.add(group)
        record("user.created", actor=actor, obj=user, username=username, role=role_enum.value)
    return user


def set_password(username: str, password: str, *, actor: Any = None) -> Any:
    """Reset a user's password; audited (the password itself is never recorded)."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    with transaction.atomic():
        try:
            user = user_model.objects.get(username=username)
        except user_model.DoesNotExist:
            raise ValueError(f"no user {username!r}") from None
        user.set_password(password)
        user.save(update_fields=["password"])
        record("user.password_reset", actor=actor, obj=user, username=username)
    return user


# ---------------------------------------------------------------------------------------------
# the oversight dashboard: every app's figures, computed on request, each viewing audited

DASHBOARD_VIEWED = "oversight.dashboard_viewed"
REPORT_GENERATED = "oversight.report_generated"
CHAIN_VERIFIED = "oversight.chain_verified"


@dataclass(frozen=True)
class Report:
    """Every registered figure as at ``generated_at``; the period runs from the first audited event."""

    generated_at: datetime
    period_from: datetime | None
    min_cell: int
    figures: list[registry.Figure]

    def sections(self) -> list[tuple[str, str, list[registry.Figure]]]:
        return registry.by_section(self.figures)

    @property
    def period(self) -> str:
        end = f"{self.generated_at:%Y-%m-%d %H:%M} UTC"
        if self.period_from is None:
            return f"everything recorded up to {end}"
        return f"everything recorded from {self.period_from:%Y-%m-%d %H:%M} UTC to {end}"

    def as_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat(),
            "period": {"from": self.period_from.isoformat() if self.period_from else None,
                       "to": self.generated_at.isoformat()},
            "min_cell": self.min_cell,
            "figures": [registry.as_json(f) for f in self.figures],
        }  # fmt: skip

    def csv_rows(self) -> list[tuple[str, ...]]:
        head = [
            ("report", "generated_at", "Generated at", "", "", self.generated_at.isoformat(), ""),
            (
                "report",
                "period_from",
                "Period from",
                "",
                "",
                self.period_from.isoformat() if self.period_from else "",
                "",
            ),
            ("report", "min_cell", "Smallest count shown", "", "", str(self.min_cell), ""),
        ]
        return [registry.CSV_HEADER, *head, *(line for f in self.figures for line in registry.csv_rows(f))]


def min_cell() -> int:
    """The smallest count of people shown (ASSAY_OVERSIGHT_MIN_CELL; check oversight.E001 keeps it >= 1)."""
    return int(getattr(settings, "OVERSIGHT_MIN_CELL", 5))


def share_of(part: int, whole: int, *, counted: str) -> float | str | None:
    """``part`` as a percentage of ``whole``, or why it is not shown.

    A share is withheld when either side (the part, or the rest) is a count of people below the
    minimum cell: with the total published, the share would give the small count away.
    ``counted`` names both sides for the message, e.g. "adverse or other outcomes".
    """
    smallest = min_cell()
    if not whole:
        return None
    if 0 < part < smallest or 0 < whole - part < smallest:
        return f"not shown: fewer than {smallest} {counted}"
    return round(100 * part / whole, 1)


def build_report() -> Report:
    """Compute every figure now (no audit: callers say who looked, and how)."""
    first = AuditEvent.objects.order_by("seq").values_list("at", flat=True).first()
    cell = min_cell()
    return Report(timezone.now(), first, cell, registry.compute(cell))


def view_report(viewer: Any, *, form: str) -> Report:
    """The report as ``viewer`` sees it on the dashboard (form: html, json or csv); audited."""
    report = build_report()
    record(DASHBOARD_VIEWED, actor=viewer, form=form, figures=len(report.figures))
    return report


def report_for_command(*, form: str, out: str = "") -> Report:
    """The report for `assay oversight-report` (form: text or json; out: the file written, if any); audited."""
    report = build_report()
    record(REPORT_GENERATED, form=form, out=out, figures=len(report.figures))
    return report


@dataclass(frozen=True)
class ChainCheck:
    at: datetime
    actor: str
    events: int
    broken_at: int | None
    reason: str

    @property
    def intact(self) -> bool:
        return self.broken_at is None

    def __str__(self) -> str:
        if self.intact:
            return f"intact: {self.events:,} events verified"
        return f"BROKEN at event {self.broken_at}: {self.reason} ({self.events:,} events checked)"


def verify_and_record(actor: Any = None, *, via: str) -> ChainCheck:
    """Verify the whole chain, then append the result to it (via: dashboard or command)."""
    total, broken = verify_chain()
    event = record(
        CHAIN_VERIFIED,
        actor=actor,
        via=via,
        events=total,
        intact=broken is None,
        broken_at=broken.seq if broken else None,
        reason=broken.reason if broken else "",
    )
    return _check_from(event)


def _check_from(event: AuditEvent) -> ChainCheck:
    data = event.data
    return ChainCheck(event.at, event.actor, int(data.get("events", 0)), data.get("broken_at"), data.get("reason", ""))


def last_chain_check() -> ChainCheck | None:
    """The most recent recorded verification of the chain, or None if it was never verified."""
    event = AuditEvent.objects.filter(action=CHAIN_VERIFIED).order_by("-seq").first()
    return _check_from(event) if event is not None else None
