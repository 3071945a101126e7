"""A fake Mastodon instance: hashtag timeline (Link paging), v2 search (offset), status lookup."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from evidence.tests.fakes.server import FakeClock, FakeServer, Reply, fixture, fixture_reply

TOKEN = "test-mastodon-token"
TAG = "/api/v1/timelines/tag/"
SEARCH = "/api/v2/search"
STATUSES = "/api/v1/statuses/"
_START = datetime(2026, 1, 1, 8, 30, tzinfo=UTC)


def snowflake(moment: datetime, sequence: int = 0) -> str:
    return str((int(moment.timestamp() * 1000) << 16) + sequence)


class MastodonFake(FakeServer):
    """``n`` statuses, newest first: the two documented ones (erika's reply is ``noindex``) and
    generated ones, every fifth a reblog. Ids are snowflakes of their ``created_at``, as on a real
    instance, so ``max_id``/``since_id`` windows work."""

    platform = "mastodon"

    def __init__(self, n: int = 20, clock: FakeClock | None = None, require_auth: bool = False) -> None:
        super().__init__(clock)
        self.require_auth = require_auth
        self.deleted: set[str] = set()
        self.elsewhere: list[Any] = []  # statuses served by id that no timeline or search shows
        documented = fixture("mastodon", "timeline_tag_page1")["response"]["body"]
        max_post, erika_reply = copy.deepcopy(documented)
        max_post["id"] = snowflake(datetime(2026, 1, 1, 8, 41, 12, tzinfo=UTC))
        erika_reply["id"] = snowflake(datetime(2026, 1, 1, 8, 55, 3, tzinfo=UTC))
        erika_reply["in_reply_to_id"] = max_post["id"]
        self.corpus: list[Any] = [erika_reply, max_post]
        self.max_account = max_post["account"]
        for i in range(n - 2):
            self.corpus.append(self._generated(i, max_post))

    def _generated(self, i: int, original: dict[str, Any]) -> dict[str, Any]:
        status = copy.deepcopy(original)
        moment = _START - timedelta(minutes=i)
        status["id"] = snowflake(moment, i)
        status["created_at"] = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        status["uri"] = f"https://social.example/users/max/statuses/{9000 + i}"
        status["url"] = f"https://social.example/@max/{9000 + i}"
        status["content"] = (
            f'<p>Beitrag {i} <a href="https://instance.example/tags/examplehashtag">#examplehashtag</a></p>'
        )
        if i % 5 == 4:
            booster = copy.deepcopy(self.max_account)
            booster.update(id="109300000000000077", username="ria", acct="ria@other.example")
            booster.update(uri="https://other.example/users/ria", url="https://other.example/@ria")
            status.update(reblog=original, content="", account=booster, mentions=[], tags=[])
            status["uri"] = f"https://other.example/users/ria/statuses/{9000 + i}/activity"
        return status

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        authorised = headers.get("authorization") == f"Bearer {TOKEN}"
        if headers.get("authorization") and not authorised:
            return fixture_reply("mastodon", "error_401_invalid_token")
        if path.startswith(TAG):
            if self.require_auth and not authorised:
                return fixture_reply("mastodon", "error_422_public_timeline_disabled")
            return self._timeline(path, params)
        if path == SEARCH:
            return self._search(params) if authorised else fixture_reply("mastodon", "error_401_invalid_token")
        if path.startswith(STATUSES):
            status_id = path.rsplit("/", 1)[1]
            found = [s for s in [*self.corpus, *self.elsewhere] if isinstance(s, dict) and s.get("id") == status_id]
            if not found or status_id in self.deleted:
                return fixture_reply("mastodon", "error_404_deleted_status")
            return Reply.json(200, found[0], self._limits())
        return Reply.json(404, {"error": "Record not found"})

    def _timeline(self, path: str, params: dict[str, str]) -> Reply:
        tag = unquote(path[len(TAG) :])
        max_id, since_id = int(params.get("max_id") or 1 << 80), int(params.get("since_id") or 0)
        hits = [s for s in self.corpus if _in_tag(s, tag) and since_id < _id(s) < max_id]
        page = hits[: min(int(params.get("limit", "20")), 40)]
        headers = self._limits()
        if page:
            base = f"http://{self.base_url.split('://', 1)[1]}{path}?limit={params.get('limit', '20')}"
            last, first = _id(page[-1]), _id(page[0])
            headers["Link"] = f'<{base}&max_id={last}>; rel="next", <{base}&min_id={first}>; rel="prev"'
        return Reply.json(200, page, headers)

    def _search(self, params: dict[str, str]) -> Reply:
        needle = params.get("q", "").lower()
        hits = [s for s in self.corpus if needle in str(s.get("content", "") if isinstance(s, dict) else s).lower()]
        offset, limit = int(params.get("offset", "0")), int(params.get("limit", "20"))
        return Reply.json(200, {"accounts": [], "statuses": hits[offset : offset + limit], "hashtags": []})

    def _limits(self, remaining: int = 290, reset: float | None = None) -> dict[str, str]:
        moment = datetime.fromtimestamp(self.clock.time() + 300 if reset is None else reset, tz=UTC)
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": moment.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        }

    def rate_limit_reply(self, reset: float) -> Reply:
        return fixture_reply("mastodon", "error_429_rate_limited", **self._limits(0, reset))

    @staticmethod
    def server_error() -> Reply:
        return Reply(503, b"<html><body>503 Service Unavailable</body></html>", {"content-type": "text/html"})


def _id(status: Any) -> int:
    return int(status["id"]) if isinstance(status, dict) and str(status.get("id", "")).isdigit() else 0


def _in_tag(status: Any, tag: str) -> bool:
    shown = (status.get("reblog") or status) if isinstance(status, dict) else None
    if not isinstance(shown, dict) or not isinstance(shown.get("tags"), list):
        return True  # malformed items go wherever the test put them
    return any(t.get("name", "").lower() == tag.lower() for t in shown["tags"])
