"""assay triage: put new rule hits into review cases."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from review.services import triage


class Command(BaseCommand):
    help = (
        "Open or update review cases from new rule hits: one case per member, or per unlinked account.\n\n"
        "A hit joins the member's (or account's) case that is still open, else a new case is opened. "
        "Running it again with no new hits changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        summary = triage()
        self.stdout.write(f"triage: {summary}")
