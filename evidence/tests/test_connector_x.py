"""X API v2 search through a fake X on 127.0.0.1: paging, limits, errors, resume, deletions."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from evidence.connectors.errors import Action
from evidence.connectors.http import CollectionStopped
from evidence.connectors.page import Query
from evidence.connectors.x import XSearch
from evidence.tests.fakes.helpers import collect, digests, entities, ids, options
from evidence.tests.fakes.server import FakeClock, Reply
from evidence.tests.fakes.x import SEARCH, TOKEN, XFake

QUERY = Query("#examplehashtag", since=datetime(2026, 1, 1, tzinfo=UTC), until=datetime(2026, 1, 1, 9, tzinfo=UTC))


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def fake(clock):
    with XFake(n=25, clock=clock) as server:
        yield server
    assert server.errors == []


def search(fake, clock, token=TOKEN, timeout=2.0, full_archive=False, **policy):
    return XSearch(
        token,
        base_url=fake.base_url,
        max_results=10,
        full_archive=full_archive,
        options=options(clock, timeout=timeout, **policy),
    )


@pytest.fixture
def x(fake, clock):
    with search(fake, clock) as connector:
        yield connector


@pytest.fixture
def baseline(clock):
    with XFake(n=25, clock=FakeClock()) as server, XSearch(TOKEN, base_url=server.base_url, max_results=10) as conn:
        return collect(conn, QUERY)


def test_it_collects_every_page_with_authors_kinds_and_parents(x, fake):
    pages = collect(x, QUERY)

    assert len(pages) == 3
    assert [p.cursor for p in pages] == [{"next_token": "tok-10", "page": 1}, {"next_token": "tok-20", "page": 2}, None]
    records = {r.post.platform_id: r for p in pages for r in p.records}
    assert len(records) == 25
    reply, quote = records["2006812999999999999"], records["2006813111111111111"]
    assert (reply.post.kind, reply.post.parent_platform_id) == ("reply", "2006812345678901234")
    assert (quote.post.kind, quote.post.parent_platform_id) == ("quote", "2006812345678901234")
    reposts = [r for r in records.values() if r.post.kind == "repost"]
    assert reposts and all(r.post.parent_platform_id == "2006812345678901234" for r in reposts)
    assert reply.account is not None and reply.account.platform_id == "1500000000000000002"
    assert reply.account.handle == "erika_muster"
    assert reply.raw["author"]["username"] == "erika_muster"
    assert fake.served(SEARCH)[0].params["expansions"].startswith("author_id,referenced_tweets.id")


def test_it_keeps_entities_at_code_point_offsets(x):
    records = {r.post.platform_id: r for p in collect(x, QUERY) for r in p.records}
    post = records["2006812345678901234"].post
    assert [(e.kind, post.text[e.start : e.end]) for e in entities(post)] == [
        ("tag", "#examplehashtag"),
        ("mention", "@erika_muster"),
        ("link", "https://t.co/AbCdEf1234"),
    ]
    assert entities(post)[1].value == "1500000000000000002"


def test_it_captures_each_exchange_without_credentials(x):
    page = collect(x, QUERY, limit=1)[0]
    exchange = page.exchange

    assert exchange is not None
    assert exchange.status == 200 and exchange.connector == "x_search" and exchange.connector_version == "1"
    assert exchange.sha256 == hashlib.sha256(exchange.body).hexdigest()
    assert dict(exchange.params)["query"] == "#examplehashtag"
    assert dict(exchange.params)["start_time"] == "2026-01-01T00:00:00Z"
    assert "query=%23examplehashtag" in exchange.url
    assert exchange.header("x-rate-limit-remaining") == "400"
    assert TOKEN not in repr(exchange)
    assert exchange.retrieved_at == datetime.fromtimestamp(x.http.options.clock(), tz=UTC)


def test_it_waits_out_a_rate_limit_window_and_loses_nothing(x, fake, clock, baseline):
    fake.push(fake.rate_limit(30), path=SEARCH)

    pages = collect(x, QUERY)

    assert digests(pages) == digests(baseline)
    assert clock.sleeps == [31.0]  # the reset plus a second's margin, then one retry that succeeds
    assert len(fake.served(SEARCH)) == 4
    assert pages[0].attempts[0].status == 429


def test_it_backs_off_through_a_burst_of_server_errors(x, fake, clock, baseline):
    fake.push(XFake.server_error(), XFake.server_error(), XFake.server_error(), path=SEARCH)

    pages = collect(x, QUERY)

    assert digests(pages) == digests(baseline)
    assert len(clock.sleeps) == 3
    assert all(lo <= s <= hi for s, (lo, hi) in zip(clock.sleeps, [(0.5, 1), (1, 2), (2, 4)], strict=True))
    assert [a.status for a in pages[0].attempts] == [503, 503, 503]


def test_it_retries_a_timeout(fake, clock, baseline):
    fake.push(Reply(200, b"{}", delay=0.15), path=SEARCH)
    with search(fake, clock, timeout=0.05) as x:
        pages = collect(x, QUERY)
    assert digests(pages) == digests(baseline)
    assert len(clock.sleeps) == 1


def test_it_gives_up_when_the_retry_budget_is_spent(fake, clock):
    fake.push(*[XFake.server_error()] * 3, path=SEARCH)
    with search(fake, clock, max_retries=2) as x, pytest.raises(CollectionStopped, match="after 3 attempts") as stopped:
        collect(x, QUERY)
    assert stopped.value.action is Action.BACKOFF


def test_it_stops_at_the_usage_cap_without_waiting(x, fake, clock):
    cursor = collect(x, QUERY, limit=1)[0].cursor
    fake.push(XFake.usage_capped(), path=SEARCH)

    with pytest.raises(CollectionStopped, match="usage cap exceeded") as stopped:
        collect(x, QUERY, cursor)

    assert stopped.value.action is Action.STOP_QUOTA
    assert clock.sleeps == []  # the 429's reset header is for the window, not the monthly cap


def test_it_stops_on_a_bad_token_with_a_clear_message(fake, clock):
    with search(fake, clock, token="wrong") as x, pytest.raises(CollectionStopped, match="bearer token") as stopped:
        collect(x, QUERY)
    assert stopped.value.action is Action.STOP_AUTH
    assert stopped.value.exchange is not None and stopped.value.exchange.status == 401


def test_it_stops_on_an_invalid_query(x, fake):
    fake.push(XFake.invalid_query(), path=SEARCH)
    with pytest.raises(CollectionStopped, match="missing closing parenthesis") as stopped:
        collect(x, QUERY)
    assert stopped.value.action is Action.BAD_QUERY


def test_full_archive_needs_enrolment(clock):
    with (
        XFake(clock=clock, full_archive=False) as fake,
        search(fake, clock, full_archive=True) as x,
        pytest.raises(CollectionStopped, match="client-not-enrolled") as stopped,
    ):
        collect(x, QUERY)
    assert stopped.value.action is Action.STOP_PERMISSION


def test_full_archive_paces_one_request_a_second(clock):
    with XFake(clock=clock) as fake, search(fake, clock, full_archive=True) as x:
        pages = collect(x, QUERY)
    assert len(ids(pages)) == 25
    assert fake.served(SEARCH + "all") and clock.sleeps == [1.0, 1.0]


def test_resuming_from_a_mid_run_cursor_gives_the_uninterrupted_records(fake, clock, baseline):
    with search(fake, clock) as first:
        head = collect(first, QUERY, limit=1)
    with search(fake, clock) as second:  # a new process, knowing only the checkpointed cursor
        tail = collect(second, QUERY, cursor=head[-1].cursor)

    assert digests(head + tail) == digests(baseline)


def test_it_reports_deleted_and_hidden_posts_from_per_item_errors(x, fake):
    fake.delete(2, "2006800000000000000")
    fake.delete(12, "2006800000000000001", hidden=True)

    pages = collect(x, QUERY)

    deletions = [d for p in pages for d in p.deletions]
    assert [(d.platform_id, d.reason) for d in deletions] == [
        ("2006800000000000000", "X: not found (deleted)"),
        ("2006800000000000001", "X: no longer visible (protected or suspended)"),
    ]
    assert len(ids(pages)) == 25


def test_it_rejects_a_malformed_item_and_keeps_the_rest(x, fake):
    fake.corpus.insert(4, {"id": "2006811999999999999", "author_id": "1500000000000000001"})
    fake.corpus.insert(15, "not an object")

    pages = collect(x, QUERY)

    rejected = [r for p in pages for r in p.rejected]
    assert [(r.position, r.reason) for r in rejected] == [
        ("page 1 data[4]", "'text' missing or not a string"),
        ("page 2 data[5]", "post is not a JSON object"),
    ]
    assert '"id": "2006811999999999999"' in rejected[0].raw
    assert len(ids(pages)) == 25


def test_it_skips_posts_by_protected_accounts(x, fake):
    fake.users["1500000000000000004"]["protected"] = True

    pages = collect(x, QUERY)

    skipped = [s for p in pages for s in p.skipped]
    assert skipped and all(s.reason == "author's account is protected" for s in skipped)
    assert len(ids(pages)) + len(skipped) == 25
