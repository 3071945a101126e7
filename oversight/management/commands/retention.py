"""assay retention: enforce the retention windows."""

from __future__ import annotations

from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from oversight.console import progress_bar
from oversight.retention import RetentionSettingError, rules, run_retention


class Command(BaseCommand):
    help = (
        "Purge what is past its retention window (dry run; --apply to purge), holds excepted.\n\n"
        "Windows are the ASSAY_RETENTION_* settings (days). Posts no rule matched and posts the platform "
        "deleted lose their text and raw record (id, times and sha256 stay); quarantined records, and closed "
        "cases with their decisions and evidence, are deleted, and so are sent emails the file backend keeps in "
        "ASSAY_EMAIL_FILE_PATH (only its *.log files with email headers). Members whose membership lapsed are "
        "erased as `assay erase` would, unless an erasure hold applies or they are restricted. Nothing under an "
        "open case, awaiting triage or within an appeal window is touched. Idempotent; an applied run is one "
        "audit event with counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--apply", action="store_true", help="purge for real (default: only count)")

    def handle(self, *args: Any, **options: Any) -> None:
        apply = bool(options["apply"])
        try:
            with progress_bar("retention", len(rules())) as update:
                results = run_retention(apply=apply, progress=update)
        except RetentionSettingError as exc:
            raise CommandError(str(exc)) from None
        table = Table(title="retention " + ("(applied)" if apply else "(dry run: nothing changed; --apply to purge)"))
        for column in ("category", "window", "past window", "held", "done"):
            table.add_column(column, justify="left" if column == "category" else "right")
        for r in results:
            done = f"{r.done} {r.rule.action}" if apply else f"would be {r.rule.action}: {r.due}"
            table.add_row(r.rule.label, f"{r.days} days", str(r.due + r.held), str(r.held), done)
        Console(file=cast(IO[str], self.stdout), width=140).print(table)
