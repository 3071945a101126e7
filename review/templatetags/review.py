"""Template helpers for review pages, notices and packs."""

from __future__ import annotations

from typing import Any

from django import template

from review import waterfall

register = template.Library()


@register.filter
def likelihood(link: Any) -> str:
    """A link's (or a notice's snapshot of one) probability, never rounded into certainty."""
    method = link.get("method") if isinstance(link, dict) else getattr(link, "method", "")
    probability = link.get("probability") if isinstance(link, dict) else getattr(link, "probability", None)
    return waterfall.likelihood(float(probability or 0.0), certain=method == "declared")
