"""The conversation above a post, as far as assay holds it (evidence.threads)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evidence.models import Account, CollectionRun, Platform, Post, Source
from evidence.threads import ancestors, platform_url

WHEN = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


@pytest.fixture
def run() -> CollectionRun:
    source = Source.objects.create(name="x search", platform=Platform.X, connector="ndjson")
    return CollectionRun.objects.create(source=source, connector="ndjson", connector_version="1", started_at=WHEN)


def _post(run: CollectionRun, kind: str = "post", parent: str = "", **extra: Any) -> Post:
    pid = extra.pop("platform_id", str(next(_ids)))
    platform = extra.pop("platform", Platform.X)
    account = Account.objects.create(
        platform=platform, platform_id=f"a{pid}", handle=f"h{pid}", first_seen=WHEN, last_seen=WHEN
    )
    return Post.objects.create(
        platform=platform, platform_id=pid, account=account, kind=kind, parent_platform_id=parent,
        text=f"text {pid}", created_at=WHEN, collected_at=WHEN, run=run, raw={"id": pid}, sha256="0" * 64, **extra,
    )  # fmt: skip


@pytest.mark.django_db
def test_a_reply_shows_what_it_answered_nearest_first(run: CollectionRun) -> None:
    top = _post(run)
    middle = _post(run, "reply", top.platform_id)
    flagged = _post(run, "quote", middle.platform_id)

    thread = ancestors([flagged])[flagged.pk]

    assert [(a.relation, a.post) for a in thread.above] == [("quoting", middle), ("in reply to", top)]
    assert thread.top_first[0].post == top
    assert not thread.truncated and thread.missing is None


@pytest.mark.django_db
def test_the_walk_stops_at_a_post_not_held_and_says_where_to_look(run: CollectionRun) -> None:
    flagged = _post(run, "reply", "1790000000000000000")

    thread = ancestors([flagged])[flagged.pk]

    assert thread.missing is not None and thread.missing.post is None
    assert thread.missing.platform_id == "1790000000000000000"
    assert thread.missing.platform_url == "https://x.com/i/web/status/1790000000000000000"


@pytest.mark.django_db
def test_depth_limits_the_walk_and_marks_it_truncated(run: CollectionRun) -> None:
    chain = [_post(run)]
    for _ in range(4):
        chain.append(_post(run, "reply", chain[-1].platform_id))

    thread = ancestors([chain[-1]], depth=2)[chain[-1].pk]

    assert [a.post for a in thread.above] == [chain[-2], chain[-3]]
    assert thread.truncated
    assert not ancestors([chain[-1]], depth=4)[chain[-1].pk].truncated


@pytest.mark.django_db
def test_a_post_answering_nothing_or_itself_has_no_thread(run: CollectionRun) -> None:
    alone = _post(run)
    # A Facebook page post names itself as its own parent: not a thread.
    own = _post(run, "post", "fb_1_2", platform=Platform.FACEBOOK, platform_id="fb_1_2")

    threads = ancestors([alone, own])

    assert threads[alone.pk].above == () and threads[own.pk].above == ()


@pytest.mark.django_db
def test_a_loop_in_the_data_ends_the_walk(run: CollectionRun) -> None:
    a = _post(run, "reply", "loop-b", platform_id="loop-a")
    b = _post(run, "reply", "loop-a", platform_id="loop-b")

    thread = ancestors([a])[a.pk]

    assert [x.post for x in thread.above] == [b]


@pytest.mark.django_db
def test_the_same_id_on_another_platform_is_not_the_parent(run: CollectionRun) -> None:
    _post(run, platform=Platform.MASTODON, platform_id="42")
    flagged = _post(run, "reply", "42")

    assert ancestors([flagged])[flagged.pk].missing is not None


@pytest.mark.django_db
def test_one_query_per_level_for_many_posts(run: CollectionRun) -> None:
    flagged = []
    for _ in range(20):
        top = _post(run)
        flagged.append(_post(run, "reply", _post(run, "reply", top.platform_id).platform_id))

    with CaptureQueriesContext(connection) as queries:
        threads = ancestors(flagged)

    assert all(len(threads[p.pk].above) == 2 for p in flagged)
    assert len(queries) == 2  # one per level; the tops answer nothing, so no third


@pytest.mark.parametrize(
    ("platform", "platform_id", "url"),
    [
        ("x", "123", "https://x.com/i/web/status/123"),
        ("x", "not-a-number", ""),
        ("bluesky", "at://did:plc:abc/app.bsky.feed.post/3k2", "https://bsky.app/profile/did:plc:abc/post/3k2"),
        ("bluesky", "at://did:plc:abc/app.bsky.feed.like/3k2", ""),
        ("mastodon", "https://social.example/users/a/statuses/9", "https://social.example/users/a/statuses/9"),
        ("mastodon", "https://social.example/api/v1/statuses/9", ""),
        ("facebook", "123_456", "https://www.facebook.com/123_456"),
        ("facebook", "123_456/comment-sha256:ab", ""),
    ],
)
def test_platform_urls_only_where_the_id_gives_one(platform: str, platform_id: str, url: str) -> None:
    assert platform_url(platform, platform_id) == url
