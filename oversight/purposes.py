"""Purposes of processing, on record: record, approve (a second person), retire, and decide whether
work may run under one. The rules are in :mod:`oversight.lawful_basis`; here the versions and audit.

Every change is an audit event: ``purpose.created`` (a new purpose or a new version of one),
``purpose.approved`` and ``purpose.retired``. Collections and linkage runs call :func:`in_force`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from itertools import groupby
from typing import Any

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from oversight.lawful_basis import DEFAULT_BASIS, DEFAULT_DESCRIPTION, Standing, approval_problem, check
from oversight.lawful_basis import DEFAULT_PURPOSE as DEFAULT_PURPOSE
from oversight.lawful_basis import PurposeError as PurposeError
from oversight.lawful_basis import PurposeTerms as PurposeTerms
from oversight.lawful_basis import refusal as _refusal
from oversight.models import Purpose
from oversight.services import _actor_name
from oversight.services import record as audit


def _today() -> Any:
    return timezone.now().date()


def terms_of(purpose: Purpose) -> PurposeTerms:
    """A version's terms, to edit into the next version."""
    return PurposeTerms(
        name=purpose.name,
        description=purpose.description,
        lawful_basis=purpose.lawful_basis,
        review_due=purpose.review_due,
        probabilistic=purpose.probabilistic,
        dpia_reference=purpose.dpia_reference,
        dpia_date=purpose.dpia_date,
    )


def record_purpose(terms: PurposeTerms, *, actor: Any) -> Purpose:
    """Record a new purpose, or a new version of one (the earlier versions stay as they were)."""
    terms = replace(terms, name=terms.name.strip(), dpia_reference=terms.dpia_reference.strip())
    check(terms, _today())
    with transaction.atomic():
        versions = Purpose.objects.select_for_update().filter(name=terms.name)
        if versions.filter(retired_at__isnull=False).exists():
            raise PurposeError(f"purpose {terms.name!r} is retired: record a purpose under a new name")
        latest = versions.aggregate(v=Max("version"))["v"] or 0
        purpose = Purpose.objects.create(
            name=terms.name,
            version=latest + 1,
            description=terms.description.strip(),
            lawful_basis=terms.lawful_basis,
            probabilistic=terms.probabilistic,
            dpia_reference=terms.dpia_reference,
            dpia_date=terms.dpia_date,
            review_due=terms.review_due,
            created_by=_actor_name(actor),
            created_at=timezone.now(),
        )
        audit(
            "purpose.created",
            actor=actor,
            obj=purpose,
            name=purpose.name,
            version=purpose.version,
            lawful_basis=purpose.lawful_basis,
            probabilistic=purpose.probabilistic,
            dpia_reference=purpose.dpia_reference,
        )
    return purpose


def _version(name: str, version: int | None) -> Purpose:
    versions = Purpose.objects.filter(name=name)
    found = versions.filter(version=version).first() if version else versions.order_by("-version").first()
    if found is None:
        raise PurposeError(f"no purpose {name!r}" + (f" version {version}" if version else ""))
    return found


def approve(name: str, *, actor: Any, version: int | None = None) -> Purpose:
    """A second person (not the version's author) approves a version (default: the newest)."""
    with transaction.atomic():
        purpose = _version(name, version)
        problem = approval_problem(
            purpose.created_by, _actor_name(actor), purpose.approved, purpose.retired_at is not None
        )
        if problem:
            raise PurposeError(f"{purpose}: {problem}")
        now = timezone.now()
        updated = Purpose.objects.filter(pk=purpose.pk, approved_at__isnull=True).update(
            approved_by=_actor_name(actor), approved_at=now
        )
        if not updated:
            raise PurposeError(f"{purpose}: someone has just approved it")
        purpose.refresh_from_db()
        audit("purpose.approved", actor=actor, obj=purpose, name=purpose.name, version=purpose.version)
    return purpose


def retire(name: str, *, actor: Any, reason: str = "") -> int:
    """Retire a purpose (every version): nothing runs under it again. Returns the versions retired."""
    with transaction.atomic():
        versions = Purpose.objects.filter(name=name, retired_at__isnull=True)
        if not Purpose.objects.filter(name=name).exists():
            raise PurposeError(f"no purpose {name!r}")
        count = versions.update(retired_at=timezone.now(), retired_by=_actor_name(actor))
        if not count:
            raise PurposeError(f"purpose {name!r} is already retired")
        newest = _version(name, None)
        audit("purpose.retired", actor=actor, obj=newest, name=name, versions=count, reason=reason)
    return count


def current(name: str) -> Purpose | None:
    """The version work runs under: the newest approved one (None if none is)."""
    return Purpose.objects.filter(name=name, approved_at__isnull=False).order_by("-version").first()


def standing(name: str) -> Standing | None:
    if not Purpose.objects.filter(name=name).exists():
        return None
    version = current(name)
    retired = Purpose.objects.filter(name=name, retired_at__isnull=False).exists()
    if version is None:
        return Standing(name=name, version=None, retired=retired, review_due=None)
    return Standing(
        name=name,
        version=version.version,
        retired=retired,
        review_due=version.review_due,
        probabilistic=version.probabilistic,
        dpia_reference=version.dpia_reference,
    )


def refusal(name: str | None, *, probabilistic: bool = False) -> str | None:
    """Why nothing may run under purpose ``name`` now, or None."""
    return _refusal(standing(name) if name else None, _today(), probabilistic=probabilistic)


def in_force(name: str | None, *, probabilistic: bool = False, what: str = "this work") -> Purpose:
    """The version ``what`` runs under; raises :class:`PurposeError` saying why it may not run."""
    problem = refusal(name, probabilistic=probabilistic)
    if problem:
        raise PurposeError(f"{what} refused: {problem}")
    found = current(name or "")
    assert found is not None  # refusal() said it is approved
    return found


def newest(name: str) -> Purpose | None:
    """The newest version of ``name``, approved or not."""
    return Purpose.objects.filter(name=name).order_by("-version").first()


def default_purpose() -> Purpose:
    """The purpose sources name unless told otherwise, recorded (unapproved) when first needed."""
    found = newest(DEFAULT_PURPOSE)
    if found is not None:
        return found
    with transaction.atomic():
        purpose, created = Purpose.objects.get_or_create(name=DEFAULT_PURPOSE, version=1, defaults=DEFAULT_TERMS)
        if created:
            audit("purpose.created", obj=purpose, name=purpose.name, version=1, lawful_basis=purpose.lawful_basis)
    return purpose


DEFAULT_TERMS: dict[str, Any] = {
    "description": DEFAULT_DESCRIPTION,
    "lawful_basis": DEFAULT_BASIS,
    "created_by": "migration",
    "created_at": timezone.now,
    # A year to review it in; approving it is the first review (README, "Purposes and lawful basis").
    "review_due": lambda: timezone.now().date() + timedelta(days=365),
}


@dataclass
class Row:
    """One purpose version as the list and the oversight page show it."""

    purpose: Purpose
    state: str
    sources: int  # sources naming this purpose (any version), on the newest row only
    runs: int  # collection runs made under this version
    linkage_runs: int
    source_names: list[str]


def _state(purpose: Purpose, in_force: Purpose | None, problem: str | None) -> str:
    if purpose.retired_at is not None:
        return "retired"
    if not purpose.approved:
        return "awaiting approval"
    if in_force is not None and purpose.pk == in_force.pk:
        return "in force" if problem is None else f"not in force: {problem}"
    return "superseded"


def listing() -> list[Row]:
    """Every version with its state, the sources under it and the runs made under it (a fixed number of queries)."""
    versions = list(
        Purpose.objects.annotate(
            n_runs=Count("collection_runs", distinct=True), n_linkage=Count("linkage_runs", distinct=True)
        ).order_by("name", "-version")
    )
    names: dict[str, list[str]] = {}
    for purpose_name, source_name in Purpose.objects.filter(sources__isnull=False).values_list("name", "sources__name"):
        names.setdefault(purpose_name, []).append(source_name)
    rows: list[Row] = []
    today = _today()
    for name, group in groupby(versions, key=lambda p: p.name):
        group_list = list(group)
        in_force = next((p for p in group_list if p.approved), None)
        standing_now = Standing(
            name=name,
            version=in_force.version if in_force else None,
            retired=any(p.retired_at is not None for p in group_list),
            review_due=in_force.review_due if in_force else None,
        )
        problem = _refusal(standing_now, today)
        for index, purpose in enumerate(group_list):
            sources = sorted(names.get(name, [])) if index == 0 else []
            rows.append(
                Row(
                    purpose=purpose,
                    state=_state(purpose, in_force, problem),
                    sources=len(sources),
                    runs=getattr(purpose, "n_runs", 0),
                    linkage_runs=getattr(purpose, "n_linkage", 0),
                    source_names=sources,
                )
            )
    return rows
