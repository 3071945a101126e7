"""assay erase: erase (or restrict) one member's personal data across every app."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.personal_data import sources_naming
from oversight.erasure import ErasureError, ErasureRefused, check_reason, erase_member, plan_erasure
from register.services import MemberNotFound, find_member, lift_restriction, restrict_member


class Command(BaseCommand):
    help = (
        "Erase a member's personal data across every app (dry run; --apply to erase), unless a hold applies.\n\n"
        "Removes identifiers, links and rejected pairs, closed cases and decisions, hits, emails to them in the "
        "outbox, their accounts' ids and handles from collection requests (redacted), and the posts and "
        "profiles of accounts linked only to them; anonymises the register record (a later import of the same "
        "row does not add them back unless `import-register --readmit`). Holds (an open case, an adverse "
        "outcome within its appeal window or retention) refuse it, saying what and until when: --restrict then "
        "marks the member restricted instead (no new links or cases). Audited with counts, not names. Enabled "
        "sources whose query names the member's accounts are listed: edit or disable them, or they collect again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("member", metavar="MEMBER_ID", help="the membership number")
        parser.add_argument("--reason", required=True, help="why (a request reference, not a name)")
        parser.add_argument("--apply", action="store_true", help="erase (or restrict) for real")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--restrict", action="store_true", help="restrict processing instead of erasing")
        action.add_argument("--lift-restriction", action="store_true", help="end a restriction (with --apply)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            member = find_member(options["member"])
            reason = check_reason(options["reason"])
        except (MemberNotFound, ErasureError) as exc:
            raise CommandError(str(exc)) from None
        if member.erased_at is not None:
            raise CommandError(f"member {member.number} was already erased on {member.erased_at:%Y-%m-%d}")
        if options["lift_restriction"]:
            self._lift(member, reason, apply=options["apply"])
            return
        if options["restrict"]:
            self._restrict(member, reason, apply=options["apply"])
            return
        naming = sources_naming(plan_erasure(member.pk).scope.account_ids)  # before the accounts are blanked
        try:
            plan = erase_member(member.pk, reason=reason, apply=options["apply"])
        except ErasureRefused as exc:
            lines = [
                f"cannot erase member {member.number}: these holds apply:",
                *[f"  - {hold}" for hold in exc.plan.holds],
                "use --restrict to stop new links and cases until they end",
            ]
            raise CommandError("\n".join(lines)) from None
        verb = "erased" if options["apply"] else "would erase (dry run; --apply to erase)"
        counts = plan.done if options["apply"] else {c.key: n for c, n in plan.rows}
        self.stdout.write(f"member {member.number}: {verb}:")
        for key, n in counts.items():
            self.stdout.write(f"  {key}: {n}")
        if naming:
            self.stdout.write(
                f"warning: {len(naming)} enabled source(s) name the member's accounts in their query and would "
                "collect their posts again; edit the query or disable the source (assay sources disable NAME):"
            )
            for source in naming:
                self.stdout.write(f"  - {source.name}: {source.query}")

    def _lift(self, member: Any, reason: str, *, apply: bool) -> None:
        if member.restricted_at is None:
            raise CommandError(f"member {member.number} is not restricted")
        if not apply:
            self.stdout.write(f"member {member.number}: restriction would be lifted (dry run; --apply to lift)")
            return
        lift_restriction(member, reason=reason)
        self.stdout.write(f"member {member.number}: restriction lifted: new links and cases may be made again")

    def _restrict(self, member: Any, reason: str, *, apply: bool) -> None:
        holds = plan_erasure(member.pk).holds
        if not apply:
            self.stdout.write(f"member {member.number}: would be restricted (dry run; --apply to restrict)")
            return
        restrict_member(member, reason=reason)
        why = f"; holds: {'; '.join(str(h) for h in holds)}" if holds else ""
        self.stdout.write(f"member {member.number}: restricted: no new links or cases{why}")
