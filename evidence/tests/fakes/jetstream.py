"""A fake Jetstream: a real WebSocket server on 127.0.0.1 replaying a scripted event stream.

Built from the documented frames in ``data/bluesky/jetstream_v1_events.jsonl`` (a post created and
later deleted, an identity and an account event) plus generated posts. It honours ``cursor``
(events with ``time_us`` at or after it), ``wantedCollections`` (commits only) and ``wantedDids``
(every kind), as Jetstream does. Scripting: :meth:`JetstreamFake.drop_after` closes the next
connection abruptly after that many frames; :meth:`JetstreamFake.inject` sends a raw frame (a v2
info or error frame, or garbage) before a given event. After the last event the connection stays
open and silent, like a caught-up live stream, until the client leaves.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import websockets.exceptions
from websockets.sync.server import Server, ServerConnection, serve

from evidence.tests.fakes.server import DATA

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


class JetstreamFake:
    def __init__(self, events: list[dict[str, Any]] | None = None) -> None:
        self.events = corpus() if events is None else events
        self.connections: list[Connection] = []
        self.errors: list[str] = []
        self.frame_delay = 0.0  # real seconds before each frame: a stream a collector can be caught in
        self._drops: list[int] = []
        self._injected: dict[int, list[str]] = {}
        self._lock = threading.Lock()
        self._server: Server = serve(self._handle, "127.0.0.1", 0, compression=None)
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
