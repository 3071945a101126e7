"""assay second-looks: the no-breach decisions picked for a lead's second look; list them, take one."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from oversight.services import running_as
from review import services
from review.models import Conflict, SecondLook
from review.workflow import MIN_REASON_LENGTH


def _subject(look: SecondLook) -> str:
    case = look.case
    return case.member.number if case.member is not None else f"account {case.account}"


class Command(BaseCommand):
    help = (
        "List the no-breach decisions picked for a second look (ASSAY_SECOND_LOOK_SHARE) and take one as a lead.\n\n"
        "  assay second-looks [list] [--done | --all] [--decided-by NAME]   waiting ones by default, longest first\n"
        "  ASSAY_ACTOR=LEAD assay second-looks take CASE --agree --note TEXT\n"
        "  ASSAY_ACTOR=LEAD assay second-looks take CASE --disagree --note TEXT\n"
        "The lead who takes it is the person running the command (ASSAY_ACTOR, as every command's audit events "
        "name): a lead who took no part in the decision and declared no conflict with the person. Agreeing "
        "leaves the case closed; disagreeing puts its posts before another reviewer, in a new case or the "
        "person's open one. The decision stands as recorded either way. Audited as on the case page "
        "(case.second_look, and case.opened_by_second_look or case.hits_added_by_second_look). With "
        "ASSAY_ACTOR set, the list leaves out the cases of anyone that person stepped aside from."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", metavar="ACTION")
        listing = sub.add_parser("list", help="second looks waiting (the default), taken (--done) or all")
        which = listing.add_mutually_exclusive_group()
        which.add_argument("--done", action="store_true", help="those taken, the latest first")
        which.add_argument("--all", action="store_true", help="waiting and taken")
        listing.add_argument("--decided-by", metavar="NAME", help="only decisions this reviewer made")
        take = sub.add_parser("take", help="agree or disagree with a picked decision (as the lead ASSAY_ACTOR names)")
        take.add_argument("case", type=int, help="the case number whose decision was picked")
        verdict = take.add_mutually_exclusive_group(required=True)
        verdict.add_argument("--agree", action="store_true", help="no breach indeed: the case stays closed")
        verdict.add_argument("--disagree", action="store_true", help="put the posts before another reviewer")
        take.add_argument(
            "--note", required=True, help=f"what you checked and why (at least {MIN_REASON_LENGTH} characters)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("action") == "take":
            self._take(options["case"], agrees=options["agree"], note=options["note"])
        else:
            done, every = options.get("done", False), options.get("all", False)
            self._list(done=done, every=every, decided_by=options.get("decided_by"))

    def _visible(self) -> QuerySet[SecondLook]:
        looks = SecondLook.objects.all()
        person = get_user_model().objects.filter(username=running_as() or "").first()
        if person is not None:  # as on the page: nothing about someone they stepped aside from
            looks = looks.exclude(case__in=Conflict.objects.filter(person_id=person.pk).cases().values("pk"))
        return looks

    def _list(self, *, done: bool, every: bool, decided_by: str | None) -> None:
        looks = self._visible().select_related(
            "case__member", "case__account", "decision__reviewer", "looked_by", "reopened_case"
        )
        if decided_by:
            looks = looks.filter(decision__reviewer__username=decided_by)
        if done:
            looks = looks.filter(looked_at__isnull=False).order_by("-looked_at", "-pk")
        elif not every:
            looks = looks.filter(looked_at__isnull=True).order_by("selected_at", "pk")
        rows = list(looks)
        what = "taken" if done else ("at all" if every else "waiting")
        if not rows:
            share = f" (ASSAY_SECOND_LOOK_SHARE={settings.SECOND_LOOK_SHARE:g})"
            self.stdout.write(f"no second looks {what}" + (f" on decisions by {decided_by}" if decided_by else share))
            return
        self.stdout.write(f"{'case':>6}  {'about':<22} {'outcome':<11} {'decided by':<12} {'picked':<10}  found")
        for look in rows:
            found = "waiting"
            if not look.pending:
                assert look.looked_by is not None and look.looked_at is not None  # taken: both are set
                verdict = "agreed" if look.agrees else "disagreed"
                found = f"{verdict} by {look.looked_by.username} on {look.looked_at:%Y-%m-%d}"
                if look.reopened_case_id:
                    found += f"; posts in case #{look.reopened_case_id}"
            self.stdout.write(
                f"{look.case_id:>6}  {_subject(look):<22} {look.decision.outcome:<11} "
                f"{look.decision.reviewer.username:<12} {look.selected_at:%Y-%m-%d}  {found}"
            )
        self.stdout.write(f"{len(rows)} second look(s) {what}; each case's page: /review/case/CASE/")

    def _take(self, case_id: int, *, agrees: bool, note: str) -> None:
        name = running_as()
        if name is None:
            raise CommandError(
                "name the lead taking the second look: ASSAY_ACTOR=LEAD assay second-looks take "
                f"{case_id} ... (the audit log records them as its author)"
            )
        lead = get_user_model().objects.get(username=name)
        look = self._visible().filter(case_id=case_id, looked_at__isnull=True).select_related("case", "decision")
        found = look.first()
        if found is None:
            raise CommandError(
                f"case {case_id} has no second look waiting for {name} "
                "(`assay second-looks list` shows those waiting; `--done` those taken)"
            )
        try:
            services.record_second_look(found, lead, agrees=agrees, note=note)
        except services.ReviewError as exc:
            raise CommandError(f"case {case_id}: {exc}") from None
        if agrees:
            self.stdout.write(f"case {case_id}: second look recorded: {name} agrees; the case stays closed")
        else:
            self.stdout.write(
                f"case {case_id}: second look recorded: {name} disagrees; the posts are in case "
                f"#{found.reopened_case_id} for another reviewer (the decision stands as recorded)"
            )
