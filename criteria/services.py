"""Criteria services: draft and approve rule sets, and scan posts with the approved ones.

A rule set is edited as a new draft version; a second person approves it, which retires the
version before. :func:`run_rules` scans only posts the current version has not yet scanned
(posts are append-only, so a high-water mark per version is enough) and commits each batch's
hits together with the new mark: interrupted runs resume, repeated runs find nothing new.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from criteria import parallel
from criteria.matcher import Matcher, PostView, compile_rules
from criteria.models import Hit, Rule, RuleSet
from criteria.query import QueryError, lint
from evidence.context import CONNECTORS as CONTEXT_CONNECTORS
from evidence.models import CollectionRun, Post
from oversight.services import record as audit

BATCH_SIZE = 5000
PARALLEL_MIN_POSTS = 20_000


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
        newer = (
            RuleSet.objects.filter(name=ruleset.name, status=RuleSet.Status.APPROVED, version__gt=ruleset.version)
            .values_list("version", flat=True)
            .first()
        )
        if newer is not None:
            raise RuleSetError(f"v{newer} is already approved; approving this older draft would undo it")
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
        matcher = compile_rules(((pk, r.query) for pk, r in rules.items()), engine=matcher_engine())
    except QueryError as exc:
        raise RuleSetError(f"{ruleset}: {exc}") from None
    return matcher, rules


def matcher_engine() -> str:
    """The engine ASSAY_MATCHER_ENGINE names (``auto``: Hyperscan if installed, else pyahocorasick)."""
    try:
        return parallel.resolve_engine(settings.MATCHER_ENGINE)
    except ValueError as exc:
        raise RuleSetError(str(exc)) from None


def scannable_posts() -> QuerySet[Post]:
    """The posts rules run over: not deleted, and not fetched as context.

    A post fetched because a collected post answered it (:mod:`evidence.context`) is there for the
    reviewer to read the exchange; nobody searched for it, so its author is not put under review by it.
    """
    context_runs = CollectionRun.objects.filter(connector__in=CONTEXT_CONNECTORS.values()).values("pk")
    return Post.objects.filter(deleted_at__isnull=True).exclude(run_id__in=context_runs)


def _pending_rows(mark: int, batch_size: int) -> list[parallel.PostRow]:
    fields = ("pk", "text", "lang", "kind", "created_at", "account__handle")
    rows = scannable_posts().filter(pk__gt=mark).order_by("pk").values_list(*fields)
    return [(pk, text, lang, kind, at, handle or "") for pk, text, lang, kind, at, handle in rows[:batch_size]]


def _scan_ruleset(
    ruleset: RuleSet,
    summary: RunSummary,
    progress: Callable[[int], None] | None,
    batch_size: int,
    workers: int,
    rescan: bool = False,
) -> None:
    """Scan the posts this version has not seen, a batch at a time; each batch's hits commit with the mark."""
    matcher, rules = _compile(ruleset)
    mark = ruleset.scanned_through
    with ExitStack() as stack:
        scan: Callable[[list[parallel.PostRow]], list[parallel.HitRow]] = partial(parallel.match_rows, matcher)
        if workers > 1:
            pool = parallel.ParallelScanner(((pk, r.query) for pk, r in rules.items()), matcher_engine(), workers)
            scan = stack.enter_context(pool).scan
        while rows := _pending_rows(mark, batch_size):
            hits = [
                Hit(post_id=post_id, rule_id=cast(int, key), ruleset=ruleset, spans=spans, scores=scores)
                for post_id, key, spans, scores in scan(rows)
            ]
            mark = rows[-1][0]
            if rescan and hits:  # keep the hits already recorded for this batch's posts; add the rest
                held = Hit.objects.filter(post_id__in=[row[0] for row in rows], ruleset=ruleset)
                recorded = set(held.values_list("post_id", "rule_id"))
                hits = [hit for hit in hits if (hit.post_id, hit.rule_id) not in recorded]
            with transaction.atomic():
                Hit.objects.bulk_create(hits, ignore_conflicts=True)
                RuleSet.objects.filter(pk=ruleset.pk).update(scanned_through=mark)
            summary.posts_scanned += len(rows)
            summary.hits += len(hits)
            if progress is not None:
                progress(summary.posts_scanned)


def approved_rulesets() -> int:
    return RuleSet.objects.filter(status=RuleSet.Status.APPROVED).count()


def pending_posts() -> int:
    """How many posts the approved rule sets have yet to scan (for progress bars)."""
    marks = RuleSet.objects.filter(status=RuleSet.Status.APPROVED).values_list("scanned_through", flat=True)
    return sum(scannable_posts().filter(pk__gt=m).count() for m in marks)


def run_rules(
    *,
    actor: Any = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
    workers: int | None = None,
    rescan: bool = False,
) -> RunSummary:
    """Scan every post not yet scanned by each approved rule set; record hits with their spans.

    ``workers`` processes match in parallel (default ASSAY_RULE_WORKERS, else every core) when there
    are at least PARALLEL_MIN_POSTS to scan; fewer run in this process, where starting workers costs more.
    ``rescan`` scans every post again (after a matcher fix, or a change of engine): hits already
    recorded stay as they are, and only hits not yet recorded are added and counted.
    """
    summary = RunSummary()
    if rescan:
        with transaction.atomic():
            for ruleset in RuleSet.objects.filter(status=RuleSet.Status.APPROVED, scanned_through__gt=0):
                audit(
                    "rules.rescan",
                    actor=actor,
                    obj=ruleset,
                    name=ruleset.name,
                    version=ruleset.version,
                    scanned_through=ruleset.scanned_through,
                )
                RuleSet.objects.filter(pk=ruleset.pk).update(scanned_through=0)
    if workers is None:
        workers = settings.RULE_WORKERS or parallel.default_workers()
        workers = workers if pending_posts() >= PARALLEL_MIN_POSTS else 1
    for ruleset in RuleSet.objects.filter(status=RuleSet.Status.APPROVED).order_by("name"):
        before = (summary.posts_scanned, summary.hits)
        _scan_ruleset(ruleset, summary, progress, batch_size, workers, rescan)
        summary.rulesets.append(f"{ruleset.name} v{ruleset.version}")
        audit(
            "rules.run",
            actor=actor,
            obj=ruleset,
            name=ruleset.name,
            version=ruleset.version,
            posts_scanned=summary.posts_scanned - before[0],
            hits=summary.hits - before[1],
            engine=matcher_engine(),
            workers=workers,
            rescan=rescan,
        )
    return summary


# --- editing drafts, previews and diffs (the rule-set pages) --------------------------------------

PREVIEW_POSTS = 10_000
PREVIEW_EXAMPLES = 20
_COMPARED = ("title", "query", "clause", "severity")


def rule_spec(rule: Rule) -> RuleSpec:
    return RuleSpec(rule.code, rule.title, rule.query, rule.clause, rule.severity)


def new_ruleset(name: str, *, author: Any, description: str = "") -> RuleSet:
    """Start a rule set: version 1, an empty draft its author fills in."""
    name = name.strip()
    if not name:
        raise RuleSetError("a rule set needs a name")
    if RuleSet.objects.filter(name=name).exists():
        raise RuleSetError(f"a rule set called {name!r} exists already; edit it instead")
    return create_draft(name, [], author=author, description=description)


def start_draft(source: RuleSet, *, author: Any) -> RuleSet:
    """A new draft version of ``source``'s rule set, a copy of its rules, for ``author`` to change.

    Rules are copied as they are, even one the linter has since become stricter about: the
    draft is where it gets fixed, and approval refuses it until then.
    """
    rules = list(source.rules.order_by("code"))
    with transaction.atomic():
        latest = RuleSet.objects.filter(name=source.name).aggregate(v=Max("version"))["v"] or 0
        draft = RuleSet.objects.create(
            name=source.name, version=latest + 1, description=source.description, created_by=author
        )
        Rule.objects.bulk_create(
            [
                Rule(ruleset=draft, code=r.code, title=r.title, query=r.query, clause=r.clause, severity=r.severity)
                for r in rules
            ]
        )
        audit(
            "ruleset.drafted",
            actor=author,
            obj=draft,
            name=draft.name,
            version=draft.version,
            rules=len(rules),
            from_version=source.version,
        )
    return draft


def edit_refusal(ruleset: RuleSet, user: Any) -> str:
    """Why ``user`` may not change ``ruleset`` in place ("" when they may).

    Only a draft changes, and only its author changes it: otherwise the approver could
    approve words they wrote themselves, and the two-person rule would mean nothing.
    """
    if ruleset.status != RuleSet.Status.DRAFT:
        return f"version {ruleset.version} is {ruleset.status}; changes go into a new draft"
    if ruleset.created_by_id != user.pk:
        return f"only its author, {ruleset.created_by}, changes this draft"
    return ""


def _lock_for_edit(ruleset: RuleSet, actor: Any) -> RuleSet:
    locked = RuleSet.objects.select_for_update().select_related("created_by").get(pk=ruleset.pk)
    refusal = edit_refusal(locked, actor)
    if refusal:
        raise RuleSetError(refusal)
    return locked


def save_rule(ruleset: RuleSet, spec: RuleSpec, *, actor: Any, rule: Rule | None = None) -> Rule:
    """Add ``spec`` to a draft, or change ``rule`` of it to ``spec``; the query must lint clean."""
    validate_rules([spec])
    with transaction.atomic():
        ruleset = _lock_for_edit(ruleset, actor)
        others = ruleset.rules.exclude(pk=rule.pk) if rule is not None else ruleset.rules.all()
        if others.filter(code=spec.code).exists():
            raise RuleSetError(f"rule {spec.code}: the code is used twice")
        if rule is None:
            return _add_rule(ruleset, spec, actor)
        return _change_rule(ruleset, rule, spec, actor)


def _add_rule(ruleset: RuleSet, spec: RuleSpec, actor: Any) -> Rule:
    rule = Rule.objects.create(
        ruleset=ruleset, code=spec.code, title=spec.title, query=spec.query, clause=spec.clause, severity=spec.severity
    )
    audit("ruleset.rule_added", actor=actor, obj=ruleset, version=ruleset.version, **_spec_fields(spec))
    return rule


def _change_rule(ruleset: RuleSet, rule: Rule, spec: RuleSpec, actor: Any) -> Rule:
    rule = Rule.objects.get(pk=rule.pk, ruleset=ruleset)
    before, after = _spec_fields(rule_spec(rule)), _spec_fields(spec)
    changes = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
    if not changes:
        return rule
    for name, (_old, new) in changes.items():
        setattr(rule, name, new)
    rule.save(update_fields=list(changes))
    audit("ruleset.rule_changed", actor=actor, obj=ruleset, version=ruleset.version, code=spec.code, changes=changes)
    return rule


def remove_rule(rule: Rule, *, actor: Any) -> None:
    """Take a rule out of its draft."""
    with transaction.atomic():
        ruleset = _lock_for_edit(rule.ruleset, actor)
        fields = _spec_fields(rule_spec(rule))
        audit("ruleset.rule_removed", actor=actor, obj=ruleset, version=ruleset.version, **fields)
        rule.delete()


def _spec_fields(spec: RuleSpec) -> dict[str, Any]:
    return {
        "code": spec.code,
        "title": spec.title,
        "query": spec.query,
        "clause": spec.clause,
        "severity": int(spec.severity),
    }


def approval_refusals(ruleset: RuleSet, user: Any) -> list[str]:
    """Every reason ``user`` cannot approve ``ruleset`` now (empty: they can). :func:`approve` re-checks."""
    reasons: list[str] = []
    if ruleset.status != RuleSet.Status.DRAFT:
        reasons.append(f"version {ruleset.version} is {ruleset.status}, not a draft")
    if ruleset.created_by_id == user.pk:
        reasons.append("you drafted it, and a rule set must be approved by someone other than its author")
    newer = _newer_approved(ruleset)
    if newer is not None:
        reasons.append(
            f"version {newer.version}, approved since this draft was made, is newer; start a new draft from it"
        )
    rules = list(ruleset.rules.order_by("code"))
    if not rules:
        reasons.append("it has no rules")
    for rule in rules:
        errors = [d for d in lint(rule.query) if d.severity == "error"]
        if errors:
            reasons.append(f"rule {rule.code} has an error: {errors[0].message} at position {errors[0].position}")
    return reasons


@dataclass(frozen=True)
class PreviewExample:
    post_id: int
    text: str
    spans: tuple[tuple[int, int], ...]
    handle: str
    platform: str
    url: str
    created_at: Any


@dataclass(frozen=True)
class Preview:
    query: str
    scanned: int
    hits: int
    examples: list[PreviewExample]


def preview_query(
    query: str,
    *,
    actor: Any,
    ruleset: RuleSet | None = None,
    limit: int = PREVIEW_POSTS,
    examples: int = PREVIEW_EXAMPLES,
) -> Preview:
    """Run an unsaved query over the latest ``limit`` posts; count hits and keep a few examples.

    Raises :class:`QueryError` when the query has a lint error. "Latest" is by collection order
    (posts are append-only); deleted posts are left out. Showing post text is audited, with the
    ids of the posts shown.
    """
    matcher = compile_rules([("preview", query)], engine=matcher_engine())
    fields = ("pk", "text", "lang", "kind", "created_at", "url", "platform", "account__handle")
    rows = list(scannable_posts().order_by("-pk").values(*fields)[:limit])
    found: list[PreviewExample] = []
    hits = 0
    views = [PostView(r["text"], r["lang"], r["account__handle"] or "", r["kind"], r["created_at"]) for r in rows]
    for row, matches in zip(rows, matcher.match_many(views), strict=True):
        if not matches:
            continue
        hits += 1
        if len(found) < examples:
            found.append(_example(row, matches[0].spans))
    audit(
        "criteria.preview",
        actor=actor,
        obj=ruleset,
        query=query,
        posts_scanned=len(rows),
        hits=hits,
        shown=[e.post_id for e in found],
    )
    return Preview(query, len(rows), hits, found)


def _example(row: dict[str, Any], spans: tuple[tuple[int, int], ...]) -> PreviewExample:
    return PreviewExample(
        post_id=row["pk"],
        text=row["text"],
        spans=spans,
        handle=row["account__handle"] or "",
        platform=row["platform"],
        url=row["url"],
        created_at=row["created_at"],
    )


@dataclass(frozen=True)
class FieldChange:
    name: str
    old: str
    new: str


@dataclass(frozen=True)
class RuleChange:
    code: str
    old: Rule
    new: Rule
    fields: list[FieldChange]


@dataclass(frozen=True)
class RuleSetDiff:
    old: RuleSet
    new: RuleSet
    added: list[Rule]
    removed: list[Rule]
    changed: list[RuleChange]
    unchanged: int

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_versions(old: RuleSet, new: RuleSet) -> RuleSetDiff:
    """What changed from ``old`` to ``new``, rule by rule (rules are matched by code)."""
    before = {r.code: r for r in old.rules.order_by("code")}
    after = {r.code: r for r in new.rules.order_by("code")}
    changed: list[RuleChange] = []
    for code in sorted(before.keys() & after.keys()):
        fields = [
            FieldChange(name, _shown(before[code], name), _shown(after[code], name))
            for name in _COMPARED
            if getattr(before[code], name) != getattr(after[code], name)
        ]
        if fields:
            changed.append(RuleChange(code, before[code], after[code], fields))
    return RuleSetDiff(
        old=old,
        new=new,
        added=[after[c] for c in sorted(after.keys() - before.keys())],
        removed=[before[c] for c in sorted(before.keys() - after.keys())],
        changed=changed,
        unchanged=len(before.keys() & after.keys()) - len(changed),
    )


def _shown(rule: Rule, name: str) -> str:
    if name == "severity":
        return str(rule.get_severity_display())
    return str(getattr(rule, name))


def fingerprint(ruleset: RuleSet) -> str:
    """A digest of a version's rules: what an approver saw, so a later change cannot slip past them."""
    specs = [_spec_fields(rule_spec(r)) for r in ruleset.rules.order_by("code")]
    canonical = json.dumps([ruleset.description, specs], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def approve_as_seen(ruleset: RuleSet, *, approver: Any, seen: str) -> RuleSet:
    """:func:`approve`, but only if the rules are still the ones the approver read (``seen``)."""
    with transaction.atomic():
        locked = RuleSet.objects.select_for_update().get(pk=ruleset.pk)
        if fingerprint(locked) != seen:
            raise RuleSetError("the draft changed after you opened it; read it again before approving")
        newer = _newer_approved(locked)
        if newer is not None:
            raise RuleSetError(f"version {newer.version} is approved and newer; start a new draft from it")
        return approve(locked, approver=approver)


def _newer_approved(ruleset: RuleSet) -> RuleSet | None:
    """The approved version of the same rule set, if it is newer than ``ruleset`` (approving would undo it)."""
    approved = RuleSet.objects.filter(name=ruleset.name, status=RuleSet.Status.APPROVED, version__gt=ruleset.version)
    return approved.first()
