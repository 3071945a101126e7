"""Register's personal data: the member's record and the identifiers they gave us.

A member whose membership lapsed (``lapsed_at``, set by the register import) is erased by retention
``ASSAY_RETENTION_LAPSED_MEMBER_DAYS`` after lapsing, exactly as an erasure request would erase them
(every app's categories, one ``member.erased`` event each), unless a hold applies: erasure's holds (an
open case, an adverse outcome within its window, an appeal window or undecided appeal) or a
restriction of processing (the member may need the data kept, UK GDPR Art. 18(1)(c)).

Erasure anonymises the Member row rather than deleting it: audit events and tombstoned evidence
refer to its id, and its ``number_digest`` (sha256 of the old membership number) is a suppression
marker, so a later register import of the same row does not silently add the member back
(``assay import-register --readmit NUMBER`` re-adds them deliberately). The digest is pseudonymous,
not anonymous: it is kept only to honour the erasure.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from evidence.models import Quarantine
from oversight.erasure import ErasureRefused, erase_member
from oversight.privacy import (
    Category,
    RetentionRule,
    Scope,
    register_addresses_of,
    register_category,
    register_held_rows,
    register_retention,
)
from register.models import DeclaredIdentifier, Member

_MEMBER_EXPORT = (
    "number",
    "given_name",
    "family_name",
    "email",
    "date_of_birth",
    "town",
    "postcode",
    "joined_on",
    "status",
    "lapsed_at",
    "updated_at",
    "restricted_at",
    "restriction_reason",
)


def number_digest(number: str) -> str:
    """The suppression marker an erased member leaves for their membership number."""
    return hashlib.sha256(f"assay-erased-member:{number.strip()}".encode()).hexdigest()


def _anonymise(members: QuerySet[Member]) -> int:
    now = timezone.now()
    n = 0
    for member in members.filter(erased_at__isnull=True):
        Member.objects.filter(pk=member.pk).update(
            number=f"erased-{member.pk}",
            number_digest=number_digest(member.number),
            given_name="",
            family_name="",
            email="",
            date_of_birth=None,
            town="",
            postcode="",
            joined_on=None,
            lapsed_at=None,
            restriction_reason="",
            erased_at=now,
            updated_at=now,
        )
        n += 1
    return n


def shares_address(address: str, member_id: int) -> bool:
    """Whether another member (not erased) has ``address`` too."""
    others = Member.objects.filter(email__iexact=address.strip(), erased_at__isnull=True).exclude(pk=member_id)
    return others.exists()


def _addresses(member_id: int, only_theirs: bool) -> list[str]:
    """The member's email address now (outbox copies of mail to it are theirs, unless another member shares it)."""
    found = [e for e in Member.objects.filter(pk=member_id).values_list("email", flat=True) if e]
    return [e for e in found if not (only_theirs and shares_address(e, member_id))]


register_addresses_of(_addresses)


def _export_members(members: QuerySet[Member]) -> list[dict[str, Any]]:
    return list(members.values(*_MEMBER_EXPORT))


register_category(
    Category(
        key="register.member",
        label="the register record",
        retention=(
            "kept while in the register; a lapsed member is erased ASSAY_RETENTION_LAPSED_MEMBER_DAYS after lapsing "
            "unless a hold applies; anonymised on erasure (a digest of the number stays as suppression)"
        ),
        rows=lambda scope: Member.objects.filter(pk=scope.member_id),
        export=_export_members,
        erase=_anonymise,
        erase_order=90,
    )
)


def _quarantined_rows(scope: Scope) -> QuerySet[Quarantine]:
    """Register rows that could not be imported and carry the member's number as a whole CSV field.

    Register imports quarantine without a collection run; post imports always have one.
    """
    number = Member.objects.filter(pk=scope.member_id).values_list("number", flat=True).first()
    if not number:
        return Quarantine.objects.none()
    field = rf'(^|,)\s*"?{re.escape(number)}"?\s*(,|$)'
    return Quarantine.objects.filter(run__isnull=True, raw__regex=field)


register_category(
    Category(
        key="register.quarantined_row",
        label="register rows about the member we could not import",
        retention="deleted after ASSAY_RETENTION_QUARANTINE_DAYS, or on erasure",
        rows=_quarantined_rows,
        export=lambda rows: list(rows.order_by("pk").values("origin", "position", "reason", "raw", "created_at")),
        erase_order=45,
    )
)
register_category(
    Category(
        key="register.identifier",
        label="identifiers the member gave us",
        retention="kept as long as the register lists them; deleted on erasure",
        rows=lambda scope: DeclaredIdentifier.objects.filter(member_id=scope.member_id),
        export=lambda rows: list(rows.order_by("pk").values("kind", "platform", "value", "declared_at")),
        erase_order=40,
    )
)


LAPSED_REASON = "retention: membership lapsed more than ASSAY_RETENTION_LAPSED_MEMBER_DAYS ago"


def _lapsed_members(cutoff: datetime) -> QuerySet[Member]:
    return Member.objects.filter(status=Member.Status.LAPSED, lapsed_at__lt=cutoff, erased_at__isnull=True)


def _erase_lapsed(members: QuerySet[Member]) -> int:
    """Erase each member as an erasure request would (audited per member); one a hold now keeps is skipped."""
    n = 0
    for member_id in list(members.values_list("pk", flat=True)):
        try:
            erase_member(member_id, reason=LAPSED_REASON, apply=True)
        except ErasureRefused:  # a hold began since the candidates were counted
            continue
        n += 1
    return n


register_held_rows(Member, lambda now: Member.objects.filter(restricted_at__isnull=False))
register_retention(
    RetentionRule(
        key="register.lapsed_members",
        label="members whose membership lapsed (erased across every app)",
        setting="RETENTION_LAPSED_MEMBER_DAYS",
        candidates=_lapsed_members,
        apply=_erase_lapsed,
        action="erased",
        order=5,  # first: the pages their purged posts came from are emptied in the same run
        member_holds=True,
    )
)
