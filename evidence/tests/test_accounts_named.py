"""Which accounts a collected body names, per format, on the platforms' documented payloads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from evidence import registry
from evidence.connectors.base import Named
from evidence.connectors.named import NAMERS, accounts_named, strangers
from evidence.tests.fakes.server import DATA, fixture

MAX_X, ERIKA_X, NEWS_X = "1500000000000000001", "1500000000000000002", "1500000000000000003"
MAX_DID, ERIKA_DID = "did:plc:maxexample0000000000000001", "did:plc:erikaexample000000000002"
TIMELINE = "https://instance.example/api/v1/timelines/tag/examplehashtag"


def body(platform: str, name: str) -> Any:
    return fixture(platform, name)["response"]["body"]


def encoded(*documents: Any) -> bytes:
    return b"\n".join(json.dumps(d).encode() for d in documents)


@dataclass(frozen=True)
class Known:
    platform: str
    platform_id: str = ""
    handle: str = ""


# ---------------------------------------------------------------------------------------------
# X


def test_x_search_page_names_authors_mentions_and_replied_to_users() -> None:
    names = accounts_named("x_search", encoded(body("x", "search_recent_page1")))

    assert names is not None
    assert Named("x", MAX_X, "max_beispiel") in names  # includes.users and a mention
    assert Named("x", ERIKA_X, "erika_muster") in names  # mentioned by max, a user in includes
    assert Named("x", NEWS_X) in names  # author_id of the quote
    assert {n.platform_id for n in names} == frozenset({MAX_X, ERIKA_X, NEWS_X})


def test_x_a_post_and_its_own_author_name_only_that_author() -> None:
    page = {
        "data": [{"id": "1", "text": "hello", "author_id": "42", "referenced_tweets": [{"type": "quoted", "id": "9"}]}],
        "includes": {"users": [{"id": "42", "username": "jsmith"}]},
    }
    assert accounts_named("x_search", encoded(page)) == frozenset({Named("x", "42"), Named("x", "42", "jsmith")})


def test_x_referenced_posts_and_replies_name_their_authors() -> None:
    page = {
        "data": [{"id": "1", "text": "@bo yes", "author_id": "42", "in_reply_to_user_id": "7"}],
        "includes": {"tweets": [{"id": "9", "text": "theirs", "author_id": "8"}]},
    }
    names = accounts_named("x_search", encoded(page))
    assert names is not None and {n.platform_id for n in names} == frozenset({"42", "7", "8"})


def test_x_errors_about_users_name_them_by_id_or_username() -> None:
    errors = {
        "errors": [
            {"resource_type": "user", "parameter": "id", "resource_id": "77", "type": "x"},
            {"resource_type": "user", "parameter": "username", "value": "gone_user", "type": "x"},
            {"resource_type": "tweet", "parameter": "ids", "resource_id": "2006800000000000000"},
        ]
    }
    assert accounts_named("x_lookup", encoded(errors)) == frozenset({Named("x", "77"), Named("x", handle="gone_user")})
    assert accounts_named("x_lookup", encoded(body("x", "lookup_partial_errors_200"))) == frozenset({Named("x", MAX_X)})


def test_x_stream_batches_and_compliance_results_are_read_line_by_line() -> None:
    line = {"data": {"id": "1", "text": "t", "author_id": "42"}, "matching_rules": [{"id": "5", "tag": "abuse"}]}
    assert accounts_named("x_stream", encoded(line, line) + b"\n\n") == frozenset({Named("x", "42")})
    compliance = (DATA / "x/compliance_job_results.jsonl").read_bytes()  # post ids only
    assert accounts_named("x_compliance", compliance) == frozenset()


# ---------------------------------------------------------------------------------------------
# Bluesky


def test_bluesky_search_page_names_authors_quoted_authors_replied_to_and_mentioned() -> None:
    names = accounts_named("bluesky_search", encoded(body("bluesky", "search_posts_page1")))

    assert names is not None
    assert Named("bluesky", MAX_DID, "max.example.com") in names  # a quoted post's author
    assert Named("bluesky", ERIKA_DID) in names  # a mention facet; erika's reply's author
    assert Named("bluesky", "did:web:news.example.org", "news.example.org") in names
    assert {n.platform_id for n in names} == frozenset({MAX_DID, ERIKA_DID, "did:web:news.example.org"})


def test_bluesky_a_post_alone_names_its_author_only() -> None:
    view = {
        "uri": "at://did:plc:alice/app.bsky.feed.post/3k",
        "author": {"did": "did:plc:alice", "handle": "alice.bsky.social", "labels": []},
        "record": {"text": "mine", "createdAt": "2026-01-01T00:00:00Z"},
    }
    names = accounts_named("bluesky_search", encoded({"posts": [view]}))
    assert names == frozenset(
        {Named("bluesky", "did:plc:alice", "alice.bsky.social"), Named("bluesky", "did:plc:alice")}
    )


def test_bluesky_labels_and_what_the_viewer_did_name_nobody_else() -> None:
    # A labelling service's label and the collecting account's own like and follow are not third parties.
    view = {
        "uri": "at://did:plc:alice/app.bsky.feed.post/3k",
        "author": {
            "did": "did:plc:alice",
            "labels": [{"src": "did:plc:labeller", "uri": "did:plc:alice", "val": "rude", "cts": "2026"}],
            "viewer": {"following": "at://did:plc:collector/app.bsky.graph.follow/1"},
        },
        "record": {"text": "mine", "createdAt": "2026-01-01T00:00:00Z"},
        "labels": [{"src": "did:plc:labeller", "uri": "at://did:plc:alice/app.bsky.feed.post/3k", "val": "x"}],
        "viewer": {"like": "at://did:plc:collector/app.bsky.feed.like/2"},
    }
    names = accounts_named("bluesky_search", encoded({"posts": [view]}))
    assert names is not None and {n.platform_id for n in names} == {"did:plc:alice"}


def test_bluesky_reply_refs_and_handle_authorities_name_their_accounts() -> None:
    record = {
        "text": "no",
        "reply": {
            "root": {"uri": "at://bob.example.com/app.bsky.feed.post/1", "cid": "c"},
            "parent": {"uri": "at://did:plc:carol/app.bsky.feed.post/2", "cid": "c"},
        },
    }
    view = {"uri": "at://did:plc:alice/app.bsky.feed.post/3", "author": {"did": "did:plc:alice"}, "record": record}
    names = accounts_named("bluesky_recheck", encoded({"posts": [view]}))
    assert names is not None
    assert Named("bluesky", handle="bob.example.com") in names and Named("bluesky", "did:plc:carol") in names


def test_jetstream_frames_name_committers_and_identities() -> None:
    frames = (DATA / "bluesky/jetstream_v1_events.jsonl").read_bytes()
    names = accounts_named("bluesky_jetstream", frames)
    assert names is not None and names
    dids = {json.loads(line)["did"] for line in frames.splitlines() if line.strip()}
    assert dids <= {n.platform_id for n in names}


# ---------------------------------------------------------------------------------------------
# Mastodon


def test_mastodon_timeline_names_accounts_mentions_and_replied_to() -> None:
    names = accounts_named("mastodon_hashtag", encoded(body("mastodon", "timeline_tag_page1")), TIMELINE)

    assert names is not None
    max_ = Named("mastodon", "https://social.example/users/max", "max@social.example")
    assert max_ in names
    assert Named("mastodon", handle="erika@instance.example") in names  # a mention: acct qualified
    assert Named("mastodon", "https://instance.example/users/erika", "erika@instance.example") in names


def _status(account_id: str = "9", **extra: Any) -> dict[str, Any]:
    account = {"id": account_id, "username": "alice", "acct": "alice", "uri": "https://social.example/users/alice"}
    return {"id": "100", "uri": "https://social.example/users/alice/statuses/100", "account": account, **extra}


ALICE_M = Named("mastodon", "https://social.example/users/alice", "alice@social.example")


def test_mastodon_own_status_and_a_reply_to_oneself_name_only_oneself() -> None:
    url = "https://social.example/api/v1/statuses/100"
    assert accounts_named("mastodon_recheck", encoded(_status()), url) == frozenset({ALICE_M})
    assert accounts_named("mastodon_recheck", encoded(_status(in_reply_to_account_id="9")), url) == frozenset({ALICE_M})


def test_mastodon_reblogs_mentions_and_replies_to_others_name_them() -> None:
    url = "https://social.example/api/v1/timelines/tag/x"
    other = {"id": "8", "username": "max", "acct": "max@else.example", "uri": "https://else.example/users/max"}
    reblog = _status(reblog={"id": "5", "uri": "https://else.example/s/5", "account": other})
    mention = _status(mentions=[{"id": "7", "username": "erika", "acct": "erika", "url": "https://x/@erika"}])
    reply = _status(in_reply_to_account_id="7")

    assert accounts_named("mastodon_hashtag", encoded([reblog]), url) == frozenset(
        {
            ALICE_M,
            Named("mastodon", "https://else.example/users/max", "max@else.example"),
        }
    )
    assert accounts_named("mastodon_search", encoded({"statuses": [mention]}), url) == frozenset(
        {
            ALICE_M,
            Named("mastodon", handle="erika@social.example"),
        }
    )
    assert accounts_named("mastodon_hashtag", encoded([reply]), url) == frozenset(
        {
            ALICE_M,
            Named("mastodon", "https://social.example/api/v1/accounts/7"),
        }
    )


# ---------------------------------------------------------------------------------------------
# Facebook


def test_facebook_pages_name_authors_tags_and_authorless_comments() -> None:
    posts = accounts_named("facebook_page", encoded(body("facebook", "page_posts_page1")))
    comments = accounts_named("facebook_page", encoded(body("facebook", "post_comments_as_page_admin")))
    ppca = accounts_named("facebook_page", encoded(body("facebook", "post_comments_via_ppca")))

    assert posts == frozenset({Named("facebook", "104000000000001")})  # the page itself; a hashtag is no account
    assert comments == frozenset(
        {Named("facebook", "7000000000000002"), Named("facebook")}
    )  # one comment has no 'from'
    assert ppca == frozenset({Named("facebook")})


def test_facebook_message_tags_of_people_name_them() -> None:
    post = {
        "id": "1_2",
        "message": "with Erika",
        "created_time": "2026-01-01T08:41:12+0000",
        "from": {"id": "1", "name": "Page"},
        "message_tags": [{"id": "55", "name": "Erika", "type": "user", "offset": 5, "length": 5}],
        "to": {"data": [{"id": "66", "name": "Max"}]},
    }
    assert accounts_named("facebook_page", encoded({"data": [post]})) == frozenset(
        {
            Named("facebook", "1"),
            Named("facebook", "55"),
            Named("facebook", "66"),
        }
    )


# ---------------------------------------------------------------------------------------------
# files


def test_twarc_and_ndjson_files() -> None:
    twarc = encoded(body("x", "search_recent_page1"), {"id": "5", "text": "t", "author_id": "42", "author": {}})
    names = accounts_named("twarc_ndjson", twarc)
    assert names is not None and {n.platform_id for n in names} == frozenset({MAX_X, ERIKA_X, NEWS_X, "42"})

    ndjson = encoded(
        {"platform": "x", "id": "1", "text": "a", "author": {"id": "42", "handle": "@jsmith"}},
        {"platform": "mastodon", "id": "2", "text": "b"},
    )
    assert accounts_named("ndjson", ndjson) == frozenset({Named("x", "42", "jsmith"), Named("mastodon")})


def test_zeeschuimer_x_and_bluesky_items() -> None:
    user = {"__typename": "User", "rest_id": "42", "core": {"screen_name": "jsmith"}}
    tweet = {
        "rest_id": "1",
        "core": {"user_results": {"result": user}},
        "legacy": {
            "full_text": "@max hi",
            "user_id_str": "42",
            "in_reply_to_user_id_str": "7",
            "in_reply_to_screen_name": "max",
            "entities": {"user_mentions": [{"id_str": "7", "screen_name": "max"}]},
        },
    }
    view = body("bluesky", "search_posts_page1")["posts"][1]  # erika's reply to max
    file = encoded({"source_platform": "x.com", "data": tweet}, {"source_platform": "bsky.app", "data": view})
    names = accounts_named("zeeschuimer_ndjson", file)

    assert names is not None
    assert {Named("x", "42", "jsmith"), Named("x", "7", "max"), Named("x", handle="max")} <= names
    assert {Named("bluesky", ERIKA_DID, "erika.bsky.social"), Named("bluesky", MAX_DID)} <= names
    assert accounts_named("zeeschuimer_ndjson", encoded({"source_platform": "tiktok.com", "data": {}})) is None


# ---------------------------------------------------------------------------------------------
# the dispatcher and the comparison


def test_an_unknown_connector_or_an_unreadable_body_cannot_be_told() -> None:
    own = encoded({"data": [{"id": "1", "text": "t", "author_id": "42"}]})
    assert accounts_named("carrier_pigeon", own) is None
    assert accounts_named("csv", b"id,text,author_id\n1,hi,42\n") is None  # the mapping is not in the file
    assert accounts_named("x_search", b"<html>Bad gateway</html>") is None
    assert accounts_named("bluesky_jetstream", b'{"did": "did:plc:a"}\n{"did": ') is None
    assert accounts_named("x_search", b"") == frozenset()


@pytest.mark.parametrize("name", sorted({*registry.SPECS, *registry.RECHECK_SPECS, *registry.CONTEXT_SPECS} - {"csv"}))
def test_every_connector_that_stores_pages_has_a_reader(name: str) -> None:
    assert name in NAMERS


def test_strangers_match_by_id_else_by_handle() -> None:
    alice = [Known("x", "42", "JSmith"), Known("mastodon", "https://s.example/users/a", "a@s.example")]
    names = [
        Named("x", "42", "renamed"),  # the id is hers: the handle may have changed
        Named("x", handle="@jsmith"),  # her handle, any case
        Named("mastodon", handle="A@S.example"),
        Named("x", "43", "jsmith"),  # someone else who took her old handle
        Named("mastodon", "42"),  # her X id, on another platform
        Named("facebook"),  # someone unnamed
    ]
    assert strangers(names, alice) == frozenset(
        {Named("x", "43", "jsmith"), Named("mastodon", "42"), Named("facebook")}
    )
