"""Linkage services: decide which member, if any, wrote with each account.

Policy ``declared`` (the default) links only through identifiers the member gave us: a handle
or profile URL on the same platform, normalised the same way on both sides. Such a link is
certain and confirmed. Policy ``probabilistic`` adds proposals from the Splink model, which a
reviewer must confirm (see linkage/model.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from evidence.models import Account
from linkage.models import Link, LinkageRun
from oversight.services import record as audit
from register.importers import normalise_handle
from register.models import DeclaredIdentifier

DECLARED_MODEL_VERSION = "declared-1"
POLICIES = ("declared", "probabilistic")
BATCH_SIZE = 5000


class LinkagePolicyError(ValueError):
    """ASSAY_LINKAGE_POLICY names no known policy."""


@dataclass
class LinkSummary:
    policy: str
    accounts_considered: int = 0
    declared_links: int = 0


def _declared_index() -> dict[tuple[str, str], list[int]]:
    """(platform, normalised handle) -> member ids that declared it."""
    index: dict[tuple[str, str], list[int]] = {}
    rows = DeclaredIdentifier.objects.filter(kind__in=["handle", "url"]).values_list("platform", "value", "member_id")
    for platform, value, member_id in rows.iterator():
        index.setdefault((platform, normalise_handle(platform, value)), []).append(member_id)
    return index


def _account_keys(account: Mapping[str, Any]) -> set[tuple[str, str]]:
    platform = account["platform"]
    keys = {(platform, normalise_handle(platform, account["handle"]))} if account["handle"] else set()
    if account["url"]:
        keys.add((platform, normalise_handle(platform, account["url"])))
    return keys


def link_declared(run: LinkageRun, progress: Callable[[int], None] | None = None) -> int:
    """Link every account whose handle or profile URL a member declared; returns links created."""
    index = _declared_index()
    existing = set(Link.objects.values_list("account_id", "member_id").iterator())
    created = 0
    batch: list[Link] = []
    seen = 0
    for account in Account.objects.values("pk", "platform", "handle", "url").iterator(chunk_size=BATCH_SIZE):
        seen += 1
        members = {m for key in _account_keys(account) for m in index.get(key, [])}
        for member_id in sorted(members):
            if (account["pk"], member_id) in existing:
                continue
            existing.add((account["pk"], member_id))
            batch.append(
                Link(
                    account_id=account["pk"],
                    member_id=member_id,
                    method=Link.Method.DECLARED,
                    probability=1.0,
                    explanation={
                        "declared": f"{account['platform']} handle @{account['handle']}",
                        "why": "the member gave us this identifier",
                    },
                    status=Link.Status.CONFIRMED,
                    run=run,
                )
            )
        if len(batch) >= BATCH_SIZE:
            Link.objects.bulk_create(batch)
            created += len(batch)
            batch = []
        if progress is not None and seen % BATCH_SIZE == 0:
            progress(seen)
    Link.objects.bulk_create(batch)
    created += len(batch)
    if progress is not None:
        progress(seen)
    return created


def run_linkage(*, actor: Any = None, progress: Callable[[int], None] | None = None) -> LinkSummary:
    """Link accounts to members under the configured policy."""
    policy = settings.LINKAGE_POLICY
    if policy not in POLICIES:
        raise LinkagePolicyError(f"ASSAY_LINKAGE_POLICY={policy!r}: choose one of {', '.join(POLICIES)}")
    summary = LinkSummary(policy=policy)
    with transaction.atomic():
        run = LinkageRun.objects.create(policy=policy, model_version=DECLARED_MODEL_VERSION, started_at=timezone.now())
        summary.declared_links = link_declared(run, progress)
        summary.accounts_considered = Account.objects.count()
        run.accounts_considered = summary.accounts_considered
        run.links_created = summary.declared_links
        run.finished_at = timezone.now()
        run.save(update_fields=["accounts_considered", "links_created", "finished_at"])
        audit("linkage.run", actor=actor, obj=run, policy=policy, links_created=summary.declared_links)
    return summary
