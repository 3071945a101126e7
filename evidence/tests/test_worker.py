"""`assay worker` runs due sources on their schedules through django-tasks on the database."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from evidence.collect import request_collection
from evidence.models import CollectionRun, Source
from evidence.tests.fakes import x
from evidence.tests.fakes.server import FakeClock
from evidence.tests.platforms import PLATFORMS

pytestmark = pytest.mark.django_db(transaction=True)  # jobs are enqueued after commit, as in production


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", x.TOKEN)
    with x.XFake(n=25, clock=FakeClock()) as server:
        yield server


def _worker() -> str:
    out = StringIO()
    call_command("worker", "--batch", stdout=out)
    return out.getvalue()


def test_it_runs_a_due_source_and_not_a_disabled_or_not_yet_due_one(fake):
    p = PLATFORMS["x"]
    due = p.source(fake, "due", every_minutes=60)
    disabled = p.source(fake, "disabled", every_minutes=60)
    Source.objects.filter(pk=disabled.pk).update(enabled=False)
    later = p.source(fake, "later", every_minutes=60)
    Source.objects.filter(pk=later.pk).update(next_run_at=timezone.now() + timedelta(minutes=5))
    manual = p.source(fake, "manual")

    out = _worker()

    assert "due: due, queued" in out and "due: done" in out
    assert list(CollectionRun.objects.values_list("source__name", "status", "trigger")) == [("due", "done", "worker")]
    assert not CollectionRun.objects.filter(source__in=[disabled, later, manual]).exists()
    due.refresh_from_db()
    assert due.queued_at is None
    assert due.next_run_at is not None and due.next_run_at > timezone.now() + timedelta(minutes=59)
    [job] = DBTaskResult.objects.all()
    assert job.status == "SUCCESSFUL" and job.args_kwargs == {"args": [due.pk, "worker"], "kwargs": {}}


def test_a_source_just_collected_is_not_due_again(fake):
    PLATFORMS["x"].source(fake, "due", every_minutes=60)
    _worker()

    out = _worker()

    assert out == "" and CollectionRun.objects.count() == 1


def test_collect_now_is_a_job_the_worker_runs_once(fake):
    source = PLATFORMS["x"].source(fake, "asked")

    assert request_collection(source, actor="olivia") is True
    assert request_collection(source, actor="olivia") is False  # one job waiting is enough
    _worker()

    [run] = CollectionRun.objects.all()
    assert (run.status, run.trigger, run.imported) == ("done", "ui", 25)
    assert DBTaskResult.objects.count() == 1
