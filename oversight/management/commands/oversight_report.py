"""assay oversight-report: the oversight dashboard's figures in the terminal, as JSON, or to a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table as RichTable

from oversight import figures
from oversight.services import Report, report_for_command


class Command(BaseCommand):
    help = (
        "Print the oversight figures (scale and outcomes of every stage, small counts suppressed); audited.\n\n"
        "The same figures as /oversight/, computed now, with the period they cover and when they were generated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print JSON (as /oversight/figures.json) instead")
        parser.add_argument("--out", metavar="FILE", default="", help="write the report to FILE instead of printing")

    def handle(self, *args: Any, **options: Any) -> None:
        out = options["out"]
        if out and not Path(out).parent.is_dir():
            raise CommandError(f"--out {out}: the folder {Path(out).parent} does not exist")
        form = "json" if options["json"] else "text"
        report = report_for_command(form=form, out=str(Path(out).resolve()) if out else "")
        if not out:
            self._write(report, form, self.stdout, terminal=True)
            return
        try:
            with open(out, "w", encoding="utf-8") as fh:
                self._write(report, form, fh, terminal=False)
        except OSError as exc:
            raise CommandError(f"--out {out}: cannot write it: {exc.strerror}") from None
        self.stdout.write(f"oversight report written to {out}")

    def _write(self, report: Report, form: str, stream: Any, *, terminal: bool) -> None:
        if form == "json":
            stream.write(json.dumps(report.as_json(), ensure_ascii=False, indent=2) + "\n")
        else:
            _print_report(report, stream, terminal=terminal)


def _print_report(report: Report, stream: IO[str], *, terminal: bool) -> None:
    console = Console(file=stream, width=120, force_terminal=False, no_color=not terminal, highlight=False)
    console.print(f"[bold]assay oversight report[/bold], generated {report.generated_at:%Y-%m-%d %H:%M:%S} UTC")
    console.print(f"Period: {report.period}.")
    console.print(f"Counts of people below {report.min_cell} show as “fewer than {report.min_cell}”.")
    for _key, title, figs in report.sections():
        console.rule(f"[bold]{title}")
        for fig in figs:
            _print_figure(console, fig)


def _print_figure(console: Console, fig: figures.Figure) -> None:
    console.print()
    if not isinstance(fig.value, figures.Table):
        console.print(f"[bold]{fig.label}[/bold]: {figures.format_cell(fig.value, fig.unit)}")
        console.print(f"[dim]{fig.help}[/dim]")
        return
    console.print(f"[bold]{fig.label}[/bold]")
    console.print(f"[dim]{fig.help}[/dim]")
    if not fig.value.rows:
        console.print("nothing recorded yet")
        return
    table = RichTable()
    for i, column in enumerate(fig.value.columns):
        table.add_column(column, justify="right" if i in fig.numeric_columns else "left")
    for row in fig.value.rows:
        cells = (figures.format_cell(c, fig.unit if i >= fig.value.label_columns else "") for i, c in enumerate(row))
        table.add_row(*cells)
    console.print(table)
    for note in fig.notes:
        console.print(f"[dim]{note}[/dim]")
