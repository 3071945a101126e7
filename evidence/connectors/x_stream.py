"""X API v2 filtered stream, with the platform's rules synced to ours at the start of each run.

``GET /2/tweets/search/stream`` is one long HTTP response of newline-delimited JSON: a post per
line (``{"data", "includes", "matching_rules"}``), a blank keep-alive line about every 20 seconds,
and now and then an in-stream error (``operational-disconnect``) before the server closes. Which
posts come is decided by the rules stored on the platform (``/2/tweets/search/stream/rules``); a
run first makes them equal to the source's ``stream_rules`` (computed from the approved criteria by
``assay stream-rules``), by deleting stale rules and adding missing ones, keyed on (value, tag).

A run is bounded (``duration_seconds``, ``max_posts``) so ``assay collect`` ends and the worker's
schedule reconnects. Every ``batch_size`` posts (or ``batch_seconds``, or a disconnect) the lines
read so far become a :class:`Page` whose exchange is the stream request with its status, headers
and exactly those bytes as body: the evidence. Each line is one v2 response, derived with
:func:`evidence.connectors.x.derive_response`; the line's ``matching_rules`` (id and tag) go into
the raw item, as evidence of why the post was collected.

Disconnections (docs.x.com, "Handling disconnections"): reconnect at once; failures to connect
are retried by the shared client, waiting out 429s (``TooManyConnections`` included, from the
reset header or a minute) and backing off on 5xx and network errors, within a bounded budget.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from evidence.connectors.base import Record, Rejected
from evidence.connectors.errors import Action
from evidence.connectors.http import ApiConnector, ClientOptions, CollectionStopped, Exchange, Fetched, HttpClient
from evidence.connectors.page import Cursor, Deletion, Derived, Page, Query, Skipped
from evidence.connectors.x import EXPANSIONS, TWEET_FIELDS, USER_FIELDS, derive_response

RULES_PATH = "/2/tweets/search/stream/rules"
STREAM_PATH = "/2/tweets/search/stream"
_DISCONNECTS = frozenset({"operational-disconnect", "ConnectionException"})


@dataclass(frozen=True, slots=True)
class RuleSync:
    """What a sync changed on the platform."""

    deleted: tuple[str, ...] = ()  # rule ids
    added: tuple[tuple[str, str], ...] = ()  # (value, tag)


class _StreamClient(HttpClient):
    """The shared client plus POST (rule changes) and an open streaming GET, with the same limits."""

    def post_json(self, url: str, payload: Mapping[str, Any], params: Mapping[str, str] | None = None) -> Fetched:
        """POST ``payload``, riding out 429s and 5xx; the answer with the failed tries before it."""
        params = dict(params or {})
        body = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        failed: list[Exchange] = []
        transient = waits = 0
        while True:
            self._pace()
            try:
                response = self._http().post(url, params=params, content=body.encode(),
                                             headers={"content-type": "application/json"})  # fmt: skip
            except httpx.TransportError as exc:
                transient = self._back_off(transient, f"{type(exc).__name__} on {url}")
                continue
            exchange = self._capture("POST", response, {**params, "body": body}, response.content)
            problem = _problem(exchange.body)
            if problem.get("title") == "RulesCapExceeded" or "rule-cap" in str(problem.get("type", "")):
                detail = problem.get("detail") or "the access tier's rule cap is reached"
                raise CollectionStopped(Action.STOP_QUOTA, f"X refused new stream rules: {detail}", exchange)
            verdict = self._classify(exchange)
            if verdict.action is Action.OK:
                return Fetched(exchange, tuple(failed))
            failed.append(exchange)
            if verdict.action is Action.BACKOFF:
                transient = self._back_off(transient, f"HTTP {exchange.status}: {verdict.reason}", exchange)
            elif verdict.action is Action.WAIT_FOR_RESET:
                waits = self._wait_for_reset(waits, verdict, exchange)
            else:
                raise CollectionStopped(verdict.action, verdict.reason, exchange)

    def open_stream(self, url: str, params: Mapping[str, str]) -> tuple[httpx.Response, tuple[Exchange, ...]]:
        """Connect, riding out 429s and 5xx; the caller reads and closes the 200 response."""
        failed: list[Exchange] = []
        transient = waits = 0
        while True:
            self._pace()
            client = self._http()
            try:
                response = client.send(client.build_request("GET", url, params=dict(params)), stream=True)
            except httpx.TransportError as exc:
                transient = self._back_off(transient, f"{type(exc).__name__} connecting to {url}")
                continue
            if response.status_code == 200:
                return response, tuple(failed)
            try:
                body = response.read()
            finally:
                response.close()
            exchange = self._capture("GET", response, dict(params), body)
            failed.append(exchange)
            verdict = self._classify(exchange)
            if verdict.action is Action.BACKOFF:
                transient = self._back_off(transient, f"HTTP {exchange.status}: {verdict.reason}", exchange)
            elif verdict.action is Action.WAIT_FOR_RESET:
                waits = self._wait_for_reset(waits, verdict, exchange)
            else:
                raise CollectionStopped(verdict.action, verdict.reason, exchange)


def _problem(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


class XStream(ApiConnector):
    """``GET /2/tweets/search/stream`` after syncing ``/2/tweets/search/stream/rules`` to ``rules``."""

    name = "x_stream"
    version = "1"
    platform = "x"

    def __init__(
        self,
        bearer_token: str,
        rules: list[dict[str, str]],
        *,
        base_url: str = "https://api.x.com",
        duration_seconds: float = 300.0,
        max_posts: int = 10_000,
        batch_size: int = 100,
        batch_seconds: float = 60.0,
        max_reconnects: int = 10,
        backfill_minutes: int = 0,
        options: ClientOptions | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {bearer_token}"}
        self.client = _StreamClient(self.platform, self.name, self.version, headers, options or ClientOptions())
        self.http = self.client  # what ApiConnector closes
        base = base_url.rstrip("/")
        self.rules_url, self.stream_url = base + RULES_PATH, base + STREAM_PATH
        self.rules = [{"value": str(r["value"]), "tag": str(r.get("tag", ""))} for r in rules]
        self.duration, self.max_posts = float(duration_seconds), int(max_posts)
        self.batch_size, self.batch_seconds = max(1, int(batch_size)), float(batch_seconds)
        self.max_reconnects, self.backfill_minutes = int(max_reconnects), int(backfill_minutes)
        self.last_sync = RuleSync()

    # --- rules ----------------------------------------------------------------------------------

    def sync_rules(self) -> Iterator[Fetched]:
        """Make the platform's rules equal to ours; yield each exchange (list, delete, add) as evidence,
        with the failed tries (429s, 5xx) before it."""
        existing: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            fetched = self.http.get(self.rules_url, {"max_results": "1000", **({"pagination_token": token} if token
                                                                              else {})})  # fmt: skip
            yield fetched
            body = fetched.json()
            existing += [r for r in body.get("data") or [] if isinstance(r, dict)]
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                break
        wanted = {(r["value"], r["tag"]) for r in self.rules}
        stale = [str(r["id"]) for r in existing if (r.get("value"), r.get("tag", "")) not in wanted]
        have = {(r.get("value"), r.get("tag", "")) for r in existing if str(r["id"]) not in stale}
        missing = [r for r in self.rules if (r["value"], r["tag"]) not in have]
        if stale:
            yield self.client.post_json(self.rules_url, {"delete": {"ids": stale}})
        if missing:
            added = self.client.post_json(self.rules_url, {"add": missing})
            _check_added(added.exchange)
            yield added
        self.last_sync = RuleSync(tuple(stale), tuple((r["value"], r["tag"]) for r in missing))

    # --- the stream -----------------------------------------------------------------------------

    def pages(self, query: Query, cursor: Cursor | None = None) -> Iterator[Page]:
        state: Cursor = dict(cursor or {})
        clock = self.http.options.clock
        for fetched in self.sync_rules():
            state["page"] = int(state.get("page", 0)) + 1
            yield Page.of(fetched.exchange, Derived(), dict(state), fetched.attempts)
        started = clock()
        drops = 0
        while True:
            response, attempts = self.client.open_stream(self.stream_url, self._params())
            batch = _Batch(clock(), attempts)
            try:
                for line in _lines(response):
                    batch.add(line)
                    done = self._done(state, batch, started, clock())
                    if done or batch.full(self.batch_size, self.batch_seconds, clock()):
                        yield self._page(response, batch, state, last=done)
                        if done:
                            return
                        batch = _Batch(clock())
                    if batch.disconnected:
                        break
            except (httpx.TransportError, httpx.StreamError):
                pass  # the connection dropped mid-stream: keep what was read and reconnect
            finally:
                response.close()
            if batch.lines or batch.attempts:
                yield self._page(response, batch, state, last=False)
            drops += 1
            if drops > self.max_reconnects:
                message = f"x: the stream dropped {drops} times in this run; giving up until the next run"
                raise CollectionStopped(Action.BACKOFF, message)

    def _params(self) -> dict[str, str]:
        params = {"tweet.fields": TWEET_FIELDS, "expansions": EXPANSIONS, "user.fields": USER_FIELDS}
        if self.backfill_minutes:
            params["backfill_minutes"] = str(self.backfill_minutes)
        return params

    def _done(self, state: Cursor, batch: _Batch, started: float, now: float) -> bool:
        return int(state.get("posts", 0)) + batch.posts >= self.max_posts or now - started >= self.duration

    def _page(self, response: httpx.Response, batch: _Batch, state: Cursor, *, last: bool) -> Page:
        body = b"".join(line + b"\n" for line in batch.lines)
        exchange = self.client._capture("GET", response, self._params(), body)
        state["page"] = int(state.get("page", 0)) + 1
        state["posts"] = int(state.get("posts", 0)) + batch.posts
        derived = derive_batch(body, f"page {state['page']}")
        return Page.of(exchange, derived, None if last else dict(state), batch.attempts)


class _Batch:
    """The lines read since the last page (keep-alives are not kept: they carry nothing)."""

    def __init__(self, opened: float, attempts: tuple[Exchange, ...] = ()) -> None:
        self.opened = opened
        self.attempts = attempts
        self.lines: list[bytes] = []
        self.posts = 0
        self.disconnected = False

    def add(self, line: bytes) -> None:
        if not line.strip():
            return
        self.lines.append(line)
        item = _problem(line)
        if "data" in item:
            self.posts += 1
        elif _is_disconnect(item):
            self.disconnected = True

    def full(self, size: int, seconds: float, now: float) -> bool:
        return self.posts >= size or (bool(self.lines) and now - self.opened >= seconds)


def _lines(response: httpx.Response) -> Iterator[bytes]:
    """Lines of the stream as they arrive, without their line ends; blank lines (keep-alives) too."""
    pending = b""
    for chunk in response.iter_bytes():
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.rstrip(b"\r")
    if pending.strip():
        yield pending.rstrip(b"\r")


def _is_disconnect(item: Mapping[str, Any]) -> bool:
    errors = item.get("errors") if "data" not in item else None
    if not isinstance(errors, list) or not errors:
        return bool(item.get("connection_issue"))
    return all(isinstance(e, dict) and (e.get("title") in _DISCONNECTS or e.get("disconnect_type")) for e in errors)


def _check_added(exchange: Exchange) -> None:
    """Per-rule errors on add: a duplicate is already there (fine); anything else stops the run."""
    body = _problem(exchange.body)
    refused = [e for e in body.get("errors") or [] if isinstance(e, dict) and e.get("title") != "DuplicateRule"]
    if refused:
        details = "; ".join(f"{e.get('title', 'error')}: {e.get('value') or e.get('detail', '')}" for e in refused)
        raise CollectionStopped(Action.BAD_QUERY, f"X refused stream rules ({details})", exchange)


def derive_line(item: Any, prefix: str) -> Derived:
    """One stream line: a post (with its ``matching_rules`` kept in the raw item), or an error line."""
    if isinstance(item, dict) and _is_disconnect(item):
        return Derived()  # a connection event, not an item: the connector reconnects
    if isinstance(item, dict) and isinstance(item.get("data"), dict) and "matching_rules" in item:
        item = {**item, "data": {**item["data"], "matching_rules": item["matching_rules"]}}
    return derive_response(item, prefix)


def derive_batch(body: bytes, prefix: str) -> Derived:
    """Everything in a batch of stream lines (a stored exchange's body): used live and to re-derive."""
    records: list[Record] = []
    rejected: list[Rejected] = []
    deletions: list[Deletion] = []
    skipped: list[Skipped] = []
    for i, line in enumerate(body.split(b"\n")):
        if not line.strip():
            continue
        position = f"{prefix} line {i + 1}"
        try:
            item = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            rejected.append(Rejected(position, "stream line is not JSON", line[:10_000].decode("utf-8", "replace")))
            continue
        derived = derive_line(item, position)
        records += derived.records
        rejected += derived.rejected
        deletions += derived.deletions
        skipped += derived.skipped
    return Derived(tuple(records), tuple(rejected), tuple(deletions), tuple(skipped))
