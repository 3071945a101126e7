"""Rule-set pages. Thin: access is decided in :func:`_get_ruleset_for_user`, work is done in services.

Operators and leads read, draft, edit and approve; oversight reads every version in full and
changes nothing; reviewers have no business here. "Test this rule" shows members' posts, so it
is for operators and leads only, and each run is an audit event.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from operator import attrgetter
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from criteria import services
from criteria.forms import NewRuleSetForm, RuleForm
from criteria.models import Rule, RuleSet
from criteria.query import lint
from evidence.highlight import highlight
from oversight.roles import Role, request_roles

_READ = {Role.OPERATOR, Role.LEAD, Role.OVERSIGHT}
_WRITE = {Role.OPERATOR, Role.LEAD}
_NO_ACCESS = "rule sets are for operators, leads and oversight"
_READ_ONLY = "oversight reads every rule set but does not change them or see members' posts"


# ---------------------------------------------------------------------------------------------
# access: the one place that decides who may do what with a rule set


def _require(request: HttpRequest, *, write: bool) -> None:
    roles = request_roles(request)
    if not roles & _READ:
        raise PermissionDenied(_NO_ACCESS)
    if write and not roles & _WRITE:
        raise PermissionDenied(_READ_ONLY)


def _get_ruleset_for_user(request: HttpRequest, ruleset_id: int, *, write: bool = False) -> RuleSet:
    """The rule-set version, if this user may read it (or, with ``write``, act on it); 403 otherwise."""
    _require(request, write=write)
    return get_object_or_404(RuleSet.objects.select_related("created_by", "approved_by"), pk=ruleset_id)


def _get_draft_for_user(request: HttpRequest, ruleset_id: int) -> RuleSet:
    """A draft this user may change in place: only its author, and only while it is a draft."""
    ruleset = _get_ruleset_for_user(request, ruleset_id, write=True)
    refusal = services.edit_refusal(ruleset, request.user)
    if refusal:
        raise PermissionDenied(refusal)
    return ruleset


# ---------------------------------------------------------------------------------------------
# presentation helpers


@dataclass(frozen=True)
class _Diagnostic:
    """A lint diagnostic with the query split at its position, so the caret can be drawn."""

    severity: str
    message: str
    position: int
    hint: str
    before: str
    at: str
    after: str

    def as_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _diagnostics(query: str) -> list[_Diagnostic]:
    out: list[_Diagnostic] = []
    for d in lint(query):
        pos = max(0, min(d.position, len(query)))
        out.append(_Diagnostic(d.severity, d.message, pos, d.hint, query[:pos], query[pos : pos + 1], query[pos + 1 :]))
    return out


def _marked(text: str, spans: Iterable[tuple[int, int]]) -> SafeString:
    """``text`` escaped, with each span (clipped, merged) wrapped in ``<mark>``."""
    return mark_safe(highlight(text, spans))  # noqa: S308 -- highlight() escapes every character of the text


_TOKENS = re.compile(r"\s+|[^\s]+")


def _inline_diff(old: str, new: str) -> tuple[SafeString, SafeString]:
    """Both texts escaped, words only in ``old`` in ``<del>``, words only in ``new`` in ``<ins>``."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    left: list[str] = []
    right: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        removed, added = html.escape("".join(a[i1:i2])), html.escape("".join(b[j1:j2]))
        if op == "equal":
            left.append(removed)
            right.append(added)
            continue
        if removed:
            left.append(f"<del>{removed}</del>")
        if added:
            right.append(f"<ins>{added}</ins>")
    return mark_safe("".join(left)), mark_safe("".join(right))  # noqa: S308 -- escaped piece by piece above


# ---------------------------------------------------------------------------------------------
# reading


@login_required
@require_GET
def list_rulesets(request: HttpRequest) -> HttpResponse:
    """Every rule set with all its versions: status, who drafted and approved it, when, how many rules."""
    _require(request, write=False)
    versions = (
        RuleSet.objects.select_related("created_by", "approved_by")
        .annotate(n_rules=Count("rules"))
        .order_by("name", "-version")
    )
    groups = [(name, list(rows)) for name, rows in groupby(versions, key=attrgetter("name"))]
    return render(
        request, "criteria/rulesets.html", {"groups": groups, "can_write": bool(request_roles(request) & _WRITE)}
    )


@dataclass
class _RuleRow:
    rule: Rule
    diagnostics: list[_Diagnostic]

    @property
    def has_error(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)


@login_required
@require_GET
def show_ruleset(request: HttpRequest, ruleset_id: int) -> HttpResponse:
    """One version in full: every rule, its query, clause and severity; edit and approval where allowed."""
    ruleset = _get_ruleset_for_user(request, ruleset_id)
    can_write = bool(request_roles(request) & _WRITE)
    rules = [_RuleRow(r, _diagnostics(r.query)) for r in ruleset.rules.order_by("severity", "code")]
    others = list(
        RuleSet.objects.filter(name=ruleset.name)
        .exclude(pk=ruleset.pk)
        .select_related("created_by")
        .order_by("-version")
    )
    edit_refusal = services.edit_refusal(ruleset, request.user)
    context = {
        "ruleset": ruleset,
        "rules": rules,
        "can_write": can_write,
        "can_edit": can_write and not edit_refusal,
        "edit_refusal": edit_refusal,
        "next_version": max([ruleset.version, *(o.version for o in others)]) + 1,
        "approval_refusals": services.approval_refusals(ruleset, request.user) if can_write else [],
        "fingerprint": services.fingerprint(ruleset) if can_write and ruleset.status == RuleSet.Status.DRAFT else "",
        "others": others,
        "other_drafts": [o for o in others if o.status == RuleSet.Status.DRAFT],
        "previous": next((o for o in others if o.version < ruleset.version), None),
    }
    return render(request, "criteria/ruleset.html", context)


def _ordered_pair(a: RuleSet, b: RuleSet) -> tuple[RuleSet, RuleSet]:
    return (a, b) if a.version < b.version else (b, a)


@login_required
@require_GET
def compare_versions(request: HttpRequest, ruleset_id: int) -> HttpResponse:
    """What changed between two versions of a rule set (``?against=<id>``; default the version before)."""
    this = _get_ruleset_for_user(request, ruleset_id)
    others = list(RuleSet.objects.filter(name=this.name).exclude(pk=this.pk).order_by("-version"))
    against = request.GET.get("against", "")
    if against:
        other = next((o for o in others if str(o.pk) == against), None)
        if other is None:
            raise Http404("no such version of this rule set")
    else:
        other = next((o for o in others if o.version < this.version), None)
    diff = None
    if other is not None:
        diff = services.diff_versions(*_ordered_pair(other, this))
    changes = [
        (change, [(f, *_inline_diff(f.old, f.new)) for f in change.fields]) for change in (diff.changed if diff else [])
    ]
    context = {"this": this, "other": other, "others": others, "diff": diff, "changes": changes}
    return render(request, "criteria/diff.html", context)


# ---------------------------------------------------------------------------------------------
# drafting and approving (POST, then redirect)


@login_required
@require_http_methods(["GET", "POST"])
def new_ruleset(request: HttpRequest) -> HttpResponse:
    """Start a rule set: a name and what it is for; its rules come next."""
    _require(request, write=True)
    form = NewRuleSetForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            data = form.cleaned_data
            ruleset = services.new_ruleset(data["name"], author=request.user, description=data["description"])
        except services.RuleSetError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Rule set {ruleset.name} started as draft version 1. Add its first rule.")
            return redirect("criteria-rule-new", ruleset_id=ruleset.pk)
    return render(request, "criteria/new.html", {"form": form})


@login_required
@require_POST
def start_draft(request: HttpRequest, ruleset_id: int) -> HttpResponse:
    """Edit a version: make a new draft version with a copy of its rules."""
    source = _get_ruleset_for_user(request, ruleset_id, write=True)
    draft = services.start_draft(source, author=request.user)
    messages.success(
        request,
        f"Draft version {draft.version} made from version {source.version}. "
        "Change its rules, then ask someone else to approve it.",
    )
    return redirect("criteria-ruleset", ruleset_id=draft.pk)


@login_required
@require_POST
def approve_ruleset(request: HttpRequest, ruleset_id: int) -> HttpResponse:
    """A second person approves a draft; the previously approved version is retired."""
    ruleset = _get_ruleset_for_user(request, ruleset_id, write=True)
    refusals = services.approval_refusals(ruleset, request.user)
    if refusals:
        messages.error(request, f"Version {ruleset.version} was not approved: {'; '.join(refusals)}.")
        return redirect("criteria-ruleset", ruleset_id=ruleset.pk)
    try:
        services.approve_as_seen(ruleset, approver=request.user, seen=request.POST.get("seen", ""))
    except services.RuleSetError as exc:
        messages.error(request, f"Version {ruleset.version} was not approved: {exc}.")
    else:
        messages.success(request, f"{ruleset.name} version {ruleset.version} approved. Rule runs now use it.")
    return redirect("criteria-ruleset", ruleset_id=ruleset.pk)


# ---------------------------------------------------------------------------------------------
# the rule editor


def _render_editor(
    request: HttpRequest,
    draft: RuleSet,
    rule: Rule | None,
    form: RuleForm,
    query: str,
    *,
    tested: bool = False,
    preview: services.Preview | None = None,
) -> HttpResponse:
    examples = [(e, _marked(e.text, e.spans)) for e in preview.examples] if preview else []
    context = {
        "ruleset": draft,
        "rule": rule,
        "form": form,
        "diagnostics": _diagnostics(query) if query.strip() else [],
        "diagnostics_checked": bool(query.strip()),
        "tested": tested,
        "preview": preview,
        "examples": examples,
        "preview_posts": f"{services.PREVIEW_POSTS:,}",
    }
    return render(request, "criteria/rule_form.html", context)


def _test_query(request: HttpRequest, draft: RuleSet, rule: Rule | None) -> HttpResponse:
    """Run the unsaved query over recent posts; the other fields are kept as typed, unvalidated."""
    query = request.POST.get("query", "")
    form = RuleForm(initial=request.POST.dict())
    preview = None
    if query.strip() and not any(d.severity == "error" for d in lint(query)):
        preview = services.preview_query(query, actor=request.user, ruleset=draft)
    return _render_editor(request, draft, rule, form, query, tested=True, preview=preview)


@login_required
@require_http_methods(["GET", "POST"])
def edit_rule(request: HttpRequest, ruleset_id: int, rule_id: int | None = None) -> HttpResponse:
    """Add a rule to a draft, or change one; "Test this rule" previews it without saving."""
    draft = _get_draft_for_user(request, ruleset_id)
    rule = get_object_or_404(draft.rules, pk=rule_id) if rule_id is not None else None
    if request.method == "GET":
        form = RuleForm(initial=RuleForm.initial_for(rule) if rule else None)
        return _render_editor(request, draft, rule, form, rule.query if rule else "")
    if request.POST.get("action") == "test":
        return _test_query(request, draft, rule)
    form = RuleForm(request.POST)
    if form.is_valid():
        try:
            saved = services.save_rule(draft, form.spec(), actor=request.user, rule=rule)
        except services.RuleSetError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Rule {saved.code} saved in draft version {draft.version}.")
            return redirect("criteria-ruleset", ruleset_id=draft.pk)
    return _render_editor(request, draft, rule, form, request.POST.get("query", ""))


@login_required
@require_POST
def remove_rule(request: HttpRequest, ruleset_id: int, rule_id: int) -> HttpResponse:
    """Take a rule out of a draft."""
    draft = _get_draft_for_user(request, ruleset_id)
    rule = get_object_or_404(draft.rules, pk=rule_id)
    try:
        services.remove_rule(rule, actor=request.user)
    except services.RuleSetError as exc:
        messages.error(request, f"Rule {rule.code} was not removed: {exc}.")
    else:
        messages.success(request, f"Rule {rule.code} removed from draft version {draft.version}.")
    return redirect("criteria-ruleset", ruleset_id=draft.pk)


@login_required
@require_http_methods(["GET", "POST"])
def lint_query(request: HttpRequest) -> JsonResponse:
    """The editor's live validation: ``q`` → its diagnostics, errors first, with positions.

    The editor POSTs (a long rule, URL-encoded, can pass a proxy's request-line limit); GET is
    accepted for trying it by hand.
    """
    _require(request, write=True)
    diagnostics = _diagnostics((request.POST if request.method == "POST" else request.GET).get("q", ""))
    return JsonResponse(
        {
            "ok": not any(d.severity == "error" for d in diagnostics),
            "diagnostics": [d.as_json() for d in diagnostics],
        }
    )
