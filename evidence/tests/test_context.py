"""Conversation context against each platform's fake on 127.0.0.1: the posts collected replies
answered are asked for by id, stored as evidence with provenance, two levels up; a parent the
platform no longer shows is recorded and never asked again; limits stop a run that the next fetch
resumes; file imports are skipped with the reason; the source's purpose applies; all audited."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from evidence.collect import collect
from evidence.connectors.base import canonical_sha256
from evidence.connectors.recheck import BLUESKY_GONE
from evidence.context import FILE_SKIP, fetch_context, gone, held, request_context
from evidence.models import CollectionRun, Exchange, ParentLookup, Post, Source
from evidence.services import import_posts
from evidence.tests.fakes import mastodon
from evidence.tests.fakes.helpers import options
from evidence.tests.fakes.recheck import GET_POSTS, BlueskyRecheckFake
from evidence.tests.fakes.server import FakeClock
from evidence.tests.fakes.x_compliance import LOOKUP, XRecheckFake
from evidence.tests.platforms import PLATFORMS
from oversight.models import AuditEvent, Purpose

pytestmark = pytest.mark.django_db

A = "2006812345678901234"  # the documented post that the documented reply and quote answer
ROOT = "2006812000000000001"  # what A itself replies to (made up here, so A is two levels down)
MISSING = "2006800000000000000"  # deleted: lookup reports it not found
HIDDEN = "2006812000000000002"  # by a protected account
PROTECTED_USER: dict[str, Any] = {"id": "1500000000000000009", "username": "geschuetzt", "name": "G", "protected": True}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _x_conversation(fake: XRecheckFake) -> None:
    """Search finds replies, quotes and reposts of A, not A; A replies to ROOT; one reply answers a
    deleted post, one a protected account's."""
    a = next(t for t in fake.corpus if t["id"] == A)
    fake.corpus.remove(a)
    a = copy.deepcopy(a)
    root = copy.deepcopy(a)
    a["referenced_tweets"] = [{"type": "replied_to", "id": ROOT}]
    root.update(id=ROOT, text="Die Wurzel des Gesprächs", conversation_id=ROOT, edit_history_tweet_ids=[ROOT])
    hidden = copy.deepcopy(root)
    hidden.update(id=HIDDEN, text="geschützt", author_id=PROTECTED_USER["id"], edit_history_tweet_ids=[HIDDEN])
    fake.users[PROTECTED_USER["id"]] = PROTECTED_USER
    fake.elsewhere += [a, root, hidden]
    generated = [t for t in fake.corpus if t["text"].startswith("Beitrag")]
    generated[0]["referenced_tweets"] = [{"type": "replied_to", "id": MISSING}]
    generated[1]["referenced_tweets"] = [{"type": "replied_to", "id": HIDDEN}]


@pytest.fixture
def x_source(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[XRecheckFake, Source]]:
    platform = PLATFORMS["x"]
    monkeypatch.setenv(*platform.env)
    with XRecheckFake(n=25, clock=clock) as fake:
        _x_conversation(fake)
        source = platform.source(fake, "x-src")
        assert collect(source, options=options(clock)).status == "done"
        yield fake, source
    assert fake.errors == []


def _lookups(fake: XRecheckFake) -> list[Any]:
    return [r for r in fake.requests if r.path == LOOKUP]  # not the search under /2/tweets/search/


def _fetch(clock: FakeClock, posts: Any = None, **kwargs: Any) -> Any:
    chosen = Post.objects.all() if posts is None else posts
    return fetch_context(list(chosen), options=options(clock), **kwargs)


def test_parents_are_fetched_two_levels_up_and_stored_as_evidence_with_provenance(x_source, clock):
    fake, source = x_source
    assert not Post.objects.filter(platform_id__in=[A, ROOT]).exists()
    children = list(Post.objects.all())

    summary = _fetch(clock, children)

    run = CollectionRun.objects.get(connector="x_context")
    assert (run.source, run.status, run.trigger, run.purpose) == (source, "done", "cli", source.purpose)
    assert (run.imported, run.deleted, run.skipped, run.cursor) == (2, 1, 1, {})  # A and ROOT; MISSING; HIDDEN
    for platform_id in (A, ROOT):
        post = Post.objects.get(platform="x", platform_id=platform_id)
        assert post.run == run and post.sha256 == canonical_sha256(post.raw) and post.account is not None
        assert post.exchange is not None and post.exchange.connector == "x_context"
        assert post.exchange.url.startswith(f"{fake.base_url}{LOOKUP}?ids=")
    assert Post.objects.get(platform_id=A).parent_platform_id == ROOT
    asked = [sorted(r.params["ids"].split(",")) for r in _lookups(fake)]
    assert asked == [sorted([A, MISSING, HIDDEN]), [ROOT]]  # one request per level
    assert (summary.asked, summary.fetched, summary.gone, summary.withheld, summary.levels) == (4, 2, 1, 1, 2)
    lookups = {lk.asked_id: lk for lk in ParentLookup.objects.all()}
    assert {k: (v.outcome, v.post and v.post.platform_id) for k, v in lookups.items()} == {
        A: ("fetched", A),
        ROOT: ("fetched", ROOT),
        MISSING: ("gone", None),
        HIDDEN: ("withheld", None),
    }
    assert lookups[MISSING].reason == "X: not found (deleted)" and lookups[MISSING].exchange is not None
    assert lookups[HIDDEN].reason == "author's account is protected"
    assert not Post.objects.filter(platform_id=HIDDEN).exists()  # a protected post is not kept


def test_the_case_page_finds_parents_held_and_parents_gone(x_source, clock):
    _fetch(clock)
    assert {k: p.platform_id for k, p in held("x", [A, ROOT, MISSING, HIDDEN, "1"]).items()} == {A: A, ROOT: ROOT}
    unavailable = gone("x", [A, MISSING, HIDDEN, "1"])
    assert {k: v.outcome for k, v in unavailable.items()} == {MISSING: "gone", HIDDEN: "withheld"}
    assert unavailable[MISSING].asked_at is not None


def test_a_second_fetch_asks_nothing_and_a_gone_parent_is_not_asked_again(x_source, clock):
    fake, _ = x_source
    _fetch(clock)
    requests, posts = len(_lookups(fake)), Post.objects.count()

    summary = _fetch(clock)

    assert len(_lookups(fake)) == requests and Post.objects.count() == posts
    assert summary.asked == 0 and summary.known >= 4
    assert CollectionRun.objects.filter(connector="x_context").count() == 1  # no run when nothing is asked


def test_depth_one_fetches_only_the_parents(x_source, clock):
    summary = _fetch(clock, depth=1)
    assert Post.objects.filter(platform_id=A).exists() and not Post.objects.filter(platform_id=ROOT).exists()
    assert summary.levels == 1


def test_a_long_rate_limit_stops_the_run_with_resume_info_and_the_next_fetch_resumes_it(x_source, clock):
    fake, _ = x_source
    fake.push(fake.rate_limit(3600), path=LOOKUP)  # longer than a worker waits: stop, resume later

    summary = _fetch(clock)

    run = CollectionRun.objects.get(connector="x_context")
    assert (run.status, run.stop_action) == ("stopped", "wait_for_reset") and run.resume_after is not None
    assert run.cursor == {"level": 1, "depth": 3}
    assert Exchange.objects.filter(run=run, role="stop").count() == 1
    assert summary.stopped and "resumes after" in summary.stopped[0] and summary.asked == 0
    assert not ParentLookup.objects.exists() and not Post.objects.filter(platform_id=A).exists()

    clock.now += 3601
    again = _fetch(clock)

    run.refresh_from_db()
    assert CollectionRun.objects.filter(connector="x_context").count() == 1  # the stopped run resumed
    assert (run.status, run.imported, run.deleted) == ("done", 2, 1)
    assert again.fetched == 2 and not again.stopped


def test_file_imports_are_skipped_with_the_reason(tmp_path: Path, clock):
    lines = [
        {"platform": "x", "id": "11", "kind": "reply", "parent_id": "10", "text": "a reply", "author": {"id": "a1"}}
    ]
    path = tmp_path / "posts.ndjson"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    import_posts(path)

    summary = _fetch(clock)

    assert summary.asked == 0 and not CollectionRun.objects.filter(connector__endswith="_context").exists()
    assert summary.skipped == {f"file import (ndjson): {FILE_SKIP}": 1}
    assert "skipped 1: file import (ndjson): a file import: there is no platform to ask" in summary.describe()


def test_the_sources_purpose_applies(x_source, clock):
    fake, source = x_source
    Purpose.objects.update(review_due=timezone.now().date() - timedelta(days=1))

    summary = _fetch(clock)

    assert _lookups(fake) == [] and not CollectionRun.objects.filter(connector="x_context").exists()
    [reason] = summary.skipped
    assert reason.startswith(f"{source.name}: collecting {source.name} refused:") and "past its review date" in reason


def test_a_disabled_source_is_not_asked(x_source, clock):
    fake, source = x_source
    Source.objects.filter(pk=source.pk).update(enabled=False)
    summary = _fetch(clock)
    assert _lookups(fake) == [] and summary.skipped == {f"{source.name}: the source is disabled": 3}


def test_an_x_spending_cap_stops_before_the_lookup(x_source, clock):
    fake, source = x_source
    read = CollectionRun.objects.get(source=source, connector="x_search").read
    Source.objects.filter(pk=source.pk).update(spending_cap=read + 1)  # room for one post, three to ask

    summary = _fetch(clock)

    assert _lookups(fake) == []
    run = CollectionRun.objects.get(connector="x_context")
    assert (run.status, run.stop_action) == ("stopped", "stop_quota") and "spending cap" in summary.stopped[0]


def test_every_fetch_is_audited(x_source, clock):
    _fetch(clock)
    actions = list(AuditEvent.objects.filter(action__startswith="context.").values_list("action", flat=True))
    assert actions == ["context.fetch_started", "context.run_started", "context.run_finished",
                       "context.fetch_finished"]  # fmt: skip
    finished = AuditEvent.objects.get(action="context.fetch_finished")
    assert (finished.data["asked"], finished.data["fetched"], finished.data["gone"]) == (4, 2, 1)


# ---------------------------------------------------------------------------------------------
# Bluesky and Mastodon


def test_bluesky_parents_come_from_getposts_and_a_logged_out_opt_out_is_withheld(clock, monkeypatch):
    platform = PLATFORMS["bluesky"]
    monkeypatch.setenv(*platform.env)
    with BlueskyRecheckFake(n=12, clock=clock) as fake:
        parent = next(p for p in fake.corpus if p["uri"].endswith("3lfexamplepost1"))
        fake.corpus.remove(parent)  # the reply (post2) and the quote (post3) answer it; search finds only them
        opted_out = copy.deepcopy(parent)
        opted_out["uri"] = parent["uri"].replace("3lfexamplepost1", "3lfoptedout01")
        opted_out["author"]["labels"] = [{"val": "!no-unauthenticated", "src": opted_out["author"]["did"]}]
        fake.elsewhere += [parent, opted_out]
        replies = [p for p in fake.corpus if p["uri"].rsplit("/", 1)[1].startswith("3lfgen")]
        gone_uri = parent["uri"].replace("3lfexamplepost1", "3lfdeleted001")
        for reply, target in zip(replies, (opted_out["uri"], gone_uri), strict=False):
            reply["record"]["reply"] = {
                "root": {"uri": target, "cid": "bafy"},
                "parent": {"uri": target, "cid": "bafy"},
            }
        source = platform.source(fake, "bsky-src")
        assert collect(source, options=options(clock)).status == "done"

        summary = _fetch(clock)
    assert fake.errors == []

    run = CollectionRun.objects.get(connector="bluesky_context")
    stored = Post.objects.get(platform="bluesky", platform_id=parent["uri"])
    assert stored.run == run and stored.sha256 == canonical_sha256(parent) and stored.exchange is not None
    assert len(fake.served(GET_POSTS)) == 1 and (summary.fetched, summary.gone, summary.withheld) == (1, 1, 1)
    assert gone("bluesky", [gone_uri])[gone_uri].reason == BLUESKY_GONE
    assert gone("bluesky", [opted_out["uri"]])[opted_out["uri"]].outcome == "withheld"
    assert not Post.objects.filter(platform_id=opted_out["uri"]).exists()


def test_mastodon_parents_named_by_instance_url_are_fetched_two_levels_up_and_found_by_that_name(clock, monkeypatch):
    platform = PLATFORMS["mastodon"]
    monkeypatch.setenv(*platform.env)
    with mastodon.MastodonFake(n=10, clock=clock) as fake:
        template = fake.corpus[3]
        top, middle, reply = (copy.deepcopy(template) for _ in range(3))
        for n, status in enumerate((top, middle, reply)):
            status.update(
                id=mastodon.snowflake(datetime(2025, 12, 20, 12, n, tzinfo=UTC)),
                uri=f"https://social.example/users/max/statuses/77{n}",
                url=f"https://social.example/@max/77{n}",
                content=f"<p>Teil {n} #examplehashtag</p>",
            )
        middle["in_reply_to_id"], reply["in_reply_to_id"] = top["id"], middle["id"]
        fake.elsewhere += [top, middle]  # no timeline shows them
        fake.corpus.append(reply)  # the oldest: on the timeline's last page
        source = platform.source(fake, "masto-src")
        assert collect(source, options=options(clock)).status == "done"
        named = Post.objects.get(platform_id=reply["uri"]).parent_platform_id
        assert named == f"{fake.base_url}/api/v1/statuses/{middle['id']}"

        summary = _fetch(clock)
    assert fake.errors == []

    assert [r.path for r in fake.served(mastodon.STATUSES)] == [
        f"{mastodon.STATUSES}{middle['id']}", f"{mastodon.STATUSES}{top['id']}"]  # fmt: skip
    found = held("mastodon", [named])
    assert found[named].platform_id == middle["uri"] and found[named].run.connector == "mastodon_context"
    above = found[named].parent_platform_id
    assert held("mastodon", [above])[above].platform_id == top["uri"]
    assert summary.fetched == 2 and summary.levels >= 2


@pytest.mark.django_db(transaction=True)  # jobs are enqueued after commit, as in production
def test_a_fetch_queued_for_the_worker_runs_there_and_not_in_the_request(x_source, clock):
    fake, _ = x_source
    reply = Post.objects.get(platform_id="2006812999999999999")  # the documented reply to A

    assert request_context([reply], actor="lena", depth=2) == [reply.pk]

    assert _lookups(fake) == [] and DBTaskResult.objects.filter(task_path__endswith="fetch_context_job").count() == 1
    requested = AuditEvent.objects.get(action="context.requested")
    assert (requested.actor, requested.data["post_ids"], requested.data["depth"]) == ("lena", [reply.pk], 2)
    out = StringIO()
    call_command("worker", "--batch", stdout=out)

    run = CollectionRun.objects.get(connector="x_context")
    assert (run.status, run.trigger, run.imported) == ("done", "ui", 2)
    assert f"x-src: done [run {run.pk}]" in out.getvalue()
    assert DBTaskResult.objects.get(task_path__endswith="fetch_context_job").status == "SUCCESSFUL"
