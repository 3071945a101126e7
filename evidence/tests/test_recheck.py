"""`assay recheck` against each platform's fake on 127.0.0.1: posts the platform no longer has are
marked deleted with its reason (rows and evidence kept), the rest untouched, limits ridden out,
an X compliance job resumed rather than re-created, and the worker's schedule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from evidence.connectors.recheck import BLUESKY_GONE
from evidence.models import CollectionRun, Exchange, Post, Source
from evidence.recheck import due_rechecks, next_recheck_at
from evidence.tests.fakes import mastodon
from evidence.tests.fakes.helpers import options
from evidence.tests.fakes.recheck import GET_POSTS, BlueskyRecheckFake, FacebookRecheckFake
from evidence.tests.fakes.server import FakeClock, FakeServer, Reply
from evidence.tests.fakes.x import XFake
from evidence.tests.fakes.x_compliance import JOBS, LOOKUP, XRecheckFake
from evidence.tests.platforms import PLATFORMS
from oversight.models import AuditEvent

pytestmark = pytest.mark.django_db

FAKES: dict[str, Callable[[FakeClock], FakeServer]] = {
    "x": lambda c: XRecheckFake(n=25, clock=c),
    "bluesky": lambda c: BlueskyRecheckFake(n=30, clock=c),
    "mastodon": lambda c: mastodon.MastodonFake(n=20, clock=c),
    "facebook": lambda c: FacebookRecheckFake(n=9, clock=c),
}
RECHECK_PATH = {"x": JOBS, "bluesky": GET_POSTS, "mastodon": mastodon.STATUSES, "facebook": "/v25.0/"}
SERVER_ERROR: dict[str, Callable[[], Reply]] = {
    "x": XFake.server_error,
    "bluesky": BlueskyRecheckFake.upstream_failure,
    "mastodon": mastodon.MastodonFake.server_error,
    "facebook": FacebookRecheckFake.transient,
}


@pytest.fixture
def clock():
    return FakeClock()


def _start(name: str, clock: FakeClock, monkeypatch: Any, **source: Any) -> tuple[Any, Source]:
    platform = PLATFORMS[name]
    monkeypatch.setenv(*platform.env)
    fake = FAKES[name](clock)
    fake.__enter__()
    created = platform.source(fake, f"{name}-src", **source)
    call_command("collect", created.name, client_options=options(clock), stdout=StringIO())
    assert Post.objects.count() >= 9
    return fake, created


def _recheck(clock: FakeClock, *args: str) -> str:
    out = StringIO()
    call_command("recheck", *args, client_options=options(clock), stdout=out)
    return out.getvalue()


def _gone(name: str, fake: Any) -> dict[str, str]:
    """Make three collected posts disappear on the platform; return post id -> the reason expected."""
    posts = list(Post.objects.order_by("pk"))
    chosen = [posts[1], posts[4], posts[7]]
    if name == "x":
        fake.gone.update({chosen[0].platform_id: "deleted", chosen[1].platform_id: "protected",
                          chosen[2].platform_id: "suspended"})  # fmt: skip
        return {p.platform_id: f"X compliance: {why}" for p, why in zip(chosen, ("deleted", "protected", "suspended"),
                                                                          strict=True)}  # fmt: skip
    if name == "bluesky":
        fake.deleted.update(p.platform_id for p in chosen)
        return {p.platform_id: BLUESKY_GONE for p in chosen}
    if name == "mastodon":
        fake.deleted.update(str(p.raw["id"]) for p in chosen)
        return {p.platform_id: "Mastodon: Record not found (HTTP 404)" for p in chosen}
    fake.deleted.update(p.platform_id for p in chosen)
    return {p.platform_id: "Facebook: deleted or hidden (code 100/33) Unsupported get request." for p in chosen}


def _snapshot() -> dict[str, tuple[Any, ...]]:
    return {p.platform_id: (p.sha256, p.raw, p.text, p.exchange_id, p.run_id) for p in Post.objects.all()}


@pytest.mark.parametrize("name", sorted(FAKES))
def test_recheck_marks_the_posts_gone_with_the_platforms_reason_and_leaves_the_rest(name, clock, monkeypatch):
    fake, source = _start(name, clock, monkeypatch)
    try:
        expected = _gone(name, fake)
        before = _snapshot()
        exchanges_before = set(Exchange.objects.values_list("pk", "sha256"))

        out = _recheck(clock, source.name, *(["--x-via", "compliance"] if name == "x" else []))
    finally:
        fake.__exit__(None, None, None)
    assert fake.errors == []

    run = CollectionRun.objects.exclude(connector=source.connector).get()
    connector = "x_compliance" if name == "x" else f"{name}_recheck"
    assert (run.connector, run.status, run.trigger, run.deleted) == (connector, "done", "cli", 3)
    assert f"{source.name}: recheck ({connector}) done [run {run.pk}]" in out and "3 newly marked deleted" in out
    deleted = {p.platform_id: p.deleted_reason for p in Post.objects.filter(deleted_at__isnull=False)}
    assert set(deleted) == set(expected)
    for post_id, reason in expected.items():
        assert deleted[post_id].startswith(reason), (deleted[post_id], reason)
    assert _snapshot() == before  # rows, raw evidence and provenance unchanged: only the mark is new
    assert Post.objects.filter(deleted_at__isnull=True).count() == len(before) - 3
    assert exchanges_before <= set(Exchange.objects.values_list("pk", "sha256"))  # earlier evidence kept
    assert Exchange.objects.filter(run=run, role="page").count() == run.pages > 0
    actions = list(AuditEvent.objects.filter(action__startswith="recheck.").values_list("action", flat=True))
    assert actions == ["recheck.run_started", "recheck.run_finished"]


@pytest.mark.parametrize("name", sorted(FAKES))
def test_recheck_rides_out_429s_and_5xx_bursts(name, clock, monkeypatch):
    fake, source = _start(name, clock, monkeypatch)
    try:
        expected = _gone(name, fake)
        path = LOOKUP if name == "x" else RECHECK_PATH[name]
        fake.push(SERVER_ERROR[name](), SERVER_ERROR[name](), SERVER_ERROR[name](), fake.rate_limit(120), path=path)

        _recheck(clock, source.name, *(["--x-via", "lookup"] if name == "x" else []))
    finally:
        fake.__exit__(None, None, None)

    run = CollectionRun.objects.exclude(connector=source.connector).get()
    assert run.status == "done", run.error
    assert set(Post.objects.filter(deleted_at__isnull=False).values_list("platform_id", flat=True)) == set(expected)
    assert Exchange.objects.filter(run=run, role="attempt").count() == 4  # 3 bursts, then the 429
    assert any(s >= 120 for s in clock.sleeps)  # the rate-limit window was waited out, not hammered


def test_x_compliance_job_rides_out_429_and_503_burst_on_one_job(clock, monkeypatch):
    fake, source = _start("x", clock, monkeypatch)
    try:
        expected = _gone("x", fake)
        fake.push(fake.rate_limit(60), path=JOBS)  # on the job's creation
        fake.push(XFake.server_error(), XFake.server_error(), XFake.server_error(), path=JOBS + "/")  # on polls

        out = _recheck(clock, source.name, "--x-via", "compliance")
    finally:
        fake.__exit__(None, None, None)

    assert "done" in out
    assert len(fake.jobs) == 1 and len([r for r in fake.served(JOBS) if r.headers[":method"] == "POST"]) == 2
    assert set(Post.objects.filter(deleted_at__isnull=False).values_list("platform_id", flat=True)) == set(expected)
    [job] = fake.jobs.values()
    assert sorted(job["ids"]) == sorted(Post.objects.values_list("platform_id", flat=True))  # every post uploaded
    storage = fake.served("/storage/")
    assert storage and all("authorization" not in r.headers for r in storage)  # the token never left for storage


def test_a_compliance_job_still_running_stops_and_the_next_recheck_polls_the_same_job(clock, monkeypatch):
    fake, source = _start("x", clock, monkeypatch, options={"page_size": 10, "compliance_max_polls": 2})
    try:
        _gone("x", fake)
        fake.polls_to_complete = 4

        first = _recheck(clock, source.name, "--x-via", "compliance")
        run = CollectionRun.objects.get(connector="x_compliance")
        assert (run.status, run.stop_action) == ("stopped", "wait_for_reset") and run.resume_after is not None
        assert run.cursor["job"]["phase"] == "in_progress" and "resumes polling" in first
        assert run.deleted == 0

        second = _recheck(clock, source.name)  # auto: the job under way is finished, not a lookup started
    finally:
        fake.__exit__(None, None, None)

    run.refresh_from_db()
    assert run.status == "done" and run.deleted == 3 and f"[run {run.pk}]" in second
    assert len(fake.jobs) == 1  # polled, not created again
    assert CollectionRun.objects.filter(connector="x_compliance").count() == 1


def test_a_failed_compliance_job_stops_the_run_and_the_next_one_starts_a_new_job(clock, monkeypatch):
    fake, source = _start("x", clock, monkeypatch)
    try:
        _gone("x", fake)
        fake.end_jobs_with = "failed"
        with pytest.raises(CommandError, match="not rechecked: x-src"):
            _recheck(clock, source.name, "--x-via", "compliance")
        stopped = CollectionRun.objects.get(connector="x_compliance")
        assert stopped.status == "stopped" and "failed" in stopped.error and stopped.cursor == {}

        fake.end_jobs_with = ""
        _recheck(clock, source.name, "--x-via", "compliance")
    finally:
        fake.__exit__(None, None, None)

    assert len(fake.jobs) == 2
    done = CollectionRun.objects.filter(connector="x_compliance").order_by("pk").last()
    assert done is not None and done.pk != stopped.pk and (done.status, done.deleted) == ("done", 3)


def test_x_lookup_reports_deleted_and_hidden_posts_and_a_comeback_is_reported_not_undeleted(clock, monkeypatch):
    fake, source = _start("x", clock, monkeypatch)
    try:
        _gone("x", fake)
        out = _recheck(clock, source.name)  # 25 posts: auto picks a lookup
        reasons = dict(Post.objects.filter(deleted_at__isnull=False).values_list("platform_id", "deleted_reason"))
        assert sorted(reasons.values()) == ["X: no longer visible (protected or suspended)"] * 2 + [
            "X: not found (deleted)"
        ]
        assert "(x_lookup) done" in out
        protected = next(pid for pid, why in fake.gone.items() if why == "protected")
        marked_at = Post.objects.get(platform_id=protected).deleted_at

        del fake.gone[protected]  # the author made the account public again
        again = _recheck(clock, source.name, "--include-deleted")
    finally:
        fake.__exit__(None, None, None)

    post = Post.objects.get(platform_id=protected)
    assert post.deleted_at == marked_at  # still marked: a person judges a comeback
    assert "1 post(s) marked deleted are visible again" in again and protected in again
    finished = AuditEvent.objects.filter(action="recheck.run_finished").order_by("pk").last()
    assert finished is not None and finished.data["reappeared"] == [protected]


def test_limit_and_older_than_choose_the_oldest_posts(clock, monkeypatch):
    fake, source = _start("bluesky", clock, monkeypatch)
    try:
        posts = list(Post.objects.order_by("pk"))
        fake.deleted.update(p.platform_id for p in posts)  # everything is gone; only the chosen are asked about
        Post.objects.filter(pk__in=[p.pk for p in posts[:5]]).update(collected_at=timezone.now() - timedelta(days=9))

        _recheck(clock, source.name, "--older-than", "7")
        assert set(Post.objects.filter(deleted_at__isnull=False)) == set(posts[:5])

        _recheck(clock, source.name, "--limit", "4")
    finally:
        fake.__exit__(None, None, None)
    assert set(Post.objects.filter(deleted_at__isnull=False)) == set(posts[:9])


def test_a_file_source_is_refused_with_a_reason(clock, tmp_path):
    path = tmp_path / "tweets.jsonl"
    path.write_text("")
    Source.objects.create(name="twarc", platform="file", connector="twarc_ndjson", query=str(path))
    err = StringIO()
    with pytest.raises(CommandError, match="not rechecked: twarc"):
        call_command("recheck", "twarc", client_options=options(clock), stdout=StringIO(), stderr=err)
    assert "file import: there is no platform to ask" in err.getvalue()


def test_rederive_still_works_after_rechecks(clock, monkeypatch):
    fake, source = _start("x", clock, monkeypatch)
    try:
        _gone("x", fake)
        _recheck(clock, source.name, "--x-via", "compliance")
        _recheck(clock, source.name, "--x-via", "lookup", "--include-deleted")
    finally:
        fake.__exit__(None, None, None)
    before = _snapshot()
    out = StringIO()
    call_command("rederive", "--source", source.name, stdout=out)
    assert _snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_the_worker_rechecks_sources_on_their_schedule(clock, monkeypatch):
    fake, source = _start("mastodon", clock, monkeypatch, options={"page_size": 5, "recheck_every_hours": 24})
    manual = PLATFORMS["mastodon"].source(fake, "manual")
    try:
        _gone("mastodon", fake)
        assert [s.name for s in due_rechecks()] == [source.name]

        out = StringIO()
        call_command("worker", "--batch", stdout=out)
        assert "mastodon-src: recheck due, queued" in out.getvalue()
        run = CollectionRun.objects.get(connector="mastodon_recheck")
        assert (run.status, run.trigger, run.deleted) == ("done", "worker", 3)
        assert not CollectionRun.objects.filter(source=manual).exists()

        assert due_rechecks() == []
        when = next_recheck_at(Source.objects.get(pk=source.pk))
        assert when is not None and when > timezone.now() + timedelta(hours=23)
        call_command("worker", "--batch", stdout=StringIO())
        assert CollectionRun.objects.filter(connector="mastodon_recheck").count() == 1
    finally:
        fake.__exit__(None, None, None)


def test_the_sources_pages_name_a_recheck_run_and_show_what_it_marked_deleted(clock, monkeypatch, client, cast):
    fake, source = _start("facebook", clock, monkeypatch)
    try:
        _gone("facebook", fake)
        _recheck(clock, source.name)
    finally:
        fake.__exit__(None, None, None)
    run = CollectionRun.objects.get(connector="facebook_recheck")
    collection = CollectionRun.objects.get(connector="facebook_page")
    client.force_login(cast["olivia"])

    listing = client.get(reverse("evidence-sources")).content.decode()
    detail = client.get(reverse("evidence-source", args=[source.pk])).content.decode()

    # The list keeps the last collection's columns and gives the last recheck its own.
    assert f'href="{reverse("evidence-run", args=[collection.pk])}"' in listing
    assert '<span class="flag">facebook_recheck</span>' not in listing
    recheck_cell = listing.split('<td class="recheck">', 1)[1].split("</td>", 1)[0]
    assert f'href="{reverse("evidence-run", args=[run.pk])}"' in recheck_cell and "3 marked deleted" in recheck_cell
    assert f"<td>{collection.imported}</td>" in listing
    assert f'#{run.pk}</a> <span class="flag">facebook_recheck</span>' in detail
    assert '<span class="flag">facebook_page</span>' not in detail  # collections are not flagged


def test_a_source_never_rechecked_says_so(clock, monkeypatch, client, cast):
    fake, _ = _start("mastodon", clock, monkeypatch)
    fake.__exit__(None, None, None)
    client.force_login(cast["otto"])  # oversight sees the counts, without links

    listing = client.get(reverse("evidence-sources")).content.decode()

    assert '<td class="recheck">never</td>' in listing


def test_a_recheck_waits_for_an_interrupted_collection_so_it_can_still_resume(clock, monkeypatch):
    fake, source = _start("bluesky", clock, monkeypatch, options={"page_size": 10, "recheck_every_hours": 24})
    try:
        collected = CollectionRun.objects.get()
        CollectionRun.objects.filter(pk=collected.pk).update(status="stopped", cursor={"cursor": "10", "page": 1})

        err = StringIO()
        with pytest.raises(CommandError, match="not rechecked"):
            call_command("recheck", source.name, client_options=options(clock), stdout=StringIO(), stderr=err)
        assert f"interrupted collection (run {collected.pk}) to resume first" in err.getvalue()
        assert due_rechecks() == []  # the worker does not queue it either

        CollectionRun.objects.filter(pk=collected.pk).update(status="done", cursor={})
        assert "done" in _recheck(clock, source.name)
    finally:
        fake.__exit__(None, None, None)


def test_posts_from_jetstream_are_rechecked_on_an_appview_not_the_websocket(clock, monkeypatch):
    fake, source = _start("bluesky", clock, monkeypatch)
    try:
        expected = _gone("bluesky", fake)
        monkeypatch.delenv("BLUESKY_ACCESS_JWT")  # Jetstream needs no session, nor does getPosts
        Source.objects.filter(pk=source.pk).update(connector="bluesky_jetstream", base_url="wss://jetstream.example",
                                                   options={"recheck_base_url": fake.base_url})  # fmt: skip
        _recheck(clock, source.name)
    finally:
        fake.__exit__(None, None, None)
    assert set(Post.objects.filter(deleted_at__isnull=False).values_list("platform_id", flat=True)) == set(expected)
    assert all("authorization" not in r.headers for r in fake.served(GET_POSTS))


def test_a_collection_never_resumes_an_interrupted_recheck(clock, monkeypatch):
    """A recheck killed mid-job leaves a running run; the next collection starts its own run and
    leaves the recheck's (its job id in the cursor) for the next recheck to resume."""
    fake, source = _start("x", clock, monkeypatch)
    try:
        collected = CollectionRun.objects.get()
        killed = CollectionRun.objects.create(
            source=source, connector="x_compliance", connector_version="1", query=source.query,
            started_at=timezone.now(), status=CollectionRun.Status.RUNNING, owner="elsewhere:1",
            heartbeat_at=timezone.now() - timedelta(hours=2), cursor={"job": "1990000000000000000", "phase": "poll"},
        )  # fmt: skip
        call_command("collect", source.name, client_options=options(clock), stdout=StringIO())
    finally:
        fake.__exit__(None, None, None)
    newest = CollectionRun.objects.exclude(pk__in=[collected.pk, killed.pk]).get()
    assert (newest.connector, newest.status) == (source.connector, "done")
    killed.refresh_from_db()
    assert (killed.connector, killed.status, killed.cursor["job"]) == ("x_compliance", "running", "1990000000000000000")
