"""System checks for oversight's settings (stable ids: oversight.E001 …)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register


@register()
def check_min_cell(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """ASSAY_OVERSIGHT_MIN_CELL must be a positive whole number: below 1 nothing would be suppressed."""
    value = getattr(settings, "OVERSIGHT_MIN_CELL", 5)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return []
    return [
        Error(
            f"ASSAY_OVERSIGHT_MIN_CELL is {value!r}; it must be a whole number of at least 1",
            hint="Counts below it show as 'fewer than N' on the oversight dashboard; 5 is the usual choice.",
            id="oversight.E001",
        )
    ]
