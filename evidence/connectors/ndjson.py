"""assay's normalised NDJSON post format: one JSON object per line.

    {"platform": "x", "id": "1790000000000000001", "kind": "reply", "parent_id": "1789...",
     "text": "…", "lang": "en", "url": "https://x.com/…", "created_at": "2026-05-01T12:00:00Z",
     "author": {"id": "42", "handle": "jsmith_84", "name": "John Smith", "bio": "…",
                "location": "Leeds", "url": "…"}}

Required: ``platform``, ``id``, ``text`` (may be empty). ``author`` may be absent when the
platform withholds it; such posts are evidence that cannot be linked. The whole object is kept
as the raw evidence; its canonical sha256 is computed here. See docs/formats.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from evidence.connectors.base import (
    KINDS,
    PLATFORMS,
    AccountRecord,
    Named,
    PostRecord,
    Record,
    RecordError,
    Rejected,
    UnreadableBody,
    canonical,
    canonical_json,
    json_documents,
    needs_scrub,
    scrub,
    text_of,
)
from evidence.connectors.page import Derived

NAME = "ndjson"
VERSION = "1.0"
MAX_LINE_BYTES = 1_000_000
_RAW_KEEP = 10_000  # characters of a rejected line kept in quarantine


def _str_field(obj: dict[str, Any], key: str, *, required: bool = False, where: str = "") -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise RecordError(f"missing required field {where}{key!r}")
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise RecordError(f"field {where}{key!r} must be a string, not {type(value).__name__}")
    return value


def _datetime_field(obj: dict[str, Any], key: str) -> datetime | None:
    raw = _str_field(obj, key)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise RecordError(f"field {key!r} is not an ISO 8601 date-time: {raw[:40]!r}") from None
    if value.tzinfo is None:
        raise RecordError(f"field {key!r} has no time zone (use Z or +00:00): {raw[:40]!r}")
    return value


def parse_item(obj: Any, position: str = "") -> Record:
    """Normalise one decoded object; raises RecordError naming the bad field."""
    if not isinstance(obj, dict):
        raise RecordError(f"expected a JSON object, got {type(obj).__name__}")
    platform = _str_field(obj, "platform", required=True)
    if platform not in PLATFORMS:
        raise RecordError(f"unknown platform {platform!r} (expected one of {', '.join(sorted(PLATFORMS))})")
    platform_id = _str_field(obj, "id", required=True)
    if not platform_id:
        raise RecordError("field 'id' is empty")
    if "text" not in obj:
        raise RecordError("missing required field 'text'")
    kind = _str_field(obj, "kind") or "post"
    if kind not in KINDS:
        raise RecordError(f"unknown kind {kind!r} (expected one of {', '.join(sorted(KINDS))})")
    post = PostRecord(
        platform=platform,
        platform_id=platform_id,
        text=_str_field(obj, "text"),
        kind=kind,
        parent_platform_id=_str_field(obj, "parent_id"),
        lang=_str_field(obj, "lang")[:16],
        url=_str_field(obj, "url")[:500],
        created_at=_datetime_field(obj, "created_at"),
    )
    account = None
    author = obj.get("author")
    if author is not None:
        if not isinstance(author, dict):
            raise RecordError(f"field 'author' must be an object, not {type(author).__name__}")
        account = AccountRecord(
            platform=platform,
            platform_id=_str_field(author, "id", required=True, where="author."),
            handle=_str_field(author, "handle", where="author.").lstrip("@")[:255],
            display_name=_str_field(author, "name", where="author.")[:255],
            bio=_str_field(author, "bio", where="author."),
            location=_str_field(author, "location", where="author.")[:255],
            url=_str_field(author, "url", where="author.")[:500],
        )
    raw_json, sha256 = canonical(obj)
    return Record(post=post, account=account, raw=obj, position=position, sha256=sha256, raw_json=raw_json)


def read(stream: IO[bytes], *, start_line: int = 0) -> Iterator[tuple[int, Record | Rejected]]:
    """Yield (line number, Record or Rejected) for each non-blank line after ``start_line``."""
    for number, line in enumerate(stream, start=1):
        if number <= start_line or not line.strip():
            continue
        position = f"line {number}"
        if len(line) > MAX_LINE_BYTES:
            yield number, Rejected(position, f"line longer than {MAX_LINE_BYTES} bytes", "")
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, Rejected(position, f"not UTF-8 ({exc.reason} at byte {exc.start})", repr(line[:_RAW_KEEP]))
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield number, Rejected(position, f"invalid JSON: {exc.msg} at column {exc.colno}", text[:_RAW_KEEP])
            continue
        if needs_scrub(text):
            obj = scrub(obj)
        try:
            yield number, parse_item(obj, position)
        except RecordError as exc:
            yield number, Rejected(position, str(exc), text[:_RAW_KEEP])


class NdjsonLines:
    """:func:`read` in the shape of the other file readers: ``(line number, Derived)`` per line."""

    def read(self, stream: IO[bytes], start_line: int = 0) -> Iterator[tuple[int, Derived]]:
        for number, item in read(stream, start_line=start_line):
            if isinstance(item, Record):
                yield number, Derived(records=(item,))
            else:
                yield number, Derived(rejected=(item,))


def accounts_named(body: bytes, url: str = "") -> frozenset[Named]:
    """Every account a file (or line) of assay's normalised NDJSON names: each post's ``author``, by
    ``id`` and ``handle`` on the line's platform (the format carries no other account). A post
    without ``author`` is someone's data with no name: it counts as an account. Raises
    :class:`~evidence.connectors.base.UnreadableBody` for a line that is not a JSON object.
    """
    names: set[Named] = set()
    for number, item in enumerate(json_documents(body), start=1):
        if not isinstance(item, dict):
            raise UnreadableBody(f"item {number} is not a JSON object")
        author = item.get("author")
        author = author if isinstance(author, dict) else {}
        handle = text_of(author.get("handle")).lstrip("@")
        names.add(Named(text_of(item.get("platform")), text_of(author.get("id")), handle))
    return frozenset(names)


_FIELDS = frozenset({"platform", "id", "text", "kind", "parent_id", "lang", "url", "created_at", "author"})
_AUTHOR_FIELDS = frozenset({"id", "handle", "name", "bio", "location", "url"})


def accounts_in_item(raw: Any, url: str = "") -> frozenset[Named]:
    """Every account one stored post of assay's normalised NDJSON names: its ``author`` (none: someone
    unnamed), and, for a post with a ``parent_id`` (a reply, repost, quote or comment), the parent's
    author, whom the format does not name (someone who counts as not the member). Raises
    :class:`~evidence.connectors.base.UnreadableBody` for an object with fields the format does not
    define (the whole object is stored, so they could hold anyone's data) or that is no object."""
    if not isinstance(raw, dict):
        raise UnreadableBody("not a JSON object")
    author = raw.get("author")
    extra = set(raw) - _FIELDS | (set(author) - _AUTHOR_FIELDS if isinstance(author, dict) else set())
    if extra:
        raise UnreadableBody(f"fields the format does not define: {', '.join(sorted(extra))}")
    names = set(accounts_named(canonical_json(raw)))
    if text_of(raw.get("parent_id")):
        names.add(Named(text_of(raw.get("platform"))))
    return frozenset(names)
