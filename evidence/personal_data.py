"""Evidence's personal data: accounts, their observed handles, their posts, and quarantined records.

A post is never silently removed: retention and erasure *purge* it, dropping its text, raw record,
URL and language but keeping its id, platform id, times, sha256 and ``purged_at``, so the hash still
proves what was held. The HTTP exchange a post came from is purged (body emptied, sha256 kept)
once every post derived from it is purged.

Collection requests name accounts too: an X timeline is fetched from ``/2/users/<id>/tweets`` after
looking the handle up at ``/2/users/by/username/<handle>``, a search or a Bluesky feed names the
handle in its parameters, and a run keeps its query and cursor. On erasure, each of the member's
account ids and handles (past ones too) is replaced by ``[erased]`` wherever it is a whole token of
an exchange's URL or parameters, or of a finished run's query and cursor; an exchange naming them
that no live post is derived from is emptied as well (its profile lookup, say). The sha256 stays,
as for purged posts. Other accounts named in the same request are left as they are, and so is a
source's configured query: a source still naming the member must be edited or disabled by a person.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from functools import reduce
from operator import or_
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from evidence.connectors.named import accounts_named, strangers
from evidence.models import Account, AccountObservation, CollectionRun, Exchange, Post, Quarantine, Source
from oversight.privacy import Category, RetentionRule, Scope, register_category, register_retention

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


# ---------------------------------------------------------------------------------------------
# collection requests naming the member's accounts

ERASED = "[erased]"
_TOKEN = re.compile(r"[^\s/?&=,+()\[\]{}\"'|;]+")
_MIN_IDENTIFIER = 3  # shorter ids and handles would match ordinary tokens ("page=1")


def _identifiers(account_ids: tuple[int, ...]) -> set[str]:
    """The accounts' platform ids and handles, now and past, lower case without "@"."""
    ids = list(account_ids)
    values = [v for pair in Account.objects.filter(pk__in=ids).values_list("platform_id", "handle") for v in pair]
    values += list(AccountObservation.objects.filter(account_id__in=ids).values_list("handle", flat=True))
    found = {v.strip().lstrip("@").lower() for v in values}
    return {v for v in found if len(v) >= _MIN_IDENTIFIER}


def _names(token: str, identifiers: set[str]) -> bool:
    token = token.lower()
    return bool({token, token.lstrip("@"), token.partition(":")[2].lstrip("@")} & identifiers)


def _redact_text(text: str, identifiers: set[str]) -> str:
    return _TOKEN.sub(lambda m: ERASED if _names(m.group(0), identifiers) else m.group(0), text)


def _redact(value: Any, identifiers: set[str]) -> Any:
    """``value`` (a string, or JSON of them) with every token naming the identifiers replaced."""
    if isinstance(value, str):
        return _redact_text(value, identifiers)
    if isinstance(value, list):
        return [_redact(v, identifiers) for v in value]
    if isinstance(value, dict):
        return {k: _redact(v, identifiers) for k, v in value.items()}
    return value


def sources_naming(account_ids: tuple[int, ...]) -> list[Source]:
    """Enabled sources whose query names one of the accounts (an id or handle, now or past, as a token).

    Erasure cannot edit a source's query (it may name others too), so it tells the operator: such a
    source would collect the erased member's posts again at its next run.
    """
    identifiers = _identifiers(account_ids)
    rows = _mentioning(Source.objects.filter(enabled=True).order_by("name"), ("query",), identifiers)
    return [s for s in rows if any(_names(t, identifiers) for t in _TOKEN.findall(s.query))]


def _mentioning(rows: QuerySet[Any], fields: tuple[str, ...], identifiers: set[str]) -> QuerySet[Any]:
    if not identifiers:
        return rows.none()
    return rows.filter(reduce(or_, (Q(**{f"{f}__icontains": i}) for f in fields for i in sorted(identifiers))))


def _requests_naming(identifiers: set[str]) -> list[Exchange]:
    candidates = _mentioning(Exchange.objects.only("pk", "url", "params"), ("url", "params"), identifiers)
    return [e for e in candidates.iterator() if (e.url, e.params) != _redacted_request(e, identifiers)]


def _redacted_request(exchange: Exchange, identifiers: set[str]) -> tuple[str, Any]:
    return _redact_text(exchange.url, identifiers), _redact(exchange.params, identifiers)


def _requests_of(scope: Scope) -> QuerySet[Exchange]:
    """Collection requests (exchanges) whose URL or parameters name one of the scope's accounts."""
    named = _requests_naming(_identifiers(scope.account_ids))
    return Exchange.objects.filter(pk__in=[e.pk for e in named])


def _erase_requests(scope: Scope) -> int:
    """Redact the accounts out of the requests naming them (and finished runs); empty those feeding no live post."""
    identifiers = _identifiers(scope.account_ids)
    named = _requests_naming(identifiers)
    now = timezone.now()
    with transaction.atomic():
        for exchange in named:  # Exchange.save refuses changes: a queryset update, as retention's purge
            url, params = _redacted_request(exchange, identifiers)
            Exchange.objects.filter(pk=exchange.pk).update(url=url, params=params)
        live = Post.objects.filter(exchange=OuterRef("pk"), purged_at__isnull=True)
        spent = Exchange.objects.filter(pk__in=[e.pk for e in named], purged_at__isnull=True).exclude(Exists(live))
        spent.update(body=b"", headers=[], purged_at=now)
        finished = CollectionRun.objects.filter(status=CollectionRun.Status.DONE)
        runs = _mentioning(finished, ("query", "cursor"), identifiers)
        for run in runs.only("pk", "query", "cursor").iterator():
            query, cursor = _redact_text(run.query, identifiers), _redact(run.cursor, identifiers)
            if (query, cursor) != (run.query, run.cursor):
                CollectionRun.objects.filter(pk=run.pk).update(query=query, cursor=cursor)
    return len(named)


def _quarantined_of(scope: Scope) -> QuerySet[Quarantine]:
    """Collected or imported records we could not read that name one of the scope's accounts as a token."""
    identifiers = _identifiers(scope.account_ids)
    candidates = _mentioning(Quarantine.objects.filter(run__isnull=False).only("pk", "raw"), ("raw",), identifiers)
    named = [q.pk for q in candidates.iterator() if any(_names(t, identifiers) for t in _TOKEN.findall(q.raw))]
    return Quarantine.objects.filter(pk__in=named)


def _export_requests(rows: QuerySet[Exchange]) -> list[dict[str, Any]]:
    fields = ("run_id", "connector", "method", "url", "status", "retrieved_at", "sha256", "purged_at")
    return list(rows.order_by("retrieved_at", "pk").values(*fields))


RAW_WITHHELD = "it names other accounts too, or cannot be read for the accounts it names (UK GDPR Art. 15(4))"


def _export_quarantined(scope: Scope, rows: QuerySet[Quarantine]) -> list[dict[str, Any]]:
    """The quarantined records, each raw text only when every account it names is the member's.

    A record that names anyone else (a whole page of an API answer, a mention, a quoted post), or
    that its connector's reader cannot read (most quarantined records are malformed), is exported
    without its raw text, saying why: a copy must not adversely affect the rights of others.
    """
    own = list(Account.objects.filter(pk__in=scope.account_ids))
    out = []
    for row in rows.select_related("run").order_by("pk"):
        connector = row.run.connector if row.run is not None else ""
        names = accounts_named(connector, row.raw.encode(), "")
        mine = names is not None and not strangers(names, own)
        item = {"origin": row.origin, "position": row.position, "reason": row.reason, "created_at": row.created_at}
        out.append({**item, "raw": row.raw} if mine else {**item, "raw": "", "raw_withheld": RAW_WITHHELD})
    return out


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
        key="evidence.request",
        label="collection requests naming those accounts (e.g. their timeline, a lookup of their handle)",
        retention=(
            "kept as evidence of how posts were collected (bodies emptied with their posts); on erasure the "
            "accounts' ids and handles are redacted out of them, sha256 kept"
        ),
        rows=_requests_of,
        export=_export_requests,
        erase_scope=_erase_requests,
        erase_order=65,  # after their posts are purged (60), before past handles go (70)
    )
)
register_category(
    Category(
        key="evidence.quarantined_record",
        label="collected or imported records naming those accounts that we could not read (kept with the reason)",
        retention="deleted after ASSAY_RETENTION_QUARANTINE_DAYS, or on erasure",
        rows=_quarantined_of,
        export_scope=_export_quarantined,
        erase=_delete_quarantined,
        erase_order=45,
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
