"""X (Twitter) API v2: recent and full-archive search, and the shared normaliser for v2 responses.

A response is ``data`` (posts) + ``includes.users`` (authors) + ``errors`` (per-item problems in an
HTTP 200) + ``meta.next_token``. :func:`derive_response` turns one response into records; the live
connector and the twarc NDJSON reader (raw responses, one per line) share it, so a file and a live
collection of the same posts give the same records.

Each record's raw item is the post object with its author inlined as ``author`` (twarc's
"flattened" form), so the record stands on its own as evidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from evidence.connectors.base import (
    AccountRecord,
    Named,
    Record,
    RecordError,
    Rejected,
    UnreadableBody,
    canonical,
    canonical_json,
    json_documents,
    objects,
    scrub,
    text_of,
)
from evidence.connectors.errors import Action
from evidence.connectors.http import ApiConnector, ClientOptions, CollectionStopped, Exchange
from evidence.connectors.page import Cursor, Deletion, Derived, Entity, Page, Query, RichPost, Skipped, raw_text
from evidence.connectors.text import as_dict, iso, parse_time, require_str

TWEET_FIELDS = (
    "id,text,author_id,created_at,conversation_id,in_reply_to_user_id,referenced_tweets,entities,"
    "lang,edit_history_tweet_ids,possibly_sensitive,reply_settings"
)
EXPANSIONS = "author_id,referenced_tweets.id,referenced_tweets.id.author_id,in_reply_to_user_id"
USER_FIELDS = "id,username,name,description,location,created_at,verified,protected,url"

# A post referencing others has one kind; a retweet is a repost even if the original was a reply.
_KIND_BY_REFERENCE = (("retweeted", "repost"), ("replied_to", "reply"), ("quoted", "quote"))


class XSearch(ApiConnector):
    """``GET /2/tweets/search/recent`` (or ``/search/all`` with ``full_archive=True``)."""

    name = "x_search"
    version = "1"
    platform = "x"

    def __init__(
        self,
        bearer_token: str,
        *,
        base_url: str = "https://api.x.com",
        full_archive: bool = False,
        max_results: int = 100,
        options: ClientOptions | None = None,
    ) -> None:
        options = options or ClientOptions()
        if full_archive and not options.min_interval:
            options = replace(options, min_interval=1.0)  # full-archive allows one request per second
        super().__init__({"Authorization": f"Bearer {bearer_token}"}, options)
        endpoint = "all" if full_archive else "recent"
        self.url = f"{base_url.rstrip('/')}/2/tweets/search/{endpoint}"
        self.max_results = max_results

    def pages(self, query: Query, cursor: Cursor | None = None) -> Iterator[Page]:
        state: Cursor = dict(cursor or {})
        page_no = int(state.get("page", 0))
        while True:
            fetched = self.http.get(self.url, self._params(query, state.get("next_token")))
            page_no += 1
            body = fetched.json()
            token = next_token(body)
            state = {"next_token": token, "page": page_no}
            derived = derive_response(body, f"page {page_no}")
            yield Page.of(fetched.exchange, derived, state if token else None, fetched.attempts)
            if not token:
                return

    def count(self, query: Query) -> tuple[int, tuple[Exchange, ...]]:
        """How many posts match ``query`` in its window, from ``/2/tweets/counts`` (by day): what a
        run would read, and be billed for, before reading any. Returns (total, the exchanges)."""
        url = self.url.replace("/search/", "/counts/")
        params = {"query": query.text, "granularity": "day"}
        if query.since:
            params["start_time"] = iso(query.since)
        if query.until:
            params["end_time"] = iso(query.until)
        total, exchanges = 0, []
        while True:
            fetched = self.http.get(url, params)
            exchanges += [*fetched.attempts, fetched.exchange]
            body = fetched.json()
            meta = body.get("meta") if isinstance(body, dict) else None
            counted = meta.get("total_tweet_count") if isinstance(meta, dict) else None
            if not isinstance(counted, int):
                raise CollectionStopped(Action.BAD_QUERY, "X counts: the answer has no meta.total_tweet_count")
            total += counted
            token = next_token(body)
            if not token:
                return total, tuple(exchanges)
            params["next_token"] = token

    def _params(self, query: Query, next_token: str | None) -> dict[str, str]:
        params = {
            "query": query.text,
            "max_results": str(self.max_results),
            "tweet.fields": TWEET_FIELDS,
            "expansions": EXPANSIONS,
            "user.fields": USER_FIELDS,
        }
        if query.since:
            params["start_time"] = iso(query.since)
        if query.until:
            params["end_time"] = iso(query.until)
        if next_token:
            params["next_token"] = next_token
        return params


def next_token(body: Any) -> str | None:
    meta = body.get("meta") if isinstance(body, dict) else None
    token = meta.get("next_token") if isinstance(meta, dict) else None
    return token if isinstance(token, str) and token else None


def derive_response(body: Any, prefix: str, *, scrubbed: bool = False) -> Derived:
    """Records, rejections, deletions and policy skips from one X API v2 response body.

    ``scrubbed``: the caller already replaced what no database stores (file readers check the line
    first, which is much cheaper than walking every decoded object).
    """
    if not scrubbed:
        body = scrub(body)  # NUL and lone surrogates: no database stores them
    if not isinstance(body, dict):
        return Derived(rejected=(Rejected(prefix, "response is not a JSON object", raw_text(body)),))
    users = _users(body)
    records: list[Record] = []
    rejected: list[Rejected] = []
    skipped: list[Skipped] = []
    data = body.get("data") or []
    for i, tweet in enumerate(data if isinstance(data, list) else [data]):
        position = f"{prefix} data[{i}]"
        try:
            record = tweet_record(as_dict(tweet, "post"), users, position)
        except RecordError as exc:
            rejected.append(Rejected(position, str(exc), raw_text(tweet)))
            continue
        if isinstance(record.raw.get("author"), dict) and record.raw["author"].get("protected") is True:
            skipped.append(Skipped(record.post.platform_id, "author's account is protected"))
            continue
        records.append(record)
    deletions, more_rejected, more_skipped = _item_errors(body.get("errors") or [], prefix)
    return Derived(tuple(records), (*rejected, *more_rejected), deletions, (*skipped, *more_skipped))


def _users(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    includes = body.get("includes")
    users = includes.get("users", []) if isinstance(includes, dict) else []
    return {u["id"]: u for u in users if isinstance(u, dict) and isinstance(u.get("id"), str)}


def tweet_record(tweet: dict[str, Any], users: dict[str, dict[str, Any]], position: str) -> Record:
    """One v2 post object (with its author from ``includes.users``) as a normalised record."""
    post_id = require_str(tweet, "id")
    text = tweet.get("text")
    if not isinstance(text, str):
        raise RecordError("'text' missing or not a string")
    author_id = require_str(tweet, "author_id")
    author = tweet.get("author") if isinstance(tweet.get("author"), dict) else users.get(author_id)
    raw = {**tweet, "author": author} if author else dict(tweet)
    kind, parent = _kind(tweet)
    handle = str(author.get("username", "")) if author else ""
    post = RichPost(
        platform="x",
        platform_id=post_id,
        text=text,
        kind=kind,
        parent_platform_id=parent,
        lang=str(tweet.get("lang") or ""),
        url=f"https://x.com/{handle or 'i/web'}/status/{post_id}",
        created_at=parse_time(tweet["created_at"]) if tweet.get("created_at") else None,
        entities=_entities(tweet.get("entities"), text),
    )
    raw_json, sha256 = canonical(raw)  # kept with the record: the store needs the same text, hashed once
    return Record(post, _account(author_id, author), raw, position, sha256, raw_json)


def _kind(tweet: dict[str, Any]) -> tuple[str, str]:
    references = tweet.get("referenced_tweets") or []
    if not isinstance(references, list):
        raise RecordError("'referenced_tweets' is not a list")
    by_type = {r.get("type"): str(r.get("id", "")) for r in references if isinstance(r, dict)}
    for reference, kind in _KIND_BY_REFERENCE:
        if by_type.get(reference):
            return kind, by_type[reference]
    return "post", ""


def _account(author_id: str, user: dict[str, Any] | None) -> AccountRecord:
    user = user or {}
    return AccountRecord(
        platform="x",
        platform_id=author_id,
        handle=str(user.get("username") or ""),
        display_name=str(user.get("name") or ""),
        bio=str(user.get("description") or ""),
        location=str(user.get("location") or ""),
        url=str(user.get("url") or ""),
    )


def _entities(entities: Any, text: str) -> tuple[Entity, ...]:
    """X entity offsets are code points already; only keep those that fall inside the text."""
    if not isinstance(entities, dict):
        return ()
    found: list[Entity] = []
    for key, kind, value_keys in (
        ("mentions", "mention", ("id", "username")),
        ("urls", "link", ("expanded_url", "url")),
        ("hashtags", "tag", ("tag",)),
    ):
        for item in entities.get(key) or []:
            if not isinstance(item, dict):
                continue
            value = next((str(item[k]) for k in value_keys if item.get(k)), "")
            start, end = item.get("start"), item.get("end")
            if isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(text):
                found.append(Entity(kind, value, start, end))
            else:
                found.append(Entity(kind, value))
    return tuple(sorted(found, key=lambda e: (e.start, e.kind)))


_GONE = {
    "https://api.twitter.com/2/problems/resource-not-found": "X: not found (deleted)",
    "https://api.twitter.com/2/problems/not-authorized-for-resource": "X: no longer visible (protected or suspended)",
}


def _item_errors(errors: Any, prefix: str) -> tuple[tuple[Deletion, ...], list[Rejected], list[Skipped]]:
    """A 200 can carry per-item errors: deleted or hidden posts are deletions, not failures."""
    deletions: list[Deletion] = []
    rejected: list[Rejected] = []
    skipped: list[Skipped] = []
    for i, error in enumerate(errors if isinstance(errors, list) else [errors]):
        error = error if isinstance(error, dict) else {}
        item_id = str(error.get("resource_id") or error.get("value") or "")
        gone = _GONE.get(str(error.get("type")))
        if gone and item_id and error.get("resource_type") == "tweet":
            deletions.append(Deletion(item_id, gone))
        elif gone and item_id and error.get("resource_type") == "user":
            skipped.append(Skipped(f"user:{item_id}", gone))
        else:
            reason = str(error.get("detail") or error.get("title") or error.get("message") or "unrecognised error")
            rejected.append(Rejected(f"{prefix} errors[{i}]", f"X reported: {reason}", raw_text(error)))
    return tuple(deletions), rejected, skipped


def accounts_named(body: bytes, url: str = "") -> frozenset[Named]:
    """Every account an X API v2 body names: one response, or NDJSON lines of them (the filtered
    stream's batches, twarc files, ``twarc2 flatten`` lines).

    Users by id and username wherever a user object is (``includes.users``, an inlined ``author``,
    ``entities.mentions``, a user lookup's ``data``); authors of posts and of the posts they
    reference (``author_id`` in ``data`` and ``includes.tweets``); replied-to users
    (``in_reply_to_user_id``); users an ``errors[]`` item reports on. Raises
    :class:`~evidence.connectors.base.UnreadableBody` for a body that is not JSON.
    """
    names: set[Named] = set()
    for item in (o for document in json_documents(body) for o in objects(document)):
        username = text_of(item.get("username"))
        if username:  # a user object, an inlined author, a mention
            names.add(Named("x", text_of(item.get("id")), username))
        for key in ("author_id", "in_reply_to_user_id"):
            if text_of(item.get(key)):
                names.add(Named("x", text_of(item[key])))
        if item.get("resource_type") == "user":  # an error about a user, asked for by id or by username
            asked = text_of(item.get("resource_id")) or text_of(item.get("value"))
            by_name = "username" in text_of(item.get("parameter"))
            names.add(Named("x", handle=asked) if by_name else Named("x", asked))
    return frozenset(names)


def accounts_in_post(raw: Any, url: str = "") -> frozenset[Named]:
    """Every account one stored X post names: a v2 post object with its ``author`` inlined (what
    :func:`tweet_record` keeps, live or from a twarc file; the filtered stream adds ``matching_rules``).

    As :func:`accounts_named` (its author, ``entities.mentions``, ``in_reply_to_user_id``), and the
    author of each post it references: a quoted or retweeted post (or one it replies to without an
    ``in_reply_to_user_id``) whose author the item does not carry names someone it cannot name, who
    counts as not the member. Raises :class:`~evidence.connectors.base.UnreadableBody` for anything
    that is not a post object.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str) or not text_of(raw.get("author_id")):
        raise UnreadableBody("not an X post object (no 'text' and 'author_id')")
    names = set(accounts_named(canonical_json(raw)))
    replied_to = bool(text_of(raw.get("in_reply_to_user_id")))
    references = raw.get("referenced_tweets")
    for reference in references if isinstance(references, list) else []:
        if not isinstance(reference, dict):
            continue
        authored = text_of(reference.get("author_id")) or isinstance(reference.get("author"), dict)
        if not authored and not (reference.get("type") == "replied_to" and replied_to):
            names.add(Named("x"))  # someone's post, by an author the item does not say
    return frozenset(names)
