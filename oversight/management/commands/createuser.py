"""assay createuser: add a person with one role; prints a generated password once."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oversight.roles import ROLE_HELP, Role
from oversight.services import create_user, set_password


class Command(BaseCommand):
    help = "Create a user with a role (operator, reviewer, lead, oversight); prints a generated password once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        roles = "; ".join(f"{r.value}: {ROLE_HELP[r]}" for r in Role)
        parser.add_argument("--role", required=True, choices=[r.value for r in Role], help=roles)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--reset-password", action="store_true", help="the user exists: generate and print a new password"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = secrets.token_urlsafe(12)
        try:
            if options["reset_password"]:
                set_password(options["username"], password)
            else:
                create_user(options["username"], options["role"], password=password, email=options["email"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"user: {options['username']}  password: {password}  (shown once; store it now)")
