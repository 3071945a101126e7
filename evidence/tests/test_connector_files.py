"""File formats: twarc NDJSON, Zeeschuimer/4CAT NDJSON, CSV with a column mapping."""

from __future__ import annotations

import io
import json

import pytest

from evidence.connectors.files import CsvFile, TwarcNdjson, ZeeschuimerNdjson
from evidence.connectors.page import Query
from evidence.connectors.x import derive_response
from evidence.tests.fakes.helpers import collect, digests, ids
from evidence.tests.fakes.server import fixture


def body(platform, name):
    return fixture(platform, name)["response"]["body"]


def lines(*items):
    return b"".join((i if isinstance(i, bytes) else json.dumps(i).encode()) + b"\n" for i in items)


def everything(reader, data, start_line=0):
    return [(n, d) for n, d in reader.read(io.BytesIO(data), start_line)]


@pytest.fixture
def twarc_file(tmp_path):
    path = tmp_path / "tweets.jsonl"
    flattened = {**body("x", "search_recent_page2_last")["data"][0], "id": "2006811000000000009"}
    path.write_bytes(
        lines(
            body("x", "search_recent_page1"),
            body("x", "search_recent_page2_last"),
            b'{"data": [ not json',
            b"",
            flattened,
            body("x", "lookup_partial_errors_200"),
            ["a", "list"],
        )
    )
    return path


def test_twarc_lines_give_the_same_records_as_the_live_connector(twarc_file):
    pages = collect(TwarcNdjson(), Query(str(twarc_file)))
    records = [r for p in pages for r in p.records]

    live = derive_response(body("x", "search_recent_page1"), "line 1").records
    assert [(r.post, r.account, r.sha256) for r in records[:3]] == [(r.post, r.account, r.sha256) for r in live]
    assert [r.position for r in records] == [
        "line 1 data[0]",
        "line 1 data[1]",
        "line 1 data[2]",
        "line 2 data[0]",
        "line 5",
        "line 6 data[0]",
    ]
    assert records[4].post.platform_id == "2006811000000000009"  # a flattened line


def test_twarc_malformed_lines_are_rejected_with_line_and_reason(twarc_file):
    rejected = [r for p in collect(TwarcNdjson(), Query(str(twarc_file))) for r in p.rejected]
    assert [(r.position, r.reason.split(":")[0]) for r in rejected] == [
        ("line 3", "invalid JSON"),
        ("line 7", "neither an X API v2 response nor a post"),
    ]
    assert rejected[0].raw.startswith('{"data": [ not json')


def test_twarc_per_item_errors_become_deletions(twarc_file):
    deletions = [d for p in collect(TwarcNdjson(), Query(str(twarc_file))) for d in p.deletions]
    assert [d.platform_id for d in deletions] == ["2006800000000000000", "2006800000000000001"]


def test_a_file_import_resumes_from_its_line_cursor(twarc_file):
    reader = TwarcNdjson()
    reader.lines_per_page = 2
    whole = collect(reader, Query(str(twarc_file)))
    head = collect(reader, Query(str(twarc_file)), limit=2)
    tail = collect(reader, Query(str(twarc_file)), cursor=head[-1].cursor)

    assert head[-1].cursor == {"line": 5}
    assert digests(head + tail) == digests(whole)
    assert whole[-1].cursor is None


def zeeschuimer_tweet(rest_id="2006812345678901234", **legacy):
    return {
        "id": rest_id,
        "item_id": rest_id,
        "source_platform": "x.com",
        "source_platform_url": "https://x.com/search?q=%23examplehashtag",
        "timestamp_collected": 1767261000000,
        "data": {
            "rest_id": rest_id,
            "core": {
                "user_results": {
                    "result": {
                        "rest_id": "1500000000000000001",
                        "core": {"screen_name": "max_beispiel", "name": "Max Beispiel"},
                        "legacy": {"description": "Ortsverein Musterstadt", "location": "Musterstadt"},
                    }
                }
            },
            "legacy": {
                "full_text": "Heute Abend Diskussion zu #examplehashtag",
                "created_at": "Thu Jan 01 08:41:12 +0000 2026",
                "user_id_str": "1500000000000000001",
                "conversation_id_str": rest_id,
                "lang": "de",
                **legacy,
            },
        },
    }


def test_zeeschuimer_x_and_bluesky_items(tmp_path):
    bluesky_view = body("bluesky", "search_posts_page1")["posts"][1]
    data = lines(
        zeeschuimer_tweet(),
        zeeschuimer_tweet("2006812999999999999", in_reply_to_status_id_str="2006812345678901234"),
        {"source_platform": "bsky.app", "item_id": bluesky_view["uri"], "data": bluesky_view},
        {"source_platform": "tiktok.com", "data": {}},
        zeeschuimer_tweet("2006813000000000000", created_at="yesterday"),
    )
    results = everything(ZeeschuimerNdjson(), data)
    records = [r for _, d in results for r in d.records]
    rejected = [r for _, d in results for r in d.rejected]

    tweet, reply, skeet = records
    assert (tweet.post.platform, tweet.post.platform_id, tweet.post.kind) == ("x", "2006812345678901234", "post")
    assert tweet.post.created_at.isoformat() == "2026-01-01T08:41:12+00:00"
    assert tweet.account.platform_id == "1500000000000000001" and tweet.account.handle == "max_beispiel"
    assert (reply.post.kind, reply.post.parent_platform_id) == ("reply", "2006812345678901234")
    assert (skeet.post.platform, skeet.post.kind, skeet.account.platform_id) == (
        "bluesky",
        "reply",
        "did:plc:erikaexample000000000002",
    )
    assert [(r.position, r.reason) for r in rejected] == [
        ("line 4", "source_platform 'tiktok.com' is not one assay reads (twitter.com, x.com, bsky.app)"),
        ("line 5", "'legacy.created_at' is not X's date format: 'yesterday'"),
    ]


MAPPING = {"id": "post_id", "text": "message", "created_at": "time", "author_id": "user", "kind": "type"}


def test_csv_rows_through_a_column_mapping(tmp_path):
    path = tmp_path / "posts.csv"
    path.write_text(
        "post_id,message,time,user,type\n"
        '1,"Zwei\nZeilen",2026-01-01T08:00:00Z,u1,post\n'
        "2,Antwort,2026-01-01T08:05:00+01:00,,reply\n"
        "3,bad kind,2026-01-01T08:00:00Z,u1,like\n"
        "4,no zone,2026-01-01 08:00,u1,post\n"
        "5,too,many,cells,here,x\n"
        ",no id,2026-01-01T08:00:00Z,u1,post\n",
        encoding="utf-8",
    )
    pages = collect(CsvFile(MAPPING, "facebook"), Query(str(path)))
    records = [r for p in pages for r in p.records]
    rejected = [r for p in pages for r in p.rejected]

    assert ids(pages) == ["1", "2"]
    assert records[0].post.text == "Zwei\nZeilen"
    assert records[0].account is not None and records[0].account.platform_id == "u1"
    assert records[0].raw == {
        "post_id": "1",
        "message": "Zwei\nZeilen",
        "time": "2026-01-01T08:00:00Z",
        "user": "u1",
        "type": "post",
    }
    assert records[1].account is None and records[1].post.created_at is not None
    assert records[1].post.created_at.isoformat() == "2026-01-01T07:05:00+00:00"
    assert [(r.position, r.reason) for r in rejected] == [
        ("line 5", "unknown kind 'like' (expected one of comment, post, quote, reply, repost)"),
        ("line 6", "created_at has no time zone: '2026-01-01 08:00'"),
        ("line 7", "more cells than header columns"),
        ("line 8", "'id' missing or not a non-empty string"),
    ]


def test_csv_with_a_missing_column_rejects_the_header(tmp_path):
    results = everything(CsvFile(MAPPING, "x"), b"post_id,message\n1,hi\n")
    assert [(n, d.rejected[0].reason) for n, d in results] == [
        (1, "columns missing from the header: ['time', 'type', 'user']")
    ]


def test_csv_mapping_is_checked():
    with pytest.raises(ValueError, match="needs 'id' and 'text'"):
        CsvFile({"id": "a", "likes": "b"}, "x")
