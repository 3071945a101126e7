"""assay notices: list notices to members and send the drafts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from review import notices
from review.models import Notice


class Command(BaseCommand):
    help = (
        "List notices to members and send the drafts (by email, or marked for post).\n\n"
        "`assay notices [list] [--status S]`, `assay notices send ID`, `assay notices send --all-drafts`. "
        "A notice is drafted when a lead signs off an adverse decision about a member. Sending emails the "
        "member a link to it (ASSAY_PUBLIC_URL/notice/...); a member without an email address gets it by post: "
        "the notice is marked to post, and its letter is printed from its page (/review/notices/ID/). "
        "The list's 'viewed' is when the member first opened their link (the audit log's notice.viewed "
        "events are the record of every view)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", metavar="ACTION")
        listing = sub.add_parser("list", help="list notices, newest first (the default)")
        listing.add_argument("--status", choices=[s.value for s in Notice.Status], help="only notices in this status")
        send = sub.add_parser("send", help="send one draft notice, or every draft with --all-drafts")
        send.add_argument("id", nargs="?", type=int, help="the notice's number")
        send.add_argument("--all-drafts", action="store_true", help="send every draft notice")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("action") == "send":
            self._send(options.get("id"), all_drafts=options.get("all_drafts", False))
        else:
            self._list(options.get("status"))

    def _list(self, status: str | None) -> None:
        rows = Notice.objects.select_related("decision__case__member").order_by("-drafted_at", "-pk")
        if status:
            rows = rows.filter(status=status)
        if not rows.exists():
            self.stdout.write("no notices" + (f" with status {status}" if status else ""))
            return
        self.stdout.write(f"{'id':>5}  {'case':>5}  {'member':<12} {'status':<9} {'drafted':<10} {'sent':<10} viewed")
        for n in rows:
            sent = f"{n.sent_at:%Y-%m-%d}" if n.sent_at else "-"
            viewed = f"{n.first_viewed_at:%Y-%m-%d}" if n.first_viewed_at else "-"
            drafted = f"{n.drafted_at:%Y-%m-%d}"
            line = f"{n.pk:>5}  {n.case_id:>5}  {n.member.number:<12} {n.status:<9} {drafted} {sent:<10} {viewed}"
            self.stdout.write(line)

    def _send(self, notice_id: int | None, *, all_drafts: bool) -> None:
        if all_drafts == (notice_id is not None):
            raise CommandError("give a notice number, or --all-drafts (not both)")
        if all_drafts:
            drafts = list(Notice.objects.filter(status=Notice.Status.DRAFT).order_by("pk"))
            if not drafts:
                self.stdout.write("no draft notices to send")
            for notice in drafts:
                self._send_one(notice)
            return
        found = Notice.objects.filter(pk=notice_id or 0).first()
        if found is None:
            raise CommandError(f"there is no notice {notice_id} (`assay notices list` shows them)")
        self._send_one(found)

    def _send_one(self, notice: Notice) -> None:
        try:
            sent = notices.send_notice(notice, actor=notices.CLI_ACTOR)
        except notices.NoticeError as exc:
            raise CommandError(f"notice {notice.pk}: {exc}") from None
        if sent.by_post:
            self.stdout.write(
                f"notice {notice.pk}: the member has no email address; marked to post. "
                f"Print its letter from /review/notices/{notice.pk}/ and mark it posted."
            )
        else:
            self.stdout.write(f"notice {notice.pk}: emailed to {sent.notice.email}")
