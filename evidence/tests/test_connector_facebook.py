"""Facebook page posts and comments through a fake Graph API on 127.0.0.1."""

from __future__ import annotations

import pytest

from evidence.connectors.errors import Action
from evidence.connectors.facebook import FacebookPage
from evidence.connectors.http import CollectionStopped
from evidence.connectors.page import Query
from evidence.tests.fakes.facebook import PAGE, TOKEN, FacebookFake
from evidence.tests.fakes.helpers import collect, digests, entities, ids, options
from evidence.tests.fakes.server import FakeClock

QUERY = Query(PAGE)
FIRST_POST = f"{PAGE}_998000000000101"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def fake(clock):
    with FacebookFake(n=9, clock=clock) as server:
        yield server
    assert server.errors == []


def graph(fake, clock, token=TOKEN, **policy):
    return FacebookPage(token, base_url=fake.base_url, limit=3, options=options(clock, **policy))


@pytest.fixture
def fb(fake, clock):
    with graph(fake, clock) as connector:
        yield connector


def test_it_collects_posts_then_their_comments_page_by_page(fb, fake):
    pages = collect(fb, QUERY)

    records = [r for p in pages for r in p.records]
    posts = [r for r in records if r.post.kind == "post"]
    comments = [r for r in records if r.post.kind == "comment"]
    assert len(posts) == 9 and len(comments) == 2 + 12
    assert len({r.post.platform_id for r in records}) == len(records)
    assert pages[-1].cursor is None and all(p.cursor for p in pages[:-1])
    assert all(c.post.parent_platform_id.startswith(PAGE + "_") for c in comments)
    assert not fake.served(f"{PAGE}_998000000000104/comments")  # its summary says 0 comments
    assert posts[0].account is not None and posts[0].account.platform_id == PAGE


def test_it_never_asks_for_likes_reactions_or_followers_and_keeps_the_token_out_of_urls(fb, fake):
    pages = collect(fb, QUERY)

    for request in fake.requests:
        assert not any(word in request.params.get("fields", "") for word in ("like", "reaction", "follow", "fan"))
    assert all(TOKEN not in p.exchange.url for p in pages if p.exchange)


def test_commenter_identity_only_when_the_platform_gives_it(fb):
    records = {r.post.platform_id: r for p in collect(fb, QUERY) for r in p.records}

    named, anonymous = records["998000000000101_500000000000001"], records["998000000000101_500000000000002"]
    assert named.account is not None and named.account.platform_id == "7000000000000002"
    assert named.account.display_name == "Erika Muster"
    assert anonymous.account is None and anonymous.post.parent_platform_id == FIRST_POST


def test_ppca_comments_have_no_author_and_a_stable_derived_id(clock):
    with FacebookFake(n=9, clock=clock, ppca=True) as fake:
        with graph(fake, clock) as first:
            once = collect(first, QUERY)
        with graph(fake, clock) as second:
            again = collect(second, QUERY)

    comments = [r for p in once for r in p.records if r.post.kind == "comment"]
    assert len(comments) == 14 and all(c.account is None for c in comments)
    assert comments[0].post.platform_id.startswith(f"{FIRST_POST}/comment-sha256:")
    assert digests(once) == digests(again)


def test_message_tags_utf16_offsets_become_characters(fb):
    records = {r.post.platform_id: r for p in collect(fb, QUERY) for r in p.records}
    for record in records.values():
        for entity in entities(record.post):
            assert record.post.text[entity.start : entity.end] == "#examplehashtag"
    assert records[f"{PAGE}_998000000000102"].post.text.startswith("Beitrag 2 👋")


def test_it_waits_out_meta_throttling_codes_and_transient_errors(fb, fake, clock):
    baseline = collect(fb, QUERY)
    fake.push(fake.rate_limit(10 * 60), FacebookFake.app_limit(), FacebookFake.transient(), path="/posts")
    fake.push(FacebookFake.transient(), FacebookFake.transient(), path="/comments")

    pages = collect(fb, QUERY)

    assert digests(pages) == digests(baseline)
    assert clock.sleeps[:2] == [10 * 60 + 1.0, 61.0]  # estimated_time_to_regain_access; code 4's default
    assert [a.status for a in pages[0].attempts] == [400, 403, 500]
    assert len(clock.sleeps) == 5


def test_a_throttle_longer_than_the_worker_should_wait_stops_with_when_to_resume(fb, fake, clock):
    cursor = collect(fb, QUERY, limit=2)[-1].cursor
    fake.push(fake.rate_limit(19 * 60), path="/comments")

    with pytest.raises(CollectionStopped, match="resets in 1141 s") as stopped:
        collect(fb, QUERY, cursor)

    assert stopped.value.action is Action.WAIT_FOR_RESET and stopped.value.resume_after == 1141
    assert clock.sleeps == []


def test_it_stops_on_an_expired_token(fake, clock):
    with graph(fake, clock, token="old") as fb, pytest.raises(CollectionStopped, match="new page token") as stopped:
        collect(fb, QUERY)
    assert stopped.value.action is Action.STOP_AUTH


def test_a_post_gone_since_it_was_listed_is_reported_deleted(fb, fake):
    fake.deleted.add(FIRST_POST)

    pages = collect(fb, QUERY)

    [deletion] = [d for p in pages for d in p.deletions]
    assert deletion.platform_id == FIRST_POST and "code 100/33" in deletion.reason
    assert len([r for p in pages for r in p.records if r.post.kind == "comment"]) == 12


def test_resuming_from_any_cursor_gives_the_uninterrupted_records(fake, clock):
    with graph(fake, clock) as whole:
        baseline = collect(whole, QUERY)
    for k in range(1, len(baseline)):
        with graph(fake, clock) as first:
            head = collect(first, QUERY, limit=k)
        with graph(fake, clock) as second:
            tail = collect(second, QUERY, cursor=head[-1].cursor)
        assert digests(head + tail) == digests(baseline), f"resumed after page {k}"


def test_it_rejects_a_malformed_post_and_keeps_the_rest(fb, fake):
    fake.posts.insert(1, {"id": f"{PAGE}_1", "message": "no time"})

    pages = collect(fb, QUERY)

    [rejected] = [r for p in pages for r in p.rejected]
    assert (rejected.position, rejected.reason) == ("page 1 data[1]", "created_time missing or not a string")
    assert len([i for i in ids(pages) if "/" not in i and i.count("_") == 1 and i.startswith(PAGE)]) == 9
