"""Mastodon hashtag timeline and search through a fake instance on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from evidence.connectors.errors import Action
from evidence.connectors.http import CollectionStopped
from evidence.connectors.mastodon import MastodonHashtag, MastodonSearch
from evidence.connectors.page import Query
from evidence.tests.fakes.helpers import collect, digests, entities, ids, options
from evidence.tests.fakes.mastodon import TAG, TOKEN, MastodonFake, snowflake
from evidence.tests.fakes.server import FakeClock

QUERY = Query("#examplehashtag")
MAX_POST = "https://social.example/users/max/statuses/115799000000000777"
ERIKA_REPLY = "https://instance.example/users/erika/statuses/115800000000000100"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def fake(clock):
    with MastodonFake(n=20, clock=clock) as server:
        yield server
    assert server.errors == []


def hashtag(fake, clock, token="", **policy):
    return MastodonHashtag(fake.base_url, token, limit=5, options=options(clock, **policy))


@pytest.fixture
def masto(fake, clock):
    with hashtag(fake, clock) as connector:
        yield connector


def test_it_follows_the_link_header_through_every_page(masto, fake):
    pages = collect(masto, QUERY)

    assert len(pages) == 5 and pages[-1].records == () and pages[-1].cursor is None
    maxes = [r.params.get("max_id") for r in fake.served(TAG)]
    assert maxes[0] is None and all(maxes[1:])
    assert [p.cursor and p.cursor["max_id"] for p in pages[:-1]] == maxes[1:]
    assert len(ids(pages)) == 19  # 20 statuses, one from a noindex account


def test_it_keys_by_activitypub_uri_and_keeps_reblogs_as_reposts(masto):
    records = {r.post.platform_id: r for p in collect(masto, QUERY) for r in p.records}

    original = records[MAX_POST]
    assert original.account is not None
    assert original.account.platform_id == "https://social.example/users/max"
    assert original.account.handle == "max@social.example"
    assert original.post.text.startswith("Straßenfest am Samstag mit @erika #examplehashtag")
    assert [(e.kind, original.post.text[e.start : e.end]) for e in entities(original.post)] == [
        ("mention", "@erika"),
        ("tag", "#examplehashtag"),
    ]
    reposts = [r for r in records.values() if r.post.kind == "repost"]
    assert len(reposts) == 3
    assert all(r.post.parent_platform_id == MAX_POST for r in reposts)
    assert all(r.account and r.account.platform_id == "https://other.example/users/ria" for r in reposts)


def test_it_skips_noindex_accounts_and_says_so(masto):
    pages = collect(masto, QUERY)

    [skipped] = [s for p in pages for s in p.skipped]
    assert skipped == skipped.__class__(ERIKA_REPLY, "account opted out of indexing (noindex)")
    assert ERIKA_REPLY not in ids(pages)
    assert not any("bin dabei" in r.post.text for p in pages for r in p.records)


def test_a_reply_points_at_its_parents_uri(masto, fake):
    fake.corpus[0]["account"].update(noindex=False, indexable=True)

    records = {r.post.platform_id: r for p in collect(masto, QUERY) for r in p.records}

    assert (records[ERIKA_REPLY].post.kind, records[ERIKA_REPLY].post.parent_platform_id) == ("reply", MAX_POST)
    account = records[ERIKA_REPLY].account
    assert account is not None
    assert account.handle == f"erika@{fake.base_url.split('://')[1].split(':')[0]}"


def test_the_query_window_becomes_snowflake_ids(masto, fake):
    since, until = datetime(2026, 1, 1, 8, 20, tzinfo=UTC), datetime(2026, 1, 1, 9, tzinfo=UTC)
    window = Query("examplehashtag", since=since, until=until)

    pages = collect(masto, window)

    first = fake.served(TAG)[0].params
    assert first["max_id"] == snowflake(until) and first["since_id"] == snowflake(since)
    assert len(ids(pages)) == 12  # 08:41 and 08:30 … 08:20 (since_id excludes only ids below 08:20's)


def test_it_waits_for_the_iso_reset_and_rides_out_503s(masto, fake, clock):
    baseline = collect(masto, QUERY)
    fake.push(MastodonFake.server_error(), fake.rate_limit(45), MastodonFake.server_error(), path=TAG)

    pages = collect(masto, QUERY)

    assert digests(pages) == digests(baseline)
    assert 45 <= clock.sleeps[1] <= 47  # ISO-8601 X-RateLimit-Reset, read against the server's Date
    assert [a.status for a in pages[0].attempts] == [503, 429, 503]


def test_resuming_from_a_mid_run_cursor_gives_the_uninterrupted_records(fake, clock):
    with hashtag(fake, clock) as whole:
        baseline = collect(whole, QUERY)
    with hashtag(fake, clock) as first:
        head = collect(first, QUERY, limit=2)
    with hashtag(fake, clock) as second:
        tail = collect(second, QUERY, cursor=head[-1].cursor)
    assert digests(head + tail) == digests(baseline)


def test_it_stops_when_the_instance_wants_a_login(clock):
    with (
        MastodonFake(clock=clock, require_auth=True) as fake,
        hashtag(fake, clock) as masto,
        pytest.raises(CollectionStopped, match="requires an authenticated user") as stopped,
    ):
        collect(masto, QUERY)
    assert stopped.value.action is Action.STOP_AUTH


def test_it_stops_on_an_invalid_token(fake, clock):
    with hashtag(fake, clock, token="revoked") as masto, pytest.raises(CollectionStopped, match="invalid") as stopped:
        collect(masto, QUERY)
    assert stopped.value.action is Action.STOP_AUTH


def test_a_recheck_reports_deleted_statuses(masto, fake):
    erika, max_post = fake.corpus[0], fake.corpus[1]
    fake.deleted.add(erika["id"])

    pages = list(masto.recheck({erika["id"]: erika["uri"], max_post["id"]: max_post["uri"]}))

    assert [(d.platform_id, d.reason) for d in pages[0].deletions] == [
        (ERIKA_REPLY, "Mastodon: Record not found (HTTP 404)")
    ]
    assert pages[0].exchange is not None and pages[0].exchange.status == 404
    assert ids(pages[1:]) == [MAX_POST]


def test_it_rejects_a_malformed_status_and_keeps_the_rest(masto, fake):
    fake.corpus.insert(3, {"id": fake.corpus[3]["id"][:-1] + "9", "uri": "https://x.example/s/1", "content": "<p>x"})

    pages = collect(masto, QUERY)

    [rejected] = [r for p in pages for r in p.rejected]
    assert (rejected.position, rejected.reason) == ("page 1 [3]", "'visibility' missing or not a string")
    assert len(ids(pages)) == 19


def test_search_pages_by_offset_with_a_token(fake, clock):
    with MastodonSearch(fake.base_url, TOKEN, limit=4, options=options(clock)) as search:
        pages = collect(search, Query("Beitrag"))
    assert [p.cursor and p.cursor["offset"] for p in pages] == [4, 8, 12, None]
    assert len(ids(pages)) == 15  # the generated statuses that are not reblogs


def test_search_without_a_token_stops(fake, clock):
    search = MastodonSearch(fake.base_url, "", options=options(clock))
    with search, pytest.raises(CollectionStopped) as stopped:
        collect(search, Query("Beitrag"))
    assert stopped.value.action is Action.STOP_AUTH
