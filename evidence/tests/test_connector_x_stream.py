"""The X filtered stream through `assay collect` against a fake stream on 127.0.0.1: rule sync,
batches as evidence, a 429 on connect, an in-stream disconnect, the run's bounds, rule limits."""

from __future__ import annotations

import hashlib
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evidence.collect import add_source, rederive
from evidence.models import CollectionRun, Exchange, Post, Source
from evidence.tests.fakes.helpers import options
from evidence.tests.fakes.server import FakeClock
from evidence.tests.fakes.x_stream import RULES, STREAM, TOKEN, XStreamFake, rule_matches

pytestmark = pytest.mark.django_db

WANTED = [
    {"value": "examplehashtag OR vermin", "tag": "assay:A-1,A-2"},
    {"value": '"nothing matches this"', "tag": "assay:B-1"},
]


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def fake(clock, monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    with XStreamFake(n=30, clock=clock) as server:
        yield server
    assert server.errors == []


def _expected(fake: XStreamFake, rules=WANTED) -> list[str]:
    return [t["id"] for t in fake.corpus if any(rule_matches(r["value"], t["text"]) for r in rules)]


def _source(fake: XStreamFake, rules=WANTED, **opts) -> Source:
    settings = {"stream_rules": rules, "page_size": 10, "duration_seconds": 3600, **opts}
    settings.setdefault("max_posts", len(_expected(fake, rules)))
    return add_source("live", connector="x_stream", query="filtered stream", base_url=fake.base_url, options=settings)


def _collect(clock, *names: str, fail: bool = False) -> str:
    out = StringIO()
    if fail:
        with pytest.raises(CommandError):
            call_command("collect", *names, client_options=options(clock), stdout=out, stderr=out)
    else:
        call_command("collect", *names, client_options=options(clock), stdout=out)
    return out.getvalue()


def test_it_syncs_the_rules_then_stores_each_batch_as_evidence(fake, clock):
    stale = fake.add_rule("old rule", "assay:OLD-1")
    fake.add_rule(WANTED[1]["value"], WANTED[1]["tag"])  # already there: kept, not re-added
    source = _source(fake)

    _collect(clock, source.name)

    assert sorted((r["value"], r["tag"]) for r in fake.rules.values()) == sorted((r["value"], r["tag"]) for r in WANTED)
    posts = fake.served("POST", RULES)
    assert [p.body for p in posts] == [{"delete": {"ids": [stale]}}, {"add": [WANTED[0]]}]
    run = CollectionRun.objects.get()
    expected = _expected(fake)
    assert run.status == "done" and run.imported == len(expected) == 29 and run.duplicates == 0
    assert sorted(Post.objects.values_list("platform_id", flat=True)) == sorted(expected)
    batches = Exchange.objects.filter(run=run, role="page", url__contains=STREAM).exclude(url__contains=RULES)
    assert [len(bytes(b.body).splitlines()) for b in batches.order_by("seq")] == [10, 10, 9]
    for batch in batches:
        assert batch.status == 200 and batch.sha256 == hashlib.sha256(bytes(batch.body)).hexdigest()
        assert "application/json" in json.dumps(batch.headers) and TOKEN not in f"{batch.url}{batch.params}"
    syncs = Exchange.objects.filter(run=run, url__contains=RULES).order_by("seq")
    assert [s.method for s in syncs] == ["GET", "POST", "POST"]


def test_matching_rules_stay_in_the_raw_item_and_kinds_keep_their_parent(fake, clock):
    _collect(clock, _source(fake).name)

    rule_id = next(r["id"] for r in fake.rules.values() if r["tag"] == "assay:A-1,A-2")
    for post in Post.objects.all():
        assert post.raw["matching_rules"] == [{"id": rule_id, "tag": "assay:A-1,A-2"}]
    reposts = Post.objects.filter(kind="repost")
    assert reposts.count() == 5 and {p.parent_platform_id for p in reposts} == {fake.corpus[0]["id"]}
    reply = Post.objects.get(platform_id="2006812999999999999")
    assert (reply.kind, reply.parent_platform_id) == ("reply", "2006812345678901234")


def test_a_429_on_connect_is_waited_out(fake, clock):
    fake.connect_script.append(fake.rate_limit(30))
    source = _source(fake)

    _collect(clock, source.name)

    run = CollectionRun.objects.get()
    assert run.status == "done" and run.imported == len(_expected(fake))
    assert clock.sleeps == [31.0]  # the reset, plus a second's margin
    attempt = Exchange.objects.get(run=run, role="attempt")
    assert attempt.status == 429 and b"TooManyConnections" in bytes(attempt.body)
    assert fake.connections == 2


def test_an_in_stream_disconnect_reconnects_without_losing_or_duplicating_a_post(fake, clock):
    fake.disconnect_after.append(7)
    source = _source(fake)

    _collect(clock, source.name)

    run = CollectionRun.objects.get()
    expected = _expected(fake)
    assert fake.connections == 2 and fake.delivered == expected
    assert run.status == "done" and run.imported == len(expected) and run.duplicates == 0 and run.quarantined == 0
    assert sorted(Post.objects.values_list("platform_id", flat=True)) == sorted(expected)
    bodies = [bytes(b.body) for b in Exchange.objects.filter(run=run, role="page", url__contains="/stream?")]
    first = bodies[0].splitlines()
    assert len(first) == 8 and b"operational-disconnect" in first[-1]  # the batch ends where the connection did
    again = rederive(Source.objects.get(pk=source.pk))
    assert (again.created, again.updated) == (0, 0)  # the stored batches re-derive to the same rows


def test_the_run_ends_after_its_duration_and_the_next_run_resyncs_nothing(fake, clock):
    source = _source(fake, duration_seconds=100, max_posts=10_000)
    start = clock.time()

    _collect(clock, source.name)
    _collect(clock, source.name)

    first, second = CollectionRun.objects.order_by("pk")
    assert first.status == second.status == "done"
    assert first.imported == len(_expected(fake)) and second.imported == 0
    assert clock.time() - start >= 200
    assert len(fake.served("POST", RULES)) == 1  # the second run found the rules in place


def test_a_rule_longer_than_the_tier_allows_stops_the_run_with_the_reason(clock, monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    with XStreamFake(clock=clock, max_length=20) as fake:
        source = _source(fake)
        _collect(clock, source.name, fail=True)
    run = CollectionRun.objects.get()
    assert run.status == "stopped" and run.stop_action == "bad_query"
    assert "RuleTooLong" in run.error and "examplehashtag OR vermin" in run.error
    assert Post.objects.count() == 0


def test_the_rule_cap_stops_the_run_as_a_quota(clock, monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    with XStreamFake(clock=clock, max_rules=1) as fake:
        source = _source(fake)
        _collect(clock, source.name, fail=True)
    run = CollectionRun.objects.get()
    assert run.status == "stopped" and run.stop_action == "stop_quota"
    assert "maximum allowed number of rules (1)" in run.error


def test_a_source_without_stream_rules_says_how_to_make_them(fake, clock):
    source = _source(fake, rules=[])
    source.options["stream_rules"] = []
    source.save()

    _collect(clock, source.name, fail=True)

    run = CollectionRun.objects.get()
    assert run.status == "stopped" and "assay stream-rules live" in run.error
    assert fake.requests == []


def test_a_burst_of_503s_on_connect_is_backed_off_without_losing_or_duplicating_a_post(fake, clock):
    fake.connect_script.extend(XStreamFake.server_error() for _ in range(3))  # the documented 503
    source = _source(fake)

    _collect(clock, source.name)

    run = CollectionRun.objects.get()
    expected = _expected(fake)
    assert run.status == "done" and run.imported == len(expected) and run.duplicates == 0
    assert sorted(Post.objects.values_list("platform_id", flat=True)) == sorted(expected)
    assert fake.connections == 4 and fake.delivered == expected  # each post went out once, on the 4th connect
    attempts = Exchange.objects.filter(run=run, role="attempt").order_by("seq")
    assert [a.status for a in attempts] == [503] * 3 and all(STREAM in a.url for a in attempts)
    assert all(b"Service Unavailable" in bytes(a.body) for a in attempts)
    # equal-jitter backoff, doubling: 0.5-1 s, 1-2 s, 2-4 s on the shared clock
    assert len(clock.sleeps) == 3 and all(2**i / 2 <= s <= 2**i for i, s in enumerate(clock.sleeps))


def test_503s_on_the_rules_endpoints_are_retried_and_the_rules_end_up_synced_once(fake, clock):
    stale = fake.add_rule("old rule", "assay:OLD-1")
    fake.fail_rules("list", XStreamFake.server_error(), XStreamFake.server_error())
    fake.fail_rules("delete", XStreamFake.server_error(), applied=True)  # carried out, but the answer is lost
    fake.fail_rules("add", XStreamFake.server_error(), applied=True)
    source = _source(fake)

    _collect(clock, source.name)

    assert sorted((r["value"], r["tag"]) for r in fake.rules.values()) == sorted((r["value"], r["tag"]) for r in WANTED)
    assert len(fake.rules) == len(WANTED)  # the retried add made no second copy (X answers DuplicateRule)
    posts = [p.body for p in fake.served("POST", RULES)]
    assert posts == [{"delete": {"ids": [stale]}}] * 2 + [{"add": WANTED}] * 2  # each retried once
    assert len(fake.served("GET", RULES)) == 3
    run = CollectionRun.objects.get()
    expected = _expected(fake)
    assert run.status == "done" and run.imported == len(expected) and run.duplicates == 0
    assert sorted(Post.objects.values_list("platform_id", flat=True)) == sorted(expected)
    assert fake.connections == 1 and fake.delivered == expected
    # every failed try is kept as evidence, before the answer it preceded
    syncs = Exchange.objects.filter(run=run, url__contains=RULES).order_by("seq")
    tries = list(syncs.values_list("method", "role", "status"))
    get, post = ("GET", "attempt", 503), ("POST", "attempt", 503)
    assert tries == [get, get, ("GET", "page", 200), post, ("POST", "page", 200), post, ("POST", "page", 200)]
    # each request backs off afresh: two tries for the listing, one each for the delete and the add
    assert len(clock.sleeps) == 4 and 1 <= clock.sleeps[1] <= 2
    assert all(0.5 <= s <= 1 for s in (clock.sleeps[0], *clock.sleeps[2:]))
