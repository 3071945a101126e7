"""assay import-posts: import posts from normalised NDJSON files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.services import ImportFileError, import_posts
from oversight.console import progress_bar


class Command(BaseCommand):
    help = (
        "Import posts from normalised NDJSON files (docs/formats.md); bad lines are quarantined, "
        "duplicates skipped, interrupted imports resume."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="NDJSON file(s), one post per line")

    def handle(self, *args: Any, **options: Any) -> None:
        failed = False
        for path in options["files"]:
            try:
                size = path.stat().st_size if path.is_file() else None
                with progress_bar(f"importing {path.name}", size) as update:
                    summary = import_posts(path, progress=update)
            except (ImportFileError, OSError) as exc:
                self.stderr.write(f"assay import-posts: {exc}")
                failed = True
                continue
            resumed = f" (resumed after line {summary.resumed_from_line})" if summary.resumed_from_line else ""
            self.stdout.write(
                f"{path}: {summary.imported} imported, {summary.duplicates} duplicate, "
                f"{summary.quarantined} quarantined{resumed} [run {summary.run_id}]"
            )
            if summary.quarantined:
                self.stdout.write(f"  see quarantined lines with: assay quarantine --run {summary.run_id}")
        if failed:
            raise CommandError("some files could not be imported (see above)")
