"""assay users: list the staff (role, second factor, last login), reset a person's second factor, lift a lock-out."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oversight import lockout, twofactor


class Command(BaseCommand):
    help = (
        "List staff with role, two-factor status and last login, reset a second factor, or lift a lock-out.\n\n"
        "  assay users list\n"
        "  assay users reset-2fa NAME   (lost phone: removes their authenticator and recovery codes and ends\n"
        "                                their sessions; they enrol again at their next sign-in; audited)\n"
        "  assay users unlock NAME      (too many wrong passwords: lifts the lock-out from every address\n"
        "                                before ASSAY_LOGIN_FAILURE_LIMIT's hour is up; audited)"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="everyone who can sign in, with role, 2FA status and last login")
        reset = sub.add_parser("reset-2fa", help="remove a person's devices; they enrol again at next sign-in")
        reset.add_argument("username")
        unlock = sub.add_parser("unlock", help="lift a sign-in lock-out (too many wrong passwords); audited")
        unlock.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "unlock":
            removed = lockout.unlock(options["username"])
            if removed:
                self.stdout.write(f"{options['username']}: unlocked ({removed} failed-attempt record(s) cleared)")
            else:
                self.stdout.write(f"{options['username']}: not locked out, no failed attempts recorded")
            return
        if options["action"] == "reset-2fa":
            try:
                removed = twofactor.reset_devices(options["username"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(
                f"{options['username']}: {removed} device(s) removed; they set up an authenticator at next sign-in"
            )
            return
        from django.contrib.auth import get_user_model

        self.stdout.write(f"{'user':<16} {'role':<10} {'2fa':<10} last login")
        for user in get_user_model().objects.order_by("username").prefetch_related("groups"):
            role = ",".join(g.name for g in user.groups.all()) or "-"
            last = user.last_login.strftime("%Y-%m-%dT%H:%M") if user.last_login else "never"
            self.stdout.write(f"{user.username:<16} {role:<10} {twofactor.status(user):<10} {last}")
