"""Collection figures for oversight: sources, runs, what was collected, quarantined and deleted.

Registered with :mod:`oversight.figures` (discovered at start-up). Counts only: no posts, no queries.
"""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth

from evidence.models import Account, CollectionRun, Platform, Post, Quarantine, Source
from evidence.registry import CONTEXT_SPECS, RECHECK_SPECS
from oversight.figures import Table, Value, figure
from oversight.lawful_basis import LAWFUL_BASES

_PLATFORMS = dict(Platform.choices)


def _platform(value: str) -> str:
    return str(_PLATFORMS.get(value, value))


@figure(
    "evidence.sources",
    section="collection",
    label="Sources by platform",
    help="The places posts are collected from (a platform search, page or account list, or a kind of file import).",
    order=10,
)
def sources() -> Value:
    rows = (
        Source.objects.values("platform")
        .annotate(n=Count("pk"), enabled=Count("pk", filter=Q(enabled=True)))
        .order_by("platform")
    )
    return Table(
        ("Platform", "Sources", "Enabled"), tuple((_platform(r["platform"]), r["n"], r["enabled"]) for r in rows)
    )


@figure(
    "evidence.runs_by_month",
    section="collection",
    label="Collection runs by month",
    help="Each time a source was collected, rechecked for deletions, or asked for the posts collected posts "
    "answered (conversation context), and what the runs brought in: posts imported, records quarantined as "
    "malformed, and posts the platform reported deleted.",
    order=20,
)
def runs_by_month() -> Value:
    recheck = Q(connector__in=list(RECHECK_SPECS))
    context = Q(connector__in=list(CONTEXT_SPECS))
    rows = (
        CollectionRun.objects.annotate(month=TruncMonth("started_at"))
        .values("month")
        .annotate(
            collections=Count("pk", filter=~recheck & ~context),
            rechecks=Count("pk", filter=recheck),
            contexts=Count("pk", filter=context),
            failed=Count("pk", filter=Q(status__in=[CollectionRun.Status.STOPPED, CollectionRun.Status.FAILED])),
            imported=Sum("imported"),
            quarantined=Sum("quarantined"),
            deleted=Sum("deleted"),
        )
        .order_by("month")
    )
    return Table(
        (
            "Month",
            "Collections",
            "Rechecks",
            "Context fetches",
            "Stopped or failed",
            "Posts imported",
            "Quarantined",
            "Deletions found",
        ),
        tuple(
            (
                f"{r['month']:%Y-%m}",
                r["collections"],
                r["rechecks"],
                r["contexts"],
                r["failed"],
                r["imported"] or 0,
                r["quarantined"] or 0,
                r["deleted"] or 0,
            )
            for r in rows
        ),
    )


@figure(
    "evidence.posts",
    section="collection",
    label="Posts collected, by platform",
    help="Public posts, replies and comments kept as evidence, and how many of them the platform has since "
    "reported deleted (kept marked, never silently removed).",
    order=30,
)
def posts() -> Value:
    # Two queries, each answered from an index (the platform's unique ids; the partial index of
    # deleted posts) rather than one pass over every post's row.
    counts = Post.objects.values_list("platform").annotate(n=Count("pk")).order_by("platform")
    deleted = dict(
        Post.objects.filter(deleted_at__isnull=False).values_list("platform").annotate(n=Count("pk")).order_by()
    )
    return Table(
        ("Platform", "Posts", "Reported deleted"),
        tuple((_platform(platform), n, deleted.get(platform, 0)) for platform, n in counts),
    )


@figure(
    "evidence.accounts",
    section="collection",
    label="Accounts seen, by platform",
    help="Distinct platform accounts whose public posts were collected (people: small counts are not shown).",
    order=40,
    people=True,
)
def accounts() -> Value:
    rows = Account.objects.values("platform").annotate(n=Count("pk")).order_by("platform")
    return Table(("Platform", "Accounts"), tuple((_platform(r["platform"]), r["n"]) for r in rows))


@figure(
    "evidence.quarantined",
    section="collection",
    label="Records quarantined",
    help="Malformed records (from collections and register imports) set aside with their reason and position "
    "instead of being imported or dropped.",
    order=50,
)
def quarantined() -> Value:
    return Quarantine.objects.count()


@figure(
    "evidence.deletions_by_month",
    section="collection",
    label="Deletions by month",
    help="Posts the platforms reported deleted, by the month the deletion was seen; their text is purged after "
    "the retention window, the record that they existed is kept.",
    order=60,
)
def deletions_by_month() -> Value:
    rows = (
        Post.objects.filter(deleted_at__isnull=False)
        .annotate(month=TruncMonth("deleted_at"))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    return Table(("Month", "Posts reported deleted"), tuple((f"{r['month']:%Y-%m}", r["n"]) for r in rows))


@figure(
    "evidence.sources_by_purpose",
    section="collection",
    label="Sources by purpose",
    help="The recorded purpose and lawful basis each source collects under (a source collects only while "
    "its purpose is approved by a second person, not retired and not past its review date), "
    "and the collection runs made under each purpose.",
    order=15,
)
def sources_by_purpose() -> Value:
    runs = dict(
        CollectionRun.objects.filter(purpose__isnull=False)
        .values("purpose__name")
        .annotate(n=Count("pk"))
        .values_list("purpose__name", "n")
    )
    counted = (
        Source.objects.values("purpose__name", "purpose__lawful_basis")
        .annotate(n=Count("pk"), enabled=Count("pk", filter=Q(enabled=True)))
        .order_by()
    )
    rows = sorted(counted, key=lambda r: (r["purpose__name"] is None, r["purpose__name"] or ""))  # none last
    return Table(
        ("Purpose", "Lawful basis", "Sources", "Enabled", "Collection runs"),
        tuple(
            (
                r["purpose__name"] or "(none recorded)",
                LAWFUL_BASES.get(r["purpose__lawful_basis"] or "", ""),
                r["n"],
                r["enabled"],
                runs.get(r["purpose__name"], 0),
            )
            for r in rows
        ),
        label_columns=2,
    )
