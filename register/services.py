"""Register services: import the membership register, idempotently, with its declared identifiers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from evidence.connectors.base import Rejected
from evidence.services import quarantine
from oversight.services import record as audit
from register.importers import MemberRow, RowError, read_csv
from register.models import DeclaredIdentifier, Member
from register.personal_data import number_digest

BATCH_SIZE = 2000
_MEMBER_FIELDS = ("given_name", "family_name", "email", "date_of_birth", "town", "postcode", "joined_on", "status")


@dataclass
class RegisterSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    suppressed: int = 0  # rows of erased members, not added back (see register/personal_data.py)


class RegisterFileError(Exception):
    """The register file cannot be read at all."""


def _without_erased(rows: Sequence[MemberRow], summary: RegisterSummary) -> list[MemberRow]:
    """Drop rows whose membership number an erased member had: erasure is not undone by an import."""
    digests = {number_digest(r.number): r for r in rows}
    erased = set(Member.objects.filter(number_digest__in=list(digests)).values_list("number_digest", flat=True))
    summary.suppressed += len(erased)
    return [r for d, r in digests.items() if d not in erased]


def _lapsed_at(member: Member | None, status: str, now: datetime) -> datetime | None:
    """When the membership lapsed: kept from the first import that said so, cleared when renewed."""
    if status != Member.Status.LAPSED:
        return None
    return member.lapsed_at if member is not None and member.lapsed_at is not None else now


def _apply_batch(rows: Sequence[MemberRow], summary: RegisterSummary) -> None:
    rows = _without_erased(rows, summary)
    existing = {m.number: m for m in Member.objects.filter(number__in=[r.number for r in rows])}
    to_create: list[Member] = []
    to_update: list[Member] = []
    now = timezone.now()
    for row in rows:
        member = existing.get(row.number)
        values = {f: getattr(row, f) for f in _MEMBER_FIELDS} | {"lapsed_at": _lapsed_at(member, row.status, now)}
        if member is None:
            to_create.append(Member(number=row.number, **values))
        elif any(getattr(member, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(member, f, v)
            to_update.append(member)
        else:
            summary.unchanged += 1
    Member.objects.bulk_create(to_create)
    Member.objects.bulk_update(to_update, [*_MEMBER_FIELDS, "lapsed_at", "updated_at"])
    summary.created += len(to_create)
    summary.updated += len(to_update)
    _sync_identifiers(rows)


def _sync_identifiers(rows: Sequence[MemberRow]) -> None:
    """Make each member's declared identifiers exactly those in the register (a withdrawn one goes)."""
    member_ids = dict(Member.objects.filter(number__in=[r.number for r in rows]).values_list("number", "pk"))
    wanted = {(member_ids[r.number], i.kind, i.platform, i.value) for r in rows for i in r.identifiers}
    current = {
        (m, k, p, v): pk
        for pk, m, k, p, v in DeclaredIdentifier.objects.filter(member_id__in=member_ids.values()).values_list(
            "pk", "member_id", "kind", "platform", "value"
        )
    }
    stale = [pk for key, pk in current.items() if key not in wanted]
    if stale:
        DeclaredIdentifier.objects.filter(pk__in=stale).delete()
    DeclaredIdentifier.objects.bulk_create(
        [DeclaredIdentifier(member_id=m, kind=k, platform=p, value=v) for (m, k, p, v) in wanted - current.keys()]
    )


def import_register(path: Path, *, actor: Any = None, progress: Callable[[int], None] | None = None) -> RegisterSummary:
    """Create or update members from a CSV export; bad rows are quarantined with line and reason."""
    path = Path(path)
    if not path.is_file():
        raise RegisterFileError(f"{path}: no such file" if not path.exists() else f"{path}: not a regular file")
    summary = RegisterSummary()
    seen: dict[str, int] = {}
    batch: list[MemberRow] = []
    rejects: list[RowError] = []
    with path.open(encoding="utf-8-sig", newline="") as fh, transaction.atomic():
        for item in read_csv(fh):
            if isinstance(item, RowError):
                rejects.append(item)
            elif item.number in seen:
                rejects.append(
                    RowError(
                        item.line,
                        f"duplicate membership number {item.number!r} (first at line {seen[item.number]})",
                        item.number,
                    )
                )
            else:
                seen[item.number] = item.line
                batch.append(item)
            if len(batch) >= BATCH_SIZE:
                _apply_batch(batch, summary)
                batch = []
                if progress is not None:
                    progress(len(seen))
        if batch:
            _apply_batch(batch, summary)
        quarantine((Rejected(f"line {r.line}", r.reason, r.raw) for r in rejects), origin=str(path))
        summary.quarantined = len(rejects)
        audit(
            "register.imported",
            actor=actor,
            object_type="register",
            input=str(path),
            created=summary.created,
            updated=summary.updated,
            unchanged=summary.unchanged,
            quarantined=summary.quarantined,
            suppressed=summary.suppressed,
        )
    if progress is not None:
        progress(len(seen))
    return summary


# ---------------------------------------------------------------------------------------------
# data protection: finding a member, restriction, readmission (erasure itself: oversight/erasure.py)


class MemberNotFound(LookupError):
    """No member has that membership number."""


def find_member(number: str) -> Member:
    """The member with membership number ``number`` (an erased one answers to ``erased-<id>``)."""
    member = Member.objects.filter(number=number.strip()).first()
    if member is None:
        raise MemberNotFound(f"no member with membership number {number.strip()!r}")
    return member


def restrict_member(member: Member, *, reason: str, actor: Any = None) -> Member:
    """Restrict processing (Art. 18): the member is kept, but never newly linked or put in a case."""
    with transaction.atomic():
        now = timezone.now()
        Member.objects.filter(pk=member.pk).update(restricted_at=now, restriction_reason=reason.strip())
        member.restricted_at, member.restriction_reason = now, reason.strip()
        audit("member.restricted", actor=actor, obj=member, reason=reason.strip())
    return member


def lift_restriction(member: Member, *, reason: str, actor: Any = None) -> Member:
    """End a restriction: the member may be linked and put in cases again (their held-back hits are triaged)."""
    with transaction.atomic():
        Member.objects.filter(pk=member.pk).update(restricted_at=None, restriction_reason="")
        member.restricted_at, member.restriction_reason = None, ""
        audit("member.restriction_lifted", actor=actor, obj=member, reason=reason.strip())
    return member


def readmit(numbers: Sequence[str], *, actor: Any = None) -> int:
    """Let erased membership numbers be imported again: a deliberate re-adding, audited."""
    with transaction.atomic():
        digests = [number_digest(n) for n in numbers]
        ids = list(Member.objects.filter(number_digest__in=digests).values_list("pk", flat=True))
        Member.objects.filter(pk__in=ids).update(number_digest="")
        for pk in ids:
            audit("member.readmitted", actor=actor, object_type="register.member", object_id=pk)
    return len(ids)
