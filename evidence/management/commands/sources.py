"""assay sources: list, add, enable and disable the sources collection runs from."""

from __future__ import annotations

import json
from datetime import datetime
from typing import IO, Any, cast

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import OuterRef, Subquery
from rich.console import Console
from rich.table import Table

from evidence.collect import add_source, estimate_reads, set_enabled
from evidence.connectors.http import ClientOptions, CollectionStopped
from evidence.models import CollectionRun, Source
from evidence.registry import SPECS, ConfigError
from oversight.purposes import refusal as purpose_refusal


def _when(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone (end it with Z or +00:00)")
    return moment


def _option(value: str) -> tuple[str, Any]:
    key, sep, raw = value.partition("=")
    if not sep or not key:
        raise ValueError(f"{value!r}: options are KEY=VALUE")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


class Command(BaseCommand):
    help = "List, add, enable or disable collection sources (credentials stay in the environment)."
    stealth_options = ("client_options",)  # tests inject the connector client's clock and sleep

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", title="actions")
        actions.add_parser("list", help="every source with its schedule and last run (the default)")
        add = actions.add_parser("add", help="add a source")
        add.add_argument("name")
        add.add_argument("--connector", required=True, choices=sorted(SPECS))
        add.add_argument("--query", required=True, help="platform query; a page id for Facebook; a path for files")
        add.add_argument(
            "--purpose", required=True, metavar="NAME", help="the recorded purpose it collects for (assay purposes)"
        )
        add.add_argument("--base-url", default="", help="API base URL or Mastodon instance")
        add.add_argument("--since", type=_when, help="window start, ISO 8601 with zone")
        add.add_argument("--until", type=_when, help="window end, ISO 8601 with zone (default: now, at each run)")
        add.add_argument("--every", type=int, metavar="MINUTES", help="schedule for `assay worker`")
        add.add_argument("--credential-env", default="", metavar="NAME", help="environment variable holding the token")
        add.add_argument("--spending-cap", type=int, metavar="POSTS", help="X: most posts to read per month")
        add.add_argument(
            "--option", type=_option, action="append", default=[], metavar="KEY=VALUE", help="connector option"
        )
        for verb in ("enable", "disable"):
            sub = actions.add_parser(verb, help=f"{verb} sources")
            sub.add_argument("names", nargs="+", metavar="NAME")
        estimate = actions.add_parser(
            "estimate", help="X: count the posts a run would read (and be billed for), against the spending cap"
        )
        estimate.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options.get("action") or "list"
        if action == "add":
            self._add(options)
        elif action == "estimate":
            self._estimate(options["name"], options.get("client_options"))
        elif action in ("enable", "disable"):
            for name in options["names"]:
                source = Source.objects.filter(name=name).first()
                if source is None:
                    raise CommandError(f"no source {name!r}")
                set_enabled(source, action == "enable")
                self.stdout.write(f"{name}: {action}d")
        else:
            self._list()

    def _add(self, options: dict[str, Any]) -> None:
        try:
            source = add_source(
                options["name"],
                connector=options["connector"],
                query=options["query"],
                base_url=options["base_url"],
                since=options["since"],
                until=options["until"],
                every_minutes=options["every"],
                credential_env=options["credential_env"],
                spending_cap=options["spending_cap"],
                options=dict(options["option"]),
                purpose=options["purpose"],
            )
        except (ConfigError, ValidationError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{source.name}: added ({source.connector}, {source.platform}) for purpose {options['purpose']!r}"
        )
        if (problem := purpose_refusal(options["purpose"])) is not None:
            self.stdout.write(f"{source.name}: will not collect yet: {problem}")

    def _estimate(self, name: str, client_options: ClientOptions | None) -> None:
        source = Source.objects.filter(name=name).first()
        if source is None:
            raise CommandError(f"no source {name!r}")
        try:
            estimate = estimate_reads(source, options=client_options)
        except (ConfigError, CollectionStopped) as exc:
            raise CommandError(f"{name}: cannot estimate: {exc}") from None
        window = f"{estimate.since:%Y-%m-%d %H:%M} to {estimate.until:%Y-%m-%d %H:%M} UTC" if estimate.since else (
            f"the last 7 days to {estimate.until:%Y-%m-%d %H:%M} UTC")  # fmt: skip
        self.stdout.write(f"{name}: about {estimate.posts:,} posts match {source.query!r} from {window} (X counts)")
        if source.spending_cap is None:
            self.stdout.write(f"{name}: no spending cap set; {estimate.read_this_month:,} read this month")
            return
        left = source.spending_cap - estimate.read_this_month
        verdict = "fits" if estimate.posts <= left else f"would exceed it by {estimate.posts - left:,}"
        self.stdout.write(
            f"{name}: spending cap {source.spending_cap:,} a month, {estimate.read_this_month:,} read this month, "
            f"{max(left, 0):,} left: a run {verdict}"
        )

    def _list(self) -> None:
        last = CollectionRun.objects.filter(source=OuterRef("pk")).order_by("-pk")
        sources = Source.objects.annotate(
            last_status=Subquery(last.values("status")[:1]),
            last_imported=Subquery(last.values("imported")[:1]),
            last_error=Subquery(last.values("error")[:1]),
        ).order_by("name")
        table = Table("name", "connector", "query", "enabled", "every", "next run", "last run", "imported", "error")
        for s in sources:
            table.add_row(
                s.name,
                s.connector,
                s.query[:40],
                "yes" if s.enabled else "no",
                f"{s.every_minutes} min" if s.every_minutes else "",
                f"{s.next_run_at:%Y-%m-%d %H:%M}" if s.next_run_at else "",
                s.last_status or "never",
                str(s.last_imported or 0),
                (s.last_error or "")[:60],
            )
        console = Console(file=cast(IO[str], self.stdout), width=200)
        console.print(table)
