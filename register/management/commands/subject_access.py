"""assay subject-access: export everything assay holds about one member (UK GDPR Art. 15)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oversight.subject_access import write_export
from register.services import MemberNotFound, find_member


class Command(BaseCommand):
    help = (
        "Write a subject access export for one member: a zip of JSON per category and a readable summary.\n\n"
        "Holds the register record, identifiers, linked accounts (method, probability, explanation), their "
        "posts (text, URL, time, sha256), collection requests naming those accounts, rule hits, cases, "
        "decisions with reasons, a list of the emails to them still in the outbox, and the audit events about "
        "them. Staff appear by role, not by name. Audited as member.subject_access."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("member", metavar="MEMBER_ID", help="the membership number")
        parser.add_argument("--out", type=Path, required=True, metavar="FILE.zip", help="where to write the zip")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        try:
            member = find_member(options["member"])
        except MemberNotFound as exc:
            raise CommandError(str(exc)) from None
        if not out.parent.is_dir():
            raise CommandError(f"{out}: the folder {out.parent} does not exist")
        if out.exists():
            raise CommandError(f"{out}: already exists; choose a new file (exports are not overwritten)")
        with out.open("xb") as fh:
            export = write_export(member.pk, member.number, fh)
        rows = ", ".join(f"{key} {n}" for key, n in export.counts.items() if n)
        events = export.audit_events
        self.stdout.write(f"{out}: subject access export for {member.number}: {rows}; {events} audit events")
