"""Files captured elsewhere: twarc NDJSON, Zeeschuimer/4CAT NDJSON exports, and CSV with a mapping.

Each reader normalises exactly as the live connector for that platform does (twarc lines go
through the X API v2 normaliser, Zeeschuimer Bluesky items through the Bluesky one), so a post
imported from a file and collected live is the same record. A malformed line is a
:class:`~evidence.connectors.base.Rejected` with its line number and reason; the rest go on.

Every reader offers ``read(stream, start_line)`` (``(line number, Derived)`` per line, so a caller
can checkpoint at line boundaries; a twarc line holds a whole API page) and ``pages(query, cursor)``
like the API connectors, with ``query.text`` the file's path and the cursor ``{"line": n}``.
"""

from __future__ import annotations

import csv
import io
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
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
    canonical_sha256,
    json_documents,
    loads,
    needs_scrub,
    objects,
    scrub,
    text_of,
)
from evidence.connectors.bluesky import accounts_in_post as bluesky_accounts_in_post
from evidence.connectors.bluesky import names_in as bluesky_names_in
from evidence.connectors.bluesky import post_record as bluesky_post_record
from evidence.connectors.page import Cursor, Derived, Page, Query, RichPost, raw_text
from evidence.connectors.text import as_dict, parse_time, require_str, sub
from evidence.connectors.x import accounts_in_post as x_accounts_in_post
from evidence.connectors.x import accounts_named as x_accounts_named
from evidence.connectors.x import derive_response, tweet_record

MAX_LINE_BYTES = 5_000_000  # a twarc line is a whole API page


class _LineReader(ABC):
    name = ""
    version = "1"
    platform = "file"
    lines_per_page = 1000

    @abstractmethod
    def derive(self, item: Any, position: str) -> Derived:
        """What one decoded line gives: records, rejects, deletions."""

    def read(self, stream: IO[bytes], start_line: int = 0) -> Iterator[tuple[int, Derived]]:
        """(line number, what the line gave) for each non-blank line after ``start_line``."""
        for number, line in enumerate(stream, start=1):
            if number <= start_line or not line.strip():
                continue
            yield number, self._line(line, f"line {number}")

    def pages(self, query: Query, cursor: Cursor | None = None) -> Iterator[Page]:
        start = int((cursor or {}).get("line", 0))
        with Path(query.text).open("rb") as stream:
            yield from _batched(self.read(stream, start), self.lines_per_page, start)

    def _line(self, line: bytes, position: str) -> Derived:
        if len(line) > MAX_LINE_BYTES:
            return _reject(position, f"line longer than {MAX_LINE_BYTES} bytes", "")
        try:
            item = loads(line)
        except UnicodeDecodeError as exc:
            return _reject(position, f"not UTF-8 ({exc.reason} at byte {exc.start})", repr(line[:10_000]))
        except json.JSONDecodeError as exc:
            return _reject(position, f"invalid JSON: {exc.msg} at column {exc.colno}", line.decode(errors="replace"))
        return self.derive(scrub(item) if needs_scrub(line) else item, position)


def _reject(position: str, reason: str, raw: str) -> Derived:
    return Derived(rejected=(Rejected(position, reason, raw[:10_000]),))


def _batched(lines: Iterator[tuple[int, Derived]], size: int, start: int) -> Iterator[Page]:
    """Pages of ``size`` lines, each with the line to resume after; the last page's cursor is None."""
    batch: list[Derived] = []
    last = start
    for number, derived in lines:
        batch.append(derived)
        last = number
        if len(batch) >= size:
            yield _page(batch, {"line": last})
            batch = []
    yield _page(batch, None)


def _page(batch: list[Derived], cursor: Cursor | None) -> Page:
    return Page(
        None,
        tuple(r for d in batch for r in d.records),
        tuple(r for d in batch for r in d.rejected),
        tuple(x for d in batch for x in d.deletions),
        tuple(s for d in batch for s in d.skipped),
        cursor,
    )


class TwarcNdjson(_LineReader):
    """twarc2 output: each line a raw X API v2 response (``data`` + ``includes`` + ``errors``),
    or a line of ``twarc2 flatten`` output (one post with its ``author`` inlined)."""

    name = "twarc_ndjson"

    def derive(self, item: Any, position: str) -> Derived:
        if isinstance(item, dict) and ("data" in item or "meta" in item or "errors" in item):
            return derive_response(item, position, scrubbed=True)  # _line scrubbed it if it had to
        try:
            tweet = as_dict(item, "line")
            return Derived(records=(tweet_record(tweet, {}, position),))
        except RecordError as exc:
            return _reject(position, f"neither an X API v2 response nor a post: {exc}", raw_text(item))


class ZeeschuimerNdjson(_LineReader):
    """Zeeschuimer (and 4CAT's NDJSON export of it): ``{"source_platform", "item_id", "data", …}``
    per line, ``data`` as the website's own JSON. X (web GraphQL tweets) and Bluesky (post views)."""

    name = "zeeschuimer_ndjson"

    def derive(self, item: Any, position: str) -> Derived:
        try:
            envelope = as_dict(item, "line")
            platform = str(envelope.get("source_platform") or "")
            data = as_dict(envelope.get("data"), "'data'")
            if platform in ("twitter.com", "x.com"):
                return Derived(records=(zeeschuimer_tweet(data, position),))
            if platform in ("bsky.app", "bluesky"):
                view = sub(data, "post") or data
                return Derived(records=(bluesky_post_record(view, position),))
            raise RecordError(f"source_platform {platform!r} is not one assay reads (twitter.com, x.com, bsky.app)")
        except RecordError as exc:
            return _reject(position, str(exc), raw_text(item))


def twarc_accounts_named(body: bytes, url: str = "") -> frozenset[Named]:
    """Every account a twarc file (or line) names: its lines are X API v2 responses or flattened
    posts, read as the X connector reads them (:func:`evidence.connectors.x.accounts_named`)."""
    return x_accounts_named(body, url)


def zeeschuimer_accounts_named(body: bytes, url: str = "") -> frozenset[Named]:
    """Every account a Zeeschuimer/4CAT NDJSON file (or line) names.

    X lines (the web app's GraphQL): users (``rest_id`` with ``screen_name``; ``id_str`` with
    ``screen_name`` in ``legacy`` and ``entities.user_mentions``), ``user_id_str``,
    ``in_reply_to_user_id_str`` and ``in_reply_to_screen_name``, in the post and in the retweeted
    and quoted posts nested in it. Bluesky lines: as :func:`evidence.connectors.bluesky.names_in`.
    Raises :class:`~evidence.connectors.base.UnreadableBody` for a line that is not JSON or comes
    from a platform assay does not read.
    """
    names: set[Named] = set()
    for number, envelope in enumerate(json_documents(body), start=1):
        platform = text_of(envelope.get("source_platform")) if isinstance(envelope, dict) else ""
        data = envelope.get("data") if isinstance(envelope, dict) else None
        if platform in ("twitter.com", "x.com"):
            names |= _x_web_names(data)
        elif platform in ("bsky.app", "bluesky"):
            names |= bluesky_names_in(data)
        else:
            raise UnreadableBody(f"item {number}: source_platform {platform!r} is not one assay reads")
    return frozenset(names)


def twarc_accounts_in_post(raw: Any, url: str = "") -> frozenset[Named]:
    """Every account one post imported from a twarc file names: the X connector's stored post
    (:func:`evidence.connectors.x.accounts_in_post`)."""
    return x_accounts_in_post(raw, url)


def zeeschuimer_accounts_in_post(raw: Any, url: str = "") -> frozenset[Named]:
    """Every account one post imported from a Zeeschuimer/4CAT file names: an X web tweet (as
    :func:`zeeschuimer_accounts_named` reads one, and the author of a quoted or replied-to post the
    tweet gives only by id, unnamed) or a Bluesky post view
    (:func:`evidence.connectors.bluesky.accounts_in_post`). Raises
    :class:`~evidence.connectors.base.UnreadableBody` for anything else."""
    tweet = (sub(raw, "tweet") or raw) if isinstance(raw, dict) else {}
    if isinstance(tweet.get("legacy"), dict):
        names = _x_web_names(raw)
        legacy = sub(tweet, "legacy")
        if text_of(legacy.get("quoted_status_id_str")) and not sub(tweet, "quoted_status_result"):
            names.add(Named("x"))  # a quoted post whose author the item does not carry
        if text_of(legacy.get("in_reply_to_status_id_str")) and not text_of(legacy.get("in_reply_to_user_id_str")):
            names.add(Named("x"))  # a post replied to, whose author the item does not carry
        return frozenset(names)
    return bluesky_accounts_in_post(raw, url)


def _x_web_names(data: Any) -> set[Named]:
    names: set[Named] = set()
    for item in objects(data):
        screen_name = text_of(item.get("screen_name"))
        if screen_name:  # a legacy user object, or a mention in entities.user_mentions
            names.add(Named("x", text_of(item.get("id_str")), screen_name))
        rest_id = text_of(item.get("rest_id"))
        if rest_id and (item.get("__typename") == "User" or "screen_name" in sub(item, "core")):
            names.add(Named("x", rest_id, text_of(sub(item, "core").get("screen_name"))))
        for key in ("user_id_str", "in_reply_to_user_id_str"):
            if text_of(item.get(key)):
                names.add(Named("x", text_of(item[key])))
        if text_of(item.get("in_reply_to_screen_name")):
            names.add(Named("x", handle=text_of(item["in_reply_to_screen_name"])))
    return names


def zeeschuimer_tweet(data: dict[str, Any], position: str) -> Record:
    """A tweet as X's web app loads it (GraphQL ``rest_id`` + ``legacy``), as Zeeschuimer saves it."""
    data = sub(data, "tweet") or data  # "TweetWithVisibilityResults" wraps the tweet one level deeper
    legacy = as_dict(data.get("legacy"), "'legacy'")
    post_id = str(data.get("rest_id") or legacy.get("id_str") or "")
    if not post_id:
        raise RecordError("'rest_id' missing")
    text = legacy.get("full_text")
    if not isinstance(text, str):
        raise RecordError("'legacy.full_text' missing or not a string")
    user = sub(sub(sub(data, "core"), "user_results"), "result")
    user_legacy, user_core = sub(user, "legacy"), sub(user, "core")
    author_id = str(legacy.get("user_id_str") or user.get("rest_id") or "")
    if not author_id:
        raise RecordError("'legacy.user_id_str' missing")
    handle = str(user_core.get("screen_name") or user_legacy.get("screen_name") or "")
    if legacy.get("retweeted_status_result"):
        retweeted = sub(sub(legacy, "retweeted_status_result"), "result")
        kind, parent = "repost", str((sub(retweeted, "tweet") or retweeted).get("rest_id") or "")
    elif legacy.get("in_reply_to_status_id_str"):
        kind, parent = "reply", str(legacy["in_reply_to_status_id_str"])
    elif legacy.get("quoted_status_id_str"):
        kind, parent = "quote", str(legacy["quoted_status_id_str"])
    else:
        kind, parent = "post", ""
    post = RichPost(
        platform="x",
        platform_id=post_id,
        text=text,
        kind=kind,
        parent_platform_id=parent,
        lang=str(legacy.get("lang") or ""),
        url=f"https://x.com/{handle or 'i/web'}/status/{post_id}",
        created_at=_twitter_time(legacy.get("created_at")),
    )
    account = AccountRecord(
        platform="x",
        platform_id=author_id,
        handle=handle,
        display_name=str(user_core.get("name") or user_legacy.get("name") or ""),
        bio=str(user_legacy.get("description") or ""),
        location=str(sub(user, "location").get("location") or user_legacy.get("location") or ""),
    )
    return Record(post, account, data, position, canonical_sha256(data))


def _twitter_time(value: Any) -> datetime:
    """X's web format, ``Wed Jan 01 08:41:12 +0000 2026``."""
    try:
        return datetime.strptime(str(value), "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except ValueError:
        raise RecordError(f"'legacy.created_at' is not X's date format: {str(value)[:40]!r}") from None


CSV_FIELDS = frozenset(
    {"id", "text", "kind", "parent_id", "lang", "url", "created_at", "author_id", "author_handle", "author_name"}
)


class CsvFile:
    """CSV with a header row and a column mapping ``{assay field: CSV column}``.

    Fields: ``id`` and ``text`` (required), ``kind``, ``parent_id``, ``lang``, ``url``,
    ``created_at`` (ISO 8601 with a zone), ``author_id``, ``author_handle``, ``author_name``. Without
    ``author_id`` a row has no account. The raw item is the row as a {column: value} object.
    """

    name = "csv"
    version = "1"
    platform = "file"
    lines_per_page = 1000

    def __init__(self, mapping: Mapping[str, str], record_platform: str) -> None:
        unknown = set(mapping) - CSV_FIELDS
        if unknown or not {"id", "text"} <= set(mapping):
            raise ValueError(f"mapping needs 'id' and 'text' and only {sorted(CSV_FIELDS)}; unknown: {sorted(unknown)}")
        if record_platform not in PLATFORMS:
            raise ValueError(f"unknown platform {record_platform!r}")
        self.mapping = dict(mapping)
        self.record_platform = record_platform

    def read(self, stream: IO[bytes], start_line: int = 0) -> Iterator[tuple[int, Derived]]:
        """(line number where the row ends, what it gave) for each row ending after ``start_line``."""
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        reader = csv.DictReader(text)
        missing = set(self.mapping.values()) - set(reader.fieldnames or [])
        if missing:
            yield (
                1,
                _reject(
                    "line 1", f"columns missing from the header: {sorted(missing)}", ",".join(reader.fieldnames or [])
                ),
            )
            return
        try:
            for row in reader:
                if reader.line_num > start_line:
                    yield reader.line_num, self._row(row, f"line {reader.line_num}")
        except (csv.Error, UnicodeDecodeError) as exc:
            yield reader.line_num + 1, _reject(f"line {reader.line_num + 1}", f"unreadable CSV: {exc}", "")
        finally:
            text.detach()

    def pages(self, query: Query, cursor: Cursor | None = None) -> Iterator[Page]:
        start = int((cursor or {}).get("line", 0))
        with Path(query.text).open("rb") as stream:
            yield from _batched(self.read(stream, start), self.lines_per_page, start)

    def _row(self, row: dict[str | Any, Any], position: str) -> Derived:
        if None in row:  # csv puts surplus cells under the key None
            cells = {("(surplus)" if k is None else k): v for k, v in row.items()}
            return _reject(position, "more cells than header columns", raw_text(cells))
        try:
            return Derived(records=(self._record(row, position),))
        except RecordError as exc:
            return _reject(position, str(exc), raw_text(row))

    def _record(self, row: dict[str, str | None], position: str) -> Record:
        values = {field: (row.get(column) or "").strip() for field, column in self.mapping.items()}
        kind = values.get("kind") or "post"
        if kind not in KINDS:
            raise RecordError(f"unknown kind {kind!r} (expected one of {', '.join(sorted(KINDS))})")
        post = PostRecord(
            platform=self.record_platform,
            platform_id=require_str(values, "id"),
            text=values["text"],
            kind=kind,
            parent_platform_id=values.get("parent_id", ""),
            lang=values.get("lang", ""),
            url=values.get("url", ""),
            created_at=parse_time(values["created_at"]) if values.get("created_at") else None,
        )
        account = None
        if values.get("author_id"):
            account = AccountRecord(
                platform=self.record_platform,
                platform_id=values["author_id"],
                handle=values.get("author_handle", "").lstrip("@"),
                display_name=values.get("author_name", ""),
            )
        raw = dict(row)
        return Record(post, account, raw, position, canonical_sha256(raw))
