"""A fake Graph API: a page's posts and their comments, after-cursor paging, Meta's error codes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from evidence.tests.fakes.server import FakeClock, FakeServer, Reply, fixture, fixture_reply

TOKEN = "test-page-token"
PAGE = "104000000000001"
VERSION = "/v25.0/"


class FacebookFake(FakeServer):
    """One page with ``n`` posts (the two documented ones first, then generated); post ``i`` has
    ``i % 4`` comments (the first documented post gets the two documented comments). With ``ppca``
    the comments come as through Page Public Content Access: no ``id``, no ``from``."""

    platform = "facebook"

    def __init__(self, n: int = 9, clock: FakeClock | None = None, ppca: bool = False) -> None:
        super().__init__(clock)
        self.ppca = ppca
        self.deleted: set[str] = set()
        documented = fixture("facebook", "page_posts_page1")["response"]["body"]["data"]
        self.posts: list[Any] = copy.deepcopy(documented)
        template = documented[1]
        for i in range(2, n):
            post = copy.deepcopy(template)
            post["id"] = f"{PAGE}_9980000000001{i:02d}"
            post["created_time"] = (datetime(2025, 12, 30, 16, tzinfo=UTC) - timedelta(hours=i)).strftime(
                "%Y-%m-%dT%H:%M:%S+0000"
            )
            post["message"] = f"Beitrag {i} 👋 #examplehashtag"
            post["message_tags"] = [
                {"id": "3", "name": "#examplehashtag", "type": "hashtag", "offset": 13, "length": 15}
            ]
            self.posts.append(post)
        admin = fixture("facebook", "post_comments_as_page_admin")["response"]["body"]["data"]
        self.comments: dict[str, list[Any]] = {self.posts[0]["id"]: copy.deepcopy(admin)}
        for i, post in enumerate(self.posts[1:], start=1):
            self.comments[post["id"]] = [self._comment(post["id"], i, j) for j in range(i % 4)]
        for post in self.posts:
            post["comments"]["summary"]["total_count"] = len(self.comments[post["id"]])

    @staticmethod
    def _comment(post_id: str, i: int, j: int) -> dict[str, Any]:
        return {
            "id": f"{post_id.split('_')[1]}_5000000000{i:02d}{j:03d}",
            "created_time": f"2026-01-01T10:{i:02d}:{j:02d}+0000",
            "message": f"Kommentar {j} zu Beitrag {i}",
            "permalink_url": f"https://www.facebook.com/{PAGE}/posts/{post_id}?comment_id={i}{j}",
            "from": {"name": f"Person {j}", "id": f"70000000000{j:05d}"},
        }

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return fixture_reply("facebook", "error_token_expired_code190")
        parts = path.removeprefix(VERSION).split("/")
        if len(parts) == 2 and parts[1] == "posts" and parts[0] == PAGE:
            return self._paged(path, self.posts, params)
        if len(parts) == 2 and parts[1] == "comments":
            if parts[0] in self.deleted or parts[0] not in self.comments:
                return fixture_reply("facebook", "error_object_gone_code100")
            comments = self.comments[parts[0]]
            if self.ppca:
                comments = [{k: v for k, v in c.items() if k not in ("id", "from")} for c in comments]
            return self._paged(path, comments, params)
        return fixture_reply("facebook", "error_ppca_not_approved_code10")

    def _paged(self, path: str, items: list[Any], params: dict[str, str]) -> Reply:
        offset = int(params.get("after", "QVFI-0").rsplit("-", 1)[1])
        limit = int(params.get("limit", "25"))
        chunk = items[offset : offset + limit]
        body: dict[str, Any] = {"data": chunk}
        if chunk:
            after = f"QVFI-{offset + len(chunk)}"
            body["paging"] = {"cursors": {"before": f"QVFI-{offset}", "after": after}}
            if offset + limit < len(items):
                body["paging"]["next"] = f"{self.base_url}{path}?limit={limit}&after={after}"
        usage = {"x-app-usage": json.dumps({"call_count": 12, "total_cputime": 3, "total_time": 5})}
        return Reply.json(200, body, usage)

    def rate_limit_reply(self, reset: float) -> Reply:
        """Business-use-case throttling (code 32), its wait in whole minutes."""
        minutes = max(1, round((reset - self.clock.time()) / 60))
        usage = {PAGE: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": minutes}]}
        reply = fixture_reply("facebook", "error_buc_rate_limit_code32")
        reply.headers["x-business-use-case-usage"] = json.dumps(usage)
        return reply

    @staticmethod
    def app_limit() -> Reply:
        return fixture_reply("facebook", "error_app_rate_limit_code4")

    @staticmethod
    def transient() -> Reply:
        return fixture_reply("facebook", "error_transient_code2")
