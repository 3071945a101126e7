"""A fake X API v2 search: recent and full-archive, next_token paging, per-item errors, 429s."""

from __future__ import annotations

import copy
from typing import Any

from evidence.tests.fakes.server import FakeClock, FakeServer, Reply, fixture, fixture_reply

TOKEN = "test-bearer-token"
SEARCH = "/2/tweets/search/"
COUNTS = "/2/tweets/counts/"


class XFake(FakeServer):
    """``n`` posts, newest first: the three documented ones (post, reply, quote), then generated ones.

    ``corpus`` entries are post objects, or ``{"__error__": {...}}`` markers that come out in the
    page's ``errors[]`` where the post would have been (a deleted or hidden post).
    """

    platform = "x"

    def __init__(self, n: int = 25, clock: FakeClock | None = None, full_archive: bool = True) -> None:
        super().__init__(clock)
        first = fixture("x", "search_recent_page1")["response"]["body"]
        last = fixture("x", "search_recent_page2_last")["response"]["body"]
        users = first["includes"]["users"] + last["includes"]["users"]
        self.users: dict[str, dict[str, Any]] = {u["id"]: u for u in users}
        self.full_archive = full_archive
        self.corpus: list[dict[str, Any]] = sorted(first["data"], key=lambda t: t["id"], reverse=True)
        template = last["data"][0]
        authors = sorted(self.users)
        for i in range(n - len(self.corpus)):
            tweet = copy.deepcopy(template)
            tweet_id = str(2006811000000000000 + 1000 * (n - i))
            tweet.update(id=tweet_id, conversation_id=tweet_id, edit_history_tweet_ids=[tweet_id])
            tweet.update(text=f"Beitrag {i} zu #examplehashtag", author_id=authors[i % len(authors)])
            tweet["created_at"] = f"2026-01-01T0{7 - i // 60 % 8}:{59 - i % 60:02d}:00.000Z"
            if i % 7 == 3:
                tweet["text"] = f"RT @max_beispiel: Beitrag {i}"
                tweet["referenced_tweets"] = [{"type": "retweeted", "id": first["data"][0]["id"]}]
            self.corpus.append(tweet)
        self.originals = {t["id"]: t for t in first["includes"]["tweets"]}

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return fixture_reply("x", "error_401_unauthorized")
        if path == SEARCH + "all" and not self.full_archive:
            return fixture_reply("x", "error_403_client_not_enrolled")
        if path in (COUNTS + "recent", COUNTS + "all"):
            return self._counts(params)
        if path not in (SEARCH + "recent", SEARCH + "all"):
            return Reply.json(404, {"title": "Not Found Error", "type": "about:blank", "status": 404})
        items = [t for t in self.corpus if _within(t, params.get("start_time"), params.get("end_time"))]
        offset = int(params.get("next_token", "tok-0").rsplit("-", 1)[1])
        size = int(params.get("max_results", "10"))
        body = self._page(items[offset : offset + size])
        if offset + size < len(items):
            body["meta"]["next_token"] = f"tok-{offset + size}"
        reset = str(int(self.clock.time()) + 900)
        limits = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "400", "x-rate-limit-reset": reset}
        return Reply.json(200, body, limits)

    def _counts(self, params: dict[str, str]) -> Reply:
        """``/2/tweets/counts``: posts in the window by day (granularity=day), as X documents them."""
        days: dict[str, int] = {}
        for t in self.corpus:
            if "__error__" not in t and _within(t, params.get("start_time"), params.get("end_time")):
                days[t["created_at"][:10]] = days.get(t["created_at"][:10], 0) + 1
        data = [{"start": f"{d}T00:00:00.000Z", "end": f"{d}T23:59:59.999Z", "tweet_count": n}
                for d, n in sorted(days.items())]  # fmt: skip
        return Reply.json(200, {"data": data, "meta": {"total_tweet_count": sum(days.values())}})

    def _page(self, chunk: list[dict[str, Any]]) -> dict[str, Any]:
        data = [t for t in chunk if not (isinstance(t, dict) and "__error__" in t)]
        errors = [t["__error__"] for t in chunk if isinstance(t, dict) and "__error__" in t]
        body: dict[str, Any] = {"meta": {"result_count": len(data)}}
        if data:
            body["data"] = data
            posts = [t for t in data if isinstance(t, dict)]
            authors = {t.get("author_id") for t in posts}
            referenced = {r["id"] for t in posts for r in t.get("referenced_tweets", [])}
            body["includes"] = {
                "users": [u for uid, u in self.users.items() if uid in authors],
                "tweets": [t for tid, t in self.originals.items() if tid in referenced],
            }
            ids = [t["id"] for t in posts if isinstance(t.get("id"), str)]
            if ids:
                body["meta"].update(newest_id=max(ids), oldest_id=min(ids))
        if errors:
            body["errors"] = errors
        return body

    # --- scripting helpers -----------------------------------------------------------------

    def delete(self, position: int, tweet_id: str, hidden: bool = False) -> None:
        """Put a per-item error (deleted, or hidden when ``hidden``) at ``position`` in the results."""
        errors = fixture("x", "lookup_partial_errors_200")["response"]["body"]["errors"]
        error = copy.deepcopy(errors[1 if hidden else 0])
        error.update(value=tweet_id, resource_id=tweet_id)
        self.corpus.insert(position, {"__error__": error})

    def rate_limit_reply(self, reset: float) -> Reply:
        return fixture_reply("x", "error_429_rate_limit", x_rate_limit_reset=str(int(reset)))

    @staticmethod
    def server_error() -> Reply:
        return fixture_reply("x", "error_503_service_unavailable")

    @staticmethod
    def usage_capped() -> Reply:
        return fixture_reply("x", "error_429_usage_capped")

    @staticmethod
    def invalid_query() -> Reply:
        return fixture_reply("x", "error_400_invalid_query")


def _within(tweet: Any, start: str | None, end: str | None) -> bool:
    created = tweet.get("created_at") if isinstance(tweet, dict) else None
    if not isinstance(created, str):
        return True  # malformed items and error markers go wherever the test put them
    return (not start or created >= start.replace("Z", ".000Z")) and (not end or created < end.replace("Z", ".000Z"))
