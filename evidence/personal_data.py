"""Evidence's personal data: accounts, their observed handles, their posts, and quarantined records.

A post is never silently removed: retention and erasure *purge* it, dropping its text, raw record,
URL and language but keeping its id, platform id, times, sha256 and ``purged_at``, so the hash still
proves what was held. The HTTP exchange a post came from is purged (body emptied, sha256 kept)
once every post derived from it is purged.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from evidence.models import Account, AccountObservation, Exchange, Post, Quarantine
from oversight.privacy import Category, RetentionRule, register_category, register_retention

_CHUNK = 5000
_ACCOUNT_PROFILE = ("handle", "display_name", "bio", "location", "url")


def _id_chunks(rows: QuerySet[Any]) -> Iterator[list[int]]:
    """The rows' ids, read once, in lists short enough for any backend's IN (...)."""
    ids = list(rows.values_list("pk", flat=True))
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def purge_posts(posts: QuerySet[Post]) -> int:
    """Drop the content of ``posts`` (idempotent); then empty the exchanges that no longer feed a live post."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(posts.filter(purged_at__isnull=True).values_list("pk", "exchange_id"))
        n = 0
        for start in range(0, len(rows), _CHUNK):
            n += Post.objects.filter(pk__in=[pk for pk, _ in rows[start : start + _CHUNK]]).update(
                text="", raw={}, url="", lang="", parent_platform_id="", purged_at=now
            )
        exchanges = sorted({e for _, e in rows if e is not None})
        for start in range(0, len(exchanges), _CHUNK):
            _purge_exchanges(_spent_exchanges().filter(pk__in=exchanges[start : start + _CHUNK]))
    return n


def _spent_exchanges(cutoff: datetime | None = None) -> QuerySet[Exchange]:
    """Pages no unpurged post is derived from (and, given ``cutoff``, retrieved before it)."""
    live = Post.objects.filter(exchange=OuterRef("pk"), purged_at__isnull=True)
    spent = Exchange.objects.filter(purged_at__isnull=True, role=Exchange.Role.PAGE).exclude(Exists(live))
    return spent if cutoff is None else spent.filter(retrieved_at__lt=cutoff)


def _purge_exchanges(rows: QuerySet[Exchange]) -> int:
    """Empty the bodies. Exchange.save refuses changes, so this is a queryset update: the one
    sanctioned change to an exchange, recorded in ``purged_at``; its sha256 stays."""
    now = timezone.now()
    return sum(
        Exchange.objects.filter(pk__in=ids).update(body=b"", headers=[], purged_at=now) for ids in _id_chunks(rows)
    )


def _erase_accounts(accounts: QuerySet[Account]) -> int:
    """Accounts stay (posts and cases point at them) with their profile blanked and past handles gone."""
    n = 0
    for ids in _id_chunks(accounts):
        AccountObservation.objects.filter(account_id__in=ids).delete()
        n += Account.objects.filter(pk__in=ids).update(**dict.fromkeys(_ACCOUNT_PROFILE, ""))
    return n


def _delete_quarantined(rows: QuerySet[Quarantine]) -> int:
    return sum(Quarantine.objects.filter(pk__in=ids).delete()[0] for ids in _id_chunks(rows))


def _idle_accounts(cutoff: datetime) -> QuerySet[Account]:
    """Accounts last seen before ``cutoff`` with no unpurged post and a profile (or past handles) still held."""
    live = Post.objects.filter(account=OuterRef("pk"), purged_at__isnull=True)
    observed = AccountObservation.objects.filter(account=OuterRef("pk"))
    blank = Q(**dict.fromkeys(_ACCOUNT_PROFILE, ""))
    return Account.objects.filter(last_seen__lt=cutoff).exclude(Exists(live)).exclude(blank & ~Exists(observed))


def _export_accounts(accounts: QuerySet[Account]) -> list[dict[str, Any]]:
    fields = ("pk", "platform", "platform_id", *_ACCOUNT_PROFILE, "first_seen", "last_seen")
    return list(accounts.order_by("pk").values(*fields))


def _export_posts(posts: QuerySet[Post]) -> list[dict[str, Any]]:
    fields = ("pk", "platform", "platform_id", "account_id", "kind", "text", "url", "created_at", "collected_at")
    more = ("sha256", "deleted_at", "deleted_reason", "purged_at")
    return list(posts.order_by("created_at", "pk").values(*fields, *more))


register_category(
    Category(
        key="evidence.account",
        label="platform accounts linked to the member",
        retention="kept while linked to a member or under a case; profile blanked on erasure",
        rows=lambda scope: Account.objects.filter(pk__in=scope.account_ids),
        export=_export_accounts,
        erase=_erase_accounts,
        erase_order=80,
    )
)
register_category(
    Category(
        key="evidence.observation",
        label="handles and names those accounts were seen with",
        retention="kept with the account; deleted on erasure",
        rows=lambda scope: AccountObservation.objects.filter(account_id__in=scope.account_ids),
        export=lambda rows: list(
            rows.order_by("observed_at").values("account_id", "handle", "display_name", "observed_at")
        ),
        erase_order=70,
    )
)
register_category(
    Category(
        key="evidence.post",
        label="public posts by those accounts",
        retention=(
            "posts no rule matched: text purged after ASSAY_RETENTION_UNMATCHED_POST_DAYS; posts the platform "
            "deleted: after ASSAY_RETENTION_DELETED_POST_DAYS; posts in a case: with the case. A purged post "
            "keeps its id, times and sha256"
        ),
        rows=lambda scope: Post.objects.filter(account_id__in=scope.account_ids),
        export=_export_posts,
        erase=purge_posts,
        erase_order=60,
    )
)


def _unmatched_posts(cutoff: datetime) -> QuerySet[Post]:
    return Post.objects.filter(purged_at__isnull=True, collected_at__lt=cutoff, hits__isnull=True)


def _deleted_posts(cutoff: datetime) -> QuerySet[Post]:
    return Post.objects.filter(purged_at__isnull=True, deleted_at__lt=cutoff)


register_retention(
    RetentionRule(
        key="evidence.unmatched_posts",
        label="posts that matched no rule",
        setting="RETENTION_UNMATCHED_POST_DAYS",
        candidates=_unmatched_posts,
        apply=purge_posts,
        order=20,
    )
)
register_retention(
    RetentionRule(
        key="evidence.deleted_posts",
        label="posts the platform deleted",
        setting="RETENTION_DELETED_POST_DAYS",
        candidates=_deleted_posts,
        apply=purge_posts,
        order=21,
    )
)
register_retention(
    RetentionRule(
        key="evidence.spent_exchanges",
        label="collected pages whose posts are all purged",
        setting="RETENTION_UNMATCHED_POST_DAYS",
        candidates=_spent_exchanges,
        apply=_purge_exchanges,
        order=30,
    )
)
register_retention(
    RetentionRule(
        key="evidence.idle_accounts",
        label="profiles of accounts with no posts left, linked to no member",
        setting="RETENTION_UNMATCHED_POST_DAYS",
        candidates=_idle_accounts,
        apply=_erase_accounts,
        order=35,
    )
)
register_retention(
    RetentionRule(
        key="evidence.quarantine",
        label="quarantined records",
        setting="RETENTION_QUARANTINE_DAYS",
        candidates=lambda cutoff: Quarantine.objects.filter(created_at__lt=cutoff),
        apply=_delete_quarantined,
        action="deleted",
        order=40,
    )
)
