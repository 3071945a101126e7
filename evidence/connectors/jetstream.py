"""Bluesky Jetstream: live posts as JSON over WebSocket, stored in batches that are the evidence.

Jetstream (``bluesky-social/jetstream``) turns the network's firehose into JSON frames; it has no
search. The connector subscribes to ``wantedCollections=app.bsky.feed.post`` and, where the source
names them (option ``dids``), ``wantedDids``: the accountable way, following the accounts members
declared. Without DIDs it receives every post on the network and keeps only those matching the
source's query (:class:`TextQuery`); posts that do not match are never stored, not even in the raw
evidence.

**Batches.** Frames are grouped (``batch_size`` kept frames, or ``batch_seconds``) into a
:class:`~evidence.connectors.page.Page` whose exchange is the WebSocket URL and parameters, status
101 and the handshake's headers, and the batch's kept raw frames, newline-joined, as the body:
:func:`derive_batch` rebuilds the records from that body alone, live and when re-deriving.

**Cursor.** Jetstream's cursor is ``time_us`` (Unix microseconds). A page's cursor is the
``time_us`` of the last frame handled, with the keys of the frames handled at that instant
(``seen``); a resumed run connects with it and skips those frames, which Jetstream replays from that
instant, so its batches and counts are those of an uninterrupted run. With no cursor the first
connection starts at the query's ``since``, or at the live tail. After a dropped connection the
connector reconnects with backoff and rewinds ``rewind_seconds``, as Jetstream's README advises for
gapless playback, skipping the replayed frames it has already handled.

**Refused handshakes.** A 429 is waited out to its reset (``ratelimit-reset``, else ``retry-after``,
read against the server's ``Date``), a 5xx or 408 backed off, within the client's
:class:`~evidence.connectors.http.RetryPolicy` (rate-limit waits, ``max_wait``, retries); past it
the run stops with the reason (resumable after the reset for a 429). Each refusal is kept as
evidence: an attempt exchange stored with the connection's first page.

**Ending.** ``assay collect`` must end, and the worker reconnects on its schedule: a run ends done
at the first event at or past the query's ``until`` (or, when the stream falls idle for
``idle_seconds`` after ``until`` has passed, caught up); it stops resumably (``run_limit``,
which the CLI does not count as a failure) when it reaches ``max_posts`` or ``duration_seconds``,
and the next run continues from the cursor.

**Events.** A commit ``create`` of a post becomes a record (at-URI ``at://did/app.bsky.feed.post/
rkey``, facets to entities with byte offsets converted, reply/quote kinds and parents: the same
mapping as search). A commit ``delete`` becomes a :class:`~evidence.connectors.page.Deletion`.
Only the DID is known of an author from a commit; handles come from ``identity`` events seen in
the run, and known profiles can be passed in (``profiles``) so a bare DID never blanks a profile
learnt from search. An ``account`` event that ends the account's public life (``active: false``:
deleted, takendown, suspended, deactivated) marks every post we hold of that account deleted,
with the status as the reason (Jetstream sends no per-post deletes for them); like every deletion
it is never undone automatically, even if a takedown is reversed. Jetstream v2 frames
(``network.bsky.jetstream.subscribeEvents``) are understood too: an ``OutdatedCursor`` info frame
is recorded as a skipped item (events between the cursor and the oldest retained one were not
collected), and an ``error`` frame stops the run with its message. Malformed frames are
quarantined with their reason. ``compress`` (zstd with a dictionary) is not requested.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import websockets.exceptions
from websockets.sync.client import ClientConnection, connect

from evidence.connectors.base import AccountRecord, Record, RecordError, Rejected, canonical_sha256, scrub
from evidence.connectors.bluesky import rich_post
from evidence.connectors.errors import Action, reset_wait
from evidence.connectors.http import ClientOptions, CollectionStopped, Exchange
from evidence.connectors.page import Cursor, Deletion, Derived, Page, Query, RichPost, Skipped, raw_text

DEFAULT_URL = "wss://jetstream2.us-east.bsky.network/subscribe"
POST = "app.bsky.feed.post"
DELETED = "Bluesky: deleted by author"


# ---------------------------------------------------------------------------------------------
# the query, applied client-side


@dataclass(frozen=True)
class TextQuery:
    """The source's query, matched against posts Jetstream sends (Jetstream itself cannot search).

    Syntax: words and ``"quoted phrases"``, all of which must occur (AND); ``OR`` (upper case)
    between such groups; ``*`` alone matches every post (allowed only with ``dids``). Matching is
    case-insensitive on whole words (``fest`` does not match ``Straßenfest``; ``#tag`` matches the
    hashtag), over the post's text, its link targets and its tags. No negation, no wildcards.
    """

    groups: tuple[tuple[str, ...], ...]
    everything: bool = False

    @classmethod
    def parse(cls, text: str) -> TextQuery:
        if text.strip() == "*":
            return cls((), everything=True)
        groups: list[tuple[str, ...]] = []
        current: list[str] = []
        for phrase, word in re.findall(r'"([^"]*)"|(\S+)', text):
            if word == "OR":
                groups.append(tuple(current))
                current = []
            elif (phrase or word).strip():
                current.append(" ".join((phrase or word).split()).casefold())
        groups.append(tuple(current))
        if not all(groups):
            raise ValueError(f"query {text!r}: every side of OR needs a word or a quoted phrase")
        return cls(tuple(groups))

    def matches(self, post: RichPost) -> bool:
        if self.everything:
            return True
        extra = [e.value if e.kind == "link" else f"#{e.value}" for e in post.entities if e.kind in ("link", "tag")]
        haystack = " ".join([post.text, *extra]).casefold()
        return any(all(_contains(haystack, term) for term in group) for group in self.groups)


def _contains(haystack: str, term: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(term)}(?!\w)", haystack) is not None


# ---------------------------------------------------------------------------------------------
# frames


@dataclass(frozen=True, slots=True)
class Event:
    """One frame, in Jetstream v1's shape whatever the wire version: ``kind`` is commit, identity,
    account, info or error; ``data`` the commit/identity/account object, or the info/error frame."""

    kind: str
    did: str
    time_us: int | None
    data: dict[str, Any]
    raw: dict[str, Any]

    @property
    def uri(self) -> str:
        return f"at://{self.did}/{self.data.get('collection', '')}/{self.data.get('rkey', '')}"


def parse_frame(text: str) -> Event:
    """A frame's event; :class:`RecordError` naming what is wrong when it is not one."""
    try:
        frame = json.loads(text)
    except ValueError as exc:
        raise RecordError(f"frame is not JSON ({exc})") from None
    frame = scrub(frame)
    if not isinstance(frame, dict):
        raise RecordError("frame is not a JSON object")
    if frame.get("$type") == "error":
        return Event("error", "", None, frame, frame)
    if frame.get("$type") == "message":
        return _v2(frame)
    kind = frame.get("kind")
    if kind not in ("commit", "identity", "account"):
        raise RecordError(f"unknown frame kind {kind!r}")
    data = frame.get(kind)
    if not isinstance(data, dict):
        raise RecordError(f"'{kind}' is not a JSON object")
    return Event(kind, _did(frame), _time_us(frame.get("time_us")), data, frame)


def _v2(frame: dict[str, Any]) -> Event:
    payload = frame.get("payload")
    if not isinstance(payload, dict):
        raise RecordError("'payload' is not a JSON object")
    kind = str(payload.get("$type", "")).rpartition("#")[2]
    if kind == "info":
        return Event("info", "", None, payload, frame)
    if kind not in ("commit", "identity", "account"):
        raise RecordError(f"unknown payload type {payload.get('$type')!r}")
    stamp = payload.get("time")
    try:
        moment = datetime.fromisoformat(str(stamp))
    except ValueError:
        raise RecordError(f"'payload.time' is not an RFC 3339 time: {stamp!r}") from None
    if moment.tzinfo is None:
        raise RecordError(f"'payload.time' has no time zone: {stamp!r}")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    time_us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return Event(kind, _did(payload), time_us, payload, frame)


def _did(item: dict[str, Any]) -> str:
    did = item.get("did")
    if not isinstance(did, str) or not did.startswith("did:"):
        raise RecordError(f"'did' missing or not a DID: {did!r}")
    return did


def _time_us(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise RecordError(f"'time_us' missing or not a positive integer: {value!r}")
    return value


def post_of(event: Event) -> RichPost:
    """The post a commit ``create`` carries."""
    record = event.data.get("record")
    if not isinstance(record, dict):
        raise RecordError("'commit.record' is not a JSON object")
    if not isinstance(event.data.get("rkey"), str) or not event.data["rkey"]:
        raise RecordError("'commit.rkey' missing")
    return rich_post(event.uri, event.did, record)


def _is_post(event: Event, operation: str) -> bool:
    return event.kind == "commit" and event.data.get("collection") == POST and event.data.get("operation") == operation


def derive_batch(
    body: bytes | str,
    prefix: str,
    handles: Mapping[str, str] | None = None,
    profiles: Mapping[str, AccountRecord] | None = None,
) -> Derived:
    """Records, deletions and rejects from one batch's body (its kept frames, newline-joined).

    ``handles`` (DID to handle, from identity events seen earlier in the run) and ``profiles``
    (accounts already known) only enrich authors; re-deriving without them gives the same posts.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    handles = dict(handles or {})
    profiles = profiles or {}
    records: dict[str, Record] = {}
    rejected: list[Rejected] = []
    deletions: list[Deletion] = []
    skipped: list[Skipped] = []
    for i, line in enumerate(text.split("\n") if text else []):
        position = f"{prefix} frame {i}"
        try:
            event = parse_frame(line)
            if event.kind == "identity" and isinstance(event.data.get("handle"), str):
                handles[event.did] = event.data["handle"]
            elif event.kind == "info":
                skipped.append(_info(event))
            elif _is_post(event, "delete"):
                deletions.append(Deletion(event.uri, DELETED))
            elif event.kind == "account" and event.data.get("active") is False:
                status = str(event.data.get("status") or "inactive")
                deletions.append(Deletion(event.did, f"Bluesky: account {status}", whole_account=True))
            elif _is_post(event, "create") and event.uri not in records:
                records[event.uri] = _record(event, position, handles, profiles)
        except RecordError as exc:
            rejected.append(Rejected(position, str(exc), raw_text(line)))
    return Derived(tuple(records.values()), tuple(rejected), tuple(deletions), tuple(skipped))


def _record(event: Event, position: str, handles: Mapping[str, str], profiles: Mapping[str, AccountRecord]) -> Record:
    post = post_of(event)
    known = profiles.get(event.did) or AccountRecord("bluesky", event.did, url=f"https://bsky.app/profile/{event.did}")
    handle = handles.get(event.did, known.handle)
    account = known if handle == known.handle else _with_handle(known, handle)
    return Record(post, account, event.raw, position, canonical_sha256(event.raw))


def _with_handle(account: AccountRecord, handle: str) -> AccountRecord:
    return AccountRecord(account.platform, account.platform_id, handle, account.display_name, account.bio,
                         account.location, account.url)  # fmt: skip


def _info(event: Event) -> Skipped:
    name = str(event.data.get("name", "info"))
    message = str(event.data.get("message", ""))[:200]
    if name == "OutdatedCursor":
        reason = f"Jetstream replayed from its oldest retained event, not the cursor: the gap is lost ({message})"
    else:
        reason = f"Jetstream {name}: {message}"
    return Skipped(f"jetstream:{name}", reason)


# ---------------------------------------------------------------------------------------------
# the connector


@dataclass
class _Batch:
    """Frames kept since the last page, and the connection they came over."""

    url: str
    params: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    started: float
    attempts: tuple[Exchange, ...] = ()  # handshakes refused before this connection (429, 5xx)
    frames: list[str] = field(default_factory=list)
    dids: set[str] = field(default_factory=set)  # authors in the kept frames


class _End(Exception):
    """The run is over: ``final`` pages end it done; otherwise ``stop`` is raised after the page."""

    def __init__(self, final: bool, stop: CollectionStopped | None = None) -> None:
        super().__init__()
        self.final = final
        self.stop = stop


class BlueskyJetstream:
    """Live Bluesky posts from a Jetstream instance (see the module docstring)."""

    name = "bluesky_jetstream"
    version = "1"
    platform = "bluesky"

    def __init__(
        self,
        *,
        url: str = DEFAULT_URL,
        dids: Iterable[str] = (),
        authors: Iterable[str] = (),
        profiles: Callable[[Iterable[str]], Mapping[str, AccountRecord]] | None = None,
        batch_size: int = 100,
        batch_seconds: float = 10.0,
        idle_seconds: float = 30.0,
        duration_seconds: float | None = None,
        max_posts: int | None = None,
        rewind_seconds: float = 5.0,
        max_message_size: int | None = None,
        options: ClientOptions | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.dids = tuple(dict.fromkeys(dids))
        self.authors = set(authors)  # whose deletions and identity changes matter without ``dids``
        self.profiles = profiles
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.idle_seconds = idle_seconds
        self.duration_seconds = duration_seconds
        self.max_posts = max_posts
        self.rewind_us = int(rewind_seconds * 1_000_000)
        self.max_message_size = max_message_size
        self.options = options or ClientOptions()
        self.monotonic = monotonic
        self.handles: dict[str, str] = {}
        self.connections = 0  # connections opened (the tests read it)
        self._ws: ClientConnection | None = None

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None

    def __enter__(self) -> BlueskyJetstream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def params(self, cursor_us: int | None) -> tuple[tuple[str, str], ...]:
        params = [("wantedCollections", POST), *(("wantedDids", did) for did in self.dids)]
        if self.max_message_size:
            params.append(("maxMessageSizeBytes", str(self.max_message_size)))
        if cursor_us is not None:
            params.append(("cursor", str(cursor_us)))
        return tuple(params)

    def pages(self, query: Query, cursor: Cursor | None = None) -> Iterator[Page]:
        match = TextQuery.parse(query.text)
        if match.everything and not self.dids:
            message = "Jetstream query '*' without DIDs would collect the whole network; name DIDs or a query"
            raise CollectionStopped(Action.BAD_QUERY, message)
        run = _Run(self, match, query, cursor)
        yield from run.pages()


class _Run:
    """One pass over the stream: connection, reconnection, batching and ending."""

    def __init__(self, jet: BlueskyJetstream, match: TextQuery, query: Query, cursor: Cursor | None) -> None:
        self.jet = jet
        self.match = match
        since = _to_us(query.since) if query.since else None
        self.position: int | None = int(cursor["time_us"]) if cursor and cursor.get("time_us") else since
        self.until = _to_us(query.until) if query.until else None
        self.started = jet.monotonic()
        self.posts = 0
        self.batches = int((cursor or {}).get("batch", 0))  # numbering goes on in a resumed run
        self.recent: dict[tuple[str, str, str, int], None] = {}  # frames handled within the rewind window
        for kind, did, key, time_us in (cursor or {}).get("seen", []):  # handled at the cursor: replayed, skip
            self.recent[(str(kind), str(did), str(key), int(time_us))] = None
        self.failures = 0
        self.waits = 0  # rate-limit waits since the last accepted handshake
        self.refused: list[Exchange] = []  # refused handshakes, stored with the next page
        self.paged = self.position  # the position the last page checkpointed

    def pages(self) -> Iterator[Page]:
        reconnecting = False
        while True:
            cursor_us = self.position
            if reconnecting and cursor_us is not None:
                cursor_us -= self.jet.rewind_us
            ws, batch = self._connect(cursor_us)
            try:
                with ws:  # closed however the generator ends (done, stopped, or dropped by its consumer)
                    yield from self._read(ws, batch)
                return
            except _Dropped as dropped:
                if dropped.batch.frames:
                    yield self._page(dropped.batch, final=False)
                reconnecting = True
                self.failures = self._back_off(self.failures, dropped.why)
            finally:
                self.jet._ws = None

    def _connect(self, cursor_us: int | None) -> tuple[ClientConnection, _Batch]:
        params = self.jet.params(cursor_us)
        url = f"{self.jet.url}?{urlencode(params)}"
        while True:
            try:
                ws = connect(
                    url,
                    open_timeout=self.jet.options.timeout,
                    close_timeout=0.5,  # unread frames (we stopped early) hold up the close handshake
                    max_size=self.jet.max_message_size + 65_536 if self.jet.max_message_size else 2**22,
                    user_agent_header="assay (evidence collection; Bluesky Jetstream)",
                    proxy=None,
                )
            except websockets.exceptions.InvalidStatus as exc:
                status = exc.response.status_code
                refusal = self._refusal(url, params, exc.response.status_code, exc.response.headers, exc.response.body)
                self.refused.append(refusal)
                if status == 429:
                    self._wait_for_reset(refusal)
                    continue
                if status == 408 or status >= 500:
                    self.failures = self._back_off(self.failures, f"HTTP {status} on connect", refusal)
                    continue
                body = exc.response.body.decode("utf-8", "replace")[:300] if exc.response.body else ""
                action = Action.STOP_PERMISSION if status in (401, 403) else Action.BAD_QUERY
                message = f"Jetstream refused the subscription (HTTP {status}): {body}"
                raise CollectionStopped(action, message, refusal) from None
            except (OSError, TimeoutError, websockets.exceptions.InvalidHandshake) as exc:
                self.failures = self._back_off(self.failures, f"{type(exc).__name__} connecting to {self.jet.url}")
                continue
            self.jet._ws = ws
            self.jet.connections += 1
            assert ws.response is not None
            headers = tuple((k, v) for k, v in ws.response.headers.raw_items())
            attempts, self.refused, self.waits = tuple(self.refused), [], 0
            return ws, _Batch(self.jet.url, params, headers, self.jet.monotonic(), attempts)

    def _refusal(
        self, url: str, params: tuple[tuple[str, str], ...], status: int, headers: Any, body: bytes | bytearray | None
    ) -> Exchange:
        """A refused handshake as evidence, like any exchange: URL, parameters and the response as received."""
        return Exchange.received(
            "GET", url, params, status, tuple((k, v) for k, v in headers.raw_items()), bytes(body or b""),
            at=self.jet.options.clock(), connector=self.jet.name, connector_version=self.jet.version,
        )  # fmt: skip

    def _wait_for_reset(self, refusal: Exchange) -> None:
        """Sleep until a 429's window resets, or stop resumably when that is beyond the policy."""
        policy = self.jet.options.policy
        wait = reset_wait({k.lower(): v for k, v in refusal.headers}, self.jet.options.clock())
        wait = (policy.default_wait if wait is None else wait) + policy.reset_margin
        if wait > policy.max_wait or self.waits >= policy.max_rate_waits:
            message = f"Jetstream: rate limited on connect (HTTP 429, wait {self.waits + 1}); resets in {wait:.0f} s"
            raise CollectionStopped(Action.WAIT_FOR_RESET, f"{message}, resume then", refusal, resume_after=wait)
        self.jet.options.sleep(wait)
        self.waits += 1

    def _read(self, ws: ClientConnection, batch: _Batch) -> Iterator[Page]:
        while True:
            try:
                frame = ws.recv(timeout=self._timeout(batch))
            except TimeoutError:
                frame = None
            except websockets.exceptions.ConnectionClosed as exc:
                raise _Dropped(batch, f"connection closed ({exc})") from None
            try:
                if frame is not None:
                    self._handle(frame, batch)
                self._check_limits(frame is None)
            except _End as end:
                if batch.frames or end.final:
                    yield self._page(batch, final=end.final)
                if end.stop is not None:
                    raise end.stop from None
                return
            due = self.jet.monotonic() - batch.started >= self.jet.batch_seconds
            if len(batch.frames) >= self.jet.batch_size or (due and (batch.frames or self.position != self.paged)):
                yield self._page(batch, final=False)
                batch.frames, batch.dids, batch.started = [], set(), self.jet.monotonic()
            elif due:
                batch.started = self.jet.monotonic()

    def _timeout(self, batch: _Batch) -> float:
        left = [self.jet.idle_seconds, max(0.0, batch.started + self.jet.batch_seconds - self.jet.monotonic())]
        if self.jet.duration_seconds is not None:
            left.append(max(0.0, self.started + self.jet.duration_seconds - self.jet.monotonic()))
        return max(0.01, min(left))

    def _handle(self, frame: str | bytes, batch: _Batch) -> None:
        if isinstance(frame, bytes):
            batch.frames.append(raw_text(frame.decode("utf-8", "replace")).replace("\n", " "))
            return
        line = frame.replace("\n", " ").replace("\r", " ")  # insignificant JSON whitespace: one frame per line
        try:
            event = parse_frame(line)
        except RecordError:
            batch.frames.append(line)  # quarantined when the batch is derived
            return
        self.failures = 0
        if event.kind == "error":
            batch.frames.append(line)
            name, message = event.data.get("error", "error"), event.data.get("message", "")
            raise _End(False, CollectionStopped(Action.BAD_QUERY, f"Jetstream error frame: {name}: {message}"))
        if event.kind == "info":
            batch.frames.append(line)
            return
        assert event.time_us is not None
        if self.until is not None and event.time_us >= self.until:
            raise _End(True)
        key = (event.kind, event.did, str(event.data.get("rkey") or event.data.get("seq") or ""), event.time_us)
        if key in self.recent:
            return  # replayed after a reconnect's rewind: already handled
        self.recent[key] = None
        self.position = event.time_us
        if self._keep(event):
            batch.frames.append(line)
            batch.dids.add(event.did)

    def _keep(self, event: Event) -> bool:
        relevant = bool(self.jet.dids) or event.did in self.jet.authors
        if event.kind == "identity":
            if relevant and isinstance(event.data.get("handle"), str):
                self.jet.handles[event.did] = event.data["handle"]
            return relevant
        if event.kind == "account" or _is_post(event, "delete"):
            return relevant
        if not _is_post(event, "create"):
            return False  # other collections, and post updates (not editable in Bluesky's app)
        try:
            post = post_of(event)
        except RecordError:
            return relevant  # malformed: quarantined if it is from an account we follow, else unknowable
        if not self.match.matches(post):
            return False
        self.jet.authors.add(event.did)
        self.posts += 1
        return True

    def _check_limits(self, idle: bool) -> None:
        jet = self.jet
        if jet.max_posts is not None and self.posts >= jet.max_posts:
            message = (
                f"Jetstream: collected max_posts={jet.max_posts} in this run; the next run continues from the cursor"
            )
            raise _End(False, CollectionStopped(Action.RUN_LIMIT, message))
        if jet.duration_seconds is not None and jet.monotonic() - self.started >= jet.duration_seconds:
            message = (
                f"Jetstream: ran duration_seconds={jet.duration_seconds:g}; the next run continues from the cursor"
            )
            raise _End(False, CollectionStopped(Action.RUN_LIMIT, message))
        if idle and (self.until is None or _to_us(datetime.fromtimestamp(jet.options.clock(), UTC)) >= self.until):
            raise _End(True)  # caught up: nothing more before until will come

    def _page(self, batch: _Batch, final: bool) -> Page:
        self.batches += 1
        body = "\n".join(batch.frames).encode()
        exchange = Exchange.received(
            "GET", f"{batch.url}?{urlencode(batch.params)}", batch.params, 101, batch.headers, body,
            at=self.jet.options.clock(), connector=self.jet.name, connector_version=self.jet.version,
        )  # fmt: skip
        prefix = f"batch {self.batches}"
        derived = derive_batch(body, prefix, self.jet.handles, self._profiles(batch.dids))
        self._prune()
        self.paged = self.position
        seen = [list(k) for k in self.recent if k[3] == self.position]
        state = {"time_us": self.position, "seen": seen, "batch": self.batches} if self.position is not None else {}
        cursor = None if final else state
        attempts, batch.attempts = batch.attempts, ()
        return Page.of(exchange, derived, cursor, attempts)

    def _profiles(self, dids: set[str]) -> Mapping[str, AccountRecord]:
        return self.jet.profiles(dids) if self.jet.profiles is not None and dids else {}

    def _prune(self) -> None:
        if self.position is None:
            return
        horizon = self.position - self.jet.rewind_us
        self.recent = {k: None for k in self.recent if k[3] >= horizon}

    def _back_off(self, attempt: int, why: str, exchange: Exchange | None = None) -> int:
        policy = self.jet.options.policy
        if attempt >= policy.max_retries:
            message = f"Jetstream: gave up after {attempt + 1} attempts ({why})"
            raise CollectionStopped(Action.BACKOFF, message, exchange)
        ceiling = min(policy.backoff_cap, policy.backoff_base * 2**attempt)
        self.jet.options.sleep(ceiling / 2 + self.jet.options.rng.uniform(0, ceiling / 2))
        return attempt + 1


class _Dropped(Exception):
    def __init__(self, batch: _Batch, why: str) -> None:
        super().__init__(why)
        self.batch = batch
        self.why = why


def _to_us(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
