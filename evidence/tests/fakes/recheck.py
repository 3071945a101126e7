"""Recheck routes on the Bluesky and Facebook fakes: ``app.bsky.feed.getPosts`` and Graph ``?ids=``.

Mastodon's ``GET /api/v1/statuses/:id`` is already in :class:`~evidence.tests.fakes.mastodon.MastodonFake`
(its ``deleted`` set answers 404). Here, ``deleted`` on each fake lists what the platform no longer
returns; everything else answers as the platform does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from evidence.tests.fakes.bluesky import TOKEN as BLUESKY_TOKEN
from evidence.tests.fakes.bluesky import BlueskyFake
from evidence.tests.fakes.facebook import TOKEN as FACEBOOK_TOKEN
from evidence.tests.fakes.facebook import VERSION, FacebookFake
from evidence.tests.fakes.server import FakeClock, Reply, fixture_reply
from evidence.tests.fakes.x_compliance import MethodAware

GET_POSTS = "/xrpc/app.bsky.feed.getPosts"


class BlueskyRecheckFake(MethodAware, BlueskyFake):
    """``getPosts?uris=…&uris=…`` (at most 25): the posts still there; deleted ones are left out."""

    def __init__(self, n: int = 30, clock: FakeClock | None = None) -> None:
        super().__init__(n=n, clock=clock)
        self.deleted: set[str] = set()
        self.elsewhere: list[Any] = []  # posts getPosts returns that search does not match

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        if path != GET_POSTS:
            return super().route(path, params, headers)
        if headers.get("authorization", f"Bearer {BLUESKY_TOKEN}") != f"Bearer {BLUESKY_TOKEN}":
            return fixture_reply("bluesky", "error_400_expired_token")  # public without a session; a bad one fails
        uris = [v for k, v in parse_qsl(headers.get(":query", "")) if k == "uris"]
        if not uris or len(uris) > 25:
            return Reply.json(400, {"error": "InvalidRequest", "message": "uris must have 1 to 25 items"})
        by_uri = {p["uri"]: p for p in [*self.corpus, *self.elsewhere] if isinstance(p, dict) and "uri" in p}
        posts = [by_uri[u] for u in uris if u in by_uri and u not in self.deleted]
        return Reply.json(200, {"posts": posts}, self._limits(remaining=2900))


class FacebookRecheckFake(FacebookFake):
    """``GET /v25.0/?ids=a,b&fields=id,message`` and ``GET /v25.0/:id``. One id that no longer exists
    fails a multi-id request with error 100 (naming it); alone, such an object answers 100/33."""

    def __init__(self, n: int = 9, clock: FakeClock | None = None) -> None:
        super().__init__(n=n, clock=clock)

    def _objects(self) -> dict[str, dict[str, Any]]:
        found = {p["id"]: p for p in self.posts if isinstance(p, dict)}
        found.update({c["id"]: c for comments in self.comments.values() for c in comments if "id" in c})
        return {k: v for k, v in found.items() if k not in self.deleted}

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        rest = path.removeprefix(VERSION)
        if "/" in rest or (rest and rest not in self._all_ids()):
            return super().route(path, params, headers)
        if headers.get("authorization") != f"Bearer {FACEBOOK_TOKEN}":
            return fixture_reply("facebook", "error_token_expired_code190")
        objects = self._objects()
        if rest:  # one object
            if rest not in objects:
                return fixture_reply("facebook", "error_object_gone_code100")
            return Reply.json(200, _fields(objects[rest]))
        asked = [i for i in params.get("ids", "").split(",") if i]
        if not asked or len(asked) > 50:
            return Reply.json(400, {"error": {"message": "(#100) ids: 1 to 50", "type": "OAuthException", "code": 100}})
        missing = [i for i in asked if i not in objects]
        if missing:
            message = f"(#100) Some of the aliases you requested do not exist: {','.join(missing)}"
            return Reply.json(400, {"error": {"message": message, "type": "OAuthException", "code": 100,
                                              "fbtrace_id": "AExampleTraceId456"}})  # fmt: skip
        return Reply.json(200, {i: _fields(objects[i]) for i in asked})

    def _all_ids(self) -> set[str]:
        ids = {p["id"] for p in self.posts if isinstance(p, dict)}
        return ids | {c["id"] for comments in self.comments.values() for c in comments if "id" in c}


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    return {"id": item["id"], "message": item.get("message", "")}
