"""Bluesky searchPosts through a fake AppView on 127.0.0.1: cursors, time slices, limits, facets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from evidence.connectors.bluesky import BlueskySearch
from evidence.connectors.errors import Action
from evidence.connectors.http import CollectionStopped
from evidence.connectors.page import Query
from evidence.tests.fakes.bluesky import SEARCH, TOKEN, BlueskyFake
from evidence.tests.fakes.helpers import collect, digests, entities, ids, options
from evidence.tests.fakes.server import FakeClock

QUERY = Query("#examplehashtag", since=datetime(2026, 1, 1, tzinfo=UTC), until=datetime(2026, 1, 1, 9, tzinfo=UTC))
MAX = "at://did:plc:maxexample0000000000000001/app.bsky.feed.post/3lfexamplepost1"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def fake(clock):
    with BlueskyFake(n=30, clock=clock) as server:
        yield server
    assert server.errors == []


def search(fake, clock, token=TOKEN, limit=10, window=10_000, **policy):
    return BlueskySearch(token, base_url=fake.base_url, limit=limit, window=window, options=options(clock, **policy))


@pytest.fixture
def bsky(fake, clock):
    with search(fake, clock) as connector:
        yield connector


def test_it_collects_every_page_keyed_by_uri_and_did(bsky, fake):
    pages = collect(bsky, QUERY)

    assert [p.cursor and p.cursor["cursor"] for p in pages] == ["10", "20", None]
    records = {r.post.platform_id: r for p in pages for r in p.records}
    assert len(records) == 30
    reply = records["at://did:plc:erikaexample000000000002/app.bsky.feed.post/3lfexamplepost2"]
    quote = records["at://did:web:news.example.org/app.bsky.feed.post/3lfexamplepost3"]
    assert (reply.post.kind, reply.post.parent_platform_id) == ("reply", MAX)
    assert (quote.post.kind, quote.post.parent_platform_id) == ("quote", MAX)
    assert reply.account is not None and reply.account.platform_id == "did:plc:erikaexample000000000002"
    assert reply.post.url == "https://bsky.app/profile/did:plc:erikaexample000000000002/post/3lfexamplepost2"
    assert fake.served(SEARCH)[0].params == {
        "q": "#examplehashtag",
        "sort": "latest",
        "limit": "10",
        "since": "2026-01-01T00:00:00.000Z",
        "until": "2026-01-01T09:00:00.000Z",
    }


def test_it_converts_facet_byte_offsets_to_characters(bsky):
    records = {r.post.platform_id: r for p in collect(bsky, QUERY) for r in p.records}
    post = records[MAX].post  # "Straßenfest am Samstag 🎉 mit @erika…": ß and 🎉 are multi-byte
    assert [(e.kind, e.value, post.text[e.start : e.end]) for e in entities(post)] == [
        ("mention", "did:plc:erikaexample000000000002", "@erika.bsky.social"),
        ("link", "https://example.org/fest", "example.org/fest"),
        ("tag", "examplehashtag", "#examplehashtag"),
    ]


def test_it_slices_by_time_when_the_result_window_ends(clock):
    with BlueskyFake(n=30, window=12, clock=clock) as fake, search(fake, clock, limit=5, window=12) as bsky:
        pages = collect(bsky, QUERY)
        untils = [r.params.get("until") for r in fake.served(SEARCH)]

    assert sorted(ids(pages)) == sorted(ids_in(fake))  # every post once, none twice
    assert len(set(untils)) >= 3  # re-queried with earlier bounds
    assert untils[0] == "2026-01-01T09:00:00.000Z"


def test_resuming_from_any_cursor_gives_the_uninterrupted_records(clock):
    with BlueskyFake(n=30, window=12, clock=clock) as fake:
        with search(fake, clock, limit=5, window=12) as bsky:
            baseline = collect(bsky, QUERY)
        for k in range(1, len(baseline)):
            with search(fake, clock, limit=5, window=12) as first:
                head = collect(first, QUERY, limit=k)
            with search(fake, clock, limit=5, window=12) as second:
                tail = collect(second, QUERY, cursor=head[-1].cursor)
            assert digests(head + tail) == digests(baseline), f"resumed after page {k}"


def test_it_waits_for_ratelimit_reset_and_rides_out_502s(bsky, fake, clock):
    baseline = collect(bsky, QUERY)
    fake.push(fake.rate_limit(120), BlueskyFake.upstream_failure(), BlueskyFake.upstream_failure(), path=SEARCH)

    pages = collect(bsky, QUERY)

    assert digests(pages) == digests(baseline)
    assert clock.sleeps[0] == 121.0 and len(clock.sleeps) == 3
    assert [a.status for a in pages[0].attempts] == [429, 502, 502]


def test_it_stops_on_an_expired_session(fake, clock):
    with search(fake, clock, token="stale") as bsky, pytest.raises(CollectionStopped, match="refresh") as stopped:
        collect(bsky, QUERY)
    assert stopped.value.action is Action.STOP_AUTH


def test_a_refused_public_host_is_not_an_empty_result(fake, clock):
    with search(fake, clock, token="") as bsky, pytest.raises(CollectionStopped, match="403") as stopped:
        collect(bsky, QUERY)
    assert stopped.value.action is Action.STOP_PERMISSION


def test_it_rejects_a_malformed_post_and_keeps_the_rest(bsky, fake):
    fake.corpus.insert(3, {"uri": "at://did:plc:x/app.bsky.feed.post/bad", "author": {"did": "did:plc:x"}})

    pages = collect(bsky, QUERY)

    [rejected] = [r for p in pages for r in p.rejected]
    assert (rejected.position, rejected.reason) == ("page 1 posts[3]", "'record' is not a JSON object")
    assert len(ids(pages)) == 30


def test_it_skips_authors_who_opted_out_of_logged_out_visibility(bsky, fake):
    fake.corpus[1]["author"]["labels"] = [{"val": "!no-unauthenticated", "src": fake.corpus[1]["author"]["did"]}]

    pages = collect(bsky, QUERY)

    [skipped] = [s for p in pages for s in p.skipped]
    assert skipped.platform_id == fake.corpus[1]["uri"]
    assert fake.corpus[1]["uri"] not in ids(pages)


def ids_in(fake):
    return [p["uri"] for p in fake.corpus]
