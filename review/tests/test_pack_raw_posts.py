"""A post's raw item goes into an evidence pack only when every account it names is the case's.

alice's first post is stored here as each platform's connector stores it (``Post.raw``), with
alice's account on that platform. A raw item that mentions, replies to, quotes or reblogs anyone
else is withheld from ``posts/``: listed with its sha256 and the reason in manifest.json and
index.html, while the post's own text, URL, time and sha256 stay in index.html. The pack verifies
and is the same on a rebuild.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evidence.connectors.base import canonical_sha256
from evidence.models import CollectionRun, Post
from review.models import Case
from review.tests.test_pack_named_accounts import (
    BLUESKY,
    ERIKA_X,
    FACEBOOK,
    MASTODON,
    MAX_DID,
    MAX_M,
    MAX_VIEW,
    Alice,
    X,
    _bluesky,
    _facebook,
    _mastodon,
    _on_page,
    _pack,
    _verifies,
)
from review.tests.world import POSTED, World


def _tweet(**extra: Any) -> dict[str, Any]:
    author = {"id": X.platform_id, "username": X.handle}
    return {
        "id": "2006812345678900001",
        "text": "You are all idiots",
        "author_id": X.platform_id,
        "author": author,
        **extra,
    }


OWN = [
    pytest.param(X, _tweet(), id="x"),
    pytest.param(BLUESKY, _bluesky()["posts"][0], id="bluesky"),
    pytest.param(MASTODON, _mastodon()[0], id="mastodon"),
    pytest.param(FACEBOOK, _facebook()["data"][0], id="facebook"),
]

OTHERS = [
    pytest.param(X, _tweet(entities={"mentions": [ERIKA_X]}), "erika_muster", id="x-mention"),
    pytest.param(X, _tweet(in_reply_to_user_id="1500000000000000001"), "1500000000000000001", id="x-reply"),
    pytest.param(
        X, _tweet(referenced_tweets=[{"type": "quoted", "id": "2006812345678901234"}]), "2006812345678901234",
        id="x-quote",
    ),
    pytest.param(
        BLUESKY,
        _bluesky(embed={"$type": "app.bsky.embed.record#view",
                        "record": {"$type": "app.bsky.embed.record#viewRecord",
                                   "uri": f"at://{MAX_DID}/app.bsky.feed.post/1", "author": MAX_VIEW,
                                   "value": {"text": "Straßenfest"}}})["posts"][0],
        "Straßenfest",
        id="bluesky-quote",
    ),
    pytest.param(
        BLUESKY,
        _bluesky(record={"reply": {"root": {"uri": f"at://{MAX_DID}/app.bsky.feed.post/1", "cid": "c"},
                                   "parent": {"uri": f"at://{MAX_DID}/app.bsky.feed.post/1", "cid": "c"}}})["posts"][0],
        MAX_DID,
        id="bluesky-reply",
    ),
    pytest.param(
        MASTODON,
        _mastodon(reblog={"id": "5", "uri": "https://else.example/users/max/statuses/5", "visibility": "public",
                          "content": "<p>Straßenfest</p>", "account": MAX_M})[0],
        "Straßenfest",
        id="mastodon-reblog",
    ),
    pytest.param(
        MASTODON,
        _mastodon(mentions=[{"id": "111", "username": "erika", "acct": "erika", "url": "https://social.example/@erika"}])[0],
        "https://social.example/@erika",
        id="mastodon-mention",
    ),
    pytest.param(
        FACEBOOK,
        _facebook(message_tags=[{"id": "7000000000000002", "name": "Erika Muster", "type": "user", "offset": 0,
                                 "length": 3}])["data"][0],
        "Erika Muster",
        id="facebook-tag",
    ),
]  # fmt: skip


def _stored(world: World, alice: Alice, raw: Any, *, connector: str = "") -> Post:
    """alice's first post, collected by ``alice.connector`` from one of its pages, stored with ``raw``."""
    _on_page(world, alice, {"data": []})
    run = CollectionRun.objects.create(
        source=world.run.source, connector=connector or alice.connector, connector_version="1", started_at=POSTED
    )
    post = world.posts[0]
    Post.objects.filter(pk=post.pk).update(platform=alice.platform, run=run, raw=raw, sha256=canonical_sha256(raw))
    return Post.objects.get(pk=post.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(("alice", "raw"), OWN)
def test_a_raw_post_naming_only_the_member_goes_in(
    referred: Case, collected: World, cast: dict[str, Any], tmp_path: Path, alice: Alice, raw: Any
) -> None:
    post = _stored(collected, alice, raw)

    archive, manifest, index, _ = _pack(referred, cast, tmp_path)

    assert json.loads(archive.read(f"posts/{post.pk}.json")) == raw
    assert {"id": post.pk, "file": f"posts/{post.pk}.json", "sha256": post.sha256} in manifest["posts"]
    assert manifest["withheld_posts"] == []
    assert f'<a href="posts/{post.pk}.json">' in index
    assert _verifies(tmp_path).startswith("OK: ")


@pytest.mark.django_db
@pytest.mark.parametrize(("alice", "raw", "theirs"), OTHERS)
def test_a_raw_post_naming_anyone_else_is_withheld_and_its_own_text_shown(
    referred: Case, collected: World, cast: dict[str, Any], tmp_path: Path, alice: Alice, raw: Any, theirs: str
) -> None:
    post = _stored(collected, alice, raw)

    archive, manifest, index, data = _pack(referred, cast, tmp_path)

    assert f"posts/{post.pk}.json" not in archive.namelist()
    assert all(p["id"] != post.pk for p in manifest["posts"])
    assert {"id": post.pk, "sha256": post.sha256, "reason": "names other accounts"} in manifest["withheld_posts"]
    assert "withheld: the raw record names other accounts (mentioned, replied to, quoted or reposted)" in index
    assert "You are all <mark>idiots</mark>" in index  # the post's own words are the evidence
    assert post.url in index and post.sha256 in index and "1 November 2026 09:30" in index
    assert all(theirs.encode() not in archive.read(name) for name in archive.namelist())
    assert _verifies(tmp_path).startswith("OK: ")
    assert _pack(referred, cast, tmp_path / "again")[3] == data  # still deterministic


@pytest.mark.django_db
def test_a_raw_post_of_a_shape_or_connector_that_cannot_be_read_is_withheld(
    referred: Case, collected: World, cast: dict[str, Any], tmp_path: Path
) -> None:
    row = {"id": "1", "text": "You are all idiots", "author_id": X.platform_id, "reply_to": "@erika_muster"}
    post = _stored(collected, X, row, connector="csv")  # which columns name accounts is the import's mapping

    archive, manifest, index, _ = _pack(referred, cast, tmp_path)

    assert f"posts/{post.pk}.json" not in archive.namelist()
    reason = "cannot be checked for the accounts it names"
    assert {"id": post.pk, "sha256": post.sha256, "reason": reason} in manifest["withheld_posts"]
    assert "withheld: the raw record&#x27;s format (connector csv) cannot be checked" in index
    assert "erika_muster" not in index
    assert _verifies(tmp_path).startswith("OK: ")
