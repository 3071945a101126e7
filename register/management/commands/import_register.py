"""assay import-register: load the membership register from a CSV export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oversight.console import progress_bar
from register.importers import COLUMNS, RegisterFormatError
from register.services import RegisterFileError, import_register, readmit


class Command(BaseCommand):
    help = "Import or update members (and the handles they declared) from a CSV register export."

    def add_arguments(self, parser: CommandParser) -> None:
        columns = ", ".join(f"{c} ({'/'.join(names[1:3]) or names[0]})" for c, names in COLUMNS.items())
        parser.add_argument("file", type=Path, metavar="CSV", help=f"CSV with a header row. Columns: {columns}")
        parser.add_argument(
            "--readmit",
            action="append",
            default=[],
            metavar="NUMBER",
            help="re-add this erased membership number deliberately (erased members are otherwise skipped)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if options["readmit"]:
            readmitted = readmit(options["readmit"])
            self.stdout.write(f"{readmitted} erased membership number(s) may be imported again")
        try:
            with progress_bar(f"importing {path.name}", None) as update:
                summary = import_register(path, progress=update)
        except (RegisterFileError, RegisterFormatError, OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: {exc}" if not str(exc).startswith(str(path)) else str(exc)) from None
        self.stdout.write(
            f"{path}: {summary.created} created, {summary.updated} updated, "
            f"{summary.unchanged} unchanged, {summary.quarantined} quarantined"
            + (f", {summary.suppressed} erased members not re-added (--readmit NUMBER)" if summary.suppressed else "")
        )
