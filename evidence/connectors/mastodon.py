"""Mastodon: hashtag timelines and v2 status search on a configured instance.

Hashtag timelines page through the ``Link`` header (``rel="next"`` carries ``max_id``); the query
window becomes ``since_id``/``max_id`` because status ids are time-ordered snowflakes (milliseconds
shifted left 16 bits). Search (``/api/v2/search?type=statuses``) pages by offset and only covers what
the instance indexed (opt-in accounts); it needs a token.

Posts are keyed by their ActivityPub ``uri`` and accounts by their account ``uri``, which are the
same on every instance, so collecting one hashtag on two instances does not duplicate anything.
A reply's parent is given as the instance API URL of the parent (``…/api/v1/statuses/<id>``) unless
the parent is on the same page, because a status only carries its parent's instance-local id.

Respected: accounts with ``noindex: true`` or ``indexable: false`` are skipped (and counted as
skipped, content not kept); anything not ``public``/``unlisted`` is never collected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from evidence.connectors.base import (
    AccountRecord,
    Named,
    Record,
    RecordError,
    Rejected,
    UnreadableBody,
    canonical_sha256,
    json_documents,
    objects,
    scrub,
    text_of,
)
from evidence.connectors.http import ApiConnector, ClientOptions, ResourceGone
from evidence.connectors.page import Cursor, Deletion, Derived, Entity, Page, Query, RichPost, Skipped, raw_text
from evidence.connectors.text import as_dict, html_to_text, parse_time, require_str, sub

_PUBLIC = frozenset({"public", "unlisted"})


def snowflake(moment: datetime) -> str:
    """The smallest status id Mastodon could have given at ``moment``."""
    return str(int(moment.timestamp() * 1000) << 16)


class _MastodonConnector(ApiConnector):
    platform = "mastodon"

    def __init__(self, base_url: str, access_token: str = "", *, limit: int, options: ClientOptions | None) -> None:
        super().__init__({"Authorization": f"Bearer {access_token}"} if access_token else {}, options)
        self.base_url = base_url.rstrip("/")
        self.limit = limit

    def recheck(self, statuses: Mapping[str, str]) -> Iterator[Page]:
        """Re-fetch statuses (instance-local id → uri, both in the stored raw status).

        A 404 or 410 is reported as a deletion of that uri; a 200 yields the status as it is now.
        """
        for status_id, uri in statuses.items():
            url = f"{self.base_url}/api/v1/statuses/{quote(status_id)}"
            try:
                fetched = self.http.get(url)
            except ResourceGone as gone:
                deletion = Deletion(uri, f"Mastodon: {gone} (HTTP {gone.exchange.status})")
                yield Page(gone.exchange, deletions=(deletion,), attempts=gone.attempts)
                continue
            yield Page.of(fetched.exchange, derive_statuses([fetched.json()], "status", self.base_url), None)


class MastodonHashtag(_MastodonConnector):
    """``GET /api/v1/timelines/tag/:hashtag``: the reliable public route on most instances."""

    name = "mastodon_hashtag"
    version = "1"

    def __init__(
        self, base_url: str, access_token: str = "", *, limit: int = 40, options: ClientOptions | None = None
    ) -> None:
        super().__init__(base_url, access_token, limit=limit, options=options)

    def pages(self, query: Query, cursor: Cursor | None = None) -> Iterator[Page]:
        state: Cursor = dict(cursor or {})
        url = f"{self.base_url}/api/v1/timelines/tag/{quote(query.text.lstrip('#'), safe='')}"
        while True:
            params = {"limit": str(self.limit)}
            max_id = state.get("max_id") or (snowflake(query.until) if query.until else None)
            if max_id:
                params["max_id"] = max_id
            if query.since:
                params["since_id"] = snowflake(query.since)
            fetched = self.http.get(url, params)
            page_no = int(state.get("page", 0)) + 1
            body = fetched.json()
            derived = derive_statuses(body, f"page {page_no}", self.base_url)
            following = _next_max_id(fetched.exchange.header("link")) if body else None
            state = {"max_id": following, "page": page_no}
            yield Page.of(fetched.exchange, derived, state if following else None, fetched.attempts)
            if not following:
                return


class MastodonSearch(_MastodonConnector):
    """``GET /api/v2/search?type=statuses``: offset paging, indexed (opt-in) posts only, needs a token."""

    name = "mastodon_search"
    version = "1"

    def __init__(
        self, base_url: str, access_token: str, *, limit: int = 40, options: ClientOptions | None = None
    ) -> None:
        super().__init__(base_url, access_token, limit=limit, options=options)

    def pages(self, query: Query, cursor: Cursor | None = None) -> Iterator[Page]:
        state: Cursor = dict(cursor or {})
        while True:
            offset = int(state.get("offset", 0))
            params = {"q": query.text, "type": "statuses", "resolve": "false", "limit": str(self.limit)}
            params["offset"] = str(offset)
            if query.since:
                params["min_id"] = snowflake(query.since)
            if query.until:
                params["max_id"] = snowflake(query.until)
            fetched = self.http.get(f"{self.base_url}/api/v2/search", params)
            page_no = int(state.get("page", 0)) + 1
            statuses = as_dict(fetched.json(), "search response").get("statuses") or []
            derived = derive_statuses(statuses, f"page {page_no}", self.base_url)
            more = isinstance(statuses, list) and len(statuses) >= self.limit
            state = {"offset": offset + len(statuses), "page": page_no}
            yield Page.of(fetched.exchange, derived, state if more else None, fetched.attempts)
            if not more:
                return


_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')


def _next_max_id(link_header: str) -> str | None:
    match = _LINK.search(link_header)
    if not match:
        return None
    values = parse_qs(urlsplit(match.group(1)).query).get("max_id")
    return values[0] if values else None


def derive_statuses(statuses: Any, prefix: str, instance: str) -> Derived:
    """Records from a list of Status entities (a timeline page or search results)."""
    statuses = scrub(statuses)  # NUL and lone surrogates: no database stores them
    if not isinstance(statuses, list):
        return Derived(rejected=(Rejected(prefix, "expected a JSON array of statuses", raw_text(statuses)),))
    local_uris = {s.get("id"): s.get("uri") for s in statuses if isinstance(s, dict)}
    records: list[Record] = []
    rejected: list[Rejected] = []
    skipped: list[Skipped] = []
    for i, status in enumerate(statuses):
        position = f"{prefix} [{i}]"
        try:
            status = as_dict(status, "status")
            opted_out = _opted_out(status)
            if opted_out:
                skipped.append(Skipped(require_str(status, "uri"), opted_out))
                continue
            records.append(status_record(status, position, instance, local_uris))
        except RecordError as exc:
            rejected.append(Rejected(position, str(exc), raw_text(status)))
    return Derived(tuple(records), tuple(rejected), (), tuple(skipped))


def _opted_out(status: dict[str, Any]) -> str:
    """Why this status must not be collected, or '' if it may be."""
    for item in (status, status.get("reblog")):
        if not isinstance(item, dict):
            continue
        if not isinstance(item.get("visibility"), str):
            raise RecordError("'visibility' missing or not a string")
        if item["visibility"] not in _PUBLIC:
            return f"visibility is {item.get('visibility')!r}, not public"
        account = sub(item, "account")
        if account.get("noindex") is True:
            return "account opted out of indexing (noindex)"
        if account.get("indexable") is False:
            return "account is not indexable"
    return ""


def status_record(status: dict[str, Any], position: str, instance: str, local_uris: dict[Any, Any]) -> Record:
    """One Status entity as a normalised record (a reblog becomes a repost of the original)."""
    uri = require_str(status, "uri")
    reblog = status.get("reblog")
    shown = as_dict(reblog, "'reblog'") if reblog is not None else status
    text = html_to_text(str(shown.get("content") or ""))
    if shown.get("spoiler_text"):
        text = f"{shown['spoiler_text']}\n{text}"
    if reblog is not None:
        kind, parent = "repost", require_str(shown, "uri")
    elif status.get("in_reply_to_id"):
        parent_id = str(status["in_reply_to_id"])
        kind, parent = "reply", str(local_uris.get(parent_id) or f"{instance}/api/v1/statuses/{parent_id}")
    else:
        kind, parent = "post", ""
    post = RichPost(
        platform="mastodon",
        platform_id=uri,
        text=text,
        kind=kind,
        parent_platform_id=parent,
        lang=str(shown.get("language") or ""),
        url=str(status.get("url") or shown.get("url") or uri),
        created_at=parse_time(status.get("created_at")),
        entities=_entities(shown, text),
    )
    account = _account(as_dict(status.get("account"), "'account'"), instance)
    return Record(post, account, status, position, canonical_sha256(status))


def _account(account: dict[str, Any], instance: str) -> AccountRecord:
    acct = require_str(account, "acct")
    if "@" not in acct:  # a local account: qualify it with the instance we asked
        acct = f"{acct}@{urlsplit(instance).hostname}"
    return AccountRecord(
        platform="mastodon",
        platform_id=require_str(account, "uri"),
        handle=acct,
        display_name=str(account.get("display_name") or ""),
        bio=html_to_text(str(account.get("note") or "")),
        url=str(account.get("url") or ""),
    )


def _entities(status: dict[str, Any], text: str) -> tuple[Entity, ...]:
    """Mentions and tags (Mastodon gives no offsets: located in the text when they appear there)."""
    found: list[Entity] = []
    lowered = text.lower()
    for kind, key, sigil, name_key, value_key in (
        ("mention", "mentions", "@", "username", "url"),
        ("tag", "tags", "#", "name", "name"),
    ):
        for item in status.get(key) or []:
            if not isinstance(item, dict):
                continue
            surface = f"{sigil}{item.get(name_key, '')}"
            start = lowered.find(surface.lower())
            end = start + len(surface) if start >= 0 else -1
            found.append(Entity(kind, str(item.get(value_key) or ""), start, end))
    return tuple(found)


def accounts_named(body: bytes, url: str) -> frozenset[Named]:
    """Every account a Mastodon body names: a timeline page, v2 search results or one status, fetched
    from the instance at ``url``.

    Accounts (a status's ``account``, a ``reblog``'s, a quoted status's, a link card's author) by
    their ``uri`` and ``acct``; ``mentions[]`` by ``acct``; ``in_reply_to_account_id``, an id local to
    the instance, by the account of that id in the same body, else as ``<instance>/api/v1/accounts/
    <id>`` (which no stored account has: it names someone the body does not show). A local ``acct``
    is qualified with the instance's host, as the connector stores handles. Raises
    :class:`~evidence.connectors.base.UnreadableBody` for a body that is not JSON.
    """
    return _names_in([o for document in json_documents(body) for o in objects(document)], url)


def accounts_in_status(raw: Any, url: str = "") -> frozenset[Named]:
    """Every account one stored Mastodon status names (the Status entity the connector keeps), read
    as :func:`accounts_named` reads a page: its account, a ``reblog`` and its account, ``mentions[]``,
    a quoted status, ``in_reply_to_account_id`` (the status's own account when it replies to itself;
    anyone else it cannot name counts as not the member). ``url`` is the page it came from, whose
    host qualifies local handles; without one, an account's own profile URL gives its host. Raises
    :class:`~evidence.connectors.base.UnreadableBody` for anything that is not a status.
    """
    if not isinstance(raw, dict) or not text_of(raw.get("uri")) or not isinstance(raw.get("account"), dict):
        raise UnreadableBody("not a Mastodon status (no 'uri' and 'account')")
    return _names_in(objects(raw), url)


def _names_in(items: list[dict[str, Any]], url: str) -> frozenset[Named]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    names: set[Named] = set()
    local: dict[str, Named] = {}  # instance-local account id -> the account
    replied_to: list[str] = []
    for item in items:
        acct = text_of(item.get("acct"))
        if acct:  # an account, or a mention (which carries no uri)
            home = host or urlsplit(text_of(item.get("url"))).hostname or ""
            handle = acct if "@" in acct else f"{acct}@{home}"
            uri = text_of(item.get("uri")) if "username" in item else ""
            named = Named("mastodon", uri, handle)
            names.add(named)
            if uri and text_of(item.get("id")):
                local[text_of(item.get("id"))] = named
        if text_of(item.get("in_reply_to_account_id")):
            replied_to.append(text_of(item["in_reply_to_account_id"]))
    instance = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    for account_id in replied_to:
        unknown = Named("mastodon", f"{instance}/api/v1/accounts/{account_id}") if instance else Named("mastodon")
        names.add(local.get(account_id) or unknown)
    return frozenset(names)
