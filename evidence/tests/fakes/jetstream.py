"""A fake Jetstream: a real WebSocket server on 127.0.0.1 replaying a scripted event stream.

Built from the documented frames in ``data/bluesky/jetstream_v1_events.jsonl`` (a post created and
later deleted, an identity and an account event) plus generated posts. It honours ``cursor``
(events with ``time_us`` at or after it), ``wantedCollections`` (commits only) and ``wantedDids``
(every kind), as Jetstream does. Scripting: :meth:`JetstreamFake.drop_after` closes the next
connection abruptly after that many frames; :meth:`JetstreamFake.inject` sends a raw frame (a v2
info or error frame, or garbage) before a given event. After the last event the connection stays
open and silent, like a caught-up live stream, until the client leaves.

The opening handshake can be refused with a plain HTTP response (websockets' ``process_request``
hook), as Jetstream's proxies do: :meth:`JetstreamFake.refuse` answers the next handshakes with a
status, headers and body; :meth:`JetstreamFake.rate_limited` with Bluesky's documented 429
(``ratelimit-reset`` in epoch seconds, ``retry-after``), refusing every handshake until the shared
:class:`FakeClock` passes the reset, so a client that does not really wait is caught;
:meth:`JetstreamFake.unavailable` with a 503. The ``Date`` of a refusal is the fake clock's.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, urlsplit

import websockets.exceptions
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from evidence.tests.fakes.server import DATA, FakeClock, fixture

QUERY = "#examplehashtag"
BASE_US = 1_767_254_400_000_000  # 2026-01-01T08:00:00Z, before the documented events
MAX = "did:plc:maxexample0000000000000001"
ERIKA = "did:plc:erikaexample000000000002"
NEWS = "did:web:news.example.org"


def documented() -> list[dict[str, Any]]:
    lines = (DATA / "bluesky" / "jetstream_v1_events.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def v2_frames() -> list[str]:
    """The documented v2 frames, raw: commit, delete, info (OutdatedCursor), error."""
    lines = (DATA / "bluesky" / "jetstream_v2_frames.jsonl").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()]


def post_event(i: int, did: str, text: str, **record: Any) -> dict[str, Any]:
    """A commit create of a post ``i`` seconds after BASE_US (one a second, in order)."""
    stamp = f"2026-01-01T08:{i // 60:02d}:{i % 60:02d}.000Z"
    return {
        "did": did,
        "time_us": BASE_US + i * 1_000_000,
        "kind": "commit",
        "commit": {
            "rev": f"3lfrev{i:05d}",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": f"3lfjet{i:05d}",
            "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": stamp, "langs": ["de"], **record},
            "cid": f"bafyreijet{i:05d}",
        },
    }


def corpus(n: int = 24) -> list[dict[str, Any]]:
    """``n`` generated posts (every other one matches QUERY; authors rotate over three DIDs), a like
    (another collection), then the documented events: Max's post, its deletion, Erika's identity
    and account events."""
    events = []
    authors = (ERIKA, NEWS, "did:plc:otherexample00000000000003")
    for i in range(n):
        did = authors[i % 3]
        text = f"Beitrag {i} 🎉 {QUERY}" if i % 2 == 0 else f"Beitrag {i} über etwas anderes"
        events.append(post_event(i, did, text))
    like = post_event(n, ERIKA, "")
    like["commit"]["collection"] = "app.bsky.feed.like"
    events.append(like)
    return events + documented()


@dataclass
class Connection:
    """What one client asked for."""

    path: str
    params: dict[str, list[str]]


@dataclass(frozen=True)
class Refusal:
    """A handshake answered with plain HTTP instead of 101 Switching Protocols."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""
    hold: float = 0.0  # a rate limit: when sent, its reset is this far ahead and the window holds until then


class JetstreamFake:
    def __init__(self, events: list[dict[str, Any]] | None = None, clock: FakeClock | None = None) -> None:
        self.events = corpus() if events is None else events
        self.clock = clock or FakeClock()
        self.connections: list[Connection] = []  # handshakes accepted
        self.refused: list[tuple[Connection, int]] = []  # handshakes refused, with the status sent
        self._refusals: list[Refusal | None] = []  # None: accept that handshake
        self._window: tuple[float, Refusal] | None = None  # refuse every handshake until the clock passes it
        self.errors: list[str] = []
        self.frame_delay = 0.0  # real seconds before each frame: a stream a collector can be caught in
        self._drops: list[int] = []
        self._injected: dict[int, list[str]] = {}
        self._lock = threading.Lock()
        self._server: Server = serve(
            self._handle, "127.0.0.1", 0, compression=None, process_request=self._process_request
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/subscribe"

    def __enter__(self) -> JetstreamFake:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def drop_after(self, frames: int) -> None:
        """The next connection is cut (no close frame) after sending this many frames."""
        with self._lock:
            self._drops.append(frames)

    def refuse(self, *refusals: Refusal, after: int = 0) -> None:
        """The next handshakes get these HTTP responses instead of the WebSocket upgrade, in order,
        once ``after`` more handshakes have been accepted."""
        with self._lock:
            self._refusals.extend([None] * after + list(refusals))

    def rate_limited(self, seconds: float = 60, after: int = 0) -> None:
        """Refuse a handshake with Bluesky's documented 429, ``ratelimit-reset`` and ``retry-after``
        pointing ``seconds`` past the moment it is sent, and every handshake until then."""
        response = fixture("bluesky", "error_429_rate_limited")["response"]
        self.refuse(Refusal(429, response["headers"], json.dumps(response["body"]), hold=seconds), after=after)

    def unavailable(self, times: int = 1, after: int = 0) -> None:
        """The next ``times`` handshakes get 503 Service Unavailable (a proxy in front of a restarting Jetstream)."""
        self.refuse(*[Refusal(503, {}, "Service Unavailable")] * times, after=after)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        with self._lock:
            refusal = self._refusals.pop(0) if self._refusals else None
            if refusal is None and self._window is not None:
                reset, held = self._window
                if self.clock.time() < reset:
                    refusal = held
                else:
                    self._window = None
            if refusal is not None and refusal.hold:
                reset = self.clock.time() + refusal.hold
                window = {**refusal.headers, "ratelimit-reset": str(int(reset)), "retry-after": str(int(refusal.hold))}
                refusal = Refusal(refusal.status, window, refusal.body)
                self._window = (reset, refusal)
            if refusal is None:
                return None
            self.refused.append((Connection(url.path, parse_qs(url.query)), refusal.status))
        response = connection.respond(refusal.status, refusal.body)
        for name in ("Date", "Content-Type"):
            del response.headers[name]
        response.headers["Date"] = formatdate(self.clock.time(), usegmt=True)
        for name, value in {"content-type": "text/plain; charset=utf-8", **refusal.headers}.items():
            response.headers[name] = value
        return response

    def inject(self, before: int, frame: str) -> None:
        """Send ``frame`` just before the event at index ``before`` of :attr:`events` (when it is sent)."""
        self._injected.setdefault(before, []).append(frame)

    def _handle(self, connection: ServerConnection) -> None:
        try:
            self._serve(connection)
        except websockets.exceptions.ConnectionClosed:
            pass
        except Exception as exc:  # a broken fake must fail the test, not hang it
            self.errors.append(f"{type(exc).__name__}: {exc}")
            raise

    def _serve(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        url = urlsplit(connection.request.path)
        params = parse_qs(url.query)
        with self._lock:
            self.connections.append(Connection(url.path, params))
            drop = self._drops.pop(0) if self._drops else None
        for sent, frame in enumerate(self._frames(params)):
            if drop is not None and sent >= drop:
                connection.close_socket()  # abrupt: the client sees the connection reset, no close frame
                return
            if self.frame_delay:
                time.sleep(self.frame_delay)
            connection.send(frame)
        for _ in connection:  # caught up: stay open and silent until the client leaves
            pass

    def _frames(self, params: dict[str, list[str]]) -> Iterator[str]:
        cursor = int(params["cursor"][0]) if "cursor" in params else None
        collections = set(params.get("wantedCollections", []))
        dids = set(params.get("wantedDids", []))
        for i, event in enumerate(self.events):
            if cursor is not None and event["time_us"] < cursor:
                continue
            yield from self._injected.get(i, [])
            if dids and event["did"] not in dids:
                continue
            if collections and event["kind"] == "commit" and event["commit"]["collection"] not in collections:
                continue
            yield json.dumps(event, ensure_ascii=False)
