"""The evidence waterfall of a probabilistic link: each comparison's match weight, stacked.

Pure Python. A link's explanation lists (comparison, level, weight) in log2 Bayes factors,
starting with the prior; their running total is the link's log2 odds. Each bar is placed from
the running total before it to the one after, on a scale spanning every total reached.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bar:
    comparison: str
    level: str
    weight: float
    total: float  # running log2 odds after this bar
    left: float  # percent of the chart's width
    width: float

    @property
    def direction(self) -> str:
        return "for" if self.weight > 0 else "against" if self.weight < 0 else "neutral"

    @property
    def label(self) -> str:
        return self.comparison.replace("_", " ")


def probability(log2_odds: float) -> float:
    return 1 / (1 + 2 ** -max(min(log2_odds, 1000), -1000))


def waterfall(evidence: Iterable[Mapping[str, Any]]) -> list[Bar]:
    """Bars for a waterfall chart; empty when there is no evidence."""
    steps = [(str(e.get("comparison", "")), str(e.get("level", "")), float(e.get("weight", 0.0))) for e in evidence]
    totals, running = [0.0], 0.0
    for _c, _l, weight in steps:
        running += weight if math.isfinite(weight) else 0.0
        totals.append(running)
    low, high = min(totals), max(totals)
    span = (high - low) or 1.0
    bars = []
    for (comparison, level, weight), before, after in zip(steps, totals[:-1], totals[1:], strict=True):
        left = (min(before, after) - low) / span * 100
        width = max(abs(after - before) / span * 100, 0.5)
        bars.append(Bar(comparison, level, weight, after, round(left, 2), round(min(width, 100 - left), 2)))
    return bars


def likelihood(p: float, *, certain: bool = False) -> str:
    """A link's probability as a reviewer (or a member) reads it, never rounded into certainty.

    Only a certain link (declared by the member) reads "100%". A probabilistic 0.9995 reads
    "99.95%", not "100%" beside "needs confirmation"; anything that would still round to 100 reads
    "over 99.99%"; below half a percent, "under 1%" rather than a misleading "0%".
    """
    if certain:
        return "100%"
    if p < 0.005:
        return "under 1%"
    if p < 0.995:
        return f"{p:.0%}"
    text = f"{p:.2%}"
    return "over 99.99%" if text == "100.00%" else text


@dataclass(frozen=True)
class Rival:
    """Another member who scored for the account, and by how much less evidence than the proposal."""

    member_id: int
    probability: float
    match_weight: float  # the rival's total log2 Bayes factor, prior included
    behind: float  # how far below the proposal's total it fell (log2 odds)

    @property
    def percent(self) -> str:
        """The probability as a reviewer reads it (``likelihood``)."""
        return likelihood(self.probability)


def proposal_weight(evidence: Iterable[Mapping[str, Any]]) -> float:
    """The proposal's own total: every bar but the sharing with other candidates (the last bar)."""
    return sum(float(e.get("weight", 0.0)) for e in evidence if e.get("comparison") != "other candidates")


def rivals(explanation: Mapping[str, Any]) -> list[Rival] | None:
    """The other candidate members stored with a proposal, best first; None when none were recorded.

    Links proposed before the model kept its runners-up have no ``others``: that is "not
    recorded", not "nobody else scored", and the page must not say the latter.
    """
    others = explanation.get("others")
    if others is None:
        return None
    total = proposal_weight(explanation.get("evidence", []))
    out = []
    for other in others:
        weight = float(other.get("match_weight", 0.0))
        out.append(Rival(int(other["member_id"]), float(other.get("probability", 0.0)), weight, total - weight))
    return sorted(out, key=lambda r: -r.match_weight)
