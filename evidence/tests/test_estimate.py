"""`assay sources estimate`: X's counts endpoint says how many posts a run would read (and bill)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evidence.models import CollectionRun, Source
from evidence.tests.fakes.helpers import options
from evidence.tests.fakes.server import FakeClock
from evidence.tests.fakes.x import COUNTS, TOKEN, XFake
from evidence.tests.platforms import PLATFORMS
from oversight.models import AuditEvent

pytestmark = pytest.mark.django_db


def _estimate(clock: FakeClock, name: str) -> str:
    out = StringIO()
    call_command("sources", "estimate", name, client_options=options(clock), stdout=out)
    return out.getvalue()


def test_the_estimate_is_what_a_run_then_reads_and_is_checked_against_the_cap(monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    clock = FakeClock()
    with XFake(n=25, clock=clock) as fake:
        source = PLATFORMS["x"].source(fake, "council", spending_cap=20)
        out = _estimate(clock, "council")
        [asked] = [r for r in fake.requests if r.path.startswith(COUNTS)]
        Source.objects.filter(pk=source.pk).update(spending_cap=None)  # the operator sees the figure, lifts the cap
        call_command("collect", "council", client_options=options(clock), stdout=StringIO())

    run = CollectionRun.objects.get()
    assert f"about {run.read:,} posts match '#examplehashtag'" in out  # the count is what the run read
    assert asked.params["query"] == "#examplehashtag" and asked.params["granularity"] == "day"
    assert asked.params["start_time"] == "2025-12-01T00:00:00Z" and asked.params["end_time"] == "2026-01-01T09:00:00Z"
    assert f"spending cap 20 a month, 0 read this month, 20 left: a run would exceed it by {run.read - 20}" in out
    event = AuditEvent.objects.get(action="source.estimated")
    assert (event.data["posts"], event.data["spending_cap"]) == (run.read, 20)


def test_a_run_that_fits_says_so(monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    clock = FakeClock()
    with XFake(n=12, clock=clock) as fake:
        PLATFORMS["x"].source(fake, "small", spending_cap=1000)
        out = _estimate(clock, "small")
    assert "about 12 posts match" in out and "a run fits" in out


def test_only_x_sources_are_estimated(monkeypatch):
    clock = FakeClock()
    platform = PLATFORMS["mastodon"]
    monkeypatch.setenv(*platform.env)
    with platform.make(clock) as fake:
        platform.source(fake, "toots")
        with pytest.raises(CommandError, match=r"toots: cannot estimate: .*x_search sources"):
            _estimate(clock, "toots")
    assert Source.objects.count() == 1


def test_an_unknown_source_is_named():
    with pytest.raises(CommandError, match="no source 'nope'"):
        _estimate(FakeClock(), "nope")
