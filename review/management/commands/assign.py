"""assay assign: give a reviewer the most urgent unassigned cases."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from review.notices import CLI_ACTOR
from review.services import MAX_ASSIGN_AT_ONCE, ReviewError, assign_next


class Command(BaseCommand):
    help = (
        "Give a reviewer the most urgent unassigned open cases, passing over any they have a conflict with.\n\n"
        "Highest severity first, then the earliest due. Cases about someone the reviewer (or lead) declared a "
        "conflict of interest with are left for others. Each "
        f"assignment is audited as if made by hand. At most {MAX_ASSIGN_AT_ONCE} at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reviewer", help="username of the reviewer or lead")
        parser.add_argument("--count", type=int, default=10, help="how many cases to give (default 10)")

    def handle(self, *args: Any, **options: Any) -> None:
        reviewer = get_user_model().objects.filter(username=options["reviewer"], is_active=True).first()
        if reviewer is None:
            raise CommandError(f"no active user {options['reviewer']!r} (see `assay users list`)")
        try:
            dealt = assign_next(
                reviewer, options["count"], actor=CLI_ACTOR
            )  # the server's authority; audited as who ran it
        except ReviewError as exc:
            raise CommandError(str(exc)) from None
        ids = ", ".join(f"#{c.pk}" for c in dealt.cases) or "none"
        skipped = f"; {dealt.passed_over} passed over for a conflict of interest" if dealt.passed_over else ""
        self.stdout.write(f"assigned {len(dealt.cases)} case(s) to {reviewer.username}: {ids}{skipped}")
