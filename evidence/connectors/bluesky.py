"""Bluesky: ``app.bsky.feed.searchPosts`` on an AppView, paged by cursor and sliced by time.

Search stops paging near 10,000 hits per query. When a slice runs out of cursor while the server
reports more hits (or the slice reached the window), the query is re-issued with ``until`` just
after the oldest post seen (its ``sortAt``, the earlier of createdAt and indexedAt, which is what
``since``/``until`` filter on) and the posts already seen at that instant are skipped. Everything
needed to continue (slice bound, server cursor, boundary posts) is in the cursor, so a resumed run
yields exactly what an uninterrupted one would.

Facets carry UTF-8 *byte* offsets; entities are converted to code-point offsets. Accounts are keyed
by DID. Authors who self-label ``!no-unauthenticated`` (asked not to be shown to logged-out
viewers) are skipped.

Sessions: an access JWT lives about two hours, so a long run meets ``400 ExpiredToken``. With a
:class:`Session` (a refresh JWT, or an identifier and app password), the connector renews the
session the documented way (``com.atproto.server.refreshSession`` with the refresh JWT as bearer,
else ``com.atproto.server.createSession``) and retries the request once. Tokens stay in memory: the
renewal exchanges are never captured, logged or stored (their bodies *are* tokens). A refresh JWT
is single-use: the rotated one is kept for the rest of the run, so a worker that runs for days
should be given the app password (``BLUESKY_IDENTIFIER`` + ``BLUESKY_APP_PASSWORD``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from evidence.connectors.base import (
    AccountRecord,
    Named,
    Record,
    RecordError,
    Rejected,
    UnreadableBody,
    canonical_sha256,
    json_documents,
    nodes,
    scrub,
    text_of,
)
from evidence.connectors.errors import Action
from evidence.connectors.http import ApiConnector, ClientOptions, CollectionStopped, Exchange, Fetched
from evidence.connectors.page import Cursor, Derived, Entity, Page, Query, RichPost, Skipped, raw_text
from evidence.connectors.text import as_dict, iso, parse_time, require_str, sub, utf8_to_index

WINDOW = 10_000
_FEATURES = {
    "app.bsky.richtext.facet#mention": ("mention", "did"),
    "app.bsky.richtext.facet#link": ("link", "uri"),
    "app.bsky.richtext.facet#tag": ("tag", "tag"),
}
_QUOTE_EMBEDS = ("app.bsky.embed.record", "app.bsky.embed.recordWithMedia")
_DID = re.compile(r"did:[a-z0-9]+:[A-Za-z0-9._:%-]+")


@dataclass
class _Slice:
    """Where a time-sliced search stands; round-trips through the JSON cursor."""

    until: str | None = None  # None: the query's own until
    cursor: str | None = None  # the server's cursor within this slice
    page: int = 0
    seen: int = 0  # posts returned in this slice
    fresh: int = 0  # of which not already collected in an earlier slice
    oldest: str | None = None  # oldest sortAt in this slice
    oldest_uris: list[str] = field(default_factory=list)  # posts at exactly that instant
    skip: list[str] = field(default_factory=list)  # boundary posts from the previous slice

    def as_cursor(self) -> Cursor:
        return dict(vars(self))

    def observe(self, posts: list[dict[str, Any]], fresh: int) -> None:
        self.seen += len(posts)
        self.fresh += fresh
        for post in posts:
            try:
                moment, uri = iso(_sort_at(post), millis=True), require_str(post, "uri")
            except RecordError:
                continue
            if self.oldest is None or moment < self.oldest:
                self.oldest, self.oldest_uris = moment, [uri]
            elif moment == self.oldest and uri not in self.oldest_uris:
                self.oldest_uris.append(uri)

    def next_slice(self) -> _Slice:
        assert self.oldest is not None
        until = parse_time(self.oldest, "oldest") + timedelta(milliseconds=1)  # until is exclusive
        return _Slice(until=iso(until, millis=True), page=self.page, skip=self.oldest_uris)


@dataclass(frozen=True, repr=False)
class Session:
    """How to renew an expired access JWT: a refresh JWT, or an identifier and an app password.

    ``service`` is the host that issued the session (the entryway ``bsky.social`` for accounts on
    Bluesky's PDSes, or the account's own PDS). ``repr`` is off so a token never reaches a log.
    """

    refresh_jwt: str = ""
    identifier: str = ""
    app_password: str = ""
    service: str = "https://bsky.social"

    def __bool__(self) -> bool:
        return bool(self.refresh_jwt or (self.identifier and self.app_password))


class _Renewal:
    """Renews a session over its own httpx client, capturing nothing (the bodies are tokens)."""

    def __init__(self, session: Session, options: ClientOptions) -> None:
        self.session = session
        self.refresh_jwt = session.refresh_jwt  # rotates: each refresh JWT is good for one refresh
        self.options = options

    def access_jwt(self) -> str:
        """A fresh access JWT, or :class:`CollectionStopped` (STOP_AUTH) naming what to fix."""
        problems: list[str] = []
        if self.refresh_jwt:
            body, problem = self._call("com.atproto.server.refreshSession", self.refresh_jwt, None)
            if body is not None:
                return self._take(body)
            problems.append(f"refreshSession: {problem}")
        if self.session.identifier and self.session.app_password:
            login = {"identifier": self.session.identifier, "password": self.session.app_password}
            body, problem = self._call("com.atproto.server.createSession", "", login)
            if body is not None:
                return self._take(body)
            problems.append(f"createSession: {problem}")
        message = (
            f"Bluesky session expired and could not be renewed ({'; '.join(problems) or 'nothing to renew with'}); "
            "set BLUESKY_REFRESH_JWT, or BLUESKY_IDENTIFIER and BLUESKY_APP_PASSWORD"
        )
        raise CollectionStopped(Action.STOP_AUTH, message)

    def _take(self, body: dict[str, Any]) -> str:
        self.refresh_jwt = str(body.get("refreshJwt") or self.refresh_jwt)
        return str(body["accessJwt"])

    def _call(self, method: str, bearer: str, payload: dict[str, str] | None) -> tuple[dict[str, Any] | None, str]:
        """(the session body, "") on success, else (None, the server's error name and message)."""
        url = f"{self.session.service.rstrip('/')}/xrpc/{method}"
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        try:
            with httpx.Client(timeout=self.options.timeout, transport=self.options.transport) as client:
                response = client.post(url, headers=headers, json=payload)
        except httpx.TransportError as exc:
            return None, f"{type(exc).__name__} reaching {self.session.service}"
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict) and isinstance(body.get("accessJwt"), str):
            return body, ""
        error = body if isinstance(body, dict) else {}
        return None, f"HTTP {response.status_code} {error.get('error', '')}: {str(error.get('message', ''))[:200]}"


def _expired(exchange: Exchange | None) -> bool:
    """``ExpiredToken`` (400 from the AppView and PDS, 401 from some): renewable, unlike a bad token."""
    if exchange is None or exchange.status not in (400, 401):
        return False
    try:
        body = json.loads(exchange.body)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(body, dict) and body.get("error") == "ExpiredToken"


class BlueskySearch(ApiConnector):
    """Search posts through an AppView (authenticated: public.api.bsky.app refuses search)."""

    name = "bluesky_search"
    version = "1"
    platform = "bluesky"

    def __init__(
        self,
        access_jwt: str,
        *,
        base_url: str = "https://api.bsky.app",
        limit: int = 100,
        window: int = WINDOW,
        options: ClientOptions | None = None,
        session: Session | None = None,
    ) -> None:
        super().__init__({"Authorization": f"Bearer {access_jwt}"} if access_jwt else {}, options)
        self.url = f"{base_url.rstrip('/')}/xrpc/app.bsky.feed.searchPosts"
        self.limit = limit
        self.window = window
        self._renewal = _Renewal(session, self.http.options) if session else None
        self.renewals = 0  # sessions renewed in this connector's life (the tests read it; never the tokens)

    def pages(self, query: Query, cursor: Cursor | None = None) -> Iterator[Page]:
        state = _Slice(**cursor) if cursor else _Slice()
        if not self.http.headers and self._renewal is not None:
            self._renew()  # no access JWT configured: log in with the app password first
        while True:
            fetched = self._get(self.url, self._params(query, state))
            body = as_dict(fetched.json(), "searchPosts response")
            state.page += 1
            posts = [p for p in body.get("posts") or [] if isinstance(p, dict)]
            derived = derive_search(body, f"page {state.page}", skip=frozenset(state.skip))
            state.observe(posts, fresh=len(derived.records) + len(derived.skipped))
            server_cursor = body.get("cursor")
            if isinstance(server_cursor, str) and server_cursor and posts:
                state.cursor = server_cursor
                following: _Slice | None = state
            elif self._window_ended(state, body):
                following = state.next_slice()
            else:
                following = None
            yield Page.of(fetched.exchange, derived, following.as_cursor() if following else None, fetched.attempts)
            if following is None:
                return
            state = following

    def _get(self, url: str, params: dict[str, str]) -> Fetched:
        """GET; on ``ExpiredToken`` renew the session and retry once (the expired answer is kept as an attempt)."""
        try:
            return self.http.get(url, params)
        except CollectionStopped as stop:
            if self._renewal is None or not _expired(stop.exchange):
                raise
            expired = stop.exchange
        self._renew()
        try:
            fetched = self.http.get(url, params)
        except CollectionStopped as again:
            if _expired(again.exchange):
                message = "Bluesky refused the renewed session as expired too; check the host clocks and the session"
                raise CollectionStopped(Action.STOP_AUTH, message, again.exchange) from None
            raise
        assert expired is not None
        return Fetched(fetched.exchange, (expired, *fetched.attempts))

    def _renew(self) -> None:
        assert self._renewal is not None
        access = self._renewal.access_jwt()
        self.http.close()  # the next request builds a client with the new header
        self.http.headers = {"Authorization": f"Bearer {access}"}
        self.renewals += 1

    def _window_ended(self, state: _Slice, body: dict[str, Any]) -> bool:
        """More hits than this slice could page through, and the slice brought something new."""
        hits = body.get("hitsTotal")
        more = (isinstance(hits, int) and hits > state.seen) or state.seen >= self.window
        return more and state.fresh > 0 and state.oldest is not None

    def _params(self, query: Query, state: _Slice) -> dict[str, str]:
        params = {"q": query.text, "sort": "latest", "limit": str(self.limit)}
        if query.since:
            params["since"] = iso(query.since, millis=True)
        until = state.until or (iso(query.until, millis=True) if query.until else None)
        if until:
            params["until"] = until
        if state.cursor:
            params["cursor"] = state.cursor
        return params


def derive_search(body: Any, prefix: str, skip: frozenset[str] = frozenset()) -> Derived:
    """Records from a searchPosts response; ``skip`` are URIs already collected (slice boundary)."""
    body = scrub(body)  # NUL and lone surrogates: no database stores them
    if not isinstance(body, dict):
        return Derived(rejected=(Rejected(prefix, "response is not a JSON object", raw_text(body)),))
    records: list[Record] = []
    rejected: list[Rejected] = []
    skipped: list[Skipped] = []
    for i, view in enumerate(body.get("posts") or []):
        position = f"{prefix} posts[{i}]"
        if isinstance(view, dict) and view.get("uri") in skip:
            continue
        try:
            record = post_record(as_dict(view, "post"), position)
        except RecordError as exc:
            rejected.append(Rejected(position, str(exc), raw_text(view)))
            continue
        if _no_unauthenticated(view["author"]):
            skipped.append(Skipped(record.post.platform_id, "author asked not to be shown to logged-out users"))
        else:
            records.append(record)
    return Derived(tuple(records), tuple(rejected), (), tuple(skipped))


def post_record(view: dict[str, Any], position: str) -> Record:
    """One ``app.bsky.feed.defs#postView`` as a normalised record."""
    uri = require_str(view, "uri")
    author = as_dict(view.get("author"), "'author'")
    did = require_str(author, "did")
    post = rich_post(uri, did, as_dict(view.get("record"), "'record'"))
    account = AccountRecord(
        platform="bluesky",
        platform_id=did,
        handle=str(author.get("handle") or ""),
        display_name=str(author.get("displayName") or ""),
        bio=str(author.get("description") or ""),
        url=f"https://bsky.app/profile/{did}",
    )
    return Record(post, account, view, position, canonical_sha256(view))


def rich_post(uri: str, did: str, record: dict[str, Any]) -> RichPost:
    """An ``app.bsky.feed.post`` record (from a postView or a Jetstream commit) as a post at ``uri``."""
    text = record.get("text")
    if not isinstance(text, str):
        raise RecordError("'record.text' missing or not a string")
    kind, parent = _kind(record)
    langs = record.get("langs")
    return RichPost(
        platform="bluesky",
        platform_id=uri,
        text=text,
        kind=kind,
        parent_platform_id=parent,
        lang=str(langs[0]) if isinstance(langs, list) and langs else "",
        url=f"https://bsky.app/profile/{did}/post/{uri.rsplit('/', 1)[-1]}",
        created_at=parse_time(record.get("createdAt"), "record.createdAt"),
        entities=facet_entities(record.get("facets"), text),
    )


def _kind(record: dict[str, Any]) -> tuple[str, str]:
    reply = record.get("reply")
    if isinstance(reply, dict):
        parent = as_dict(reply.get("parent"), "'record.reply.parent'")
        return "reply", require_str(parent, "uri")
    embed = record.get("embed")
    if isinstance(embed, dict) and embed.get("$type") in _QUOTE_EMBEDS:
        quoted = as_dict(embed.get("record"), "'record.embed.record'")
        if embed["$type"] == "app.bsky.embed.recordWithMedia":
            quoted = as_dict(quoted.get("record"), "'record.embed.record.record'")
        return "quote", require_str(quoted, "uri")
    return "post", ""


def facet_entities(facets: Any, text: str) -> tuple[Entity, ...]:
    """Mentions, links and tags, with the facets' UTF-8 byte ranges turned into code-point offsets."""
    entities: list[Entity] = []
    for facet in facets if isinstance(facets, list) else []:
        index = facet.get("index") if isinstance(facet, dict) else None
        features = facet.get("features") if isinstance(facet, dict) else None
        if not isinstance(index, dict) or not isinstance(features, list):
            continue
        start, end = _offsets(text, index.get("byteStart"), index.get("byteEnd"))
        for feature in features:
            kind, key = _FEATURES.get(feature.get("$type", "") if isinstance(feature, dict) else "", ("", ""))
            if kind:
                entities.append(Entity(kind, str(feature.get(key, "")), start, end))
    return tuple(entities)


def _offsets(text: str, byte_start: Any, byte_end: Any) -> tuple[int, int]:
    """Code-point offsets, or (-1, -1) when a client wrote a range that does not fit the text."""
    if not isinstance(byte_start, int) or not isinstance(byte_end, int) or byte_start > byte_end:
        return -1, -1
    try:
        return utf8_to_index(text, byte_start), utf8_to_index(text, byte_end)
    except RecordError:
        return -1, -1


def _sort_at(view: dict[str, Any]) -> datetime:
    """The AppView's sort key: the earlier of the record's createdAt and the post's indexedAt."""
    record = sub(view, "record")
    times = [parse_time(t, "sortAt") for t in (record.get("createdAt"), view.get("indexedAt")) if t]
    if not times:
        raise RecordError("post has neither createdAt nor indexedAt")
    return min(times)


def _no_unauthenticated(author: dict[str, Any]) -> bool:
    labels = author.get("labels")
    return isinstance(labels, list) and any(
        isinstance(label, dict) and label.get("val") == "!no-unauthenticated" for label in labels
    )


_NOT_ABOUT_OTHERS = frozenset({"viewer", "labels"})


def accounts_named(body: bytes, url: str = "") -> frozenset[Named]:
    """Every account a Bluesky body names: a searchPosts or getPosts response, or a Jetstream batch
    (NDJSON frames). See :func:`names_in`. Raises :class:`~evidence.connectors.base.UnreadableBody`
    for a body that is not JSON."""
    return frozenset(name for document in json_documents(body) for name in names_in(document))


def names_in(document: Any) -> set[Named]:
    """The accounts a decoded Bluesky value names, by DID (with the handle where one is given).

    Any object with a ``did`` (a post view's author, the author of a quoted post's view, a
    ``reply.parent``/``reply.root`` view, a repost's ``by``, a mention facet, a Jetstream frame's
    committer or identity); every at-URI's authority (a reply's parent and root, a quoted record, a
    like's subject: a DID, or a handle); every value that is a DID (a follow's subject).

    Not walked: ``viewer`` (the collecting account's own likes, reposts, follows and mutes: the
    organisation, not a third party) and ``labels`` (moderation labels: the labelled subject is
    named already, and the source is a labelling service).
    """
    names: set[Named] = set()
    for node in nodes(document, skip=_NOT_ABOUT_OTHERS):
        if isinstance(node, dict):
            did = text_of(node.get("did"))
            if did:
                names.add(Named("bluesky", did, text_of(node.get("handle"))))
        elif isinstance(node, str):
            if node.startswith("at://"):
                authority = node[5:].split("/", 1)[0]
                if authority:
                    did_authority = authority.startswith("did:")
                    names.add(Named("bluesky", authority) if did_authority else Named("bluesky", handle=authority))
            elif _DID.fullmatch(node):
                names.add(Named("bluesky", node))
    return names


def accounts_in_post(raw: Any, url: str = "") -> frozenset[Named]:
    """Every account one stored Bluesky post names: a post view (search, getPosts, Zeeschuimer) or a
    Jetstream commit frame (v1, or v2's ``message``), as :func:`names_in` reads them (its author,
    mentioned DIDs, the parent and root of a reply, a quoted record and its author's view). Raises
    :class:`~evidence.connectors.base.UnreadableBody` for anything else."""
    is_view = isinstance(raw, dict) and text_of(raw.get("uri")) and isinstance(raw.get("author"), dict)
    payload = raw.get("payload") if isinstance(raw, dict) and raw.get("$type") == "message" else raw
    is_frame = isinstance(payload, dict) and text_of(payload.get("did"))  # Jetstream v1, or v2's payload
    if not (is_view or is_frame):
        raise UnreadableBody("neither a Bluesky post view nor a Jetstream commit frame")
    return frozenset(names_in(raw))
