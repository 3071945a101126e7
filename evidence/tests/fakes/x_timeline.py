"""A fake X API v2 user timeline and handle lookup on 127.0.0.1 (docs.x.com, GET /2/users/:id/tweets).

Each documented user has ``per_user`` posts, newest first, among them reposts, replies and quotes
of the documented original; pages follow ``pagination_token`` / ``meta.next_token``; ``exclude``
drops replies or reposts; ``start_time``/``end_time``/``since_id`` narrow the window; no more than
the 3,200 most recent posts are served. Unknown handles and ids answer as X does: HTTP 200 with a
``resource-not-found`` error for the user.
"""

from __future__ import annotations

import copy
from typing import Any

from evidence.tests.fakes.server import FakeClock, FakeServer, Reply, fixture, fixture_reply

TOKEN = "test-bearer-token"
TIMELINE_LIMIT = 3200


class XTimelineFake(FakeServer):
    platform = "x"

    def __init__(self, per_user: int = 12, clock: FakeClock | None = None) -> None:
        super().__init__(clock)
        first = fixture("x", "search_recent_page1")["response"]["body"]
        last = fixture("x", "search_recent_page2_last")["response"]["body"]
        users = first["includes"]["users"] + last["includes"]["users"]
        self.users: dict[str, dict[str, Any]] = {u["id"]: u for u in users}
        original = first["data"][0]
        self.posts: dict[str, list[dict[str, Any]]] = {}
        template = last["data"][0]
        for u, user_id in enumerate(sorted(self.users)):
            timeline = []
            for i in range(per_user):
                tweet = copy.deepcopy(template)
                tweet_id = str(2006830000000000000 + 100_000 * u + 1000 * (per_user - i))
                tweet.update(id=tweet_id, conversation_id=tweet_id, edit_history_tweet_ids=[tweet_id])
                tweet["author_id"] = user_id
                tweet["text"] = f"Post {i} von {self.users[user_id]['username']}"
                tweet["created_at"] = f"2026-01-01T0{8 - i // 60}:{59 - i % 60:02d}:00.000Z"
                tweet.pop("entities", None)
                kind = i % 4
                if kind == 1:
                    tweet["referenced_tweets"] = [{"type": "retweeted", "id": original["id"]}]
                    tweet["text"] = f"RT @max_beispiel: {original['text'][:40]}"
                elif kind == 2:
                    tweet["referenced_tweets"] = [{"type": "replied_to", "id": original["id"]}]
                    tweet["in_reply_to_user_id"] = original["author_id"]
                elif kind == 3:
                    tweet["referenced_tweets"] = [{"type": "quoted", "id": original["id"]}]
                else:
                    tweet.pop("referenced_tweets", None)
                timeline.append(tweet)
            self.posts[user_id] = timeline

    def handle_of(self, user_id: str) -> str:
        return str(self.users[user_id]["username"])

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return fixture_reply("x", "error_401_unauthorized")
        parts = path.strip("/").split("/")
        limits = {"x-rate-limit-limit": "900", "x-rate-limit-remaining": "899",
                  "x-rate-limit-reset": str(int(self.clock.time()) + 900)}  # fmt: skip
        if parts[:4] == ["2", "users", "by", "username"] and len(parts) == 5:
            user = next((u for u in self.users.values() if u["username"].lower() == parts[4].lower()), None)
            if user is None:
                return Reply.json(200, {"errors": [_not_found("username", parts[4])]}, limits)
            return Reply.json(200, {"data": user}, limits)
        if parts[:2] == ["2", "users"] and len(parts) == 4 and parts[3] == "tweets":
            return Reply.json(200, self._timeline(parts[2], params), limits)
        return Reply.json(404, {"title": "Not Found Error", "type": "about:blank", "status": 404})

    def _timeline(self, user_id: str, params: dict[str, str]) -> dict[str, Any]:
        if user_id not in self.posts:
            return {"errors": [_not_found("id", user_id)]}
        excluded = set(params.get("exclude", "").split(",")) - {""}
        items = []
        for tweet in self.posts[user_id][:TIMELINE_LIMIT]:
            types = {r["type"] for r in tweet.get("referenced_tweets", [])}
            if ("retweets" in excluded and "retweeted" in types) or ("replies" in excluded and "replied_to" in types):
                continue
            if params.get("since_id") and int(tweet["id"]) <= int(params["since_id"]):
                continue
            start, end = params.get("start_time"), params.get("end_time")
            created = tweet["created_at"]
            if (start and created < start.replace("Z", ".000Z")) or (end and created >= end.replace("Z", ".000Z")):
                continue
            items.append(tweet)
        offset = int(params.get("pagination_token", "p-0").rsplit("-", 1)[1])
        size = int(params.get("max_results", "10"))
        chunk = items[offset : offset + size]
        meta: dict[str, Any] = {"result_count": len(chunk)}
        body: dict[str, Any] = {"meta": meta}
        if chunk:
            body["data"] = chunk
            body["includes"] = {"users": [self.users[user_id]]}
            meta.update(newest_id=chunk[0]["id"], oldest_id=chunk[-1]["id"])
        if offset + size < len(items):
            meta["next_token"] = f"p-{offset + size}"
        return body

    def rate_limit_reply(self, reset: float) -> Reply:
        return fixture_reply("x", "error_429_rate_limit", x_rate_limit_reset=str(int(reset)))

    @staticmethod
    def server_error() -> Reply:
        return fixture_reply("x", "error_503_service_unavailable")


def _not_found(parameter: str, value: str) -> dict[str, str]:
    return {
        "value": value,
        "detail": f"Could not find user with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": "user",
        "parameter": parameter,
        "resource_id": value,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }
