"""`assay collect` against each platform's fake on 127.0.0.1: pages into Posts and Exchanges, limits
ridden out without losing or duplicating a record, deletions, stops with a clear status, resume."""

from __future__ import annotations

import hashlib

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evidence.connectors.page import Query
from evidence.models import Account, AccountObservation, CollectionRun, Exchange, Post, Source
from evidence.registry import read_credential, spec_for
from evidence.tests.fakes import facebook, x
from evidence.tests.fakes.helpers import options
from evidence.tests.fakes.server import FakeClock
from evidence.tests.platforms import PLATFORMS, SINCE, UNTIL, Platform

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture(params=sorted(PLATFORMS))
def platform(request, monkeypatch) -> Platform:
    p = PLATFORMS[request.param]
    monkeypatch.setenv(*p.env)
    return p


@pytest.fixture
def fake(platform, clock):
    with platform.make(clock) as server:
        yield server
    assert server.errors == []


def _collect(clock, *names: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("collect", *names, client_options=options(clock), stdout=out)
    return out.getvalue()


def _expected_ids(platform: Platform, source: Source) -> set[str]:
    """What the connector alone yields from an undisturbed fake: the reference for every run."""
    clock = FakeClock()
    with platform.make(clock) as clean:
        source.base_url = clean.base_url
        connector = spec_for(source.connector).build(source, read_credential(source), options(clock))
        pages = connector.pages(Query(source.query, SINCE, UNTIL))
        return {r.post.platform_id for page in pages for r in page.records}


def _rows() -> list[tuple[object, ...]]:
    return list(Post.objects.order_by("platform_id").values_list("platform_id", "sha256", "kind", "text"))


def test_it_collects_every_page_into_posts_and_exchanges(platform, fake, clock):
    source = platform.source(fake)
    expected = _expected_ids(platform, Source.objects.get(pk=source.pk))

    out = _collect(clock, source.name)

    run = CollectionRun.objects.get()
    assert run.status == "done" and f"{source.name}: done [run {run.pk}]" in out
    assert set(Post.objects.values_list("platform_id", flat=True)) == expected
    assert run.imported == len(expected) and run.duplicates == 0
    pages = Exchange.objects.filter(run=run, role="page").order_by("seq")
    assert run.pages == pages.count() >= 3
    for exchange in pages:
        assert exchange.sha256 == hashlib.sha256(bytes(exchange.body)).hexdigest()
        assert exchange.status == 200 and exchange.connector == platform.connector
        assert platform.env[1] not in f"{exchange.url} {exchange.params} {exchange.headers}"
    assert not Post.objects.filter(exchange__isnull=True).exists()
    assert (run.connector, run.connector_version, run.query) == (platform.connector, "1", platform.query)
    assert (run.window_since, run.window_until) == (SINCE, UNTIL)


def test_it_rides_out_a_rate_limit_and_a_burst_of_server_errors(platform, fake, clock):
    source = platform.source(fake)
    expected = _expected_ids(platform, Source.objects.get(pk=source.pk))
    fake.push(fake.rate_limit(30), platform.server_error(), platform.server_error(), platform.server_error(),
              path=platform.path)  # fmt: skip

    _collect(clock, source.name)

    run = CollectionRun.objects.get()
    assert run.status == "done" and run.duplicates == 0
    assert set(Post.objects.values_list("platform_id", flat=True)) == expected
    attempts = Exchange.objects.filter(run=run, role="attempt").order_by("seq")
    assert attempts[0].status in (429, 400)  # Meta throttles on 400
    assert len(attempts) >= 4 and all(a.status >= 400 for a in attempts)
    assert clock.sleeps and clock.sleeps[0] >= 30


def test_a_second_run_duplicates_nothing(platform, fake, clock):
    source = platform.source(fake)
    _collect(clock, source.name)
    before = _rows()

    _collect(clock, source.name)

    first, second = CollectionRun.objects.order_by("pk")
    assert _rows() == before
    assert second.imported == 0 and second.duplicates == first.imported


def test_a_post_reported_deleted_on_x_is_marked_not_removed(monkeypatch, clock):
    monkeypatch.setenv("X_BEARER_TOKEN", x.TOKEN)
    fake = x.XFake(n=25, clock=clock)
    with fake:
        source = PLATFORMS["x"].source(fake)
        _collect(clock, source.name)
        gone = fake.corpus[5]["id"]
        fake.corpus[5] = {"__error__": {**_x_deleted_error(), "value": gone, "resource_id": gone}}

        _collect(clock, source.name)

    post = Post.objects.get(platform_id=gone)
    assert post.deleted_at is not None and post.deleted_reason == "X: not found (deleted)"
    assert CollectionRun.objects.order_by("pk").last().deleted == 1  # type: ignore[union-attr]
    assert Post.objects.count() == 25


def _x_deleted_error() -> dict[str, str]:
    from evidence.tests.fakes.server import fixture

    error: dict[str, str] = fixture("x", "lookup_partial_errors_200")["response"]["body"]["errors"][0]
    return error


def test_a_facebook_post_gone_since_it_was_collected_is_marked_deleted(monkeypatch, clock):
    monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", facebook.TOKEN)
    fake = facebook.FacebookFake(n=9, clock=clock)
    with fake:
        source = PLATFORMS["facebook"].source(fake)
        _collect(clock, source.name)
        first_post = fake.posts[0]["id"]
        fake.deleted.add(first_post)

        _collect(clock, source.name)

    post = Post.objects.get(platform_id=first_post)
    assert post.deleted_at is not None and "code 100/33" in post.deleted_reason


def test_ppca_comments_are_kept_as_evidence_that_cannot_be_linked(monkeypatch, clock):
    monkeypatch.setenv("FACEBOOK_PAGE_TOKEN", facebook.TOKEN)
    fake = facebook.FacebookFake(n=9, clock=clock, ppca=True)
    with fake:
        source = PLATFORMS["facebook"].source(fake)
        _collect(clock, source.name)

    run = CollectionRun.objects.get()
    comments = Post.objects.filter(kind="comment")
    assert comments.count() == 14 and not comments.filter(account__isnull=False).exists()
    assert run.unlinkable == 14


def test_a_bad_token_stops_the_run_with_a_message_naming_the_credential(monkeypatch, clock):
    monkeypatch.setenv("X_BEARER_TOKEN", "expired")
    fake = x.XFake(clock=clock)
    with fake:
        source = PLATFORMS["x"].source(fake)
        with pytest.raises(CommandError, match="x source"):
            _collect(clock, source.name)

    run = CollectionRun.objects.get()
    assert (run.status, run.stop_action) == ("stopped", "stop_auth")
    assert "X_BEARER_TOKEN" in run.error and "expired" not in run.error
    assert Exchange.objects.get(run=run).role == "stop"


def test_a_missing_credential_stops_before_any_request(monkeypatch, clock):
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    fake = x.XFake(clock=clock)
    with fake:
        source = PLATFORMS["x"].source(fake)
        with pytest.raises(CommandError):
            _collect(clock, source.name)
        assert fake.requests == []
    run = CollectionRun.objects.get()
    assert run.status == "stopped" and "set X_BEARER_TOKEN (or X_BEARER_TOKEN_FILE)" in run.error


def test_the_credential_may_come_from_a_file(monkeypatch, clock, tmp_path):
    secret = tmp_path / "token"
    secret.write_text(x.TOKEN + "\n")
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    monkeypatch.setenv("X_BEARER_TOKEN_FILE", str(secret))
    fake = x.XFake(clock=clock)
    with fake:
        _collect(clock, PLATFORMS["x"].source(fake).name)
    assert CollectionRun.objects.get().status == "done"


def test_the_usage_cap_stops_the_run_and_the_next_run_resumes_from_the_cursor(monkeypatch, clock):
    monkeypatch.setenv("X_BEARER_TOKEN", x.TOKEN)
    fake = x.XFake(n=25, clock=clock)
    with fake:
        source = PLATFORMS["x"].source(fake)
        fake.push(lambda s: _after_first_page(s), path=x.SEARCH)
        fake.push(x.XFake.usage_capped(), path=x.SEARCH)
        with pytest.raises(CommandError):
            _collect(clock, source.name)
        run = CollectionRun.objects.get()
        assert (run.status, run.stop_action, run.imported) == ("stopped", "stop_quota", 10)
        assert run.cursor == {"next_token": "tok-10", "page": 1}

        _collect(clock, source.name)

    run.refresh_from_db()
    assert CollectionRun.objects.count() == 1 and run.status == "done"
    assert Post.objects.count() == 25 and run.duplicates == 0


def _after_first_page(server):
    """Answer this request as the fake normally would (so the usage cap hits the second)."""
    asked = server.requests[-1]
    return server.route(asked.path, asked.params, asked.headers)


def test_the_spending_cap_stops_before_a_page_would_pass_it(monkeypatch, clock):
    monkeypatch.setenv("X_BEARER_TOKEN", x.TOKEN)
    fake = x.XFake(n=25, clock=clock)
    with fake:
        source = PLATFORMS["x"].source(fake, spending_cap=20)
        with pytest.raises(CommandError):
            _collect(clock, source.name)
        assert len(fake.served(x.SEARCH)) == 2

    run = CollectionRun.objects.get()
    assert (run.status, run.stop_action, run.read) == ("stopped", "stop_quota", 20)
    assert "spending cap reached: 20 of 20 posts" in run.error


def test_handle_changes_are_kept_as_observations(monkeypatch, clock):
    monkeypatch.setenv("X_BEARER_TOKEN", x.TOKEN)
    fake = x.XFake(n=25, clock=clock)
    with fake:
        source = PLATFORMS["x"].source(fake)
        _collect(clock, source.name)
        fake.users["1500000000000000002"]["username"] = "erika_neu"
        _collect(clock, source.name)

    account = Account.objects.get(platform_id="1500000000000000002")
    assert account.handle == "erika_neu"
    handles = list(AccountObservation.objects.filter(account=account).order_by("pk").values_list("handle", flat=True))
    assert handles == ["erika_muster", "erika_neu"]


def test_a_disabled_source_is_not_collected(monkeypatch, clock):
    monkeypatch.setenv("X_BEARER_TOKEN", x.TOKEN)
    fake = x.XFake(clock=clock)
    with fake:
        source = PLATFORMS["x"].source(fake)
        call_command("sources", "disable", source.name, stdout=_Null())
        with pytest.raises(CommandError, match="not collected"):
            _collect(clock, source.name)
    assert not CollectionRun.objects.exists()


class _Null:
    def write(self, _text: str) -> None:
        pass

    def flush(self) -> None:
        pass
