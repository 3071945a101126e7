"""X API v2 user timelines: the posts of accounts named in the query, newest first.

The good use is following the accounts members *declared* (no trawling): the query lists them,
comma- or space-separated, as numeric user ids or ``@handles``. A handle is resolved once with
``GET /2/users/by/username/:username`` (that exchange is kept as evidence too); then
``GET /2/users/:id/tweets`` is paged with ``pagination_token`` / ``meta.next_token``. X serves
only an account's 3,200 most recent posts this way (replies and reposts included, even when
``exclude`` drops them from the results); the window (``start_time``/``end_time``) or a
``since_id`` keeps scheduled runs incremental.

Reposts, quotes and replies keep their kind and parent: the responses are the same v2 shape as
search and go through :func:`evidence.connectors.x.derive_response`. Accounts that do not exist,
are suspended or protected are skipped with the reason, and the next account is collected.
The cursor names the account and page token, so a stopped run resumes exactly where it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from evidence.connectors.http import ApiConnector, ClientOptions, Fetched, ResourceGone
from evidence.connectors.page import Cursor, Derived, Page, Query, Skipped
from evidence.connectors.text import iso
from evidence.connectors.x import EXPANSIONS, TWEET_FIELDS, USER_FIELDS, derive_response, next_token

EXCLUDABLE = ("replies", "retweets")
MAX_TIMELINE = 3200  # X serves no more of an account's posts through this endpoint
_HANDLE = re.compile(r"^@?([A-Za-z0-9_]{1,15})$")
_ID = re.compile(r"^\d{1,19}$")


def accounts(text: str) -> list[str]:
    """The accounts a query names: numeric ids or handles (without ``@``); ValueError names a bad one."""
    found: list[str] = []
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        if _ID.match(item):
            found.append(item)
            continue
        handle = _HANDLE.match(item)
        if not handle:
            raise ValueError(f"{item!r} is not an X user id or @handle (letters, digits and _, at most 15)")
        found.append("@" + handle.group(1))
    if not found:
        raise ValueError("a timeline query names the accounts to follow: @handle or user id, comma-separated")
    return list(dict.fromkeys(found))


class XTimeline(ApiConnector):
    """``GET /2/users/:id/tweets`` for each account in the query, in order."""

    name = "x_timeline"
    version = "1"
    platform = "x"

    def __init__(
        self,
        bearer_token: str,
        *,
        base_url: str = "https://api.x.com",
        max_results: int = 100,
        exclude: str | list[str] = "",
        since_id: str = "",
        options: ClientOptions | None = None,
    ) -> None:
        super().__init__({"Authorization": f"Bearer {bearer_token}"}, options)
        self.base = base_url.rstrip("/")
        self.max_results = min(100, max(5, int(max_results)))  # the endpoint accepts 5 to 100
        parts = exclude.split(",") if isinstance(exclude, str) else list(exclude)
        self.exclude = [p.strip() for p in parts if p.strip()]
        unknown = [p for p in self.exclude if p not in EXCLUDABLE]
        if unknown:
            raise ValueError(f"exclude takes {' and/or '.join(EXCLUDABLE)}, not {', '.join(unknown)}")
        if since_id and not _ID.match(since_id):
            raise ValueError(f"since_id must be a post id (digits), not {since_id!r}")
        self.since_id = since_id

    def pages(self, query: Query, cursor: Cursor | None = None) -> Iterator[Page]:
        names = accounts(query.text)
        state: Cursor = dict(cursor or {})
        index, page_no = int(state.get("account", 0)), int(state.get("page", 0))
        user_id: str | None = state.get("user_id")
        token: str | None = state.get("pagination_token")
        window = self._window_params(query)
        while index < len(names):
            name = names[index]
            if user_id is None and not name.startswith("@"):
                user_id = name
            if user_id is None:
                page_no += 1
                fetched, derived, user_id = self._resolve(name[1:])
                if user_id is None:  # gone, suspended or protected: skipped, on to the next account
                    index += 1
                    yield self._page(fetched, derived, index, len(names), {"account": index, "page": page_no})
                    continue
                yield Page.of(fetched.exchange, derived, {"account": index, "user_id": user_id, "page": page_no},
                              fetched.attempts)  # fmt: skip
            page_no += 1
            fetched, body = self._timeline(user_id, token, window)
            token = next_token(body)
            derived = derive_response(body, f"page {page_no}")
            if token:
                state = {"account": index, "user_id": user_id, "pagination_token": token, "page": page_no}
            else:
                index, user_id = index + 1, None
                state = {"account": index, "page": page_no}
            yield self._page(fetched, derived, index, len(names), state)

    @staticmethod
    def _page(fetched: Fetched, derived: Derived, index: int, total: int, state: Cursor) -> Page:
        return Page.of(fetched.exchange, derived, state if index < total else None, fetched.attempts)

    def _resolve(self, handle: str) -> tuple[Fetched, Derived, str | None]:
        url = f"{self.base}/2/users/by/username/{quote(handle)}"
        try:
            fetched = self.http.get(url, {"user.fields": USER_FIELDS})
        except ResourceGone as gone:
            fetched = Fetched(gone.exchange, gone.attempts)
            return fetched, Derived(skipped=(Skipped(f"user:@{handle}", f"X: @{handle} not found ({gone})"),)), None
        derived = derive_user_lookup(fetched.json(), handle)
        user = fetched.json().get("data") if not derived.skipped else None
        return fetched, derived, str(user["id"]) if isinstance(user, dict) else None

    def _timeline(self, user_id: str, token: str | None, window: dict[str, str]) -> tuple[Fetched, Any]:
        params = {
            "max_results": str(self.max_results),
            "tweet.fields": TWEET_FIELDS,
            "expansions": EXPANSIONS,
            "user.fields": USER_FIELDS,
        }
        if self.exclude:
            params["exclude"] = ",".join(self.exclude)
        if token:
            params["pagination_token"] = token
        url = f"{self.base}/2/users/{user_id}/tweets"
        try:
            fetched = self.http.get(url, {**params, **window})
        except ResourceGone as gone:
            return Fetched(gone.exchange, gone.attempts), {"errors": [_gone_user(user_id, str(gone))]}
        return fetched, fetched.json()

    def _window_params(self, query: Query) -> dict[str, str]:
        """The query's window as X parameters; a configured since_id takes precedence on X's side."""
        if self.since_id:
            return {"since_id": self.since_id}
        window: dict[str, str] = {}
        if query.since:
            window["start_time"] = iso(query.since)
        if query.until:
            window["end_time"] = iso(query.until)
        return window


def _gone_user(user_id: str, reason: str) -> dict[str, str]:
    return {
        "resource_type": "user",
        "resource_id": user_id,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
        "detail": reason,
    }


def derive_user_lookup(body: Any, handle: str) -> Derived:
    """A handle's lookup: nothing to store when the account is usable, else why it is skipped."""
    user = body.get("data") if isinstance(body, dict) else None
    if isinstance(user, dict) and isinstance(user.get("id"), str):
        if user.get("protected") is True:
            return Derived(skipped=(Skipped(f"user:{user['id']}", "account is protected"),))
        return Derived()
    errors = body.get("errors") if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    reason = str(first.get("detail") or first.get("title") or "not found")
    return Derived(skipped=(Skipped(f"user:@{handle}", f"X: @{handle}: {reason}"),))


def derive_exchange(url: str, body: bytes, prefix: str) -> Derived:
    """Re-derive a stored exchange of this connector (a handle lookup or a timeline page)."""
    data = json.loads(body)
    path = urlsplit(url).path
    if "/users/by/username/" in path:
        return derive_user_lookup(data, unquote(path.rstrip("/").rsplit("/", 1)[1]))
    return derive_response(data, prefix)
