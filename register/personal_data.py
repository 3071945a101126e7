"""Register's personal data: the member's record and the identifiers they gave us.

Erasure anonymises the Member row rather than deleting it: audit events and tombstoned evidence
refer to its id, and its ``number_digest`` (sha256 of the old membership number) is a suppression
marker, so a later register import of the same row does not silently add the member back
(``assay import-register --readmit NUMBER`` re-adds them deliberately). The digest is pseudonymous,
not anonymous: it is kept only to honour the erasure.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from oversight.privacy import Category, register_category
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
            restriction_reason="",
            erased_at=now,
            updated_at=now,
        )
        n += 1
    return n


def _export_members(members: QuerySet[Member]) -> list[dict[str, Any]]:
    return list(members.values(*_MEMBER_EXPORT))


register_category(
    Category(
        key="register.member",
        label="the register record",
        retention="kept while in the register; anonymised on erasure (a digest of the number stays as suppression)",
        rows=lambda scope: Member.objects.filter(pk=scope.member_id),
        export=_export_members,
        erase=_anonymise,
        erase_order=90,
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
