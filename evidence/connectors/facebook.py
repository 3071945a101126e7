"""Facebook Pages through the Graph API: a page's posts, and the comments on each.

The query text is a page id. Posts page by ``after`` cursors until ``paging.next`` is absent; after
each page of posts come the comments of those posts (``filter=stream``: replies included, oldest
first), each post's comments paged the same way. The cursor says which post's comments are next
and where in them, so a resumed run picks up mid-post.

What is never asked for: reactions, likes, followers or fans, nor any list of who did them. Since
2021 the Graph API gives commenter identity only on pages the organisation manages; through Page
Public Content Access, comments come without ``from`` and without ``id``. Such a comment becomes a
record with ``account=None`` (evidence that cannot be linked to anyone) and an id derived from its
post, time and text, so re-collecting it does not duplicate it.

Meta throttles with error codes 4, 17, 32, 613 (and 80001+) on HTTP 400/403; the client waits for
``estimated_time_to_regain_access``. A post whose comments answer code 100/33 is gone: a deletion.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

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
from evidence.connectors.page import Cursor, Deletion, Derived, Entity, Page, Query, RichPost, raw_text
from evidence.connectors.text import as_dict, parse_time, require_str, sub, utf16_to_index

POST_FIELDS = (
    "id,created_time,updated_time,message,permalink_url,status_type,from,message_tags,comments.summary(true).limit(0)"
)
COMMENT_FIELDS = "id,created_time,message,permalink_url,from,parent{id}"
NEVER = ("likes", "reactions", "followers", "fan_count", "subscribers")  # association is not conduct


@dataclass
class _State:
    page: int = 0
    posts_after: str | None = None
    posts_done: bool = False
    pending: list[str] = field(default_factory=list)  # posts whose comments are still to collect
    comments_after: str | None = None

    def as_cursor(self) -> Cursor | None:
        return None if self.posts_done and not self.pending else dict(vars(self))


class FacebookPage(ApiConnector):
    """Posts of one page (``query.text`` is its id) and the comments on them."""

    name = "facebook_page"
    version = "1"
    platform = "facebook"

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str = "https://graph.facebook.com",
        api_version: str = "v25.0",
        limit: int = 25,
        comments: bool = True,
        options: ClientOptions | None = None,
    ) -> None:
        # The token goes in a header, never the URL: URLs are captured as evidence.
        super().__init__({"Authorization": f"Bearer {access_token}"}, options)
        self.base = f"{base_url.rstrip('/')}/{api_version}"
        self.limit = limit
        self.comments = comments

    def pages(self, query: Query, cursor: Cursor | None = None) -> Iterator[Page]:
        state = _State(**cursor) if cursor else _State()
        while state.pending or not state.posts_done:
            state.page += 1
            if state.pending:
                yield self._comments_page(state)
            else:
                yield self._posts_page(query, state)

    def _posts_page(self, query: Query, state: _State) -> Page:
        params = {"fields": POST_FIELDS, "limit": str(self.limit)}
        if query.since:
            params["since"] = str(int(query.since.timestamp()))
        if query.until:
            params["until"] = str(int(query.until.timestamp()))
        if state.posts_after:
            params["after"] = state.posts_after
        fetched = self.http.get(f"{self.base}/{quote(query.text, safe='')}/posts", params)
        body = as_dict(fetched.json(), "posts response")
        derived = derive_posts(body, f"page {state.page}")
        state.posts_after = next_after(body)
        state.posts_done = state.posts_after is None
        if self.comments:
            state.pending = [r.post.platform_id for r in derived.records if _may_have_comments(r.raw)]
        return Page.of(fetched.exchange, derived, state.as_cursor(), fetched.attempts)

    def _comments_page(self, state: _State) -> Page:
        post_id = state.pending[0]
        params = {"fields": COMMENT_FIELDS, "filter": "stream", "order": "chronological", "limit": str(self.limit)}
        if state.comments_after:
            params["after"] = state.comments_after
        try:
            fetched = self.http.get(f"{self.base}/{quote(post_id, safe='')}/comments", params)
        except ResourceGone as gone:
            state.pending, state.comments_after = state.pending[1:], None
            deletion = Deletion(post_id, f"Facebook: {gone}")
            return Page(gone.exchange, deletions=(deletion,), cursor=state.as_cursor(), attempts=gone.attempts)
        body = as_dict(fetched.json(), "comments response")
        derived = derive_comments(body, f"page {state.page}", post_id)
        state.comments_after = next_after(body)
        if state.comments_after is None:
            state.pending = state.pending[1:]
        return Page.of(fetched.exchange, derived, state.as_cursor(), fetched.attempts)


def next_after(body: dict[str, Any]) -> str | None:
    """The ``after`` cursor, only while there is a next page (``paging.next`` present)."""
    paging = sub(body, "paging")
    after = sub(paging, "cursors").get("after")
    return after if paging.get("next") and isinstance(after, str) and after else None


def _may_have_comments(post: dict[str, Any]) -> bool:
    total = sub(sub(post, "comments"), "summary").get("total_count")
    return not isinstance(total, int) or total > 0


def derive_posts(body: dict[str, Any], prefix: str) -> Derived:
    return _derive(body, prefix, post_record)


def derive_comments(body: dict[str, Any], prefix: str, post_id: str) -> Derived:
    return _derive(body, prefix, lambda item, position: comment_record(item, position, post_id))


def _derive(body: dict[str, Any], prefix: str, make: Any) -> Derived:
    body = scrub(body)  # NUL and lone surrogates: no database stores them
    records: list[Record] = []
    rejected: list[Rejected] = []
    data = body.get("data")
    if not isinstance(data, list):
        return Derived(rejected=(Rejected(prefix, "'data' missing or not a list", raw_text(body)),))
    for i, item in enumerate(data):
        position = f"{prefix} data[{i}]"
        try:
            records.append(make(as_dict(item, "item"), position))
        except RecordError as exc:
            rejected.append(Rejected(position, str(exc), raw_text(item)))
    return Derived(tuple(records), tuple(rejected))


def post_record(item: dict[str, Any], position: str) -> Record:
    post_id = require_str(item, "id")
    text = str(item.get("message") or "")
    post = RichPost(
        platform="facebook",
        platform_id=post_id,
        text=text,
        kind="post",
        url=str(item.get("permalink_url") or ""),
        created_at=parse_time(item.get("created_time"), "created_time"),
        entities=_message_tags(item.get("message_tags"), text),
    )
    return Record(post, _author(item), item, position, canonical_sha256(item))


def comment_record(item: dict[str, Any], position: str, post_id: str) -> Record:
    """A comment; without ``id`` and ``from`` (Page Public Content Access) it has no account."""
    text = item.get("message")
    if not isinstance(text, str):
        raise RecordError("'message' missing or not a string")
    created = parse_time(item.get("created_time"), "created_time")
    comment_id = item.get("id")
    if not isinstance(comment_id, str) or not comment_id:
        digest = hashlib.sha256(f"{item['created_time']}\n{text}".encode()).hexdigest()[:20]
        comment_id = f"{post_id}/comment-sha256:{digest}"
    parent_id = sub(item, "parent").get("id")
    post = RichPost(
        platform="facebook",
        platform_id=comment_id,
        text=text,
        kind="comment",
        parent_platform_id=str(parent_id or post_id),
        url=str(item.get("permalink_url") or ""),
        created_at=created,
        entities=_message_tags(item.get("message_tags"), text),
    )
    return Record(post, _author(item), item, position, canonical_sha256(item))


def _author(item: dict[str, Any]) -> AccountRecord | None:
    author = sub(item, "from")
    if not author.get("id"):
        return None  # withheld by the platform: evidence that cannot be linked
    return AccountRecord(platform="facebook", platform_id=str(author["id"]), display_name=str(author.get("name") or ""))


def _message_tags(tags: Any, text: str) -> tuple[Entity, ...]:
    """Tags with UTF-16 offsets (Graph API) converted to code points."""
    entities: list[Entity] = []
    for tag in tags if isinstance(tags, list) else []:
        if not isinstance(tag, dict):
            continue
        offset, length = tag.get("offset"), tag.get("length")
        kind = "tag" if tag.get("type") == "hashtag" else "mention"
        value = str(tag.get("name", "")).lstrip("#") if kind == "tag" else str(tag.get("id", ""))
        start = end = -1
        if isinstance(offset, int) and isinstance(length, int):
            try:
                start, end = utf16_to_index(text, offset), utf16_to_index(text, offset + length)
            except RecordError:
                start = end = -1
        entities.append(Entity(kind, value, start, end))
    return tuple(entities)


_WHO = ("from", "to", "admin_creator")  # an object, or {"data": [objects]}
_TAGS = ("message_tags", "story_tags", "with_tags", "reactions", "likes")  # lists (or {"data": [...]}) of objects


def accounts_named(body: bytes, url: str = "") -> frozenset[Named]:
    """Every account a Graph API body names (a page's posts, a post's comments, a recheck's answer).

    By id: authors (``from``), addressees (``to``), tags of people, pages and groups in
    ``message_tags``/``story_tags``/``with_tags`` (hashtags are not accounts), and anyone listed
    under ``reactions`` or ``likes`` (never asked for, but a body may carry them). A comment without
    ``from`` (Page Public Content Access withholds who wrote it) is someone's data with no name:
    it counts as an account that is not the member's. Raises
    :class:`~evidence.connectors.base.UnreadableBody` for a body that is not JSON.
    """
    return _names_in([o for document in json_documents(body) for o in objects(document)])


def accounts_in_item(raw: Any, url: str = "") -> frozenset[Named]:
    """Every account one stored Graph API post or comment names, read as :func:`accounts_named`
    reads a page (its author, addressees, people and pages tagged; a comment whose author is
    withheld names someone who counts as not the member). Raises
    :class:`~evidence.connectors.base.UnreadableBody` for anything that is not a post or comment."""
    if not isinstance(raw, dict) or not ({"id", "message"} & raw.keys()) or "created_time" not in raw:
        raise UnreadableBody("not a Facebook post or comment (no 'created_time' with 'id' or 'message')")
    return _names_in(objects(raw))


def _names_in(items: list[dict[str, Any]]) -> frozenset[Named]:
    names: set[Named] = set()
    for item in items:
        for key in _WHO:
            names.update(Named("facebook", text_of(who.get("id"))) for who in _listed(item.get(key)))
        for key in _TAGS:
            tags = [t for t in _listed(item.get(key)) if t.get("type") != "hashtag"]
            names.update(Named("facebook", text_of(tag.get("id"))) for tag in tags)
        if "message" in item and "created_time" in item and not isinstance(item.get("from"), dict):
            names.add(Named("facebook"))  # a post or comment whose author is withheld
    return frozenset(names)


def _listed(value: Any) -> list[dict[str, Any]]:
    """The objects under a key that holds one object, a list of them, ``{"data": [...]}``, or (old
    ``message_tags``) ``{"offset": [...]}``."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    if not isinstance(value, dict):
        return []
    if "id" in value:
        return [value]
    return [v for inner in value.values() if isinstance(inner, list) for v in inner if isinstance(v, dict)]
