"""oversight's own figures: the audit chain's size, what was recorded, and when it was last verified.

(Other apps register theirs from ``<app>/figures.py``; these live here because ``oversight.figures``
is the registry itself.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from django.db.models import Count, Max, Min
from django.db.models.functions import TruncMonth

from oversight.figures import Table, Value, figure
from oversight.models import AuditEvent, ChainHead
from oversight.services import last_chain_check

VIEWS_OF_PERSONAL_DATA = (
    "case.viewed",
    "evidence.run_viewed",
    "member.viewed",
    "notice.staff_viewed",
    "appeal.viewed",
)
# Members exercising their rights, and retention doing its work: (action, column heading).
DATA_RIGHTS = (
    ("member.subject_access", "Subject access exports"),
    ("member.erased", "Erasures"),
    ("member.restricted", "Restrictions"),
    ("member.restriction_lifted", "Restrictions lifted"),
    ("retention.applied", "Retention runs applied"),
)


@figure(
    "audit.events",
    section="audit",
    label="Events in the audit chain",
    help="Every access to personal data and every change, each chained by hash to the one before.",
    order=10,
)
def events() -> Value:
    head = ChainHead.objects.filter(pk=1).values_list("last_seq", flat=True).first()
    return int(head or 0)


@figure(
    "audit.last_verified",
    section="audit",
    label="Last verification of the chain",
    help="When someone last recomputed every event's hash (here or with `assay audit verify`), and what they found.",
    order=20,
    prominent=True,
)
def last_verified() -> Value:
    check = last_chain_check()
    if check is None:
        return "never verified"
    return f"{check} on {check.at:%Y-%m-%d %H:%M} UTC by {check.actor}"


@figure(
    "audit.by_month",
    section="audit",
    label="Events by month",
    help="Events recorded each month, and how many of them were someone viewing personal data: a case, a member's "
    "page, a notice or an appeal, or a run's quarantined records.",
    order=30,
)
def by_month() -> Value:
    # The chain only grows (every case view is an event): count each month as index ranges on ``at``
    # (and on ``action, at`` for the views) rather than truncating every event's time in one scan,
    # which took 0.4 s per 100,000 events on SQLite and would grow with the chain forever.
    # Two queries: SQLite answers a lone MIN or MAX from the index, but not both in one.
    first = AuditEvent.objects.aggregate(first=Min("at"))["first"]
    last = AuditEvent.objects.aggregate(last=Max("at"))["last"]
    if first is None or last is None:
        return Table(("Month", "Events", "Views of personal data"), ())
    rows = []
    for start, end in _months(first, last):
        in_month = AuditEvent.objects.filter(at__gte=start, at__lt=end)
        n = in_month.count()
        if n:
            rows.append((f"{start:%Y-%m}", n, in_month.filter(action__in=VIEWS_OF_PERSONAL_DATA).count()))
    return Table(("Month", "Events", "Views of personal data"), tuple(rows))


def _months(first: datetime, last: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) of each calendar month (UTC) from ``first``'s to ``last``'s."""
    start = first.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while start <= last:
        end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
        yield start, end
        start = end


@figure(
    "audit.by_action",
    section="audit",
    label="Events by kind",
    help="What was recorded: each kind of access or change, how often, and when it last happened.",
    order=40,
)
def by_action() -> Value:
    rows = AuditEvent.objects.values("action").annotate(n=Count("pk"), last=Max("at")).order_by("action")
    return Table(
        ("Kind of event", "Events", "Last"),
        tuple((r["action"], r["n"], f"{r['last']:%Y-%m-%d %H:%M}") for r in rows),
    )


@figure(
    "audit.data_rights",
    section="audit",
    label="Members' data rights and retention, by month",
    help="Subject access exports given to members, erasures and restrictions of their data (and restrictions "
    "lifted), and runs of the retention command that purged what was past its window.",
    order=50,
    people=True,
)
def data_rights() -> Value:
    return _actions_by_month(DATA_RIGHTS)


# Signing in, from the audit chain: (action, column heading). Events, not people: no cell is suppressed.
SIGN_INS = (
    ("auth.signed_in", "Passwords accepted"),
    ("auth.sign_in_failed", "Passwords refused"),
    ("auth.locked_out", "Lock-outs"),
    ("auth.second_factor_failed", "Codes refused"),
)


@figure(
    "audit.sign_ins",
    section="audit",
    label="Sign-ins by month",
    help="Staff sign-ins: passwords accepted; passwords refused (a wrong password, an unknown username or an "
    "inactive person); lock-outs after too many wrong passwords (with one more event an hour while tries go on, "
    "not one per try); and second-factor codes refused. `assay audit list --kind auth.` shows each event.",
    order=60,
)
def sign_ins() -> Value:
    return _actions_by_month(SIGN_INS)


def _actions_by_month(columns: tuple[tuple[str, str], ...]) -> Table:
    """A month per row and a column per (action, heading): how many of those events each month recorded.

    For rare actions (the ``action, at`` index finds them), not for the whole chain (see :func:`by_month`)."""
    actions = [action for action, _ in columns]
    rows = (
        AuditEvent.objects.filter(action__in=actions)
        .annotate(month=TruncMonth("at"))
        .values("month", "action")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    by_month: dict[str, dict[str, int]] = {}
    for row in rows:
        by_month.setdefault(f"{row['month']:%Y-%m}", {})[row["action"]] = row["n"]
    return Table(
        ("Month", *(heading for _, heading in columns)),
        tuple((month, *(counts.get(a, 0) for a in actions)) for month, counts in by_month.items()),
    )
