"""Terminal output shared by the commands: a rich progress bar that stays quiet off a TTY."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """Yield ``update(completed)``; draws a bar on a terminal, nothing in logs and tests."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not sys.stdout.isatty(),
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total)

        def update(completed: int) -> None:
            progress.update(task, completed=completed)

        yield update
