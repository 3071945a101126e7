"""A fake Bluesky AppView: searchPosts with offset cursors, a result window, and time filters."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from evidence.tests.fakes.server import FakeClock, FakeServer, Reply, fixture, fixture_reply

TOKEN = "test-access-jwt"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
_START = datetime(2026, 1, 1, 8, 59, tzinfo=UTC)


class BlueskyFake(FakeServer):
    """``n`` posts, newest first: the three documented ones, then generated ones (two per second,
    so slice boundaries fall between posts of the same instant). ``window`` is how many hits one
    query can page through (about 10,000 on the real AppView)."""

    platform = "bluesky"

    def __init__(self, n: int = 30, window: int = 10_000, clock: FakeClock | None = None) -> None:
        super().__init__(clock)
        self.window = window
        documented = fixture("bluesky", "search_posts_page1")["response"]["body"]["posts"]
        self.corpus: list[Any] = list(documented)
        template = documented[2]
        for i in range(n - len(self.corpus)):
            post = copy.deepcopy(template)
            moment = _START - timedelta(minutes=20, seconds=i // 2)
            stamp = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            post["uri"] = post["uri"].rsplit("/", 1)[0] + f"/3lfgen{i:05d}"
            post["record"]["createdAt"] = post["indexedAt"] = stamp
            post["record"]["text"] = f"Beitrag {i} 🎉 #examplehashtag"
            post["record"]["facets"] = [_tag_facet(post["record"]["text"], "examplehashtag")]
            self.corpus.append(post)

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        auth = headers.get("authorization", "")
        if not auth:
            return fixture_reply("bluesky", "error_403_public_appview_search")
        if auth != f"Bearer {TOKEN}":
            return fixture_reply("bluesky", "error_400_expired_token")
        if path != SEARCH:
            return Reply.json(404, {"error": "MethodNotImplemented", "message": "Method Not Implemented"})
        if not params.get("q"):
            return fixture_reply("bluesky", "error_400_bad_query")
        hits = [p for p in self.corpus if _within(p, params.get("since"), params.get("until"))]
        offset, limit = int(params.get("cursor") or 0), int(params.get("limit", "25"))
        end = min(offset + limit, len(hits), self.window)
        body: dict[str, Any] = {"hitsTotal": len(hits), "posts": hits[offset:end] if offset < self.window else []}
        if end < min(len(hits), self.window):
            body["cursor"] = str(end)
        return Reply.json(200, body, self._limits(remaining=2900))

    def _limits(self, remaining: int, reset: float | None = None) -> dict[str, str]:
        reset = self.clock.time() + 300 if reset is None else reset
        return {
            "ratelimit-limit": "3000",
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(int(reset)),
            "ratelimit-policy": "3000;w=300",
        }

    def rate_limit_reply(self, reset: float) -> Reply:
        reply = fixture_reply("bluesky", "error_429_rate_limited", **self._limits(0, reset))
        reply.headers.pop("retry-after")  # the documented 187 s belongs to another moment
        return reply

    @staticmethod
    def upstream_failure() -> Reply:
        return fixture_reply("bluesky", "error_502_upstream_failure")


def sort_at(post: dict[str, Any]) -> str:
    return str(min(post["record"]["createdAt"], post["indexedAt"]))


def _within(post: Any, since: str | None, until: str | None) -> bool:
    if not isinstance(post, dict) or "record" not in post:
        return True  # malformed items go wherever the test put them
    moment = sort_at(post)
    return (not since or moment >= _norm(since)) and (not until or moment < _norm(until))


def _norm(stamp: str) -> str:
    """Compare as the AppView does: instants, whatever the precision they were written with."""
    moment = datetime.fromisoformat(stamp)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _tag_facet(text: str, tag: str) -> dict[str, Any]:
    start = len(text[: text.index("#" + tag)].encode())
    end = start + len(("#" + tag).encode())
    return {
        "index": {"byteStart": start, "byteEnd": end},
        "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
    }
