"""assay quarantine: list records that could not be imported, with where they were and why."""

from __future__ import annotations

from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandParser
from rich.console import Console
from rich.table import Table

from evidence.models import Quarantine


class Command(BaseCommand):
    help = "List quarantined (malformed) records with their file, position and reason."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--run", type=int, help="only this collection run")
        parser.add_argument("--limit", type=int, default=100, help="show at most this many (default 100)")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = Quarantine.objects.order_by("pk")
        if options["run"] is not None:
            rows = rows.filter(run_id=options["run"])
        total = rows.count()
        table = Table("run", "origin", "position", "reason")
        for q in rows[: options["limit"]]:
            table.add_row(str(q.run_id or ""), q.origin, q.position, q.reason)
        console = Console(file=cast(IO[str], self.stdout), width=160)
        console.print(table)
        console.print(f"{total} quarantined record(s)")
