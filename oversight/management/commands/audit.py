"""assay audit: check the audit log's hash chain."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oversight.services import verify_and_record


class Command(BaseCommand):
    help = "Work with the audit log: `assay audit verify` checks its hash chain end to end."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub.add_parser("verify", help="recompute every event's hash; fail naming the first broken event")

    def handle(self, *args: Any, **options: Any) -> None:
        # The verification is itself recorded, so oversight sees when the chain was last checked.
        check = verify_and_record(via="command")
        if not check.intact:
            raise CommandError(
                f"audit chain broken at event {check.broken_at}: {check.reason} ({check.events} events checked)"
            )
        self.stdout.write(f"audit chain intact: {check.events} events verified")
