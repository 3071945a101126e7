"""Rechecks of posts already collected, on Bluesky and Facebook: which are gone now.

Each ``recheck(ids)`` yields one :class:`Page` per request: the exchange (the evidence that the
post was, or was not, there when asked), the deletions, and the current version of the posts where
the platform returns a full one. The caller checkpoints between pages.

- **Bluesky** ``app.bsky.feed.getPosts?uris=…`` (at most 25 at-uris a request): the AppView leaves
  out what it cannot show, so a uri missing from ``posts`` was deleted or is no longer visible
  (the author deleted it, was taken down, or now hides from logged-out viewers).
- **Mastodon** ``GET /api/v1/statuses/:id``: 404 or 410 is a deletion (the same request as
  ``MastodonHashtag.recheck``, with the failed attempts before an answer kept as evidence).
- **Facebook** ``GET /?ids=a,b,c&fields=id,message`` (at most 50 ids): one id that no longer exists
  fails the whole request with error 100, so such a batch is asked again id by id, and an object
  answering code 100 / subcode 33 ("does not exist, cannot be loaded due to missing permissions")
  is reported gone. Meta cannot tell deleted from hidden; the reason says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from evidence.connectors.bluesky import derive_search
from evidence.connectors.errors import Action
from evidence.connectors.http import ApiConnector, ClientOptions, CollectionStopped, Fetched, ResourceGone
from evidence.connectors.mastodon import derive_statuses
from evidence.connectors.page import Deletion, Derived, Page
from evidence.connectors.x_compliance import SendingClient

BLUESKY_BATCH = 25
FACEBOOK_BATCH = 50
BLUESKY_GONE = "Bluesky: not returned by getPosts (deleted, taken down, or no longer visible)"


class BlueskyRecheck(ApiConnector):
    name = "bluesky_recheck"
    version = "1"
    platform = "bluesky"

    def __init__(
        self, access_jwt: str, *, base_url: str = "https://api.bsky.app", options: ClientOptions | None = None
    ) -> None:
        super().__init__({"Authorization": f"Bearer {access_jwt}"} if access_jwt else {}, options)
        self.api = SendingClient(self.platform, self.name, self.version, self.http.headers, self.http.options)
        self.http = self.api  # closed by the base class
        self.url = f"{base_url.rstrip('/')}/xrpc/app.bsky.feed.getPosts"

    def recheck(self, uris: Sequence[str]) -> Iterator[Page]:
        for start in range(0, len(uris), BLUESKY_BATCH):
            chunk = list(uris[start : start + BLUESKY_BATCH])
            # uris repeats (?uris=a&uris=b): built into the URL, so the evidence shows every one asked
            exchange = self.api.send("GET", f"{self.url}?{urlencode([('uris', u) for u in chunk])}")
            derived = derive_get_posts(Fetched(exchange).json(), chunk, f"uris {start}")
            yield Page.of(exchange, derived, None, self.api.attempts)


def derive_get_posts(body: Any, asked: Sequence[str], prefix: str) -> Derived:
    """The posts returned, and a deletion for each uri asked for and not returned."""
    derived = derive_search(body, prefix)
    if derived.rejected or not isinstance(body, dict) or not isinstance(body.get("posts"), list):
        return derived  # an answer we cannot read proves nothing gone
    returned = {p.get("uri") for p in body["posts"] if isinstance(p, dict)}
    gone = tuple(Deletion(uri, BLUESKY_GONE) for uri in asked if uri not in returned)
    return Derived(derived.records, derived.rejected, gone, derived.skipped)


def asked_uris(url: str) -> list[str]:
    """The uris a stored getPosts exchange asked for (for re-deriving it)."""
    return [v for k, v in parse_qsl(urlsplit(url).query) if k == "uris"]


class FacebookRecheck(ApiConnector):
    name = "facebook_recheck"
    version = "1"
    platform = "facebook"

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str = "https://graph.facebook.com",
        api_version: str = "v25.0",
        options: ClientOptions | None = None,
    ) -> None:
        super().__init__({"Authorization": f"Bearer {access_token}"}, options)  # never in the URL
        self.api = SendingClient(self.platform, self.name, self.version, self.http.headers, self.http.options)
        self.http = self.api  # closed by the base class
        self.base = f"{base_url.rstrip('/')}/{api_version}"

    def recheck(self, ids: Sequence[str]) -> Iterator[Page]:
        for start in range(0, len(ids), FACEBOOK_BATCH):
            chunk = list(ids[start : start + FACEBOOK_BATCH])
            query = urlencode({"ids": ",".join(chunk), "fields": "id,message"})
            try:
                exchange = self.api.send("GET", f"{self.base}/?{query}")
            except (CollectionStopped, ResourceGone) as failed:
                if not _object_error(failed) or failed.exchange is None:
                    raise
                # One missing object fails the batch: keep that answer, then ask one by one.
                yield Page(failed.exchange, attempts=self.api.attempts)
                yield from self._one_by_one(chunk)
                continue
            body = Fetched(exchange).json()
            present = set(body) if isinstance(body, dict) else set(chunk)
            gone = tuple(Deletion(i, "Facebook: not returned for ?ids=") for i in chunk if i not in present)
            yield Page(exchange, deletions=gone, attempts=self.api.attempts)

    def _one_by_one(self, ids: Sequence[str]) -> Iterator[Page]:
        for object_id in ids:
            url = f"{self.base}/{quote(object_id, safe='')}?{urlencode({'fields': 'id,message'})}"
            try:
                exchange = self.api.send("GET", url)
            except ResourceGone as gone:
                deletion = Deletion(object_id, f"Facebook: deleted or hidden {gone}")
                yield Page(gone.exchange, deletions=(deletion,), attempts=gone.attempts)
                continue
            yield Page(exchange, attempts=self.api.attempts)


class MastodonRecheck(ApiConnector):
    """``GET /api/v1/statuses/:id`` on the instance the posts were collected from (ids are local to it).

    A 404 or 410 is a deletion of that status's uri; a 200 yields the status as it is now (a status
    turned private or an account turned ``noindex`` is skipped, not deleted).
    """

    name = "mastodon_recheck"
    version = "1"
    platform = "mastodon"

    def __init__(self, base_url: str, access_token: str = "", *, options: ClientOptions | None = None) -> None:
        super().__init__({"Authorization": f"Bearer {access_token}"} if access_token else {}, options)
        self.base_url = base_url.rstrip("/")

    def recheck(self, statuses: Mapping[str, str]) -> Iterator[Page]:
        """``statuses``: instance-local id -> uri, both from the stored raw status."""
        for status_id, uri in statuses.items():
            try:
                fetched = self.http.get(f"{self.base_url}/api/v1/statuses/{quote(status_id, safe='')}")
            except ResourceGone as gone:
                deletion = Deletion(uri, f"Mastodon: {gone} (HTTP {gone.exchange.status})")
                yield Page(gone.exchange, deletions=(deletion,), attempts=gone.attempts)
                continue
            derived = derive_statuses([fetched.json()], "status", self.base_url)
            yield Page.of(fetched.exchange, derived, None, fetched.attempts)


def _object_error(failed: CollectionStopped | ResourceGone) -> bool:
    """Graph error 100 (an object in the batch does not exist or cannot be loaded)."""
    if isinstance(failed, ResourceGone):
        return True
    if failed.action is not Action.BAD_QUERY or failed.exchange is None:
        return False
    try:
        error = json.loads(failed.exchange.body).get("error")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return False
    return isinstance(error, dict) and error.get("code") == 100


def derive_stored_get_posts(url: str, body: bytes) -> Derived:
    """Re-derive a stored getPosts exchange (the uris asked for are in its URL)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return Derived()
    return derive_get_posts(data, asked_uris(url), "getPosts")
