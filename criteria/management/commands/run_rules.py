"""assay run-rules: scan new posts with the approved rule sets."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from criteria.services import RuleSetError, approved_rulesets, pending_posts, run_rules
from evidence.models import Post
from oversight.console import progress_bar


class Command(BaseCommand):
    help = "Scan posts not yet scanned by the current approved rule-set versions, recording hits with spans."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rescan",
            action="store_true",
            help="scan every post again, not only new ones (after a matcher fix or an engine change); "
            "hits already recorded are kept, new ones added",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rescan = options["rescan"]
            total = Post.objects.filter(deleted_at__isnull=True).count() * approved_rulesets() if rescan else None
            with progress_bar("scanning posts", pending_posts() if total is None else total) as update:
                summary = run_rules(progress=update, rescan=rescan)
        except RuleSetError as exc:
            raise CommandError(str(exc)) from None
        if not summary.rulesets:
            self.stdout.write("no approved rule set: nothing to scan")
            return
        new = " new" if options["rescan"] else ""
        self.stdout.write(
            f"{', '.join(summary.rulesets)}: {summary.posts_scanned} posts scanned, {summary.hits}{new} hits"
        )
