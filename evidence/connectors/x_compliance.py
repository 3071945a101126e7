"""X: which collected posts are gone, by batch compliance job (at scale) or by lookup (a few).

Batch compliance is X's documented way to learn of deletions at scale: ``POST /2/compliance/jobs``
(``type: tweets``) returns a job with signed ``upload_url`` and ``download_url``; the post ids go up
with a ``PUT`` (one per line, ``text/plain``); ``GET /2/compliance/jobs/:id`` is polled until
``status`` is ``complete`` (or ``failed``/``expired``); the results file at ``download_url`` is JSON
lines ``{"id", "action": "delete", "created_at", "redacted_at", "reason"}``, one per post that must
go (deleted, protected, suspended, ...). Every step is a :class:`Page` whose cursor holds the job's
id, URLs and phase, so a recheck killed while polling resumes polling the *same* job instead of
creating (and waiting for) another one.

The signed URLs are Google Cloud Storage URLs: they carry their own signature, so our bearer token
is never sent to them (a separate client without the ``Authorization`` header uploads and downloads).

:class:`XLookup` (``GET /2/tweets?ids=``, 100 ids a request) suits small rechecks; its per-item
``errors[]`` become deletions through :func:`evidence.connectors.x.derive_response`. X bills lookups
per post read; compliance jobs are not billed per post.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Generator, Iterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from evidence.connectors.base import Rejected
from evidence.connectors.errors import Action
from evidence.connectors.http import ApiConnector, ClientOptions, CollectionStopped, Exchange, HttpClient, ResourceGone
from evidence.connectors.page import Cursor, Deletion, Derived, Page, raw_text
from evidence.connectors.x import EXPANSIONS, TWEET_FIELDS, USER_FIELDS, derive_response

LOOKUP_BATCH = 100  # ids per GET /2/tweets
_PENDING = frozenset({"created", "in_progress"})
_ENDED = frozenset({"failed", "expired"})


class JobEnded(CollectionStopped):
    """The compliance job failed or expired: its cursor is spent, the next recheck starts a new job."""


class SendingClient(HttpClient):
    """The connector client, also for POST and PUT (job creation, upload), with the same limits obeyed."""

    def send(self, method: str, url: str, *, body: bytes = b"", content_type: str = "") -> Exchange:
        failed: list[Exchange] = []
        transient = waits = 0
        while True:
            try:
                exchange = self._request(method, url, body, content_type)
            except httpx.TransportError as exc:
                transient = self._back_off(transient, f"{type(exc).__name__} on {method} {url}")
                continue
            verdict = self._classify(exchange)
            if verdict.action is Action.OK:
                self.attempts = tuple(failed)
                return exchange
            failed.append(exchange)
            if verdict.action is Action.BACKOFF:
                transient = self._back_off(transient, f"HTTP {exchange.status}: {verdict.reason}", exchange)
            elif verdict.action is Action.WAIT_FOR_RESET:
                waits = self._wait_for_reset(waits, verdict, exchange)
            else:
                self.attempts = tuple(failed[:-1])  # the failed tries before the final answer, kept as evidence
                if verdict.action is Action.MARK_DELETED:
                    raise ResourceGone(verdict, exchange, self.attempts)
                raise CollectionStopped(verdict.action, verdict.reason, exchange)

    attempts: tuple[Exchange, ...] = ()  # of the last send

    def _request(self, method: str, url: str, body: bytes, content_type: str) -> Exchange:
        self._pace()
        headers = {"content-type": content_type} if content_type else {}
        response = self._http().request(method, url, content=body or None, headers=headers)
        return self._capture(method, response, {}, response.content)


class XCompliance(ApiConnector):
    """A batch compliance job over the ids given; see the module docstring for the steps."""

    name = "x_compliance"
    version = "1"
    platform = "x"

    def __init__(
        self,
        bearer_token: str,
        *,
        base_url: str = "https://api.x.com",
        poll_seconds: float = 60.0,
        max_polls: int = 30,
        job_name: str = "assay-recheck",
        options: ClientOptions | None = None,
    ) -> None:
        options = options or ClientOptions()
        super().__init__({"Authorization": f"Bearer {bearer_token}"}, options)
        self.api = SendingClient(self.platform, self.name, self.version, self.http.headers, options)
        self.http = self.api  # closed by the base class
        self.signed = SendingClient(self.platform, self.name, self.version, {}, options)  # no token to storage
        self.jobs_url = f"{base_url.rstrip('/')}/2/compliance/jobs"
        self.poll_seconds = poll_seconds
        self.max_polls = max_polls
        self.job_name = job_name[:64]

    def close(self) -> None:
        super().close()
        self.signed.close()

    def recheck(self, ids: Sequence[str], cursor: Cursor | None = None) -> Iterator[Page]:
        """Pages of the job's steps; the last carries the deletions and ``cursor=None``.

        ``ids`` are needed only until they are uploaded: a resumed job past that ignores them.
        """
        state: Cursor = dict(cursor or {})
        if not state.get("job_id"):
            state = yield from self._create(len(ids))
        if state["phase"] == "created":
            yield self._upload(ids, state)
        polls = 0
        while state["phase"] in ("uploaded", "in_progress"):
            if polls >= self.max_polls:
                message = (
                    f"X compliance job {state['job_id']} still {state.get('status', 'in_progress')} after "
                    f"{polls} polls; the next recheck resumes polling it"
                )
                raise CollectionStopped(Action.WAIT_FOR_RESET, message, resume_after=self.poll_seconds)
            if polls or state["phase"] == "in_progress":  # a resumed job is not polled at once either
                self.http.options.sleep(self.poll_seconds)
            polls += 1
            yield self._poll(state)
        yield self._download(state)

    def _create(self, count: int) -> Generator[Page, None, Cursor]:
        body = json.dumps({"type": "tweets", "name": self.job_name, "resumable": False}).encode()
        exchange = self.api.send("POST", self.jobs_url, body=body, content_type="application/json")
        job = _job(exchange)
        state: Cursor = {
            "job_id": job["id"],
            "phase": "created",
            "status": job.get("status", "created"),
            "upload_url": job["upload_url"],
            "download_url": job["download_url"],
            "ids": count,
        }
        yield Page(exchange, cursor=dict(state), attempts=self.api.attempts)
        return state

    def _upload(self, ids: Sequence[str], state: Cursor) -> Page:
        payload = "".join(f"{i}\n" for i in ids).encode()
        try:
            exchange = self.signed.send("PUT", state["upload_url"], body=payload, content_type="text/plain")
        except ResourceGone as gone:  # the signed URL expired (15 minutes): this job cannot be used
            raise JobEnded(Action.BAD_QUERY, f"X compliance job {state['job_id']}: upload URL gone ({gone})",
                           gone.exchange) from None  # fmt: skip
        state.update(phase="uploaded", uploaded=len(ids), ids_sha256=hashlib.sha256(payload).hexdigest())
        return Page(exchange, cursor=dict(state), attempts=self.signed.attempts)

    def _poll(self, state: Cursor) -> Page:
        exchange = self.api.send("GET", f"{self.jobs_url}/{state['job_id']}")
        job = _job(exchange)
        status = str(job.get("status", ""))
        if status in _ENDED:
            raise JobEnded(Action.BAD_QUERY, f"X compliance job {state['job_id']} {status}", exchange)
        if status == "complete":
            state["phase"] = "complete"
        elif status in _PENDING:
            state["phase"] = "in_progress"
        else:
            raise CollectionStopped(Action.BAD_QUERY, f"X compliance job: unknown status {status!r}", exchange)
        state["status"] = status
        if isinstance(job.get("download_url"), str):
            state["download_url"] = job["download_url"]
        return Page(exchange, cursor=dict(state), attempts=self.api.attempts)

    def _download(self, state: Cursor) -> Page:
        try:
            exchange = self.signed.send("GET", state["download_url"])
        except ResourceGone as gone:  # download URLs expire after a week
            raise JobEnded(Action.BAD_QUERY, f"X compliance job {state['job_id']}: results gone ({gone})",
                           gone.exchange) from None  # fmt: skip
        derived = derive_results(exchange.body, f"job {state['job_id']}")
        return Page.of(exchange, derived, None, self.signed.attempts)


def _job(exchange: Exchange) -> dict[str, Any]:
    try:
        data = json.loads(exchange.body).get("data")
    except (ValueError, UnicodeDecodeError, AttributeError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise CollectionStopped(Action.BAD_QUERY, f"X compliance job: unexpected answer from {exchange.url}", exchange)
    for key in ("upload_url", "download_url"):
        if key in data and not isinstance(data[key], str):
            raise CollectionStopped(Action.BAD_QUERY, f"X compliance job: '{key}' is not a URL", exchange)
    return data


def derive_results(body: bytes, prefix: str) -> Derived:
    """Deletions from a compliance results file (JSON lines); malformed lines are rejected, not skipped."""
    deletions: list[Deletion] = []
    rejected: list[Rejected] = []
    for number, line in enumerate(body.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        position = f"{prefix} line {number}"
        try:
            item = json.loads(line)
        except ValueError:
            rejected.append(Rejected(position, "not JSON", line[:10_000]))
            continue
        post_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(post_id, str) or not post_id.isdigit() or item.get("action") != "delete":
            rejected.append(Rejected(position, "expected {id, action: delete, reason}", raw_text(item)))
            continue
        reason = f"X compliance: {item.get('reason') or 'deleted'}"
        if item.get("redacted_at"):
            reason += f" (redacted {item['redacted_at']})"
        deletions.append(Deletion(post_id, reason))
    return Derived(rejected=tuple(rejected), deletions=tuple(deletions))


def derive_exchange(url: str, body: bytes) -> Derived:
    """Re-derive a stored compliance exchange: only the results file carries anything."""
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return derive_results(body, "results")  # JSON lines (or empty: the upload's answer)
    return Derived()


class XLookup(ApiConnector):
    """``GET /2/tweets?ids=``: the current version of each post, and an error for each one gone."""

    name = "x_lookup"
    version = "1"
    platform = "x"

    def __init__(
        self, bearer_token: str, *, base_url: str = "https://api.x.com", options: ClientOptions | None = None
    ) -> None:
        super().__init__({"Authorization": f"Bearer {bearer_token}"}, options)
        self.url = f"{base_url.rstrip('/')}/2/tweets"

    def recheck(self, ids: Sequence[str]) -> Iterator[Page]:
        """One page per 100 ids; an id neither returned nor reported is reported gone too."""
        for start in range(0, len(ids), LOOKUP_BATCH):
            chunk = list(ids[start : start + LOOKUP_BATCH])
            params = {"ids": ",".join(chunk), "tweet.fields": TWEET_FIELDS, "expansions": EXPANSIONS,
                      "user.fields": USER_FIELDS}  # fmt: skip
            fetched = self.http.get(self.url, params)
            yield Page.of(fetched.exchange, derive_lookup(fetched.json(), chunk, f"ids {start}"), None,
                          fetched.attempts)  # fmt: skip


def derive_lookup(body: Any, asked: Sequence[str], prefix: str) -> Derived:
    derived = derive_response(body, prefix)
    answered = {r.post.platform_id for r in derived.records} | {d.platform_id for d in derived.deletions}
    answered |= {s.platform_id for s in derived.skipped}
    if derived.rejected:  # an item we could not read may be one of those asked: claim nothing gone
        return derived
    missing = tuple(Deletion(i, "X: not returned by lookup") for i in asked if i not in answered)
    if not missing:
        return derived
    return Derived(derived.records, derived.rejected, (*derived.deletions, *missing), derived.skipped)


def derive_stored_lookup(url: str, body: bytes) -> Derived:
    """Re-derive a stored lookup exchange (the ids asked for are in its URL)."""
    ids = next((v for k, v in parse_qsl(urlsplit(url).query) if k == "ids"), "")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return Derived(rejected=(Rejected("lookup", "response is not JSON", body[:10_000].decode("utf-8", "replace")),))
    return derive_lookup(data, [i for i in ids.split(",") if i], "lookup")
