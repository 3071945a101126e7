"""Review figures for oversight: cases by month and state, overdue, outcomes, sign-offs, time to decision.

Counts of cases and decisions are counts of people: small cells are suppressed by oversight.
"""

from __future__ import annotations

import statistics

from django.db.models import Count, Min, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from oversight.figures import Table, Value, figure
from oversight.services import min_cell, share_of
from review.models import Appeal, Case, Conflict, Decision, EvidencePack, Notice, SecondLook
from review.workflow import ADVERSE, OUTCOME_LABELS, AppealOutcome, AppealState, Outcome, State

_IN_EFFECT = Q(outcome__in=[o.value for o in Outcome if o not in ADVERSE]) | Q(signed_off_at__isnull=False)
_ADVERSE = [o.value for o in ADVERSE]
_STATE_LABELS = {
    State.OPEN: "open",
    State.ASSIGNED: "assigned",
    State.AWAITING_SIGNOFF: "awaiting sign-off",
    State.CLOSED: "closed",
}


@figure(
    "review.cases_by_month",
    section="review",
    label="Cases opened and closed, by month",
    help="A case gathers the rule hits against one member (or one account not linked to a member) for a reviewer.",
    order=10,
    people=True,
)
def cases_by_month() -> Value:
    opened = dict(
        Case.objects.annotate(month=TruncMonth("opened_at")).order_by().values_list("month").annotate(n=Count("pk"))
    )
    closed = dict(
        Case.objects.filter(closed_at__isnull=False)
        .annotate(month=TruncMonth("closed_at"))
        .order_by()
        .values_list("month")
        .annotate(n=Count("pk"))
    )
    months = sorted(set(opened) | set(closed))
    return Table(
        ("Month", "Opened", "Closed"), tuple((f"{m:%Y-%m}", opened.get(m, 0), closed.get(m, 0)) for m in months)
    )


@figure(
    "review.cases_by_state",
    section="review",
    label="Cases by state",
    help="Open: waiting to be assigned; assigned: with a reviewer; awaiting sign-off: an adverse decision waiting "
    "for a second person; closed: decided.",
    order=20,
    people=True,
)
def cases_by_state() -> Value:
    found = dict(Case.objects.order_by().values_list("state").annotate(n=Count("pk")))
    return Table(("State", "Cases"), tuple((_STATE_LABELS[s], found.get(s.value, 0)) for s in State))


@figure(
    "review.overdue",
    section="review",
    label="Cases overdue",
    help="Cases not yet closed whose deadline (set by the severity of the rule hit) has passed.",
    order=30,
)
def overdue() -> Value:
    return int(Case.objects.exclude(state=State.CLOSED.value).filter(due_at__lt=timezone.now()).count())


@figure(
    "review.outcomes",
    section="review",
    label="Outcomes by type",
    help="Decisions in effect: those with no adverse outcome, and adverse ones a second person signed off, less "
    "any an appeal overturned.",
    order=40,
    people=True,
)
def outcomes() -> Value:
    found = dict(
        Decision.objects.standing().filter(_IN_EFFECT).order_by().values_list("outcome").annotate(n=Count("pk"))
    )
    return Table(("Outcome", "Decisions"), tuple((OUTCOME_LABELS[o], found.get(o.value, 0)) for o in Outcome))


@figure(
    "review.adverse_share",
    section="review",
    label="Share of outcomes that are adverse",
    help="Advice, a formal warning or a referral, as a share of all decisions in effect.",
    order=50,
    unit="%",
)
def adverse_share() -> Value:
    counts = (
        Decision.objects.standing()
        .filter(_IN_EFFECT)
        .aggregate(total=Count("pk"), adverse=Count("pk", filter=Q(outcome__in=_ADVERSE)))
    )
    return share_of(int(counts["adverse"]), int(counts["total"]), counted="adverse or other outcomes")


@figure(
    "review.signoffs",
    section="review",
    label="Second-person sign-off",
    help="No adverse outcome is final until a lead other than the deciding reviewer signs it off or sends it back "
    "with reasons.",
    order=60,
    people=True,
)
def signoffs() -> Value:
    adverse = Decision.objects.filter(outcome__in=_ADVERSE).aggregate(
        signed=Count("pk", filter=Q(signed_off_at__isnull=False)),
        sent_back=Count("pk", filter=Q(sent_back_at__isnull=False)),
        waiting=Count("pk", filter=Q(signed_off_at__isnull=True, sent_back_at__isnull=True)),
    )
    return Table(
        ("Adverse decisions", "Decisions"),
        (
            ("signed off", adverse["signed"]),
            ("sent back to the reviewer", adverse["sent_back"]),
            ("awaiting sign-off", adverse["waiting"]),
        ),
    )


@figure(
    "review.time_to_decision",
    section="review",
    label="Median time to a first decision",
    help="From the day a case was opened to its reviewer's first decision, in days (the middle case: half took less).",
    order=70,
    unit="days",
)
def time_to_decision() -> Value:
    pairs = (
        Case.objects.annotate(first=Min("decisions__decided_at"))
        .filter(first__isnull=False)
        .values_list("opened_at", "first")
    )
    days = [(first - opened).total_seconds() / 86400 for opened, first in pairs]
    smallest = min_cell()
    if not days:
        return None
    if len(days) < smallest:
        return f"not shown: fewer than {smallest} cases decided"
    return round(float(statistics.median(days)), 1)


@figure(
    "review.conflicts",
    section="review",
    label="Conflicts of interest declared, by month",
    help="Staff who stepped aside from a person because they know them (or for another conflict): they are not "
    "given that person's cases, sign-offs or appeals. Many in a small organisation is expected; none at all may "
    "mean people are not declaring them.",
    order=75,
    people=True,
)
def conflicts() -> Value:
    found = (
        Conflict.objects.annotate(month=TruncMonth("declared_at"))
        .order_by("month")
        .values_list("month")
        .annotate(n=Count("pk"), people=Count("person", distinct=True))
    )
    return Table(("Month", "Declared", "Staff declaring"), tuple((f"{m:%Y-%m}", n, p) for m, n, p in found))


@figure(
    "review.second_looks",
    section="review",
    label="Second looks at decisions that found no breach, by month",
    help="A share of decisions finding no breach (ASSAY_SECOND_LOOK_SHARE) is picked at random for a lead who took "
    "no part to look at again. Selected counts by the month picked; looked at, agreed and disagreed by the month "
    "looked at. Many disagreements mean reviewers are judging differently.",
    order=78,
    people=True,
)
def second_looks() -> Value:
    selected = dict(
        SecondLook.objects.annotate(month=TruncMonth("selected_at"))
        .order_by()
        .values_list("month")
        .annotate(n=Count("pk"))
    )
    looked = {
        month: (n, agreed, disagreed)
        for month, n, agreed, disagreed in SecondLook.objects.filter(looked_at__isnull=False)
        .annotate(month=TruncMonth("looked_at"))
        .order_by()
        .values_list("month")
        .annotate(
            n=Count("pk"), agreed=Count("pk", filter=Q(agrees=True)), disagreed=Count("pk", filter=Q(agrees=False))
        )
    }
    months = sorted(set(selected) | set(looked))
    return Table(
        ("Month", "Selected", "Looked at", "Agreed", "Disagreed"),
        tuple((f"{m:%Y-%m}", selected.get(m, 0), *looked.get(m, (0, 0, 0))) for m in months),
    )


# ---------------------------------------------------------------------------------------------
# notices to members and their appeals


@figure(
    "review.notices",
    section="review",
    label="Notices to members",
    help="Every adverse decision signed off is put to the member in a notice with the evidence: drafted, then "
    "emailed (with a link to it) or posted. A draft not yet sent has not reached the member.",
    order=80,
    people=True,
)
def notices() -> Value:
    found = dict(Notice.objects.order_by().values_list("status").annotate(n=Count("pk")))
    opened = Notice.objects.filter(first_viewed_at__isnull=False).count()
    rows: list[tuple[str, int]] = [(str(label), found.get(status, 0)) for status, label in Notice.Status.choices]
    rows.append(("opened by the member at their link", opened))
    return Table(("Notices", "Members"), tuple(rows))


@figure(
    "review.appeals",
    section="review",
    label="Appeals and their outcomes",
    help="Members may appeal an adverse decision; a lead who took no part in it decides. Allowed: the decision is "
    "overturned and no longer counts among the outcomes above.",
    order=90,
    people=True,
)
def appeals() -> Value:
    counts = Appeal.objects.aggregate(
        waiting=Count("pk", filter=Q(state=AppealState.RECEIVED.value)),
        with_lead=Count("pk", filter=Q(state=AppealState.ASSIGNED.value)),
        upheld=Count("pk", filter=Q(outcome=AppealOutcome.UPHELD.value)),
        allowed=Count("pk", filter=Q(outcome=AppealOutcome.ALLOWED.value)),
        overdue=Count("pk", filter=~Q(state=AppealState.DECIDED.value) & Q(due_at__lt=timezone.now())),
    )
    return Table(
        ("Appeals", "Appeals"),
        (
            ("received, waiting for a lead", counts["waiting"]),
            ("with a lead", counts["with_lead"]),
            ("upheld: the decision stands", counts["upheld"]),
            ("allowed: the decision is overturned", counts["allowed"]),
            ("not decided by their due date", counts["overdue"]),
        ),
    )


@figure(
    "review.evidence_packs",
    section="review",
    label="Evidence packs built for the disciplinary panel",
    help="A pack puts a case with a signed-off adverse outcome (usually a referral) before the panel: the posts, "
    "how the account was linked, the decisions and their audit trail. Each build is audited.",
    order=100,
    people=True,
)
def evidence_packs() -> Value:
    counts = EvidencePack.objects.aggregate(cases=Count("case_id", distinct=True), builds=Count("pk"))
    return Table(("Evidence packs", "Count"), (("cases packed", counts["cases"]), ("packs built", counts["builds"])))
