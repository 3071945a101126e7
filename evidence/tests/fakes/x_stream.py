"""A fake X filtered stream on 127.0.0.1: rules endpoints with the tier's limits, and a chunked stream.

Built from docs.x.com (filtered stream introduction, "Build a rule", "Handling disconnections",
POST/GET /2/tweets/search/stream/rules) and the documented search payloads in ``data/x``:

* ``GET/POST /2/tweets/search/stream/rules``: add (``RuleTooLong`` past ``max_length``,
  ``DuplicateRule`` for a value already there, ``RulesCapExceeded`` 403 past ``max_rules``),
  delete by id, ``dry_run``, and ``meta.summary`` counts.
* ``GET /2/tweets/search/stream``: HTTP/1.1 chunked newline-delimited JSON, one post per line with
  ``includes.users`` and ``matching_rules``, a blank keep-alive line every few posts; only posts
  matching an active rule are delivered, each once (like X without backfill). Scripted connects
  answer 429s with ``x-rate-limit-reset`` (``TooManyConnections``) or the documented 503;
  ``disconnect_after`` makes a connection send the in-stream ``operational-disconnect`` error and
  close. :meth:`XStreamFake.fail_rules` scripts failures of rule listing, adding or deleting,
  optionally after the change was applied (a gateway that timed out on a backend that did the work).

Time is the shared :class:`FakeClock`: keep-alives after the posts run out advance it by 20 s each,
so a run bounded by ``duration_seconds`` ends without the test sleeping.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from evidence.tests.fakes.server import FakeClock, LocalHttpServer, Reply, fixture, fixture_reply

TOKEN = "test-bearer-token"
RULES = "/2/tweets/search/stream/rules"
STREAM = "/2/tweets/search/stream"
KEEPALIVE_SECONDS = 20.0
DISCONNECT = {
    "errors": [
        {
            "title": "operational-disconnect",
            "disconnect_type": "UpstreamOperationalDisconnect",
            "detail": "This stream has been disconnected upstream for operational reasons.",
            "type": "https://api.x.com/2/problems/operational-disconnect",
        }
    ]
}
TOO_MANY_CONNECTIONS = {
    "title": "ConnectionException",
    "detail": "This stream is currently at the maximum allowed connection limit.",
    "connection_issue": "TooManyConnections",
    "type": "https://api.x.com/2/problems/streaming-connection",
}


@dataclass(frozen=True)
class Served:
    method: str
    path: str
    params: dict[str, str]
    body: Any


def _words(text: str) -> set[str]:
    lowered = text.lower()
    return set(re.findall(r"[#@$]?\w+", lowered)) | set(re.findall(r"\w+", lowered))


def rule_matches(value: str, text: str) -> bool:
    """The fake's matching, enough for rule-sync tests: any positive bare keyword of the rule in the text."""
    keywords = [w for w in re.findall(r"(?<![-\w:])[#@$]?\w+(?![:\w])", value) if w not in ("OR",)]
    return bool({k.lower() for k in keywords} & _words(text))


class XStreamFake(LocalHttpServer):
    """``n`` posts on the stream: the documented ones, then generated ones mentioning ``topics``."""

    def __init__(
        self,
        n: int = 30,
        clock: FakeClock | None = None,
        *,
        max_rules: int = 1000,
        max_length: int = 1024,
        topics: tuple[str, ...] = ("examplehashtag", "vermin"),
        keepalive_every: int = 4,
    ) -> None:
        self.clock = clock or FakeClock()
        self.max_rules, self.max_length = max_rules, max_length
        self.keepalive_every = keepalive_every
        first = fixture("x", "search_recent_page1")["response"]["body"]
        last = fixture("x", "search_recent_page2_last")["response"]["body"]
        self.users = {u["id"]: u for u in first["includes"]["users"] + last["includes"]["users"]}
        self.corpus: list[dict[str, Any]] = copy.deepcopy(first["data"])
        template = last["data"][0]
        authors = sorted(self.users)
        for i in range(n - len(self.corpus)):
            tweet = copy.deepcopy(template)
            tweet_id = str(2006820000000000000 + 1000 * i)
            tweet.update(id=tweet_id, conversation_id=tweet_id, edit_history_tweet_ids=[tweet_id])
            tweet.update(text=f"Live {i} about {topics[i % len(topics)]}", author_id=authors[i % len(authors)])
            tweet.pop("entities", None)
            if i % 5 == 2:
                tweet["referenced_tweets"] = [{"type": "retweeted", "id": first["data"][0]["id"]}]
            self.corpus.append(tweet)
        self.rules: dict[str, dict[str, str]] = {}
        self._rule_ids = 1_800_000_000_000_000_000
        self.position = 0  # the next corpus post to consider (each is delivered once)
        self.delivered: list[str] = []
        self.connect_script: list[Reply] = []
        self.rules_script: list[tuple[str, Reply, bool]] = []  # (request, reply, applied first), in order
        self.disconnect_after: list[int] = []  # per connection, in order: posts before an operational disconnect
        self.connections = 0
        self.requests: list[Served] = []
        self.line_delay = 0.0  # real seconds before each post line: a stream a collector can be caught in
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._serve_with(_handler_for(self))

    def _stopping(self) -> None:
        self._closing.set()  # open streams end

    def served(self, method: str, path: str) -> list[Served]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def add_rule(self, value: str, tag: str = "") -> str:
        with self._lock:
            self._rule_ids += 1
            rule_id = str(self._rule_ids)
            self.rules[rule_id] = {"id": rule_id, "value": value, "tag": tag}
            return rule_id

    def rate_limit(self, seconds: float = 30) -> Reply:
        """A connect refused with 429 ``TooManyConnections``, resetting ``seconds`` from now."""
        reset = str(int(self.clock.time() + seconds))
        return Reply.json(429, TOO_MANY_CONNECTIONS, {"x-rate-limit-limit": "50", "x-rate-limit-remaining": "0",
                                                     "x-rate-limit-reset": reset})  # fmt: skip

    @staticmethod
    def server_error() -> Reply:
        """The documented 503 Service Unavailable (transient: retried with backoff)."""
        return fixture_reply("x", "error_503_service_unavailable")

    def fail_rules(self, request: str, *replies: Reply, applied: bool = False) -> None:
        """The next rules requests of this kind (``"list"``, ``"add"`` or ``"delete"``) get these
        replies, in order; with ``applied`` the request is carried out first (a POST's change is
        made) and only its answer is lost."""
        with self._lock:
            self.rules_script.extend((request, reply, applied) for reply in replies)

    # --- routes ----------------------------------------------------------------------------

    def handle_rules(self, method: str, params: dict[str, str], body: Any) -> Reply:
        kind = "list" if method == "GET" else "delete" if isinstance(body, dict) and "delete" in body else "add"
        with self._lock:
            scripted = next((i for i, (k, _, _) in enumerate(self.rules_script) if k == kind), None)
            entry = self.rules_script.pop(scripted) if scripted is not None else None
        if entry is None:
            return self._rules(method, params, body)
        _, reply, applied = entry
        if applied:
            self._rules(method, params, body)
        return reply

    def _rules(self, method: str, params: dict[str, str], body: Any) -> Reply:
        if method == "GET":
            with self._lock:
                data = list(self.rules.values())
            meta = {"sent": _now(self.clock), "result_count": len(data)}
            return Reply.json(200, {"data": data, "meta": meta} if data else {"meta": meta})
        dry_run = params.get("dry_run") == "true"
        if not isinstance(body, dict) or not ({"add", "delete"} & set(body)):
            return Reply.json(400, {"title": "Invalid Request", "detail": "add or delete is required", "errors": []})
        if "delete" in body:
            return self._delete(body["delete"].get("ids", []), dry_run)
        return self._add(body["add"], dry_run)

    def _delete(self, ids: list[str], dry_run: bool) -> Reply:
        with self._lock:
            known = [i for i in ids if i in self.rules]
            if not dry_run:
                for rule_id in known:
                    del self.rules[rule_id]
        summary = {"deleted": len(known), "not_deleted": len(ids) - len(known)}
        return Reply.json(200, {"meta": {"sent": _now(self.clock), "summary": summary}})

    def _add(self, wanted: list[dict[str, str]], dry_run: bool) -> Reply:
        errors: list[dict[str, Any]] = []
        valid: list[dict[str, str]] = []
        with self._lock:
            values = {r["value"]: r["id"] for r in self.rules.values()}
            for rule in wanted:
                value = rule.get("value", "")
                if len(value) > self.max_length:
                    errors.append({"value": value, "title": "RuleTooLong", "details": [
                        f"Rules must be {self.max_length} characters or less"],
                        "type": "https://api.twitter.com/2/problems/invalid-rules"})  # fmt: skip
                elif value in values:
                    errors.append({"value": value, "id": values[value], "title": "DuplicateRule",
                                   "type": "https://api.twitter.com/2/problems/duplicate-rules"})  # fmt: skip
                else:
                    valid.append(rule)
            if len(self.rules) + len(valid) > self.max_rules:
                return Reply.json(403, {
                    "title": "RulesCapExceeded", "type": "https://api.twitter.com/2/problems/rule-cap",
                    "detail": f"Rule creation would exceed your maximum allowed number of rules ({self.max_rules}).",
                })  # fmt: skip
        created = [] if dry_run else [{"id": self.add_rule(r["value"], r.get("tag", "")), **r} for r in valid]
        summary = {"created": len(created), "not_created": len(wanted) - len(created), "valid": len(valid),
                   "invalid": len(errors)}  # fmt: skip
        reply: dict[str, Any] = {"meta": {"sent": _now(self.clock), "summary": summary}}
        if created:
            reply["data"] = created
        if errors:
            reply["errors"] = errors
        return Reply.json(201 if created else 200, reply)

    def next_line(self) -> bytes | None:
        """The next post matching an active rule, as a stream line; None when none is left."""
        with self._lock:
            while self.position < len(self.corpus):
                tweet = self.corpus[self.position]
                self.position += 1
                matching = [{"id": r["id"], "tag": r["tag"]} for r in self.rules.values()
                            if rule_matches(r["value"], tweet["text"])]  # fmt: skip
                if not matching:
                    continue
                self.delivered.append(tweet["id"])
                user = self.users.get(tweet["author_id"])
                line = {"data": tweet, "includes": {"users": [user] if user else []}, "matching_rules": matching}
                return json.dumps(line, ensure_ascii=False).encode()
        return None


def _now(clock: FakeClock) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(clock.time()))


def _advance(clock: FakeClock, seconds: float) -> None:
    with clock._lock:
        clock.now += seconds


def _handler_for(fake: XStreamFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def _route(self, method: str) -> None:
            url = urlsplit(self.path)
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            fake.requests.append(Served(method, url.path, params, body))
            if self.headers.get("authorization") != f"Bearer {TOKEN}":
                return self._send(fixture_reply("x", "error_401_unauthorized"))
            if url.path == RULES:
                return self._send(fake.handle_rules(method, params, body))
            if url.path == STREAM and method == "GET":
                return self._stream()
            return self._send(Reply.json(404, {"title": "Not Found Error", "type": "about:blank", "status": 404}))

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(reply.body)

        def _stream(self) -> None:
            with fake._lock:
                scripted = fake.connect_script.pop(0) if fake.connect_script else None
                limit = fake.disconnect_after.pop(0) if fake.disconnect_after else None
                fake.connections += 1
            if scripted is not None:
                self._send(scripted)
                return
            self.send_response(200)
            self.send_header("content-type", "application/json; charset=utf-8")
            self.send_header("transfer-encoding", "chunked")
            reset = str(int(fake.clock.time()) + 900)
            for name, value in (("x-rate-limit-limit", "50"), ("x-rate-limit-remaining", "49"),
                                ("x-rate-limit-reset", reset)):  # fmt: skip
                self.send_header(name, value)
            self.end_headers()
            self.close_connection = True
            with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
                self._lines(limit)

        def _lines(self, limit: int | None) -> None:
            sent = 0
            while not fake._closing.is_set():
                if limit is not None and sent >= limit:
                    self._chunk(json.dumps(DISCONNECT).encode() + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                    return
                if fake.line_delay:
                    time.sleep(fake.line_delay)
                line = fake.next_line()
                if line is None:
                    break
                self._chunk(line + b"\r\n")
                sent += 1
                if sent % fake.keepalive_every == 0:
                    self._chunk(b"\r\n")
            time.sleep(0.1)  # let the client read what was sent before time moves on
            for _ in range(500):  # idle: a keep-alive every 20 s (of fake time) until the client leaves
                if fake._closing.is_set():
                    break
                _advance(fake.clock, KEEPALIVE_SECONDS)
                self._chunk(b"\r\n")
                time.sleep(0.01)
            self.wfile.write(b"0\r\n\r\n")

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

        def date_time_string(self, timestamp: float | None = None) -> str:
            return formatdate(fake.clock.time() if timestamp is None else timestamp, usegmt=True)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
