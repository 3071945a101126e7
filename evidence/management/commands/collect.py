"""assay collect: run sources once, now, in this process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.collect import SourceBusy, SourceDisabled, collect, describe
from evidence.connectors.errors import Action
from evidence.models import CollectionRun, Source
from evidence.registry import SPECS, ConfigError
from oversight.console import progress_bar

# A rate limit longer than we wait, or a live run's bound: not failures, the next run resumes.
_RESUMES = {Action.WAIT_FOR_RESET.value, Action.RUN_LIMIT.value}


class Command(BaseCommand):
    help = "Collect sources once, now (all enabled ones, or those named); interrupted runs resume."
    stealth_options = ("client_options",)  # tests inject the connector client's clock and sleep

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sources", nargs="*", metavar="SOURCE", help="source names or ids (default: all enabled)")

    def handle(self, *args: Any, **options: Any) -> None:
        sources = _chosen(options["sources"])
        failed = []
        for source in sources:
            try:
                with progress_bar(f"collecting {source.name}", None) as update:
                    run = collect(
                        source, trigger="cli", options=options.get("client_options"), on_page=lambda r: update(r.read)
                    )
            except (SourceBusy, SourceDisabled, ConfigError) as exc:
                self.stderr.write(f"assay collect: {exc}")
                failed.append(source.name)
                continue
            self.stdout.write(describe(run))
            if run.quarantined:
                self.stdout.write(f"  see quarantined items with: assay quarantine --run {run.pk}")
            if run.status != CollectionRun.Status.DONE and run.stop_action not in _RESUMES:
                failed.append(source.name)
        if failed:
            raise CommandError(f"not collected: {', '.join(failed)} (see above)")


def _chosen(names: list[str]) -> list[Source]:
    if not names:
        return [s for s in Source.objects.filter(enabled=True).order_by("name") if s.connector in SPECS]
    found = []
    for name in names:
        source = Source.objects.filter(name=name).first()
        if source is None and name.isdigit():
            source = Source.objects.filter(pk=int(name)).first()
        if source is None:
            raise CommandError(f"no source {name!r}; see `assay sources`")
        found.append(source)
    return found
