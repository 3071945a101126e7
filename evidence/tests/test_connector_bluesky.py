"""Bluesky searchPosts through a fake AppView on 127.0.0.1: cursors, time slices, limits, facets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from evidence.connectors.bluesky import BlueskySearch, Session
from evidence.connectors.errors import Action
from evidence.connectors.http import CollectionStopped
from evidence.connectors.page import Query
from evidence.tests.fakes.bluesky import (
    APP_PASSWORD,
    CREATE_SESSION,
    IDENTIFIER,
    REFRESH,
    REFRESH_SESSION,
    SEARCH,
    TOKEN,
    BlueskyFake,
)
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


def _session(fake, **kwargs):
    return Session(service=fake.base_url, **kwargs)


def test_it_refreshes_an_expired_session_and_retries_once(fake, clock):
    fake.expire_after = 1  # the access JWT expires after the first page
    with BlueskySearch(TOKEN, base_url=fake.base_url, limit=10, options=options(clock),
                       session=_session(fake, refresh_jwt=REFRESH)) as bsky:  # fmt: skip
        pages = collect(bsky, QUERY)

    assert len(ids(pages)) == 30 and bsky.renewals == 1
    assert [a.status for a in pages[1].attempts] == [400]  # the expired answer is kept as an attempt
    [refresh] = fake.served(REFRESH_SESSION)
    assert refresh.headers["authorization"] == f"Bearer {REFRESH}"
    assert fake.served(SEARCH)[-1].headers["authorization"] == "Bearer access-jwt-1"
    for page in pages:  # no token in the evidence
        for exchange in (page.exchange, *page.attempts):
            assert exchange is not None
            assert "jwt" not in f"{exchange.url} {exchange.params} {exchange.headers} {exchange.body!r}".lower()


def test_a_used_refresh_jwt_is_rotated_for_the_next_expiry(fake, clock):
    fake.expire_after = 1
    with BlueskySearch(TOKEN, base_url=fake.base_url, limit=5, options=options(clock),
                       session=_session(fake, refresh_jwt=REFRESH)) as bsky:  # fmt: skip
        pages = iter(bsky.pages(QUERY))
        first = [next(pages), next(pages)]
        fake.expire_after = fake.answered  # the renewed access JWT expires too
        rest = list(pages)

    assert len(ids(first + rest)) == 30 and bsky.renewals == 2
    assert [r.headers["authorization"] for r in fake.served(REFRESH_SESSION)] == [
        f"Bearer {REFRESH}",
        "Bearer refresh-jwt-1",
    ]


def test_it_logs_in_with_an_app_password_when_no_access_jwt_is_set(fake, clock):
    session = _session(fake, identifier=IDENTIFIER, app_password=APP_PASSWORD)
    with BlueskySearch("", base_url=fake.base_url, limit=10, options=options(clock), session=session) as bsky:
        pages = collect(bsky, QUERY)

    assert len(ids(pages)) == 30 and bsky.renewals == 1
    [login] = fake.served(CREATE_SESSION)
    assert login.params == {"identifier": IDENTIFIER, "password": APP_PASSWORD}


def test_a_refused_refresh_stops_on_auth_naming_what_to_set(fake, clock):
    session = _session(fake, refresh_jwt="revoked-refresh")
    bsky = BlueskySearch("stale", base_url=fake.base_url, options=options(clock), session=session)
    with bsky, pytest.raises(CollectionStopped, match="BLUESKY_REFRESH_JWT") as stopped:
        collect(bsky, QUERY)
    assert stopped.value.action is Action.STOP_AUTH
    assert "revoked-refresh" not in str(stopped.value) and "stale" not in str(stopped.value)
    assert "refreshSession: HTTP 400 ExpiredToken" in str(stopped.value)


@pytest.mark.django_db
def test_assay_collect_renews_the_session_mid_run(fake, clock, monkeypatch, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    from evidence.collect import add_source
    from evidence.models import CollectionRun, Exchange, Post

    secret = tmp_path / "refresh"
    secret.write_text(REFRESH + "\n")
    monkeypatch.setenv("BLUESKY_ACCESS_JWT", TOKEN)
    monkeypatch.setenv("BLUESKY_REFRESH_JWT_FILE", str(secret))
    fake.expire_after = 2
    opts = {"page_size": 10, "session_host": fake.base_url}
    add_source("bsky", connector="bluesky_search", query="#examplehashtag", base_url=fake.base_url,
               since=QUERY.since, until=QUERY.until, options=opts)  # fmt: skip

    call_command("collect", "bsky", client_options=options(clock), stdout=StringIO())

    run = CollectionRun.objects.get()
    assert run.status == "done" and Post.objects.count() == 30 and run.duplicates == 0
    assert len(fake.served(REFRESH_SESSION)) == 1
    assert Exchange.objects.filter(run=run, role="attempt", status=400).count() == 1
    stored = " ".join(f"{e.url} {e.params} {e.headers} {bytes(e.body)!r}" for e in Exchange.objects.all())
    assert "jwt" not in stored.lower()
