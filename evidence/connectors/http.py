"""The HTTP client every platform connector uses: one place that captures evidence and obeys limits.

Each response is captured as an :class:`Exchange` (request URL and parameters, status, response
headers, body bytes, when, which connector, sha256 of the body): the evidence the Django side stores
append-only and derives rows from. Request headers are never captured, because that is where
credentials travel.

Errors go through :func:`~evidence.connectors.errors.classify`; the client waits out rate-limit
windows (reading the platform's reset headers), backs off with jitter on 5xx and timeouts within a
bounded budget, and raises :class:`CollectionStopped` for everything that waiting cannot fix.
Clock, sleep and randomness are injectable so tests run at full speed over real HTTP.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

import httpx

from evidence.connectors.errors import Action, Verdict, classify

Params = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP request and its response, exactly as received: the unit of evidence."""

    method: str
    url: str
    params: tuple[tuple[str, str], ...]
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    retrieved_at: datetime
    connector: str
    connector_version: str
    sha256: str

    @classmethod
    def received(
        cls,
        method: str,
        url: str,
        params: tuple[tuple[str, str], ...],
        status: int,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        *,
        at: float,
        connector: str,
        connector_version: str,
    ) -> Exchange:
        """An exchange as received at ``at`` (epoch seconds), its body's sha256 computed here."""
        return cls(method, url, params, status, headers, body, datetime.fromtimestamp(at, tz=UTC), connector,
                   connector_version, hashlib.sha256(body).hexdigest())  # fmt: skip

    def header(self, name: str) -> str:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), "")

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form (body as UTF-8 text with replacement; keep ``body`` for the bytes)."""
        return {
            "method": self.method,
            "url": self.url,
            "params": dict(self.params),
            "status": self.status,
            "headers": [list(pair) for pair in self.headers],
            "retrieved_at": self.retrieved_at.isoformat(),
            "connector": self.connector,
            "connector_version": self.connector_version,
            "sha256": self.sha256,
        }


class CollectionStopped(Exception):
    """Collection of this source must stop; the message says why in words an operator can act on.

    The cursor of the last page yielded is still valid: a later run resumes from it.
    """

    def __init__(self, action: Action, message: str, exchange: Exchange | None = None, resume_after: float = 0):
        super().__init__(message)
        self.action = action
        self.exchange = exchange
        self.resume_after = resume_after  # seconds; set when a rate limit resets beyond our patience


class ResourceGone(Exception):
    """The requested object no longer exists or is no longer visible (a deletion, not a failure)."""

    def __init__(self, verdict: Verdict, exchange: Exchange, attempts: tuple[Exchange, ...]):
        super().__init__(verdict.reason)
        self.exchange = exchange
        self.attempts = attempts


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 5  # transient failures (5xx, timeouts) per request before giving up
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    max_rate_waits: int = 3  # rate-limit waits per request
    max_wait: float = 900.0  # longer resets stop the run with resume_after, instead of blocking a worker
    default_wait: float = 60.0  # a rate limit with no reset header
    reset_margin: float = 1.0


@dataclass(frozen=True, slots=True)
class Fetched:
    """A successful exchange, and the failed attempts (429s, 5xx) that preceded it."""

    exchange: Exchange
    attempts: tuple[Exchange, ...] = ()

    def json(self) -> Any:
        """The body as JSON; a 200 that is not JSON stops the run (the cursor stays where it was)."""
        try:
            return json.loads(self.exchange.body)
        except (ValueError, UnicodeDecodeError):
            message = f"{self.exchange.connector}: HTTP 200 from {self.exchange.url} is not JSON"
            raise CollectionStopped(Action.BACKOFF, message, self.exchange) from None


@dataclass(frozen=True)
class ClientOptions:
    """How a connector's client behaves; tests inject a fake clock, sleep and seeded randomness."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 30.0
    min_interval: float = 0.0  # seconds between requests (X full-archive allows 1 per second)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    transport: httpx.BaseTransport | None = None


@dataclass
class HttpClient:
    """An httpx client for one platform and connector, with evidence capture and limits obeyed."""

    platform: str
    connector: str
    connector_version: str
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. Authorization; never captured
    options: ClientOptions = field(default_factory=ClientOptions)
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _last_request: float | None = field(default=None, init=False, repr=False)

    @property
    def policy(self) -> RetryPolicy:
        return self.options.policy

    def get(self, url: str, params: Params | None = None) -> Fetched:
        """GET until success; raise :class:`CollectionStopped` or :class:`ResourceGone` otherwise."""
        params = dict(params or {})
        failed: list[Exchange] = []
        transient = waits = 0
        while True:
            try:
                exchange = self._send(url, params)
            except httpx.TransportError as exc:  # timeouts, refused and reset connections
                transient = self._back_off(transient, f"{type(exc).__name__} on {url}")
                continue
            verdict = self._classify(exchange)
            if verdict.action is Action.OK:
                return Fetched(exchange, tuple(failed))
            failed.append(exchange)
            if verdict.action is Action.BACKOFF:
                transient = self._back_off(transient, f"HTTP {exchange.status}: {verdict.reason}", exchange)
            elif verdict.action is Action.WAIT_FOR_RESET:
                waits = self._wait_for_reset(waits, verdict, exchange)
            elif verdict.action is Action.MARK_DELETED:
                raise ResourceGone(verdict, exchange, tuple(failed[:-1]))
            else:
                raise CollectionStopped(verdict.action, verdict.reason, exchange)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _http(self) -> httpx.Client:
        if self._client is None:
            options = self.options
            self._client = httpx.Client(
                headers=dict(self.headers), timeout=options.timeout, transport=options.transport, follow_redirects=False
            )
        return self._client

    def _send(self, url: str, params: dict[str, str]) -> Exchange:
        self._pace()
        response = self._http().get(url, params=params)
        return self._capture("GET", response, params, response.content)

    def _capture(self, method: str, response: httpx.Response, params: Mapping[str, str], body: bytes) -> Exchange:
        """A response of this client's as evidence, retrieved now by its clock."""
        return Exchange.received(
            method, str(response.request.url), tuple(params.items()), response.status_code,
            tuple(response.headers.multi_items()), body, at=self.options.clock(), connector=self.connector,
            connector_version=self.connector_version,
        )  # fmt: skip

    def _classify(self, exchange: Exchange) -> Verdict:
        headers = {k.lower(): v for k, v in exchange.headers}
        return classify(self.platform, exchange.status, headers, exchange.body, self.options.clock())

    def _pace(self) -> None:
        now = self.options.clock()
        if self._last_request is not None and self.options.min_interval:
            gap = self._last_request + self.options.min_interval - now
            if gap > 0:
                self.options.sleep(gap)
        self._last_request = self.options.clock()

    def _back_off(self, attempt: int, why: str, exchange: Exchange | None = None) -> int:
        if attempt >= self.policy.max_retries:
            message = f"{self.platform}: gave up after {attempt + 1} attempts ({why})"
            raise CollectionStopped(Action.BACKOFF, message, exchange)
        ceiling = min(self.policy.backoff_cap, self.policy.backoff_base * 2**attempt)
        self.options.sleep(ceiling / 2 + self.options.rng.uniform(0, ceiling / 2))  # "equal jitter"
        return attempt + 1

    def _wait_for_reset(self, waits: int, verdict: Verdict, exchange: Exchange) -> int:
        wait = verdict.wait_seconds if verdict.wait_seconds is not None else self.policy.default_wait
        wait += self.policy.reset_margin
        if wait > self.policy.max_wait or waits >= self.policy.max_rate_waits:
            message = f"{self.platform}: rate limited ({verdict.reason}); resets in {wait:.0f} s, resume then"
            raise CollectionStopped(Action.WAIT_FOR_RESET, message, exchange, resume_after=wait)
        self.options.sleep(wait)
        return waits + 1


class ApiConnector:
    """Base of the platform connectors: identity, one HTTP client, and closing it."""

    name = ""
    version = ""
    platform = ""

    def __init__(self, headers: Mapping[str, str], options: ClientOptions | None = None) -> None:
        self.http = HttpClient(self.platform, self.name, self.version, headers, options or ClientOptions())

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
