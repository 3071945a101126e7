"""assay purposes: list, add (or revise), approve and retire the recorded purposes of processing."""

from __future__ import annotations

import argparse
from datetime import date
from typing import IO, Any, cast

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from oversight import purposes
from oversight.lawful_basis import LAWFUL_BASES
from oversight.roles import Role, has_role


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _operator(username: str, *also: Role) -> Any:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"--by {username!r}: no such user (assay createuser)")
    if not has_role(user, Role.OPERATOR, *also):
        who = " or ".join(f"{r.value}s" for r in (Role.OPERATOR, *also))
        raise CommandError(f"--by {username!r}: only {who} may do this")
    return user


class Command(BaseCommand):
    help = "List, add (or revise), approve and retire purposes of processing and their lawful basis."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", title="actions")
        actions.add_parser("list", help="every purpose version, newest first (the default)")
        add = actions.add_parser("add", help="record a purpose, or a new version of one with the same name")
        add.add_argument("name")
        add.add_argument("--by", required=True, metavar="USERNAME", help="the operator recording it")
        add.add_argument("--description", required=True)
        add.add_argument("--basis", required=True, choices=sorted(LAWFUL_BASES), help="UK GDPR Art. 6(1) basis")
        add.add_argument("--review-due", required=True, type=_day, metavar="YYYY-MM-DD")
        add.add_argument("--probabilistic", action="store_true", help="covers probabilistic matching (needs a DPIA)")
        add.add_argument("--dpia", default="", metavar="REFERENCE", help="DPIA reference")
        add.add_argument("--dpia-date", type=_day, metavar="YYYY-MM-DD")
        approve = actions.add_parser("approve", help="approve a version (an operator or lead, not its author)")
        approve.add_argument("name")
        approve.add_argument("--by", required=True, metavar="USERNAME")
        approve.add_argument("--version", type=int, help="default: the newest version")
        retire = actions.add_parser("retire", help="retire a purpose: nothing collects or links under it again")
        retire.add_argument("name")
        retire.add_argument("--by", required=True, metavar="USERNAME")
        retire.add_argument("--reason", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options.get("action") or "list"
        try:
            if action == "add":
                self._add(options)
            elif action == "approve":
                done = purposes.approve(
                    options["name"], actor=_operator(options["by"], Role.LEAD), version=options["version"]
                )
                self.stdout.write(f"{done}: approved by {done.approved_by}")
            elif action == "retire":
                count = purposes.retire(options["name"], actor=_operator(options["by"]), reason=options["reason"])
                self.stdout.write(f"{options['name']}: retired ({count} version(s))")
            else:
                self._list()
        except purposes.PurposeError as exc:
            raise CommandError(str(exc)) from None

    def _add(self, options: dict[str, Any]) -> None:
        terms = purposes.PurposeTerms(
            name=options["name"],
            description=options["description"],
            lawful_basis=options["basis"],
            review_due=options["review_due"],
            probabilistic=options["probabilistic"],
            dpia_reference=options["dpia"],
            dpia_date=options["dpia_date"],
        )
        purpose = purposes.record_purpose(terms, actor=_operator(options["by"]))
        self.stdout.write(f"{purpose}: recorded; a second operator must approve it (assay purposes approve)")

    def _list(self) -> None:
        table = Table("name", "version", "basis", "DPIA", "review due", "created by", "approved by", "state", "sources")
        for row in purposes.listing():
            p = row.purpose
            table.add_row(
                p.name,
                str(p.version),
                LAWFUL_BASES.get(p.lawful_basis, p.lawful_basis),
                p.dpia_reference + (" (probabilistic)" if p.probabilistic else ""),
                p.review_due.isoformat() if p.review_due else "",
                p.created_by,
                p.approved_by,
                row.state,
                str(row.sources),
            )
        Console(file=cast(IO[str], self.stdout), width=200).print(table)
