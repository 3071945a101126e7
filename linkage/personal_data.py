"""Linkage's personal data: which accounts we tied to a member, how, and the pairs people rejected.

Linkage also tells the registry which accounts are a member's (evidence cannot know): those with a
confirmed or proposed link. For erasure, only accounts linked to nobody else are the member's alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from evidence.models import Account
from linkage.models import Link
from oversight.privacy import (
    Category,
    register_accounts_of,
    register_category,
    register_held_rows,
    staff_as_roles,
)

_HELD = (Link.Status.CONFIRMED, Link.Status.PROPOSED)


def accounts_of(member_id: int, only_theirs: bool) -> list[int]:
    """Accounts with a confirmed or proposed link to the member (``only_theirs``: and to no one else)."""
    linked = set(Link.objects.filter(member_id=member_id, status__in=_HELD).values_list("account_id", flat=True))
    if only_theirs and linked:
        shared = Link.objects.filter(account_id__in=linked, status__in=_HELD).exclude(member_id=member_id)
        linked -= set(shared.values_list("account_id", flat=True))
    return sorted(linked)


def _export_links(links: QuerySet[Link]) -> list[dict[str, Any]]:
    rows = list(links.select_related("account").order_by("pk"))
    roles = staff_as_roles(link.reviewed_by_id for link in rows)
    # The model's runners-up ("others") are other members: third parties, left out.
    return [
        {
            "account_id": link.account_id,
            "account": str(link.account),
            "method": link.get_method_display(),
            "probability": link.probability,
            "explanation": {k: v for k, v in link.explanation.items() if k != "others"},
            "status": link.status,
            "created_at": link.created_at,
            "reviewed_by": roles.get(link.reviewed_by_id) if link.reviewed_by_id else None,
            "reviewed_at": link.reviewed_at,
        }
        for link in rows
    ]


def _erase_links(links: QuerySet[Link]) -> int:
    """Delete the member's links (rejected pairs too), and take them out of other proposals' runners-up."""
    member_ids = set(links.values_list("member_id", flat=True))
    deleted = int(links.delete()[1].get(Link._meta.label, 0))
    changed: list[Link] = []
    proposals = Link.objects.filter(method=Link.Method.PROBABILISTIC).only("pk", "explanation")
    for link in proposals.iterator(chunk_size=2000):
        others = link.explanation.get("others") or []
        kept = [o for o in others if o.get("member_id") not in member_ids]
        if len(kept) != len(others):
            erased = int(link.explanation.get("others_erased", 0)) + len(others) - len(kept)
            link.explanation = {**link.explanation, "others": kept, "others_erased": erased}
            changed.append(link)
    Link.objects.bulk_update(changed, ["explanation"], batch_size=1000)
    return deleted


def _linked_accounts(now: datetime) -> QuerySet[Account]:
    return Account.objects.filter(links__status__in=_HELD)


register_accounts_of(accounts_of)
register_held_rows(Account, _linked_accounts)
register_category(
    Category(
        key="linkage.link",
        label="links between accounts and the member (confirmed, proposed and rejected pairs)",
        retention="kept while the member is in the register; deleted on erasure",
        rows=lambda scope: Link.objects.filter(member_id=scope.member_id),
        export=_export_links,
        erase=_erase_links,
        erase_order=30,
    )
)
