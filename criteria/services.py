"""Criteria services: draft and approve rule sets, and scan posts with the approved ones.

A rule set is edited as a new draft version; a second person approves it, which retires the
version before. :func:`run_rules` scans only posts the current version has not yet scanned
(posts are append-only, so a high-water mark per version is enough) and commits each batch's
hits together with the new mark: interrupted runs resume, repeated runs find nothing new.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from criteria.matcher import Matcher, PostView, compile_rules
from criteria.models import Hit, Rule, RuleSet
from criteria.query import QueryError, lint
from evidence.models import Post
from oversight.services import record as audit

BATCH_SIZE = 5000


class RuleSetError(ValueError):
    """A rule set cannot be saved or approved; the message says which rule and why."""


@dataclass(frozen=True)
class RuleSpec:
    code: str
    title: str
    query: str
    clause: str
    severity: int = Rule.Severity.MEDIUM


@dataclass
class RunSummary:
    rulesets: list[str] = field(default_factory=list)
    posts_scanned: int = 0
    hits: int = 0


def validate_rules(specs: Iterable[RuleSpec]) -> None:
    """Raise RuleSetError naming the first rule whose query does not parse or lint clean."""
    codes: set[str] = set()
    for spec in specs:
        if spec.code in codes:
            raise RuleSetError(f"rule {spec.code}: the code is used twice")
        codes.add(spec.code)
        if not spec.clause.strip():
            raise RuleSetError(f"rule {spec.code}: every rule must cite a rulebook clause")
        errors = [d for d in lint(spec.query) if d.severity == "error"]
        if errors:
            first = errors[0]
            raise RuleSetError(f"rule {spec.code}: {first.message} at position {first.position}")


def create_draft(name: str, specs: list[RuleSpec], *, author: Any, description: str = "") -> RuleSet:
    """Save a new draft version of rule set ``name``."""
    validate_rules(specs)
    with transaction.atomic():
        latest = RuleSet.objects.filter(name=name).aggregate(v=Max("version"))["v"] or 0
        ruleset = RuleSet.objects.create(name=name, version=latest + 1, description=description, created_by=author)
        Rule.objects.bulk_create(
            [
                Rule(ruleset=ruleset, code=s.code, title=s.title, query=s.query, clause=s.clause, severity=s.severity)
                for s in specs
            ]
        )
        audit("ruleset.drafted", actor=author, obj=ruleset, name=name, version=ruleset.version, rules=len(specs))
    return ruleset


def approve(ruleset: RuleSet, *, approver: Any) -> RuleSet:
    """Approve a draft; the approver must not be its author. Retires the previously approved version."""
    if ruleset.created_by_id == approver.pk:
        raise RuleSetError("a rule set must be approved by someone other than its author")
    with transaction.atomic():
        ruleset = RuleSet.objects.select_for_update().get(pk=ruleset.pk)
        if ruleset.status != RuleSet.Status.DRAFT:
            raise RuleSetError(f"{ruleset} is not a draft")
        validate_rules(RuleSpec(r.code, r.title, r.query, r.clause, r.severity) for r in ruleset.rules.all())
        RuleSet.objects.filter(name=ruleset.name, status=RuleSet.Status.APPROVED).update(status=RuleSet.Status.RETIRED)
        ruleset.status = RuleSet.Status.APPROVED
        ruleset.approved_by = approver
        ruleset.approved_at = timezone.now()
        ruleset.save(update_fields=["status", "approved_by", "approved_at"])
        audit("ruleset.approved", actor=approver, obj=ruleset, name=ruleset.name, version=ruleset.version)
    return ruleset


def _compile(ruleset: RuleSet) -> tuple[Matcher, Mapping[int, Rule]]:
    rules = {r.pk: r for r in ruleset.rules.all()}
    try:
        matcher = compile_rules((pk, r.query) for pk, r in rules.items())
    except QueryError as exc:
        raise RuleSetError(f"{ruleset}: {exc}") from None
    return matcher, rules


def _post_views(rows: list[dict[str, Any]]) -> list[PostView]:
    return [
        PostView(
            text=row["text"],
            lang=row["lang"],
            author_handle=row["account__handle"] or "",
            kind=row["kind"],
            created_at=row["created_at"],
        )
        for row in rows
    ]


def _scan_ruleset(
    ruleset: RuleSet, summary: RunSummary, progress: Callable[[int], None] | None, batch_size: int
) -> None:
    matcher, _rules = _compile(ruleset)
    mark = ruleset.scanned_through
    fields = ("pk", "text", "lang", "kind", "created_at", "account__handle")
    while True:
        rows = list(
            Post.objects.filter(pk__gt=mark, deleted_at__isnull=True).order_by("pk").values(*fields)[:batch_size]
        )
        if not rows:
            break
        hits = [
            Hit(post_id=row["pk"], rule_id=cast(int, m.key), ruleset=ruleset, spans=[list(s) for s in m.spans])
            for row, matches in zip(rows, matcher.match_many(_post_views(rows)), strict=True)
            for m in matches
        ]
        mark = rows[-1]["pk"]
        with transaction.atomic():
            Hit.objects.bulk_create(hits, ignore_conflicts=True)
            RuleSet.objects.filter(pk=ruleset.pk).update(scanned_through=mark)
        summary.posts_scanned += len(rows)
        summary.hits += len(hits)
        if progress is not None:
            progress(summary.posts_scanned)


def pending_posts() -> int:
    """How many posts the approved rule sets have yet to scan (for progress bars)."""
    marks = RuleSet.objects.filter(status=RuleSet.Status.APPROVED).values_list("scanned_through", flat=True)
    return sum(Post.objects.filter(pk__gt=m, deleted_at__isnull=True).count() for m in marks)


def run_rules(
    *, actor: Any = None, progress: Callable[[int], None] | None = None, batch_size: int = BATCH_SIZE
) -> RunSummary:
    """Scan every post not yet scanned by each approved rule set; record hits with their spans."""
    summary = RunSummary()
    for ruleset in RuleSet.objects.filter(status=RuleSet.Status.APPROVED).order_by("name"):
        before = (summary.posts_scanned, summary.hits)
        _scan_ruleset(ruleset, summary, progress, batch_size)
        summary.rulesets.append(f"{ruleset.name} v{ruleset.version}")
        audit(
            "rules.run",
            actor=actor,
            obj=ruleset,
            name=ruleset.name,
            version=ruleset.version,
            posts_scanned=summary.posts_scanned - before[0],
            hits=summary.hits - before[1],
        )
    return summary
