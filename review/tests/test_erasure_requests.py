"""Erasure redacts the member's accounts out of the collection requests that name them (URL, parameters,
finished runs' query and cursor) and empties those no live post comes from; the sha256 stays."""

from __future__ import annotations

import json
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from evidence.models import CollectionRun, Exchange, Post, Source
from review.tests.world import POSTED, World

REQUEST = "DSAR-2026-051 erasure request"
API = "https://api.x.example/2"


def _exchange(run: CollectionRun, seq: int, url: str, body: bytes, params: dict[str, str] | None = None) -> Exchange:
    return Exchange.objects.create(
        run=run, seq=seq, role=Exchange.Role.PAGE, method="GET", url=url, params=params or {}, status=200,
        body=body, retrieved_at=POSTED, connector="x_timeline", connector_version="1", sha256=f"{seq}" * 64,
    )  # fmt: skip


@pytest.fixture
def requests(world: World) -> dict[str, Exchange]:
    """A timeline run over alice's and bob's accounts, and a search naming both."""
    source = Source.objects.create(name="watch", platform="x", connector="x_timeline", query="@alice_x, @bobby")
    run = CollectionRun.objects.create(
        source=source, connector="x_timeline", connector_version="1", query="@alice_x, @bobby", started_at=POSTED,
        status="done", cursor={"account": "@alice_x", "user_id": "id-alice_x", "token": "t-9"},
    )  # fmt: skip
    found = {
        "lookup": _exchange(run, 1, f"{API}/users/by/username/alice_x", b'{"data": {"name": "Alice Archer"}}'),
        "timeline": _exchange(
            run,
            2,
            f"{API}/users/id-alice_x/tweets",
            b'{"data": [{"text": "hi from alice"}]}',
            {"pagination_token": "t-9", "max_results": "100"},
        ),
        "search": _exchange(
            run,
            3,
            f"{API}/tweets/search/recent",
            b'{"data": [{"text": "bob here"}]}',
            {"query": "from:alice_x OR from:bobby"},
        ),
        "lookalike": _exchange(run, 4, f"{API}/users/by/username/alice_xyz", b'{"data": {"name": "Someone"}}'),
    }
    Post.objects.filter(pk=world.post(world.accounts["alice_x"], "hi from alice").pk).update(exchange=found["timeline"])
    Post.objects.filter(pk=world.post(world.accounts["bobby"], "bob here").pk).update(exchange=found["search"])
    return found


def _erase(*args: str) -> str:
    out = StringIO()
    call_command("erase", "M-0001", "--reason", REQUEST, *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_erasure_redacts_the_members_accounts_out_of_requests_and_keeps_the_sha256(
    requests: dict[str, Exchange],
) -> None:
    assert "evidence.request: 3" in _erase()  # the dry run counts them; nothing changes
    assert Exchange.objects.get(pk=requests["lookup"].pk).url.endswith("/alice_x")

    assert "evidence.request: 3" in _erase("--apply")

    lookup, timeline, search, lookalike = (Exchange.objects.get(pk=e.pk) for e in requests.values())
    assert lookup.url == f"{API}/users/by/username/[erased]" and bytes(lookup.body) == b""
    assert lookup.sha256 == "1" * 64 and lookup.purged_at is not None
    assert timeline.url == f"{API}/users/[erased]/tweets" and bytes(timeline.body) == b""
    assert timeline.params == {"pagination_token": "t-9", "max_results": "100"}
    # bob's live post still comes from the search: only alice's name goes, the body stays
    assert search.params == {"query": "[erased] OR from:bobby"} and b"bob here" in bytes(search.body)
    assert search.purged_at is None
    assert lookalike.url.endswith("/alice_xyz") and lookalike.purged_at is None
    run = CollectionRun.objects.get(pk=lookup.run_id)
    assert run.query == "[erased], @bobby"
    assert run.cursor == {"account": "[erased]", "user_id": "[erased]", "token": "t-9"}
    assert Source.objects.get(name="watch").query == "@alice_x, @bobby"  # configuration: a person edits it
    stored = json.dumps([list(Exchange.objects.values_list("url", "params"))])
    assert 'alice_x"' not in stored and "id-alice_x" not in stored


@pytest.mark.django_db
def test_subject_access_lists_the_requests_naming_the_members_accounts(
    requests: dict[str, Exchange], tmp_path: Path
) -> None:
    out = tmp_path / "alice.zip"
    call_command("subject_access", "M-0001", "--out", str(out), stdout=StringIO())

    with zipfile.ZipFile(out) as archive:
        listed = json.loads(archive.read("evidence.request.json"))
    assert sorted(r["url"] for r in listed) == sorted(
        [f"{API}/users/by/username/alice_x", f"{API}/users/id-alice_x/tweets", f"{API}/tweets/search/recent"]
    )
    assert {r["sha256"] for r in listed} == {"1" * 64, "2" * 64, "3" * 64}


@pytest.mark.django_db
def test_erasure_names_the_enabled_sources_that_would_collect_the_member_again(
    requests: dict[str, Exchange],
) -> None:
    Source.objects.create(name="lookalike", platform="x", connector="x_timeline", query="@alice_xyz")
    Source.objects.create(name="old watch", platform="x", connector="x_timeline", query="@alice_x", enabled=False)
    Source.objects.create(name="search", platform="x", connector="x_search", query="from:alice_x OR from:bobby")

    for args in ((), ("--apply",)):  # the dry run says so too, and so does the erasure, listed before it blanks
        out = _erase(*args)
        assert "warning: 2 enabled source(s) name the member's accounts" in out
        assert "  - search: from:alice_x OR from:bobby" in out and "  - watch: @alice_x, @bobby" in out
        assert "lookalike" not in out and "old watch" not in out


@pytest.mark.django_db
def test_erasure_deletes_unreadable_records_that_name_the_members_accounts(requests: dict[str, Exchange]) -> None:
    from evidence.models import Quarantine

    run = requests["lookup"].run
    theirs = Quarantine.objects.create(
        run=run, origin="watch", position="page 2, item 4", reason="data[3].created_at: not a time",
        raw='{"author": {"username": "alice_x"}, "text": "unfinished', raw_sha256="a" * 64,
    )  # fmt: skip
    lookalike = Quarantine.objects.create(
        run=run, origin="watch", position="page 2, item 5", reason="no id",
        raw='{"author": {"username": "alice_xyz"}}', raw_sha256="b" * 64,
    )  # fmt: skip

    assert "evidence.quarantined_record: 1" in _erase()
    assert Quarantine.objects.filter(pk=theirs.pk).exists()

    assert "evidence.quarantined_record: 1" in _erase("--apply")
    assert not Quarantine.objects.filter(pk=theirs.pk).exists()
    assert Quarantine.objects.filter(pk=lookalike.pk).exists()
