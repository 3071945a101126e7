"""assay audit: check the audit log's hash chain, and read its events in plain words."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oversight.models import AuditEvent
from oversight.services import record, verify_and_record
from oversight.wording import describe

LISTED = "oversight.audit_listed"


def _day(text: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text), time.min, tzinfo=UTC)
    except ValueError:
        raise CommandError(f"--since {text!r}: expected a date as YYYY-MM-DD") from None


class Command(BaseCommand):
    help = (
        "Work with the audit log: `assay audit verify` checks its hash chain end to end; `assay audit list` shows "
        "its events in plain words.\n\n"
        "  assay audit list --kind auth.            sign-ins: failed passwords (username, address,\n"
        "                                           failures so far of the limit), lock-outs, second factors\n"
        "  assay audit list --kind case. --since 2026-12-01 --limit 200\n"
        "Listing is itself recorded (oversight.audit_listed), as verifying is (oversight.chain_verified)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub.add_parser("verify", help="recompute every event's hash; fail naming the first broken event")
        listing = sub.add_parser("list", help="the latest events, oldest first, each in plain words")
        listing.add_argument("--kind", default="", help="only events whose kind starts with this, e.g. auth.")
        listing.add_argument("--since", help="only events from this day on (YYYY-MM-DD, UTC)")
        listing.add_argument("--limit", type=int, default=50, help="at most this many, the latest (default 50)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            self._list(options["kind"], options.get("since"), options["limit"])
            return
        # The verification is itself recorded, so oversight sees when the chain was last checked.
        check = verify_and_record(via="command")
        if not check.intact:
            raise CommandError(
                f"audit chain broken at event {check.broken_at}: {check.reason} ({check.events} events checked)"
            )
        self.stdout.write(f"audit chain intact: {check.events} events verified")

    def _list(self, kind: str, since: str | None, limit: int) -> None:
        if limit < 1:
            raise CommandError(f"--limit {limit}: give at least 1")
        events = AuditEvent.objects.filter(action__startswith=kind) if kind else AuditEvent.objects.all()
        if since:
            events = events.filter(at__gte=_day(since))
        latest = list(events.order_by("-seq")[:limit])[::-1]
        # Reading the log shows who signed in from where: the look is recorded, after what it read.
        record(LISTED, kind=kind, since=since or "", limit=limit, events=len(latest))
        if not latest:
            which = (f" of kind {kind}*" if kind else "") + (f" since {since}" if since else "")
            self.stdout.write(f"no events{which}")
            return
        for event in latest:
            ref = f"{event.object_type}:{event.object_id}" if event.object_type else ""
            line = describe(event.action, event.actor, ref, event.data)
            self.stdout.write(f"{event.seq:>7}  {event.at:%Y-%m-%d %H:%M:%S}  {event.action:<28} {line}")
