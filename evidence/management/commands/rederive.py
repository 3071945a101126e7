"""assay rederive: rebuild posts and accounts from stored exchanges with the current mapping."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.collect import rederive
from evidence.models import CollectionRun, Source


class Command(BaseCommand):
    help = "Re-derive posts and accounts from the stored raw exchanges of a source or run (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--source", metavar="NAME", help="every run of this source")
        target.add_argument("--run", type=int, metavar="ID", help="one run")

    def handle(self, *args: Any, **options: Any) -> None:
        chosen: CollectionRun | Source | None
        if options["run"] is not None:
            chosen = CollectionRun.objects.filter(pk=options["run"]).first()
        else:
            chosen = Source.objects.filter(name=options["source"]).first()
        if chosen is None:
            raise CommandError("no such source or run")
        result = rederive(chosen)
        self.stdout.write(
            f"{chosen}: {result.exchanges} exchange(s): {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.deleted} marked deleted"
        )
