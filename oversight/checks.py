"""System checks for the retention settings (``assay check``, and at every start of the server)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

_WINDOWS = (
    "RETENTION_UNMATCHED_POST_DAYS",
    "RETENTION_DELETED_POST_DAYS",
    "RETENTION_QUARANTINE_DAYS",
    "RETENTION_NO_BREACH_CASE_DAYS",
    "RETENTION_ADVERSE_CASE_DAYS",
    "RETENTION_APPEAL_WINDOW_DAYS",
)


def check_retention(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """oversight.E001: a window below one day; oversight.W001: adverse outcomes kept shorter than the appeal window."""
    found: list[CheckMessage] = [
        Error(f"ASSAY_{name}={getattr(settings, name)}: a retention window must be at least 1 day", id="oversight.E001")
        for name in _WINDOWS
        if int(getattr(settings, name)) < 1
    ]
    if settings.RETENTION_ADVERSE_CASE_DAYS < settings.RETENTION_APPEAL_WINDOW_DAYS:
        found.append(
            Warning(
                "ASSAY_RETENTION_ADVERSE_CASE_DAYS is shorter than ASSAY_RETENTION_APPEAL_WINDOW_DAYS: adverse "
                "cases will wait for the appeal window to end before retention removes them",
                id="oversight.W001",
            )
        )
    return found
