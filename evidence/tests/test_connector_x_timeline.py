"""X user timelines through `assay collect` against a fake X on 127.0.0.1: handles resolved, pages
followed, kinds and parents kept, unknown accounts skipped, exclude, and resume to identical rows."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from evidence.collect import add_source, collect
from evidence.connectors.page import Query
from evidence.connectors.x_timeline import XTimeline, accounts
from evidence.models import CollectionRun, Exchange, Post, Source
from evidence.tests.fakes.helpers import digests, options
from evidence.tests.fakes.server import FakeClock, Reply
from evidence.tests.fakes.x_timeline import TOKEN, XTimelineFake
from evidence.tests.platforms import SINCE, UNTIL

pytestmark = pytest.mark.django_db

MAX, ERIKA = "1500000000000000001", "1500000000000000002"
QUERY = f"@max_beispiel, {ERIKA} @nobody_here_1"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def fake(clock, monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
    with XTimelineFake(per_user=12, clock=clock) as server:
        yield server
    assert server.errors == []


def _source(fake, name: str = "declared", **opts) -> Source:
    return add_source(name, connector="x_timeline", query=QUERY, base_url=fake.base_url, since=SINCE, until=UNTIL,
                      options={"page_size": 5, **opts})  # fmt: skip


def _collect(clock, name: str) -> str:
    out = StringIO()
    call_command("collect", name, client_options=options(clock), stdout=out)
    return out.getvalue()


def _rows() -> list[tuple[object, ...]]:
    return list(Post.objects.order_by("platform_id").values_list("platform_id", "sha256", "kind", "parent_platform_id"))


def test_it_resolves_handles_pages_each_timeline_and_skips_unknown_accounts(fake, clock):
    source = _source(fake)

    _collect(clock, source.name)

    run = CollectionRun.objects.get()
    assert run.status == "done" and run.imported == 24 and run.skipped == 1 and run.duplicates == 0
    expected = {t["id"] for uid in (MAX, ERIKA) for t in fake.posts[uid]}
    assert set(Post.objects.values_list("platform_id", flat=True)) == expected
    paths = [r.path for r in fake.requests]
    assert paths == [
        "/2/users/by/username/max_beispiel", *[f"/2/users/{MAX}/tweets"] * 3, *[f"/2/users/{ERIKA}/tweets"] * 3,
        "/2/users/by/username/nobody_here_1",
    ]  # fmt: skip
    tokens = [r.params.get("pagination_token") for r in fake.requests if r.path.endswith("/tweets")]
    assert tokens == [None, "p-5", "p-10"] * 2
    assert fake.requests[1].params["start_time"] == "2025-12-01T00:00:00Z"
    assert Exchange.objects.filter(run=run, role="page").count() == run.pages == 8


def test_reposts_replies_and_quotes_keep_their_kind_and_parent(fake, clock):
    _collect(clock, _source(fake).name)

    counts = {kind: Post.objects.filter(kind=kind).count() for kind in ("post", "repost", "reply", "quote")}
    assert counts == {"post": 6, "repost": 6, "reply": 6, "quote": 6}
    parents = set(Post.objects.exclude(kind="post").values_list("parent_platform_id", flat=True))
    assert parents == {"2006812345678901234"}
    post = Post.objects.filter(account__platform_id=ERIKA).first()
    assert post is not None and post.account is not None and post.account.handle == "erika_muster"


def test_exclude_asks_x_to_leave_out_replies_and_reposts(fake, clock):
    _collect(clock, _source(fake, exclude="replies,retweets").name)

    assert {r.params.get("exclude") for r in fake.requests if r.path.endswith("/tweets")} == {"replies,retweets"}
    assert set(Post.objects.values_list("kind", flat=True)) == {"post", "quote"}
    assert Post.objects.count() == 12


def test_a_bad_account_in_the_query_is_named():
    with pytest.raises(ValueError, match="'@not-a-handle!' is not an X user id"):
        accounts("@max, @not-a-handle!")
    assert accounts("@Max_1, 42 @Max_1") == ["@Max_1", "42"]


def test_an_interrupted_run_resumes_to_the_rows_of_an_uninterrupted_one(fake, clock):
    with XTimelineFake(per_user=12, clock=FakeClock()) as clean:
        connector = XTimeline(TOKEN, base_url=clean.base_url, max_results=5, options=options(FakeClock()))
        reference = digests(connector.pages(Query(QUERY, SINCE, UNTIL)))
    source = _source(fake)
    fake.push(fake.rate_limit(30), path="/tweets")  # a window limit on the way, ridden out
    seen = []

    def crash_after_three_pages(run: CollectionRun) -> None:
        seen.append(run.pages)
        if run.pages == 3:
            raise KeyboardInterrupt  # the process is stopped mid-run; the cursor was checkpointed

    with pytest.raises(KeyboardInterrupt):
        collect(source, options=options(clock), on_page=crash_after_three_pages)
    interrupted = CollectionRun.objects.get()
    assert interrupted.status == "failed" and interrupted.cursor["pagination_token"] == "p-10"

    _collect(clock, source.name)

    run = CollectionRun.objects.get()
    assert run.pk == interrupted.pk and run.status == "done"
    assert sorted((pid, sha) for pid, sha, _ in reference) == [row[:2] for row in _rows()]
    assert run.imported == 24 and run.duplicates == 0
    assert len(fake.served("/2/users/by/username/max_beispiel")) == 1  # resolved once, kept in the cursor


def _as_usual(server: XTimelineFake) -> Reply:
    """Answer this request as the fake normally would (so a scripted failure lands on a later page)."""
    asked = server.requests[-1]
    return server.route(asked.path, asked.params, asked.headers)


def test_a_burst_of_503s_mid_timeline_is_ridden_out_to_the_rows_of_an_undisturbed_run(fake, clock):
    with XTimelineFake(per_user=12, clock=FakeClock()) as clean:
        connector = XTimeline(TOKEN, base_url=clean.base_url, max_results=5, options=options(FakeClock()))
        reference = digests(connector.pages(Query(QUERY, SINCE, UNTIL)))
    source = _source(fake)
    burst = [XTimelineFake.server_error() for _ in range(3)]  # the documented 503 Service Unavailable
    fake.push(_as_usual, *burst, path=f"/2/users/{MAX}/tweets")  # page 1 answers; page 2 fails three times

    _collect(clock, source.name)

    run = CollectionRun.objects.get()
    assert run.status == "done" and run.imported == 24 and run.duplicates == 0 and run.pages == 8
    assert sorted((pid, sha) for pid, sha, _ in reference) == [row[:2] for row in _rows()]
    timeline = [r.params.get("pagination_token") for r in fake.served(f"/2/users/{MAX}/tweets")]
    assert timeline == [None, "p-5", "p-5", "p-5", "p-5", "p-10"]  # the same page asked again, none skipped
    attempts = Exchange.objects.filter(run=run, role="attempt").order_by("seq")
    assert [(a.status, a.params.get("pagination_token")) for a in attempts] == [(503, "p-5")] * 3
    assert all(b"Service Unavailable" in bytes(a.body) for a in attempts)
    page = Exchange.objects.get(run=run, role="page", seq=attempts.last().seq + 1)  # type: ignore[union-attr]
    assert (page.status, page.params.get("pagination_token"), page.page) == (200, "p-5", attempts[0].page)
    # equal-jitter backoff, doubling: 0.5-1 s, 1-2 s, 2-4 s on the shared clock, nothing else waited
    assert len(clock.sleeps) == 3 and all(2**i / 2 <= s <= 2**i for i, s in enumerate(clock.sleeps))
