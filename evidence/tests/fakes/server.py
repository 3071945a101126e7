"""A real HTTP server on 127.0.0.1 for one platform, scriptable per test.

Each platform fake subclasses :class:`FakeServer` and answers from a corpus built out of the
documented payloads in ``data/`` (copied from ``shared/reference/platform-payloads``). Tests script
failures with :meth:`FakeServer.push` (the next matching requests get these replies, in order)
and read :attr:`FakeServer.requests` to see what the connector asked for.

Time is a :class:`FakeClock` shared with the connector's client: the server writes rate-limit
resets relative to it and refuses requests until it passes (:meth:`FakeServer.block_until`), so a
client that does not really wait for the reset is caught, while the test itself never sleeps.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

DATA = Path(__file__).parent / "data"
START = 1767261000.0  # 2026-01-01T09:50:00Z, just after the documented payloads


class FakeClock:
    """Time for client and server alike; ``sleep`` advances it instantly and records the wait."""

    def __init__(self, now: float = START) -> None:
        self.now = now
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # real seconds before answering (timeouts); keep it under ~0.2 s

    @classmethod
    def json(cls, status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
        headers = {"content-type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(body, ensure_ascii=False).encode(), headers)


@dataclass(frozen=True)
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


Scripted = Reply | Callable[["FakeServer"], Reply]


def fixture(platform: str, name: str) -> dict[str, Any]:
    """A documented exchange: ``{"request": ..., "response": {"status", "headers", "body"}}``."""
    data: dict[str, Any] = json.loads((DATA / platform / f"{name}.json").read_text())
    return data


def fixture_reply(platform: str, name: str, **headers: str) -> Reply:
    """Replay a documented response, with some headers replaced (e.g. a reset relative to now)."""
    response = fixture(platform, name)["response"]
    merged = {**response["headers"], **{k.replace("_", "-"): v for k, v in headers.items()}}
    if "body_text" in response:
        return Reply(response["status"], response["body_text"].encode(), merged)
    return Reply.json(response["status"], response["body"], merged)


class LocalHttpServer:
    """A threaded HTTP server on 127.0.0.1 (a free port) for a ``with`` block; exceptions raised
    while serving are kept in :attr:`errors`, so a test can assert there were none."""

    def _serve_with(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.errors: list[str] = []
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._httpd.errors = self.errors
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02})

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _stopping(self) -> None:
        """Called before the server shuts down: end long responses (streams) here."""


class FakeServer(LocalHttpServer, ABC):
    """Subclasses implement :meth:`route`; this class does HTTP, scripting, time and the request log."""

    platform = ""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.requests: list[Request] = []
        self._script: list[tuple[str, Scripted]] = []
        self._blocked: tuple[float, Callable[[], Reply]] | None = None
        self._lock = threading.Lock()
        self.delay = 0.0  # real seconds before every answer without its own delay (a slow platform)
        self._serve_with(_handler_for(self))

    def push(self, *replies: Scripted, path: str = "") -> None:
        """The next requests whose path contains ``path`` get these replies, in order."""
        with self._lock:
            self._script.extend((path, reply) for reply in replies)

    def block_until(self, reset: float, reply: Callable[[], Reply]) -> None:
        """Answer every request with ``reply()`` until the clock passes ``reset`` (a rate-limit window)."""
        self._blocked = (reset, reply)

    def served(self, path: str = "") -> list[Request]:
        return [r for r in self.requests if path in r.path]

    def answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(Request(path, params, headers))
            scripted = next((i for i, (p, _) in enumerate(self._script) if p in path), None)
            reply = self._script.pop(scripted)[1] if scripted is not None else None
        if reply is not None:
            return reply(self) if callable(reply) else reply
        if self._blocked is not None:
            reset, blocked = self._blocked
            if self.clock.time() < reset:
                return blocked()
            self._blocked = None
        return self.route(path, params, headers)

    @abstractmethod
    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        """The platform's answer to a request that no script or rate-limit window intercepted."""

    def rate_limit(self, seconds: float = 30) -> Scripted:
        """A rate-limit reply whose window really holds: requests before the reset get it again."""

        def reply(server: FakeServer) -> Reply:
            reset = server.clock.time() + seconds
            server.block_until(reset, lambda: server.rate_limit_reply(reset))
            return server.rate_limit_reply(reset)

        return reply

    @abstractmethod
    def rate_limit_reply(self, reset: float) -> Reply:
        """The platform's rate-limit response, with its reset header pointing at ``reset``."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    errors: list[str]

    def handle_error(self, request: Any, client_address: Any) -> None:
        import traceback

        self.errors.append(traceback.format_exc())


def _handler_for(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out separately; no 40 ms delayed-ACK stall

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = server.answer(url.path, params, headers)
            if reply.delay or server.delay:
                time.sleep(reply.delay or server.delay)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client timed out and left
                self.wfile.write(reply.body)

        def date_time_string(self, timestamp: float | None = None) -> str:
            return formatdate(server.clock.time() if timestamp is None else timestamp, usegmt=True)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a test that prints is a failing test

    return Handler
