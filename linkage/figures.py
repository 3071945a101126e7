"""Linkage figures for oversight: the policy in force, links by method and outcome, and the model used."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.utils.text import capfirst

from linkage.models import Link, LinkageRun, TrainedModel
from oversight.figures import Table, Value, figure
from oversight.services import share_of

_POLICIES = {
    "declared": "declared: accounts are linked to members only through identifiers the members gave us",
    "probabilistic": "probabilistic: besides declared identifiers, a model compares names, places and handles and "
    "proposes links that a person must confirm (threshold {threshold:.2f})",
}


@figure(
    "linkage.policy",
    section="linkage",
    label="Linkage policy in force",
    help="How accounts are tied to members (ASSAY_LINKAGE_POLICY), and the policy the last linkage run used if it "
    "differs. Probabilistic matching is switched on only where the organisation's data protection impact "
    "assessment allows it.",
    order=1,
    prominent=True,
)
def policy() -> Value:
    name = settings.LINKAGE_POLICY
    text = _POLICIES.get(name, f"{name}: not a known policy (linking refuses to run)")
    text = text.format(threshold=settings.LINKAGE_THRESHOLD)
    last = LinkageRun.objects.order_by("-started_at", "-pk").values_list("policy", "started_at").first()
    if last is not None and last[0] != name:
        # A run can be given another policy than the setting (the demo, a changed setting): say so, never hide it.
        text += f"; but the last linkage run, on {last[1]:%Y-%m-%d}, used the {last[0]} policy"
    return text


@figure(
    "linkage.links",
    section="linkage",
    label="Links by method and outcome",
    help="Account-to-member links. Declared links are certain; probabilistic ones are proposals until the case's "
    "reviewer or a lead confirms or rejects them, having seen the evidence.",
    order=30,
    people=True,
)
def links() -> Value:
    found = {
        (r["method"], r["status"]): r["n"]
        for r in Link.objects.values("method", "status").annotate(n=Count("pk")).order_by()
    }
    return Table(
        ("Method", *(capfirst(str(label)) for _, label in Link.Status.choices)),
        tuple(
            (capfirst(str(label)), *(found.get((method, status), 0) for status, _ in Link.Status.choices))
            for method, label in Link.Method.choices
        ),
    )


@figure(
    "linkage.proposals_reviewed",
    section="linkage",
    label="Proposals decided by a person",
    help="Probabilistic proposals a reviewer or lead has confirmed or rejected, as a share of all proposals made.",
    order=40,
    unit="%",
)
def proposals_reviewed() -> Value:
    counts = Link.objects.filter(method=Link.Method.PROBABILISTIC).aggregate(
        made=Count("pk"), decided=Count("pk", filter=~Q(status=Link.Status.PROPOSED))
    )
    counted = "proposals decided or awaiting a decision"
    return share_of(int(counts["decided"]), int(counts["made"]), counted=counted)


@figure(
    "linkage.model",
    section="linkage",
    label="Linkage model in force",
    help="The version of the probabilistic model new proposals come from, when it was trained and from how many "
    "reviewer-confirmed or rejected pairs.",
    order=50,
)
def model() -> Value:
    trained = TrainedModel.objects.only("version", "trained_at", "labels").first()
    if trained is None:
        return "none trained (declared links only)"
    return f"{trained.version}, trained {trained.trained_at:%Y-%m-%d} from {trained.labels:,} labelled pairs"


@figure(
    "linkage.runs",
    section="linkage",
    label="Linkage runs by model version",
    help="Each run of `assay link`: the policy and model version it used, links it made and proposals it put "
    "before reviewers.",
    order=60,
)
def runs() -> Value:
    rows = (
        LinkageRun.objects.values("model_version", "policy")
        .annotate(n=Count("pk"), made=Sum("links_created"), proposals=Sum("proposals_created"), last=Max("started_at"))
        .order_by("-last")
    )
    return Table(
        ("Model version", "Policy", "Runs", "Declared links made", "Proposals made", "Last run"),
        tuple(
            (r["model_version"], r["policy"], r["n"], r["made"] or 0, r["proposals"] or 0, f"{r['last']:%Y-%m-%d}")
            for r in rows
        ),
        label_columns=2,
    )
