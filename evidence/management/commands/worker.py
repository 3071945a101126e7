"""assay worker: collect due sources on their schedules, and run queued jobs ("collect now")."""

from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from evidence.collect import describe, enqueue_due
from evidence.models import CollectionRun
from evidence.recheck import enqueue_due_rechecks
from oversight.services import acting_as


class Command(BaseCommand):
    help = "Run scheduled collections and queued jobs (django-tasks on the database); --batch: once, then exit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", action="store_true", help="queue what is due, run every job, exit (cron, tests)")
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between looks for work (default 5)")

    def handle(self, *args: Any, **options: Any) -> None:
        self._running = True
        if not options["batch"]:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        with acting_as(None):  # jobs act for whoever queued them (or on schedule, as "system"), not the starter
            self._work(options)

    def _work(self, options: dict[str, Any]) -> None:
        worker_id = f"assay-{get_random_string(12)}"
        while self._running:
            started = timezone.now()
            for source in enqueue_due():
                self.stdout.write(f"{source.name}: due, queued")
            for source in enqueue_due_rechecks():
                self.stdout.write(f"{source.name}: recheck due, queued")
            Worker(
                queue_names=["default"],
                interval=0,
                batch=True,
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id=worker_id,
                excluded_queue_names=[],
            ).run()
            finished = CollectionRun.objects.filter(finished_at__gte=started).select_related("source").order_by("pk")
            for run in finished:
                self.stdout.write(describe(run))
            if options["batch"]:
                return
            time.sleep(options["interval"])

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        """Finish the job in hand (its pages are checkpointed anyway), then exit."""
        self._running = False
