"""assay linkage: train the probabilistic model, evaluate it, and find duplicate members."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from evidence.models import Account
from linkage import services
from linkage.model import LinkageError
from linkage.services import LinkagePolicyError
from register.models import Member


def _read_labels(path: Path) -> list[tuple[int, int, bool]]:
    """CSV with columns account (id, or platform:platform_id), member (number) and match (1/0, yes/no)."""
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    members = dict(Member.objects.values_list("number", "pk"))
    labels, problems = [], []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"account", "member", "match"} - set(reader.fieldnames or [])
        if missing:
            raise CommandError(f"{path}: missing column(s) {', '.join(sorted(missing))} (need account, member, match)")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            account_id = _account_id(row["account"].strip())
            member_id = members.get(row["member"].strip())
            match = row["match"].strip().lower()
            if account_id is None or member_id is None or match not in {"1", "0", "yes", "no", "true", "false"}:
                problems.append(f"{where}: unknown account, member or match value: {row}")
                continue
            labels.append((account_id, member_id, match in {"1", "yes", "true"}))
    if problems:
        raise CommandError(
            "\n".join(problems[:20]) + (f"\n… and {len(problems) - 20} more" if len(problems) > 20 else "")
        )
    return labels


def _account_id(value: str) -> int | None:
    if value.isdigit():
        return int(value) if Account.objects.filter(pk=int(value)).exists() else None
    platform, _, platform_id = value.partition(":")
    return Account.objects.filter(platform=platform, platform_id=platform_id).values_list("pk", flat=True).first()


class Command(BaseCommand):
    help = (
        "Probabilistic linkage: `train` the model from reviewer labels, `evaluate` it by threshold, find `duplicates`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub.add_parser(
            "train",
            help="estimate a new model version from the register, accounts and reviewer labels (needs an approved "
            "purpose covering probabilistic linkage: ASSAY_LINKAGE_PURPOSE)",
        )
        evaluate = sub.add_parser(
            "evaluate", help="precision, recall and F1 by threshold (pick ASSAY_LINKAGE_THRESHOLD from it)"
        )
        evaluate.add_argument(
            "labels", nargs="?", type=Path, metavar="LABELS",
            help="CSV of account,member,match; default: reviewers' confirmations and rejections",
        )  # fmt: skip
        dupes = sub.add_parser("duplicates", help="list register entries that look like the same person")
        dupes.add_argument("--threshold", type=float, default=0.9, help="minimum match probability (default 0.9)")

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(file=cast(IO[str], self.stdout), width=120)
        try:
            getattr(self, f"_{options['action']}")(console, options)
        except (LinkageError, LinkagePolicyError) as exc:
            raise CommandError(str(exc)) from None

    def _train(self, console: Console, options: dict[str, Any]) -> None:
        trained = services.train()
        console.print(
            f"linkage model {trained.version}: {trained.members} members, {trained.accounts} accounts, "
            f"{trained.labels} confirmed labels"
        )

    def _evaluate(self, console: Console, options: dict[str, Any]) -> None:
        labels = _read_labels(options["labels"]) if options["labels"] else services.reviewer_labels()
        trained, rows = services.evaluate(labels)
        positives = sum(1 for *_, ok in labels if ok)
        console.print(f"model {trained.version} on {len(labels)} labelled pairs ({positives} matches)")
        table = Table("threshold", "precision", "recall", "F1", "true +", "false +", "missed")
        for row in rows:
            table.add_row(f"{row.threshold:g}", f"{row.precision:.3f}", f"{row.recall:.3f}", f"{row.f1:.3f}",
                          str(row.tp), str(row.fp), str(row.fn))  # fmt: skip
        console.print(table)

    def _duplicates(self, console: Console, options: dict[str, Any]) -> None:
        pairs = services.duplicate_members(options["threshold"])
        table = Table("probability", "member", "possible duplicate")
        for a, b, p in pairs:
            table.add_row(f"{p:.3f}", f"{a} {a.town}", f"{b} {b.town}")
        console.print(table)
        console.print(f"{len(pairs)} possible duplicate pair(s) at probability ≥ {options['threshold']}")
