"""Linkage services: decide which member, if any, wrote with each account.

Policy ``declared`` (the default) links only through identifiers the member gave us: a handle
or profile URL on the same platform, normalised the same way on both sides. Such a link is
certain and confirmed. Policy ``probabilistic`` adds proposals from the Splink model
(linkage/model.py), each with its probability and per-comparison evidence, which a reviewer
confirms or rejects; a rejected pair is never proposed again, and every decision is a label the
model can be re-estimated from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from evidence.models import Account
from linkage.models import Link, LinkageRun, TrainedModel
from oversight import purposes
from oversight.models import Purpose
from oversight.services import record as audit
from register.importers import normalise_handle
from register.models import DeclaredIdentifier, Member

if TYPE_CHECKING:
    from linkage import model as lm

DECLARED_MODEL_VERSION = "declared-1"
POLICIES = ("declared", "probabilistic")
BATCH_SIZE = 5000


class LinkagePolicyError(ValueError):
    """ASSAY_LINKAGE_POLICY names no known policy, or no purpose in force allows it."""


def _purpose_for(policy: str) -> Purpose | None:
    """The purpose version this run records; probabilistic matching refuses without one that covers it."""
    name = settings.LINKAGE_PURPOSE
    if policy != "probabilistic":
        return purposes.current(name) if purposes.refusal(name) is None else None
    try:
        return purposes.in_force(name, probabilistic=True, what="probabilistic linking")
    except purposes.PurposeError as exc:
        raise LinkagePolicyError(
            f"{exc} (ASSAY_LINKAGE_PURPOSE={name!r}; declared linking still runs with ASSAY_LINKAGE_POLICY=declared)"
        ) from None


@dataclass
class LinkSummary:
    policy: str
    accounts_considered: int = 0
    declared_links: int = 0
    proposals: int = 0
    model_version: str = ""


def linkable_members() -> QuerySet[Member]:
    """Members new links may be made to: not restricted (UK GDPR Art. 18), not erased."""
    return Member.objects.filter(restricted_at__isnull=True, erased_at__isnull=True)


def _declared_index() -> dict[tuple[str, str], list[int]]:
    """(platform, normalised handle) -> member ids that declared it."""
    index: dict[tuple[str, str], list[int]] = {}
    # Restricted and erased members are never newly linked (oversight/erasure.py).
    rows = DeclaredIdentifier.objects.filter(kind__in=["handle", "url"], member__in=linkable_members()).values_list(
        "platform", "value", "member_id"
    )
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


def run_linkage(
    *, actor: Any = None, policy: str | None = None, progress: Callable[[int], None] | None = None
) -> LinkSummary:
    """Link accounts to members under ``policy`` (default: the configured one); idempotent and incremental."""
    policy = policy or settings.LINKAGE_POLICY
    if policy not in POLICIES:
        raise LinkagePolicyError(f"ASSAY_LINKAGE_POLICY={policy!r}: choose one of {', '.join(POLICIES)}")
    purpose = _purpose_for(policy)
    summary = LinkSummary(policy=policy)
    with transaction.atomic():
        run = LinkageRun.objects.create(
            policy=policy, model_version=DECLARED_MODEL_VERSION, started_at=timezone.now(), purpose=purpose
        )
        summary.declared_links = link_declared(run, progress)
    if policy == "probabilistic":
        # Declared links are certain: they are the first labels the model learns from.
        trained = current_model() or train(actor=actor)
        summary.model_version = run.model_version = trained.version
        summary.proposals = _propose(run, trained)
    with transaction.atomic():
        summary.accounts_considered = Account.objects.count()
        run.accounts_considered = summary.accounts_considered
        run.links_created = summary.declared_links
        run.proposals_created = summary.proposals
        run.finished_at = timezone.now()
        run.save(
            update_fields=["model_version", "accounts_considered", "links_created", "proposals_created", "finished_at"]
        )
        audit(
            "linkage.run",
            actor=actor,
            obj=run,
            policy=policy,
            model_version=run.model_version,
            purpose=str(purpose) if purpose else "",
            links_created=summary.declared_links,
            proposals_created=summary.proposals,
        )
    return summary


# ---------------------------------------------------------------------------------------------
# probabilistic linkage: records for the model, training, proposals, reviewer labels


def member_records(members: QuerySet[Member] | None = None) -> list[lm.MemberRecord]:
    from linkage import model as lm  # splink and DuckDB load on first use, not at startup

    rows = (members if members is not None else linkable_members()).values_list(
        "pk", "given_name", "family_name", "email", "date_of_birth", "town", "postcode"
    )
    return [lm.MemberRecord(*row) for row in rows.iterator(chunk_size=BATCH_SIZE)]


def account_records(accounts: QuerySet[Account]) -> list[lm.AccountRecord]:
    from linkage import model as lm  # splink and DuckDB load on first use, not at startup

    rows = accounts.values_list("pk", "platform", "handle", "display_name", "bio", "location")
    return [lm.AccountRecord(*row) for row in rows.iterator(chunk_size=BATCH_SIZE)]


def reviewer_labels() -> list[tuple[int, int, bool]]:
    """(account, member, is_match) from people: declared and confirmed links are matches, rejections not."""
    rows = Link.objects.filter(status__in=[Link.Status.CONFIRMED, Link.Status.REJECTED]).values_list(
        "account_id", "member_id", "status"
    )
    return [(a, m, status == Link.Status.CONFIRMED) for a, m, status in rows.iterator()]


def _backend() -> lm.Backend:
    from linkage import model as lm  # splink and DuckDB load on first use, not at startup

    backend = settings.LINKAGE_BACKEND
    if backend not in ("duckdb", "spark"):
        raise lm.LinkageError(f"ASSAY_LINKAGE_BACKEND={backend!r}: choose duckdb or spark")
    return cast(lm.Backend, backend)


def current_model() -> TrainedModel | None:
    return TrainedModel.objects.first()


def load_model(trained: TrainedModel) -> lm.LinkageModel:
    from linkage import model as lm  # splink and DuckDB load on first use, not at startup

    return lm.LinkageModel.from_document(trained.document)


def train(*, actor: Any = None) -> TrainedModel:
    """Estimate the model from the register, the accounts and every reviewer label; store it versioned.

    Training processes every member's data for probabilistic matching: it runs only under an approved
    purpose in force that covers probabilistic linkage (ASSAY_LINKAGE_PURPOSE), named in its audit event.
    """
    from linkage import model as lm  # splink and DuckDB load on first use, not at startup

    try:
        purpose = purposes.in_force(settings.LINKAGE_PURPOSE, probabilistic=True, what="training the linkage model")
    except purposes.PurposeError as exc:
        raise LinkagePolicyError(f"{exc} (ASSAY_LINKAGE_PURPOSE={settings.LINKAGE_PURPOSE!r})") from None
    members = member_records()
    if not members:
        raise lm.LinkageError("the register is empty: import members first (assay import-register)")
    labels = reviewer_labels()
    fitted = lm.LinkageModel.train(members, account_records(Account.objects.all()), labels=labels, backend=_backend())
    with transaction.atomic():
        trained, _ = TrainedModel.objects.update_or_create(
            version=fitted.version,
            defaults={
                "trained_at": timezone.now(),
                "trained_by": getattr(actor, "username", actor) or "system",
                "backend": fitted.backend,
                "document": fitted.to_document(),
                "members": len(members),
                "accounts": int(fitted.metadata.get("accounts", 0)),
                "labels": sum(1 for *_, ok in labels if ok),
            },
        )
        audit(
            "linkage.model_trained",
            actor=actor,
            obj=trained,
            version=trained.version,
            labels=trained.labels,
            purpose=str(purpose),
        )
    return trained


def _propose(run: LinkageRun, trained: TrainedModel) -> int:
    """Propose links for accounts this model version has not yet considered and nobody has confirmed."""
    previous = LinkageRun.objects.filter(model_version=trained.version).exclude(pk=run.pk).order_by("-accounts_through")
    mark = previous.values_list("accounts_through", flat=True).first() or 0
    pending = Account.objects.filter(pk__gt=mark).exclude(links__status=Link.Status.CONFIRMED)
    accounts = account_records(pending)
    run.accounts_through = Account.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    run.save(update_fields=["accounts_through"])
    if not accounts:
        return 0
    rejected = set(Link.objects.filter(status=Link.Status.REJECTED).values_list("account_id", "member_id"))
    existing = set(Link.objects.filter(account_id__gt=mark).values_list("account_id", "member_id"))
    candidates = load_model(trained).predict(
        member_records(), accounts, threshold=settings.LINKAGE_THRESHOLD, exclude=rejected
    )
    links = [
        Link(
            account_id=c.account_id,
            member_id=c.member_id,
            method=Link.Method.PROBABILISTIC,
            probability=c.probability,
            explanation={
                "model_version": trained.version,
                "evidence": [{"comparison": e.comparison, "level": e.level, "weight": e.weight} for e in c.evidence],
                # The next best members, shared like the proposal: a reviewer weighs it against them.
                "others": [
                    {"member_id": o.member_id, "probability": o.probability, "match_weight": o.match_weight}
                    for o in c.others
                ],
            },
            status=Link.Status.PROPOSED,
            run=run,
        )
        for c in candidates
        if (c.account_id, c.member_id) not in existing
    ]
    Link.objects.bulk_create(links)
    return len(links)


class LinkReviewError(ValueError):
    """A link cannot be confirmed or rejected in its present state."""


def _review_link(link: Link, reviewer: Any, status: str, reason: str) -> Link:
    if status == Link.Status.CONFIRMED and not linkable_members().filter(pk=link.member_id).exists():
        raise LinkReviewError("the member is restricted or erased: no new links may be confirmed to them")
    with transaction.atomic():
        updated = Link.objects.filter(pk=link.pk, status=Link.Status.PROPOSED).update(
            status=status, reviewed_by=reviewer, reviewed_at=timezone.now()
        )
        if not updated:
            raise LinkReviewError("this link is no longer a proposal: someone has already confirmed or rejected it")
        link.refresh_from_db()
        audit(
            f"link.{status}",
            actor=reviewer,
            obj=link,
            account=link.account_id,
            member=link.member_id,
            probability=link.probability,
            reason=reason,
        )
    return link


def confirm_link(link: Link, reviewer: Any, reason: str = "") -> Link:
    """A person confirms the account is the member's; it becomes a label for the next training."""
    return _review_link(link, reviewer, Link.Status.CONFIRMED, reason)


def reject_link(link: Link, reviewer: Any, reason: str = "") -> Link:
    """A person rejects the pair; it is never proposed again."""
    return _review_link(link, reviewer, Link.Status.REJECTED, reason)


def evaluate(
    labels: list[tuple[int, int, bool]], *, trained: TrainedModel | None = None
) -> tuple[TrainedModel, list[lm.ThresholdRow]]:
    """Precision, recall and F1 by threshold of the current model on labelled pairs."""
    from linkage import model as lm  # splink and DuckDB load on first use, not at startup

    trained = trained or current_model()
    if trained is None:
        raise lm.LinkageError("no trained linkage model: run `assay linkage train` first")
    if not labels:
        raise lm.LinkageError("no labelled pairs to evaluate against")
    account_ids = {a for a, _m, _ok in labels}
    candidates = load_model(trained).predict(
        member_records(), account_records(Account.objects.filter(pk__in=account_ids)), threshold=0.01
    )
    return trained, lm.evaluate(candidates, labels)


def duplicate_members(threshold: float = 0.9, *, actor: Any = None) -> list[tuple[Member, Member, float]]:
    """Pairs of register entries that look like the same person, for an operator to merge.

    The list shows members' names and towns: an access to personal data, audited with how many
    pairs it showed (the pairs themselves are in the register, not the log).
    """
    from linkage import model as lm  # splink and DuckDB load on first use, not at startup

    pairs = lm.find_duplicate_members(None, member_records(), threshold)
    by_id = Member.objects.in_bulk({i for a, b, _p in pairs for i in (a, b)})
    audit("register.duplicates_listed", actor=actor, threshold=threshold, pairs=len(pairs))
    return [(by_id[a], by_id[b], p) for a, b, p in pairs]
