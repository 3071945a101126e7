"""assay run-rules: scan new posts with the approved rule sets."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from criteria.services import RuleSetError, pending_posts, run_rules
from oversight.console import progress_bar


class Command(BaseCommand):
    help = "Scan posts not yet scanned by the current approved rule-set versions, recording hits with spans."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with progress_bar("scanning posts", pending_posts()) as update:
                summary = run_rules(progress=update)
        except RuleSetError as exc:
            raise CommandError(str(exc)) from None
        if not summary.rulesets:
            self.stdout.write("no approved rule set: nothing to scan")
            return
        self.stdout.write(f"{', '.join(summary.rulesets)}: {summary.posts_scanned} posts scanned, {summary.hits} hits")
