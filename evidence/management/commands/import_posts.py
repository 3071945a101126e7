"""assay import-posts: import posts from files (normalised NDJSON, twarc, Zeeschuimer, CSV)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.models import Platform
from evidence.services import FORMATS, ImportFileError, import_posts
from oversight import purposes
from oversight.console import progress_bar
from oversight.lawful_basis import PurposeError


class Command(BaseCommand):
    help = (
        "Import posts from files (NDJSON, twarc, Zeeschuimer, CSV); bad lines are quarantined, "
        "duplicates skipped, interrupted imports resume.\n\n"
        "Like `assay collect`, an import runs only under an approved purpose in force (--purpose, default the "
        "default purpose; see `assay purposes`) and its run records the purpose version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="file(s) to import")
        parser.add_argument(
            "--format",
            choices=sorted(FORMATS),
            default="ndjson",
            help="ndjson: assay's normalised posts (docs/formats.md); twarc: raw X API v2 responses, a page a "
            "line; zeeschuimer: Zeeschuimer/4CAT NDJSON; csv: needs --map",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help="CSV: which column holds a field (id and text required; kind, parent_id, lang, url, created_at, "
            "author_id, author_handle, author_name)",
        )
        parser.add_argument(
            "--platform", choices=[p.value for p in Platform], default="file", help="CSV: the posts' platform"
        )
        parser.add_argument(
            "--purpose",
            default=purposes.DEFAULT_PURPOSE,
            metavar="NAME",
            help=f"the recorded purpose the posts are imported for (default {purposes.DEFAULT_PURPOSE!r}); it "
            "must be approved, not retired and not past its review",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        failed = False
        mapping = dict(item.partition("=")[::2] for item in options["map"]) or None
        for path in options["files"]:
            try:
                size = path.stat().st_size if path.is_file() else None
                with progress_bar(f"importing {path.name}", size) as update:
                    summary = import_posts(
                        path,
                        progress=update,
                        fmt=options["format"],
                        mapping=mapping,
                        record_platform=options["platform"],
                        purpose=options["purpose"],
                    )
            except (ImportFileError, OSError, PurposeError) as exc:
                self.stderr.write(f"assay import-posts: {exc}")
                failed = True
                continue
            resumed = f" (resumed after line {summary.resumed_from_line})" if summary.resumed_from_line else ""
            deleted = f", {summary.deleted} marked deleted" if summary.deleted else ""
            self.stdout.write(
                f"{path}: {summary.imported} imported, {summary.duplicates} duplicate, "
                f"{summary.quarantined} quarantined{deleted}{resumed} [run {summary.run_id}]"
            )
            if summary.quarantined:
                self.stdout.write(f"  see quarantined lines with: assay quarantine --run {summary.run_id}")
        if failed:
            raise CommandError("some files could not be imported (see above)")
