"""Which accounts one stored post's raw item names, per format: the items each connector derives
from the platforms' documented payloads, compared with the post's own account."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evidence import registry
from evidence.connectors.base import AccountRecord, Named, Record
from evidence.connectors.bluesky import derive_search
from evidence.connectors.facebook import derive_comments, derive_posts
from evidence.connectors.jetstream import derive_batch
from evidence.connectors.mastodon import derive_statuses
from evidence.connectors.named import ITEM_NAMERS, accounts_in_item, strangers
from evidence.connectors.x import derive_response
from evidence.tests.fakes.server import DATA, fixture

MAX_X, ERIKA_X = "1500000000000000001", "1500000000000000002"
MAX_DID, ERIKA_DID = "did:plc:maxexample0000000000000001", "did:plc:erikaexample000000000002"
TIMELINE = "https://instance.example/api/v1/timelines/tag/examplehashtag"


def body(platform: str, name: str) -> Any:
    return fixture(platform, name)["response"]["body"]


def named(connector: str, raw: Any, url: str = "") -> set[Named] | None:
    """:func:`accounts_in_item` as a set (None: cannot tell)."""
    names = accounts_in_item(connector, raw, url)
    return None if names is None else set(names)


def others(connector: str, record: Record, url: str = "") -> set[Named] | None:
    """The accounts the record's raw item names that are not the record's own account."""
    names = accounts_in_item(connector, record.raw, url)
    own = [record.account] if isinstance(record.account, AccountRecord) else []
    return None if names is None else set(strangers(names, own))


def by_id(records: tuple[Record, ...]) -> dict[str, Record]:
    return {r.post.platform_id: r for r in records}


def test_x_posts_name_their_mentions_replied_to_and_referenced_authors() -> None:
    records = by_id(derive_response(body("x", "search_recent_page1"), "page 1").records)

    max_post, erika_reply = records["2006812345678901234"], records["2006812999999999999"]
    assert others("x_search", max_post) == {Named("x", ERIKA_X, "erika_muster")}  # a mention
    assert {n.platform_id for n in others("x_search", erika_reply) or ()} == {MAX_X}  # replied to, mentioned
    own: dict[str, Any] = {"id": "5", "text": "mine", "author_id": "42", "author": {"id": "42", "username": "jsmith"}}
    assert named("x_stream", {**own, "matching_rules": [{"id": "1", "tag": "a"}]}) == {
        Named("x", "42"),
        Named("x", "42", "jsmith"),
    }
    quote = {**own, "referenced_tweets": [{"type": "quoted", "id": "9"}]}
    assert Named("x") in (named("x_search", quote) or ())  # the quoted post's author, unnamed
    self_reply = {**own, "in_reply_to_user_id": "42", "referenced_tweets": [{"type": "replied_to", "id": "4"}]}
    assert named("x_search", self_reply) == {Named("x", "42"), Named("x", "42", "jsmith")}


def test_bluesky_post_views_and_jetstream_frames_name_quoted_mentioned_and_replied_to() -> None:
    records = by_id(derive_search(body("bluesky", "search_posts_page1"), "page 1").records)

    news_quote = records["at://did:web:news.example.org/app.bsky.feed.post/3lfexamplepost3"]
    # the quoted post's author, and erika whom the quoted post mentions
    assert {n.platform_id for n in others("bluesky_search", news_quote) or ()} == {MAX_DID, ERIKA_DID}
    erika_reply = records[f"at://{ERIKA_DID}/app.bsky.feed.post/3lfexamplepost2"]
    assert MAX_DID in {n.platform_id for n in others("bluesky_search", erika_reply) or ()}

    frames = (DATA / "bluesky" / "jetstream_v1_events.jsonl").read_text()
    streamed = by_id(derive_batch(frames, "batch").records)
    max_post = streamed[f"at://{MAX_DID}/app.bsky.feed.post/3lfexamplepost1"]
    assert ERIKA_DID in {n.platform_id for n in others("bluesky_jetstream", max_post) or ()}  # a mention facet
    plain = {"did": MAX_DID, "kind": "commit", "commit": {"record": {"text": "mine"}, "rkey": "3k"}}
    assert named("bluesky_jetstream", plain) == {Named("bluesky", MAX_DID)}


def test_mastodon_statuses_name_mentions_and_replied_to_accounts() -> None:
    page = body("mastodon", "timeline_tag_page1")
    max_status = derive_statuses(page, "page 1", "https://instance.example").records[0]
    assert others("mastodon_hashtag", max_status, TIMELINE) == {Named("mastodon", handle="erika@instance.example")}

    erika_reply = derive_statuses(page, "page 1", "https://instance.example").skipped[0]  # noindex: never stored
    assert erika_reply.platform_id.endswith("/115800000000000100")
    raw = next(s for s in page if s["uri"] == erika_reply.platform_id)
    names = named("mastodon_hashtag", raw, TIMELINE) or set()
    assert Named("mastodon", handle="max@social.example") in names  # mentioned, and replied to


def _status(**extra: Any) -> dict[str, Any]:
    account = {
        "id": "9",
        "username": "a",
        "acct": "a",
        "uri": "https://s.example/users/a",
        "url": "https://s.example/@a",
    }
    return {"id": "1", "uri": "https://s.example/users/a/statuses/1", "account": account, "mentions": [], **extra}


def test_a_mastodon_status_alone_reblogging_or_replying_to_itself() -> None:
    alice = Named("mastodon", "https://s.example/users/a", "a@s.example")
    # no page URL (a purged or missing exchange): a local handle takes the host of the account's own URL
    assert named("mastodon_search", _status()) == {alice}
    assert named("mastodon_search", _status(in_reply_to_account_id="9")) == {alice}
    reblog: dict[str, Any] = {"id": "5", "uri": "https://e.example/users/m/statuses/5", "content": "<p>Fest</p>"}
    reblog["account"] = {"id": "11", "username": "m", "acct": "m@e.example", "uri": "https://e.example/users/m"}
    assert named("mastodon_search", _status(reblog=reblog)) == {
        alice,
        Named("mastodon", "https://e.example/users/m", "m@e.example"),
    }
    unnamed = named("mastodon_search", _status(in_reply_to_account_id="77"))
    assert unnamed == {alice, Named("mastodon")}  # replied to someone the item does not show


def test_facebook_posts_and_comments() -> None:
    posts = derive_posts(body("facebook", "page_posts_page1"), "page 1").records
    assert posts and all(others("facebook_page", r) is not None for r in posts)
    authorless = derive_comments(body("facebook", "post_comments_via_ppca"), "page 2", "1_2").records
    assert [others("facebook_page", r) for r in authorless] == [{Named("facebook")}] * len(authorless)
    tagged: dict[str, Any] = {
        "id": "1_3",
        "created_time": "2026-01-01T09:00:00+0000",
        "message": "hi",
        "from": {"id": "104"},
    }
    tagged["message_tags"] = [{"id": "700", "type": "user", "offset": 0, "length": 2}]
    assert named("facebook_page", tagged) == {Named("facebook", "104"), Named("facebook", "700")}


def test_file_items() -> None:
    own: dict[str, Any] = {"platform": "x", "id": "1", "text": "a", "author": {"id": "42", "handle": "@jsmith"}}
    assert named("ndjson", own) == {Named("x", "42", "jsmith")}
    assert named("ndjson", {**own, "kind": "quote", "parent_id": "9"}) == {
        Named("x", "42", "jsmith"),
        Named("x"),  # the quoted post's author, whom the format does not name
    }
    assert named("ndjson", {**own, "quoted": {"author": "erika"}}) is None  # not the format's field

    tweet = {"id": "5", "text": "t", "author_id": "42", "author": {"id": "42", "username": "jsmith"}}
    assert named("twarc_ndjson", tweet) == {Named("x", "42"), Named("x", "42", "jsmith")}
    user = {"__typename": "User", "rest_id": "42", "core": {"screen_name": "jsmith"}}
    legacy: dict[str, Any] = {"full_text": "x", "user_id_str": "42"}
    web: dict[str, Any] = {"rest_id": "1", "core": {"user_results": {"result": user}}, "legacy": legacy}
    jsmith = [AccountRecord("x", "42", "jsmith")]
    assert strangers(named("zeeschuimer_ndjson", web) or {Named("x")}, jsmith) == set()
    quoting = {**web, "legacy": {**web["legacy"], "quoted_status_id_str": "8"}}
    assert Named("x") in (named("zeeschuimer_ndjson", quoting) or ())
    view = body("bluesky", "search_posts_page1")["posts"][0]
    assert MAX_DID in {n.platform_id for n in named("zeeschuimer_ndjson", view) or ()}


def test_an_unknown_connector_or_shape_cannot_be_told() -> None:
    tweet = {"id": "5", "text": "t", "author_id": "42"}
    assert named("carrier_pigeon", tweet) is None
    assert named("csv", {"id": "1", "text": "hi", "mentions": "@erika"}) is None  # columns unexplained
    assert named("x_search", {"id": "1", "text": "no author"}) is None
    assert named("mastodon_hashtag", json.dumps(_status())) is None  # a string, not an object
    assert named("bluesky_search", {"text": "no uri"}) is None
    assert named("facebook_page", ["not", "an", "item"]) is None
    assert named("zeeschuimer_ndjson", {"video": "tiktok"}) is None


@pytest.mark.parametrize("name", sorted({*registry.SPECS, *registry.RECHECK_SPECS, *registry.CONTEXT_SPECS} - {"csv"}))
def test_every_connector_that_stores_posts_has_an_item_reader(name: str) -> None:
    assert name in ITEM_NAMERS
