"""Rules figures for oversight: every rule-set version, who drafted and approved it, and hits by clause.

Rule sets are readable in full by oversight (``/rules/``); each version here links to its page.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse

from criteria.models import Rule, RuleSet
from oversight.figures import Link, Table, Value, figure


@figure(
    "criteria.rulesets",
    section="rules",
    label="Rule sets and their versions",
    help="Every version of every rule set: its status, how many rules it has, who drafted it and which second "
    "person approved it. Follow a version to read its rules, queries and rulebook clauses in full.",
    order=10,
)
def rulesets() -> Value:
    versions = (
        RuleSet.objects.select_related("created_by", "approved_by")
        .annotate(n_rules=Count("rules"))
        .order_by("name", "-version")
    )
    return Table(
        ("Rule set", "Version", "Status", "Rules", "Drafted by", "Approved by", "Approved on"),
        tuple(
            (
                r.name,
                Link(f"v{r.version}", reverse("criteria-ruleset", args=[r.pk])),
                r.get_status_display(),
                r.n_rules,
                r.created_by.get_username(),
                r.approved_by.get_username() if r.approved_by else None,
                f"{r.approved_at:%Y-%m-%d}" if r.approved_at else None,
            )
            for r in versions
        ),
        label_columns=3,
    )


@figure(
    "criteria.versions",
    section="rules",
    label="Rule-set versions by status",
    help="Drafts are not used until a second person approves them; an approved version is retired when the next "
    "one is approved.",
    order=20,
)
def versions() -> Value:
    found = dict(RuleSet.objects.order_by().values_list("status").annotate(n=Count("pk")))
    return Table(("Status", "Versions"), tuple((label, found.get(value, 0)) for value, label in RuleSet.Status.choices))


@figure(
    "criteria.hits_by_clause",
    section="rules",
    label="Hits by rule and rulebook clause",
    help="Posts each rule of an approved (or since retired) version matched, with the rulebook clause it enforces. "
    "A hit is a match to be reviewed, not a finding.",
    order=30,
    people=True,
)
def hits_by_clause() -> Value:
    rows = (
        Rule.objects.filter(~Q(ruleset__status=RuleSet.Status.DRAFT))
        .values("ruleset__name", "ruleset__version", "code", "clause", "severity")
        .annotate(n=Count("hits"))
        .order_by("ruleset__name", "-ruleset__version", "severity", "code")
    )
    severities = dict(Rule.Severity.choices)
    return Table(
        ("Rule set", "Rule", "Clause", "Severity", "Hits"),
        tuple(
            (
                f"{r['ruleset__name']} v{r['ruleset__version']}",
                r["code"],
                r["clause"],
                str(severities.get(r["severity"], r["severity"])),
                r["n"],
            )
            for r in rows
        ),
        label_columns=4,
    )
