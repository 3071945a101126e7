"""Register figures for oversight: how many members, and how many identifiers they declared. Counts only."""

from __future__ import annotations

from django.db.models import Count

from oversight.figures import Table, Value, figure
from register.models import DeclaredIdentifier, Member


@figure(
    "register.members",
    section="linkage",
    label="Members on the register, by status",
    help="The membership register accounts are linked against.",
    order=10,
    people=True,
)
def members() -> Value:
    found = dict(Member.objects.order_by().values_list("status").annotate(n=Count("pk")))
    return Table(("Status", "Members"), tuple((label, found.get(value, 0)) for value, label in Member.Status.choices))


@figure(
    "register.identifiers",
    section="linkage",
    label="Identifiers members declared",
    help="Handles, emails and profile addresses members gave the organisation themselves, by kind and platform, "
    "and how many members gave at least one. Under the declared policy these are the only way a link is made.",
    order=20,
    people=True,
)
def identifiers() -> Value:
    rows = (
        DeclaredIdentifier.objects.values("kind", "platform")
        .annotate(n=Count("pk"), members=Count("member", distinct=True))
        .order_by("kind", "platform")
    )
    kinds = dict(DeclaredIdentifier.Kind.choices)
    return Table(
        ("Kind", "Platform", "Identifiers", "Members"),
        tuple((str(kinds.get(r["kind"], r["kind"])), r["platform"] or "any", r["n"], r["members"]) for r in rows),
        label_columns=2,
    )
