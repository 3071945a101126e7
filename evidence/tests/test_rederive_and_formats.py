"""Re-deriving posts from stored exchanges, and importing twarc, Zeeschuimer and CSV files."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from evidence.collect import rederive
from evidence.models import Account, CollectionRun, Post, Quarantine
from evidence.services import import_posts
from evidence.tests.fakes import x
from evidence.tests.fakes.helpers import options
from evidence.tests.fakes.server import FakeClock, fixture
from evidence.tests.platforms import PLATFORMS

pytestmark = pytest.mark.django_db


@pytest.fixture
def collected(monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", x.TOKEN)
    clock = FakeClock()
    with x.XFake(n=25, clock=clock) as fake:
        source = PLATFORMS["x"].source(fake)
        call_command("collect", source.name, client_options=options(clock), stdout=StringIO())
    return source


def test_rederive_restores_what_a_faulty_mapping_got_wrong_and_is_idempotent(collected):
    reply = Post.objects.get(platform_id="2006812999999999999")
    evidence = (reply.raw, reply.sha256)
    Post.objects.filter(pk=reply.pk).update(kind="post", parent_platform_id="", text="mangled")
    Post.objects.filter(platform_id="2006813111111111111").delete()  # a record the old mapping missed

    first = rederive(collected)
    second = rederive(collected)

    reply.refresh_from_db()
    assert (reply.kind, reply.parent_platform_id) == ("reply", "2006812345678901234")
    assert (reply.raw, reply.sha256) == evidence
    assert (first.updated, first.created, first.exchanges) == (1, 1, 3)
    assert (second.updated, second.created, second.unchanged) == (0, 0, 25)
    assert Post.objects.count() == 25


def test_rederive_through_the_command(collected):
    out = StringIO()
    call_command("rederive", "--source", collected.name, stdout=out)
    assert "3 exchange(s): 0 created, 0 updated, 25 unchanged" in out.getvalue()


def _twarc_file(path: Path, lines: int) -> Path:
    page = fixture("x", "search_recent_page1")["response"]["body"]
    errors = fixture("x", "lookup_partial_errors_200")["response"]["body"]["errors"]
    with path.open("w") as fh:
        for _ in range(lines):
            fh.write(json.dumps(page) + "\n")
        fh.write("{broken\n")
        fh.write(json.dumps({"data": [], "errors": errors, "meta": {"result_count": 0}}) + "\n")
    return path


def test_twarc_lines_import_whole_pages_and_mark_reported_deletions(tmp_path):
    page = fixture("x", "search_recent_page1")["response"]["body"]
    gone = fixture("x", "lookup_partial_errors_200")["response"]["body"]["errors"][0]["resource_id"]
    Post.objects.create(platform="x", platform_id=gone, text="", collected_at="2026-01-01T00:00:00Z",
                        raw={}, sha256="", run=_any_run())  # fmt: skip
    path = _twarc_file(tmp_path / "search.jsonl", 2)

    out = StringIO()
    call_command("import_posts", "--format", "twarc", str(path), stdout=out)

    assert f"{len(page['data'])} imported, {len(page['data'])} duplicate, 1 quarantined, 1 marked deleted" in (
        out.getvalue()
    )
    assert Quarantine.objects.get().position == "line 3"
    assert Post.objects.get(platform_id=gone).deleted_at is not None
    assert Account.objects.filter(platform="x").count() == len(page["includes"]["users"])


def _any_run() -> CollectionRun:
    from evidence.services import _file_source

    return CollectionRun.objects.create(source=_file_source("ndjson"), connector="ndjson", connector_version="1",
                                        started_at="2026-01-01T00:00:00Z")  # fmt: skip


def test_csv_imports_with_a_column_mapping(tmp_path):
    path = tmp_path / "posts.csv"
    path.write_text("tweet id,body,who\n1,hello,u1\n2,,u2\n,no id,u3\n", encoding="utf-8")

    summary = import_posts(
        path, fmt="csv", mapping={"id": "tweet id", "text": "body", "author_id": "who"}, record_platform="x"
    )

    assert (summary.imported, summary.quarantined) == (2, 1)
    assert Quarantine.objects.get().position == "line 4"
    assert Post.objects.get(platform_id="1").account.platform_id == "u1"  # type: ignore[union-attr]


def test_a_twarc_import_checkpoints_only_between_lines(tmp_path):
    path = _twarc_file(tmp_path / "search.jsonl", 3)

    def crash(_done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_posts(path, fmt="twarc", batch_size=1, progress=crash)
    assert CollectionRun.objects.get().cursor == {"line": 1}

    summary = import_posts(path, fmt="twarc", batch_size=1)

    assert summary.resumed_from_line == 1
    assert Post.objects.count() == len(fixture("x", "search_recent_page1")["response"]["body"]["data"])


def test_rederive_never_restores_what_retention_or_erasure_purged(collected):
    from evidence.models import Exchange
    from evidence.personal_data import purge_posts

    reply = Post.objects.get(platform_id="2006812999999999999")
    purge_posts(Post.objects.filter(pk=reply.pk))

    again = rederive(collected)
    reply.refresh_from_db()
    assert (reply.text, reply.raw, reply.purged_at is not None) == ("", {}, True)
    assert again.exchanges == 3 and not Exchange.objects.filter(purged_at__isnull=False).exists()

    purge_posts(Post.objects.all())
    assert Exchange.objects.filter(role="page", purged_at__isnull=True).count() == 0
    assert {bytes(body) for body in Exchange.objects.filter(role="page").values_list("body", flat=True)} == {b""}
    assert rederive(collected).exchanges == 0
    assert Post.objects.filter(purged_at__isnull=True).count() == 0
