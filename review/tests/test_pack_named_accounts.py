"""A collected page goes into an evidence pack only when every account it names is the case's.

alice's first post came from a page of her own (the `collected` fixture); here that page is
replaced by one as each platform's connector stores it, with alice's account on that platform. A
page that mentions, replies to, quotes or reposts anyone else is withheld, listed with its sha256
and the reason; a page from a connector assay cannot read is withheld too. The pack still verifies.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evidence.connectors.base import canonical_sha256
from evidence.models import Account, Exchange, Post
from linkage.models import Link
from review.models import Case
from review.packs import build_pack
from review.tests.world import POSTED, World


@dataclass(frozen=True)
class Alice:
    """alice's account on a platform, and a page's connector and URL there."""

    platform: str
    platform_id: str
    handle: str
    connector: str
    url: str


X = Alice("x", "1500000000000000042", "alice_x", "x_search", "https://api.x.com/2/tweets/search/recent")
BLUESKY = Alice(
    "bluesky", "did:plc:alice0000000000000000042", "alice.bsky.social", "bluesky_search",
    "https://api.bsky.app/xrpc/app.bsky.feed.searchPosts",
)  # fmt: skip
MASTODON = Alice(
    "mastodon", "https://social.example/users/alice", "alice@social.example", "mastodon_hashtag",
    "https://social.example/api/v1/timelines/tag/examplehashtag",
)  # fmt: skip
FACEBOOK = Alice(
    "facebook", "104000000000042", "", "facebook_page", "https://graph.facebook.com/v25.0/104000000000042/posts"
)


def _x(**tweet: Any) -> dict[str, Any]:
    includes = tweet.pop("includes", {})
    post = {"id": "2006812345678900001", "text": "You are all idiots", "author_id": X.platform_id, **tweet}
    return {"data": [post], "includes": {"users": [{"id": X.platform_id, "username": "alice_x"}], **includes}}


ERIKA_X = {"start": 0, "end": 13, "username": "erika_muster", "id": "1500000000000000002"}


def _bluesky(**extra: Any) -> dict[str, Any]:
    record = {"$type": "app.bsky.feed.post", "text": "You are all idiots", "createdAt": "2026-11-01T09:30:00Z"}
    view = {
        "uri": f"at://{BLUESKY.platform_id}/app.bsky.feed.post/3lfalice1",
        "author": {"did": BLUESKY.platform_id, "handle": BLUESKY.handle, "labels": []},
        "record": {**record, **extra.pop("record", {})},
        "labels": [],
        **extra,
    }
    return {"posts": [view], "hitsTotal": 1}


MAX_DID = "did:plc:maxexample0000000000000001"
MAX_VIEW = {"did": MAX_DID, "handle": "max.example.com", "displayName": "Max Beispiel"}


def _mastodon(**extra: Any) -> list[dict[str, Any]]:
    account = {"id": "109", "username": "alice", "acct": "alice", "uri": MASTODON.platform_id, "url": "x"}
    status = {
        "id": "115800000000000001",
        "uri": "https://social.example/users/alice/statuses/115800000000000001",
        "visibility": "public",
        "content": "<p>You are all idiots</p>",
        "account": account,
        "mentions": [],
        "reblog": None,
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        **extra,
    }
    return [status]


MAX_M = {"id": "110", "username": "max", "acct": "max@else.example", "uri": "https://else.example/users/max"}


def _facebook(**extra: Any) -> dict[str, Any]:
    post = {
        "id": "104000000000042_1",
        "created_time": "2026-11-01T09:30:00+0000",
        "message": "You are all idiots #examplehashtag",
        "from": {"name": "Alice Archer", "id": FACEBOOK.platform_id},
        "message_tags": [{"id": "300", "name": "#examplehashtag", "type": "hashtag", "offset": 19, "length": 15}],
        **extra,
    }
    return {"data": [post], "paging": {"cursors": {"after": "A"}}}


OWN = [
    pytest.param(X, _x(), id="x"),
    pytest.param(X, _x(entities={"mentions": [{"start": 0, "end": 8, "username": "alice_x", "id": X.platform_id}]}),
                 id="x-self-mention"),
    pytest.param(BLUESKY, _bluesky(), id="bluesky"),
    pytest.param(MASTODON, _mastodon(), id="mastodon"),
    pytest.param(MASTODON, _mastodon(in_reply_to_id="115800000000000000", in_reply_to_account_id="109"),
                 id="mastodon-reply-to-herself"),
    pytest.param(FACEBOOK, _facebook(), id="facebook"),
]  # fmt: skip

OTHERS = [
    pytest.param(X, _x(entities={"mentions": [ERIKA_X]}), id="x-mention"),
    pytest.param(X, _x(in_reply_to_user_id="1500000000000000001"), id="x-reply"),
    pytest.param(
        X,
        _x(
            referenced_tweets=[{"type": "quoted", "id": "2006812345678901234"}],
            includes={"tweets": [{"id": "2006812345678901234", "text": "Fest!", "author_id": "1500000000000000001"}]},
        ),
        id="x-quote",
    ),
    pytest.param(
        BLUESKY,
        _bluesky(record={"facets": [{"index": {"byteStart": 0, "byteEnd": 4},
                                      "features": [{"$type": "app.bsky.richtext.facet#mention", "did": MAX_DID}]}]}),
        id="bluesky-mention",
    ),
    pytest.param(
        BLUESKY,
        _bluesky(record={"reply": {"root": {"uri": f"at://{MAX_DID}/app.bsky.feed.post/1", "cid": "c"},
                                   "parent": {"uri": f"at://{MAX_DID}/app.bsky.feed.post/1", "cid": "c"}}}),
        id="bluesky-reply",
    ),
    pytest.param(
        BLUESKY,
        _bluesky(embed={"$type": "app.bsky.embed.record#view",
                        "record": {"$type": "app.bsky.embed.record#viewRecord",
                                   "uri": f"at://{MAX_DID}/app.bsky.feed.post/1", "author": MAX_VIEW,
                                   "value": {"text": "Straßenfest"}}}),
        id="bluesky-quote",
    ),
    pytest.param(
        MASTODON,
        _mastodon(mentions=[{"id": "111", "username": "erika", "acct": "erika", "url": "https://social.example/@erika"}]),
        id="mastodon-mention",
    ),
    pytest.param(MASTODON, _mastodon(in_reply_to_id="115799", in_reply_to_account_id="110"), id="mastodon-reply"),
    pytest.param(
        MASTODON,
        _mastodon(reblog={"id": "5", "uri": "https://else.example/users/max/statuses/5", "visibility": "public",
                          "content": "<p>Fest</p>", "account": MAX_M}),
        id="mastodon-reblog",
    ),
    pytest.param(
        FACEBOOK,
        _facebook(message_tags=[{"id": "7000000000000002", "name": "Erika Muster", "type": "user", "offset": 0,
                                 "length": 3}]),
        id="facebook-tag",
    ),
    pytest.param(
        FACEBOOK,
        {"data": [{"id": "104000000000042_1_9", "created_time": "2026-11-01T09:31:00+0000", "message": "Wann?",
                   "from": {"name": "Erika Muster", "id": "7000000000000002"}},
                  {"id": "104000000000042_1_10", "created_time": "2026-11-01T09:32:00+0000", "message": "Ok",
                   "from": {"name": "Alice Archer", "id": FACEBOOK.platform_id}}]},
        id="facebook-comment",
    ),
    pytest.param(
        FACEBOOK,
        {"data": [{"created_time": "2026-11-01T09:31:00+0000", "message": "Wann?"},
                  {"id": "104000000000042_1_10", "created_time": "2026-11-01T09:32:00+0000", "message": "Ok",
                   "from": {"name": "Alice Archer", "id": FACEBOOK.platform_id}}]},
        id="facebook-authorless-comment",
    ),
]  # fmt: skip


def _on_page(world: World, alice: Alice, body: Any, *, connector: str = "") -> Exchange:
    """alice's account on ``alice.platform``, and her first post collected from a page holding ``body``."""
    Account.objects.filter(pk=world.accounts["alice_x"].pk).update(
        platform=alice.platform, platform_id=alice.platform_id, handle=alice.handle
    )
    for post in Post.objects.filter(account=world.accounts["alice_x"]):  # her imported posts say so too
        raw = {**post.raw, "platform": alice.platform, "author": {"id": alice.platform_id, "handle": alice.handle}}
        Post.objects.filter(pk=post.pk).update(platform=alice.platform, raw=raw, sha256=canonical_sha256(raw))
    data = json.dumps(body).encode()
    page = Exchange.objects.create(
        run=world.run,
        seq=10,
        role=Exchange.Role.PAGE,
        method="GET",
        url=alice.url,
        status=200,
        body=data,
        retrieved_at=POSTED,
        connector=connector or alice.connector,
        connector_version="1",
        sha256=hashlib.sha256(data).hexdigest(),
    )
    Post.objects.filter(pk=world.posts[0].pk).update(exchange=page)
    return page


def _pack(case: Case, cast: dict[str, Any], into: Path) -> tuple[zipfile.ZipFile, dict[str, Any], str, bytes]:
    built = build_pack(case, actor=cast["lena"])
    into.mkdir(parents=True, exist_ok=True)
    (into / "pack.zip").write_bytes(built.data)
    archive = zipfile.ZipFile(into / "pack.zip")
    archive.extractall(into / "pack")
    manifest = json.loads(archive.read("manifest.json"))
    return archive, manifest, archive.read("index.html").decode(), built.data


def _verifies(into: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(into / "pack" / "verify.py")], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.django_db
@pytest.mark.parametrize(("alice", "body"), OWN)
def test_a_page_naming_only_the_member_goes_in(
    referred: Case, collected: World, cast: dict[str, Any], tmp_path: Path, alice: Alice, body: Any
) -> None:
    page = _on_page(collected, alice, body)

    archive, manifest, index, _ = _pack(referred, cast, tmp_path)

    assert archive.read(f"exchanges/{page.pk}") == json.dumps(body).encode()
    assert {"id": page.pk, "file": f"exchanges/{page.pk}", "sha256": page.sha256} in manifest["exchanges"]
    assert page.pk not in [w["id"] for w in manifest["withheld_exchanges"]]
    assert f'<a href="exchanges/{page.pk}">' in index
    assert "names other accounts" not in index
    assert _verifies(tmp_path).startswith("OK: ")


@pytest.mark.django_db
@pytest.mark.parametrize(("alice", "body"), OTHERS)
def test_a_page_naming_anyone_else_is_withheld(
    referred: Case, collected: World, cast: dict[str, Any], tmp_path: Path, alice: Alice, body: Any
) -> None:
    page = _on_page(collected, alice, body)

    archive, manifest, index, data = _pack(referred, cast, tmp_path)

    assert f"exchanges/{page.pk}" not in archive.namelist()
    assert all(e["id"] != page.pk for e in manifest["exchanges"])
    withheld = {w["id"]: w for w in manifest["withheld_exchanges"]}
    assert withheld[page.pk] == {"id": page.pk, "sha256": page.sha256, "reason": "names other accounts"}
    assert "withheld: the page names other accounts (mentioned, replied to, quoted or reposted)" in index
    assert page.sha256 in index
    assert all(json.dumps(body).encode() not in archive.read(name) for name in archive.namelist())
    assert _verifies(tmp_path).startswith("OK: ")
    assert _pack(referred, cast, tmp_path / "again")[3] == data  # still deterministic


@pytest.mark.django_db
def test_a_page_from_an_unknown_connector_is_withheld(
    referred: Case, collected: World, cast: dict[str, Any], tmp_path: Path
) -> None:
    page = _on_page(collected, X, _x(), connector="carrier_pigeon")

    archive, manifest, index, _ = _pack(referred, cast, tmp_path)

    assert f"exchanges/{page.pk}" not in archive.namelist()
    reason = "cannot be checked for the accounts it names"
    assert {"id": page.pk, "sha256": page.sha256, "reason": reason} in manifest["withheld_exchanges"]
    assert "withheld: the page&#x27;s format (connector carrier_pigeon) cannot be checked for the accounts" in index
    assert _verifies(tmp_path).startswith("OK: ")


@pytest.mark.django_db
def test_a_page_shared_with_other_accounts_posts_is_listed_as_such(
    referred: Case, collected: World, cast: dict[str, Any], tmp_path: Path
) -> None:
    shared = Exchange.objects.get(seq=2)

    _archive, manifest, _index, _ = _pack(referred, cast, tmp_path)

    reason = "carries posts by other accounts"
    assert {"id": shared.pk, "sha256": shared.sha256, "reason": reason} in manifest["withheld_exchanges"]


@pytest.mark.django_db
def test_a_page_naming_the_members_other_account_goes_in(
    referred: Case, collected: World, cast: dict[str, Any], tmp_path: Path
) -> None:
    # alice also runs @alice_campaign, declared to us: a post of hers mentioning it names only her.
    campaign = Account.objects.create(
        platform="x", platform_id="1500000000000000777", handle="alice_campaign", first_seen=POSTED, last_seen=POSTED
    )
    Link.objects.create(
        account=campaign, member=collected.members["alice"], method=Link.Method.DECLARED, probability=1.0,
        status=Link.Status.CONFIRMED, run=collected.links["alice"].run,
    )  # fmt: skip
    mention = {"start": 0, "end": 15, "username": "alice_campaign", "id": campaign.platform_id}
    body = _x(entities={"mentions": [mention]})
    body["includes"]["users"].append({"id": campaign.platform_id, "username": "alice_campaign"})
    page = _on_page(collected, X, body)

    archive, manifest, _, _ = _pack(referred, cast, tmp_path)

    assert f"exchanges/{page.pk}" in archive.namelist()
    # A proposal nobody confirmed is not hers yet: the same page is withheld.
    Link.objects.filter(account=campaign).update(status=Link.Status.PROPOSED, method=Link.Method.PROBABILISTIC)
    archive, manifest, _, _ = _pack(referred, cast, tmp_path / "again")
    assert f"exchanges/{page.pk}" not in archive.namelist()
    assert any(w["id"] == page.pk for w in manifest["withheld_exchanges"])
