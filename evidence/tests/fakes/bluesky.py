"""A fake Bluesky AppView: searchPosts with offset cursors, a result window, and time filters.

It is also the session host: ``com.atproto.server.refreshSession`` (bearer: the refresh JWT, which
rotates, so a used one is refused) and ``com.atproto.server.createSession`` (identifier and app
password) issue new access JWTs; :attr:`BlueskyFake.expire_after` makes every access JWT issued so
far expire after that many answered searches, as a two-hour token does in a long run.
"""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

from evidence.tests.fakes.server import FakeClock, FakeServer, Reply, fixture, fixture_reply

TOKEN = "test-access-jwt"
REFRESH = "test-refresh-jwt"
IDENTIFIER = "assay-test.bsky.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
REFRESH_SESSION = "/xrpc/com.atproto.server.refreshSession"
CREATE_SESSION = "/xrpc/com.atproto.server.createSession"
_START = datetime(2026, 1, 1, 8, 59, tzinfo=UTC)


class BlueskyFake(FakeServer):
    """``n`` posts, newest first: the three documented ones, then generated ones (two per second,
    so slice boundaries fall between posts of the same instant). ``window`` is how many hits one
    query can page through (about 10,000 on the real AppView)."""

    platform = "bluesky"

    def __init__(self, n: int = 30, window: int = 10_000, clock: FakeClock | None = None) -> None:
        super().__init__(clock)
        self.window = window
        self.access = {TOKEN}  # access JWTs the AppView accepts now
        self.refresh = {REFRESH}  # refresh JWTs not yet used
        self.issued = 0
        self.expire_after: int | None = None  # answered searches after which every access JWT expires
        self.answered = 0
        self._httpd.RequestHandlerClass = _with_post(self._httpd.RequestHandlerClass, self)
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
        if path in (REFRESH_SESSION, CREATE_SESSION):
            return self._session(path, params, auth)
        if not auth:
            return fixture_reply("bluesky", "error_403_public_appview_search")
        if self.expire_after is not None and self.answered >= self.expire_after:
            self.access.clear()
            self.expire_after = None
        if auth.removeprefix("Bearer ") not in self.access:
            return fixture_reply("bluesky", "error_400_expired_token")
        self.answered += 1
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

    def _session(self, path: str, params: dict[str, str], auth: str) -> Reply:
        """A new session (lexicon ``com.atproto.server.refreshSession``/``createSession`` output)."""
        if path == REFRESH_SESSION:
            bearer = auth.removeprefix("Bearer ")
            if bearer not in self.refresh:
                return Reply.json(400, {"error": "ExpiredToken", "message": "Token has been revoked"})
            self.refresh.discard(bearer)  # single use: the rotated one replaces it
        elif (params.get("identifier"), params.get("password")) != (IDENTIFIER, APP_PASSWORD):
            return Reply.json(401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
        self.issued += 1
        access, refresh = f"access-jwt-{self.issued}", f"refresh-jwt-{self.issued}"
        self.access.add(access)
        self.refresh.add(refresh)
        did = "did:plc:assaytest000000000000001"
        return Reply.json(200, {"accessJwt": access, "refreshJwt": refresh, "handle": IDENTIFIER, "did": did})

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


def _with_post(handler: Any, server: FakeServer) -> type[BaseHTTPRequestHandler]:
    """The base handler plus POST (XRPC procedures): the JSON body arrives as ``params``."""

    class Handler(handler):  # type: ignore[misc]  # a class made at run time by the base fake
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            params = {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = server.answer(self.path.split("?", 1)[0], params, headers)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(reply.body)

    return Handler
