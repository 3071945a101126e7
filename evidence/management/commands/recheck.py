"""assay recheck: ask the platforms which collected posts are gone, and mark them deleted (rows and evidence stay)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.collect import SourceBusy, SourceDisabled
from evidence.connectors.errors import Action
from evidence.management.commands.collect import _chosen
from evidence.models import CollectionRun
from evidence.recheck import describe, recheck
from evidence.registry import ConfigError
from oversight.console import progress_bar

_WAIT = Action.WAIT_FOR_RESET.value  # a job still running or a long rate limit: it resumes later


class Command(BaseCommand):
    help = "Recheck collected posts on their platforms (all live sources, or those named); mark deleted ones."
    stealth_options = ("client_options",)  # tests inject the connector client's clock and sleep

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sources", nargs="*", metavar="SOURCE", help="source names or ids (default: all enabled)")
        parser.add_argument("--older-than", type=float, metavar="DAYS", help="only posts collected this long ago")
        parser.add_argument("--limit", type=int, metavar="N", help="at most N posts per source, oldest first")
        parser.add_argument(
            "--include-deleted", action="store_true", help="ask about posts already marked deleted too (comebacks)"
        )
        parser.add_argument(
            "--x-via",
            choices=("auto", "compliance", "lookup"),
            default="auto",
            help="X: a batch compliance job, or lookups (billed per post); auto: lookup up to 100 posts",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        sources = [s for s in _chosen(options["sources"]) if options["sources"] or s.platform != "file"]
        failed = []
        for source in sources:
            try:
                with progress_bar(f"rechecking {source.name}", None) as update:
                    outcome = recheck(
                        source,
                        older_than_days=options["older_than"],
                        limit=options["limit"],
                        include_deleted=options["include_deleted"],
                        via=options["x_via"],
                        trigger="cli",
                        options=options.get("client_options"),
                        on_page=lambda r: update(r.pages),
                    )
            except (SourceBusy, SourceDisabled, ConfigError) as exc:
                self.stderr.write(f"assay recheck: {exc}")
                failed.append(source.name)
                continue
            self.stdout.write(describe(outcome))
            run = outcome.run
            if run.status != CollectionRun.Status.DONE and run.stop_action != _WAIT:
                failed.append(source.name)
        if failed:
            raise CommandError(f"not rechecked: {', '.join(failed)} (see above)")
