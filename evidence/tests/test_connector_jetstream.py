"""Bluesky Jetstream through `assay collect` against a real WebSocket fake on 127.0.0.1: batches as
evidence, the query filter, wantedDids, resume from the cursor, reconnects, deletions, bad frames."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evidence.collect import add_source, rederive
from evidence.connectors.jetstream import BlueskyJetstream, TextQuery
from evidence.connectors.page import Query, RichPost
from evidence.models import CollectionRun, Exchange, Post, Quarantine
from evidence.tests.fakes.helpers import options
from evidence.tests.fakes.jetstream import BASE_US, ERIKA, MAX, QUERY, JetstreamFake, Refusal, v2_frames
from evidence.tests.fakes.server import FakeClock

pytestmark = pytest.mark.django_db

SINCE = datetime(2026, 1, 1, 7, tzinfo=UTC)
UNTIL = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)  # after the stream's last event, before the fake clock's now
MAX_POST = f"at://{MAX}/app.bsky.feed.post/3lfexamplepost1"
FAST = {"page_size": 4, "idle_seconds": 0.3, "batch_seconds": 30}


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def fake():
    with JetstreamFake() as server:
        yield server
    assert server.errors == []


def _source(fake, name="jetstream", query=QUERY, **opts):
    return add_source(name, connector="bluesky_jetstream", query=query, base_url=fake.url, since=SINCE, until=UNTIL,
                      options={**FAST, **opts})  # fmt: skip


def _collect(clock, *names):
    out = StringIO()
    call_command("collect", *names, client_options=options(clock), stdout=out)
    return out.getvalue()


def _expected(fake, clock, query=QUERY, **kwargs):
    """(at-uri, sha256, kind, text) of what the connector alone yields from an undisturbed stream."""
    with BlueskyJetstream(url=fake.url, idle_seconds=0.3, options=options(clock), **kwargs) as jet:
        pages = list(jet.pages(Query(query, SINCE, UNTIL)))
    fake.connections.clear()
    return sorted({(r.post.platform_id, r.sha256, r.post.kind, r.post.text) for p in pages for r in p.records})


def _rows():
    return sorted(Post.objects.values_list("platform_id", "sha256", "kind", "text"))


def test_it_collects_matching_posts_in_batches_whose_frames_are_the_evidence(fake, clock):
    expected = _expected(fake, clock)
    _source(fake)

    out = _collect(clock, "jetstream")

    run = CollectionRun.objects.get()
    assert run.status == "done" and "jetstream: done" in out
    assert _rows() == expected and len(expected) == 13  # 12 generated matches and the documented post
    assert all(QUERY in text for _, _, _, text in expected)
    pages = Exchange.objects.filter(run=run, role="page").order_by("seq")
    assert run.pages == pages.count() >= 4
    for exchange in pages:
        body = bytes(exchange.body)
        assert exchange.status == 101 and exchange.url.startswith(fake.url + "?")
        assert exchange.sha256 == hashlib.sha256(body).hexdigest()
        assert "über etwas anderes" not in body.decode()  # non-matching posts are never stored
        assert "app.bsky.feed.like" not in body.decode()
    assert [c.params["wantedCollections"] for c in fake.connections] == [["app.bsky.feed.post"]]
    assert fake.connections[0].params["cursor"] == [str(int(SINCE.timestamp()) * 1_000_000)]
    assert "wantedDids" not in fake.connections[0].params


def test_delete_and_account_events_mark_the_collected_posts_deleted(fake, clock):
    _source(fake)

    _collect(clock, "jetstream")

    post = Post.objects.get(platform_id=MAX_POST)
    assert post.deleted_at is not None and post.deleted_reason == "Bluesky: deleted by author"
    assert post.text.startswith("Straßenfest") and post.account is not None and post.account.platform_id == MAX
    # The documented stream ends with Erika's account deleted: every post of hers we hold is marked,
    # with the status as the reason; nobody else's.
    erikas = Post.objects.filter(account__platform_id=ERIKA)
    assert erikas.count() == 4 and set(erikas.values_list("deleted_reason", flat=True)) == {"Bluesky: account deleted"}
    others = Post.objects.exclude(account__platform_id=ERIKA).exclude(platform_id=MAX_POST)
    assert others.exists() and not others.filter(deleted_at__isnull=False).exists()
    assert CollectionRun.objects.get().deleted == 1 + 4


def test_it_follows_the_declared_dids_with_wanted_dids(fake, clock):
    expected = _expected(fake, clock, query="*", dids=[ERIKA, MAX])
    _source(fake, query="*", dids=[ERIKA, MAX])

    _collect(clock, "jetstream")

    [connection] = fake.connections
    assert connection.params["wantedDids"] == [ERIKA, MAX]
    assert connection.params["wantedCollections"] == ["app.bsky.feed.post"]
    assert _rows() == expected
    authors = set(Post.objects.values_list("account__platform_id", flat=True))
    assert authors == {ERIKA, MAX}
    assert Post.objects.filter(text__contains="über etwas anderes").exists()  # '*': every post of theirs


def test_resuming_after_a_stop_from_the_cursor_gives_the_uninterrupted_rows(fake, clock):
    expected = _expected(fake, clock)
    _source(fake, max_posts=3)

    stops = 0
    _collect(clock, "jetstream")  # a limit reached is a resumable stop, not a failure
    while (run := CollectionRun.objects.get()).status != "done":  # the same run, resumed each time
        assert run.stop_action == "run_limit" and "max_posts=3" in run.error
        stops += 1
        stored, connections = run.cursor["time_us"], len(fake.connections)
        _collect(clock, "jetstream")
        assert fake.connections[connections].params["cursor"] == [str(stored)]
        assert stops < 10
    assert stops >= 4  # 13 posts, 3 a run
    assert _rows() == expected
    assert Post.objects.get(platform_id=MAX_POST).deleted_at is not None


def test_a_dropped_connection_reconnects_rewound_without_losing_or_duplicating(fake, clock):
    expected = _expected(fake, clock)
    fake.drop_after(5)
    fake.drop_after(9)
    _source(fake)

    _collect(clock, "jetstream")

    run = CollectionRun.objects.get()
    assert run.status == "done" and _rows() == expected
    assert run.duplicates == 0 and run.imported == len(expected)
    cursors = [int(c.params["cursor"][0]) for c in fake.connections]
    assert len(cursors) == 3 and cursors[1] < cursors[2]
    pages = Exchange.objects.filter(run=run, role="page").order_by("seq")
    assert {e.url.split("cursor=")[1] for e in pages} == {str(c) for c in cursors}  # each batch names its connection
    # rewound 5 s from the last frame handled: event 4 on the first connection, event 8 on the second
    assert cursors[1:] == [BASE_US + 4_000_000 - 5_000_000, BASE_US + 8_000_000 - 5_000_000]


def test_an_error_frame_stops_the_run_with_its_message(fake, clock):
    error = v2_frames()[3]
    fake.inject(8, error)
    _source(fake)

    with pytest.raises(CommandError):
        _collect(clock, "jetstream")

    run = CollectionRun.objects.get()
    assert run.status == "stopped" and run.stop_action == "bad_query"
    assert "InvalidRequest: unknown kind: commits" in run.error
    assert Post.objects.count() == 4  # posts 0, 2, 4, 6 came before it, and were kept
    last = Exchange.objects.filter(run=run, role="page").last()
    assert last is not None and error in bytes(last.body).decode()


def test_malformed_frames_are_quarantined_and_an_outdated_cursor_is_recorded(fake, clock):
    expected = _expected(fake, clock)
    fake.inject(0, v2_frames()[2])  # info: OutdatedCursor
    fake.inject(3, '{"did": "did:plc:broken", "time_us": 17672544')
    fake.inject(5, json.dumps({"did": "did:plc:x", "time_us": "soon", "kind": "commit", "commit": {}}))
    _source(fake)

    _collect(clock, "jetstream")

    run = CollectionRun.objects.get()
    assert run.status == "done" and _rows() == expected
    assert run.quarantined == 2 and run.skipped == 1
    reasons = sorted(Quarantine.objects.values_list("reason", flat=True))
    assert reasons[0].startswith("'time_us' missing or not a positive integer") and "not JSON" in reasons[1]


def test_rederiving_the_stored_batches_changes_nothing(fake, clock):
    _source(fake)
    _collect(clock, "jetstream")

    result = rederive(CollectionRun.objects.get())

    assert (result.created, result.updated, result.unchanged) == (0, 0, Post.objects.count())


def test_a_query_star_without_dids_is_refused(fake, clock):
    _source(fake, query="*")

    with pytest.raises(CommandError):
        _collect(clock, "jetstream")
    assert fake.connections == []


@pytest.mark.parametrize(
    ("query", "text", "hit"),
    [
        ("#examplehashtag", "Fest #ExampleHashtag heute", True),
        ("fest", "Straßenfest am Samstag", False),  # whole words only
        ('"am samstag"', "Straßenfest am  Samstag", False),  # a phrase is matched as written (one space)
        ('"am samstag"', "Straßenfest am Samstag", True),
        ("fest OR samstag", "Straßenfest am Samstag", True),
        ("fest samstag", "Fest am Samstag", True),
        ("fest samstag", "Fest am Sonntag", False),
    ],
)
def test_the_query_syntax(query, text, hit):
    assert TextQuery.parse(query).matches(RichPost("bluesky", "at://x", text)) is hit


def test_an_empty_side_of_or_is_a_clear_error():
    with pytest.raises(ValueError, match="every side of OR"):
        TextQuery.parse("fest OR")


@pytest.fixture
def timed(clock):
    """A Jetstream whose refusals are timed on the clock the connector sleeps on."""
    with JetstreamFake(clock=clock) as server:
        yield server
    assert server.errors == []


def _stored(run: CollectionRun, role: str) -> list[tuple[int, bytes]]:
    return [(e.status, bytes(e.body)) for e in Exchange.objects.filter(run=run, role=role).order_by("seq")]


def test_a_burst_of_503_handshakes_is_backed_off_to_the_uninterrupted_rows(timed, clock):
    expected = _expected(timed, FakeClock())
    timed.unavailable(3)
    _source(timed)

    _collect(clock, "jetstream")

    run = CollectionRun.objects.get()
    assert run.status == "done" and _rows() == expected and run.duplicates == 0
    assert [status for _, status in timed.refused] == [503] * 3 and len(timed.connections) == 1
    assert _stored(run, "attempt") == [(503, b"Service Unavailable")] * 3  # the refusals are evidence too
    # equal-jitter backoff, doubling: 0.5-1 s, 1-2 s, 2-4 s on the shared clock
    assert len(clock.sleeps) == 3 and all(2**i / 2 <= s <= 2**i for i, s in enumerate(clock.sleeps))


def test_a_429_handshake_waits_for_ratelimit_reset_then_collects_the_uninterrupted_rows(timed, clock):
    expected = _expected(timed, FakeClock())
    timed.rate_limited(120)  # refuses every handshake until the clock passes the reset
    _source(timed)

    _collect(clock, "jetstream")

    run = CollectionRun.objects.get()
    assert run.status == "done" and _rows() == expected and run.duplicates == 0
    assert clock.sleeps == [121.0]  # to ratelimit-reset (by the server's Date), plus a second's margin
    assert [status for _, status in timed.refused] == [429] and len(timed.connections) == 1
    [(status, body)] = _stored(run, "attempt")
    assert status == 429 and b"RateLimitExceeded" in body


def test_refused_reconnects_after_a_drop_are_ridden_out_without_losing_or_duplicating(timed, clock):
    expected = _expected(timed, FakeClock())
    timed.drop_after(5)
    timed.unavailable(2, after=1)  # the first connection is accepted, then dropped; its reconnects are refused
    timed.rate_limited(30)
    _source(timed)

    _collect(clock, "jetstream")

    run = CollectionRun.objects.get()
    assert run.status == "done" and _rows() == expected
    assert run.duplicates == 0 and run.imported == len(expected)
    assert [status for _, status in timed.refused] == [503, 503, 429] and len(timed.connections) == 2
    rewound = str(BASE_US + 4_000_000 - 5_000_000)  # every reconnect asks from the last frame handled, rewound
    assert {c.params["cursor"][0] for c, _ in timed.refused} == {rewound} == set(timed.connections[1].params["cursor"])
    assert [status for status, _ in _stored(run, "attempt")] == [503, 503, 429]
    assert len(clock.sleeps) == 4 and clock.sleeps[-1] == 31.0  # the drop and two 503s backed off; the 429 waited


def test_handshakes_refused_past_the_retry_budget_stop_the_run_with_the_reason(timed, clock):
    timed.unavailable(10)
    _source(timed)

    with pytest.raises(CommandError):
        _collect(clock, "jetstream")

    run = CollectionRun.objects.get()
    assert (run.status, run.stop_action) == ("stopped", "backoff")
    assert "Jetstream: gave up after 6 attempts (HTTP 503 on connect" in run.error
    assert len(timed.refused) == 6 and timed.connections == [] and Post.objects.count() == 0
    assert _stored(run, "stop") == [(503, b"Service Unavailable")]
    assert len(clock.sleeps) == 5


def test_a_rate_limit_resetting_beyond_max_wait_stops_resumably_without_waiting(timed, clock):
    timed.rate_limited(3600)
    _source(timed)

    out = _collect(clock, "jetstream")  # not a failure: the next run resumes after the reset

    run = CollectionRun.objects.get()
    assert (run.status, run.stop_action) == ("stopped", "wait_for_reset")
    assert "Jetstream: rate limited on connect (HTTP 429, wait 1); resets in 3601 s, resume then" in run.error
    assert run.resume_after is not None and run.finished_at is not None
    assert 3600 <= (run.resume_after - run.finished_at).total_seconds() <= 3602
    assert "resumes after" in out and clock.sleeps == [] and len(timed.refused) == 1
    assert [status for status, _ in _stored(run, "stop")] == [429]


def test_a_handshake_refused_for_good_stops_at_once(timed, clock):
    timed.refuse(Refusal(403, {}, "Forbidden"))
    _source(timed)

    with pytest.raises(CommandError):
        _collect(clock, "jetstream")

    run = CollectionRun.objects.get()
    assert (run.status, run.stop_action) == ("stopped", "stop_permission")
    assert "Jetstream refused the subscription (HTTP 403): Forbidden" in run.error
    assert clock.sleeps == [] and len(timed.refused) == 1
