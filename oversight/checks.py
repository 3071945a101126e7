"""System checks for oversight's settings (``assay check``, and at every start of the server).

Stable ids: oversight.E001 the dashboard's minimum cell; oversight.E002 and W002 the retention windows.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

_WINDOWS = (
    "RETENTION_UNMATCHED_POST_DAYS",
    "RETENTION_DELETED_POST_DAYS",
    "RETENTION_QUARANTINE_DAYS",
    "RETENTION_NO_BREACH_CASE_DAYS",
    "RETENTION_ADVERSE_CASE_DAYS",
    "RETENTION_APPEAL_WINDOW_DAYS",
    "RETENTION_OUTBOX_DAYS",
    "RETENTION_LAPSED_MEMBER_DAYS",
)


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


@register()
def check_retention(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """oversight.E002: a window below one day; oversight.W002: adverse outcomes kept shorter than the appeal window."""
    found: list[CheckMessage] = [
        Error(f"ASSAY_{name}={getattr(settings, name)}: a retention window must be at least 1 day", id="oversight.E002")
        for name in _WINDOWS
        if int(getattr(settings, name)) < 1
    ]
    if settings.RETENTION_ADVERSE_CASE_DAYS < settings.RETENTION_APPEAL_WINDOW_DAYS:
        found.append(
            Warning(
                "ASSAY_RETENTION_ADVERSE_CASE_DAYS is shorter than ASSAY_RETENTION_APPEAL_WINDOW_DAYS: adverse "
                "cases will wait for the appeal window to end before retention removes them",
                id="oversight.W002",
            )
        )
    return found
