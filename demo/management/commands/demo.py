"""assay demo: build a fictional organisation, run the whole flow, and serve the UI."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from demo.services import DEMO_USERS, run_demo


class Command(BaseCommand):
    help = "Build a fictional organisation (seeded), run every stage on it, and serve the UI on 127.0.0.1:8000."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="run the flow, then exit without serving")
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="size of the organisation relative to the standard one (5,000 members, 50,000 posts)",
        )
        parser.add_argument(
            "--linkage-policy", choices=["declared", "probabilistic"], default="probabilistic",
            help="linkage policy for the demo organisation, whose (fictional) DPIA allows probabilistic matching "
            "(default); real installations follow ASSAY_LINKAGE_POLICY, which defaults to declared",
        )  # fmt: skip
        parser.add_argument("--bind", default="127.0.0.1:8000", help="address to serve on (default 127.0.0.1:8000)")

    def handle(self, *args: Any, **options: Any) -> None:
        with ExitStack() as stack:
            progress = stack.enter_context(
                Progress(
                    TextColumn("[bold]{task.description:>10}"),
                    BarColumn(),
                    TimeElapsedColumn(),
                    disable=not sys.stdout.isatty(),
                )
            )

            def bar(label: str, total: int | None) -> Callable[[int], None]:
                task = progress.add_task(label, total=total)
                return lambda done: progress.update(task, completed=done)

            report = run_demo(progress=bar, scale=options["scale"], linkage_policy=options["linkage_policy"])
        for line in report.lines:
            self.stdout.write(line)
        self.stdout.write("")
        for line in self._login_lines(report.new_passwords, options["bind"], report.new_second_factors):
            self.stdout.write(line)
        if not options["no_serve"]:
            call_command("serve", bind=options["bind"])

    def _login_lines(
        self, passwords: dict[str, str], bind: str, second: dict[str, tuple[str, list[str]]]
    ) -> Iterator[str]:
        yield f"Log in at http://{bind}/"
        if passwords:
            yield "Demo users (passwords and codes are shown once; store them now):"
            for username, role in DEMO_USERS:
                if username in passwords:
                    yield f"  {username:<10} {role.value:<10} password: {passwords[username]}"
                    if username in second:
                        secret, codes = second[username]
                        yield f"  {'':<21} recovery codes (one per sign-in): {' '.join(codes[:3])}"
                        yield f"  {'':<21} authenticator secret (TOTP): {secret}"
            if second:
                yield "Sign-in asks for a second factor: enter a recovery code above (each works once),"
                yield "or add the secret to an authenticator app. Out of codes? assay users reset-2fa NAME"
            yield "Start as 'reviewer' (cases are assigned to you); 'lead' signs off adverse decisions;"
            yield "'panel', a lead with no part in them, decides appeals."
        else:
            yield "Demo users already exist (reviewer, lead, panel, operator, oversight). Forgot a password?"
            yield "  assay createuser reviewer --role reviewer --reset-password"
