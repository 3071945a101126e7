"""What a connector yields: pages of normalised records, each with the exchange it came from.

A connector is a class with ``name``, ``version``, ``platform`` and ``pages(query, cursor)``. Each
:class:`Page` carries the raw :class:`~evidence.connectors.http.Exchange` (the evidence), what was
derived from it (records, rejected items, deletions, items skipped by policy) and the cursor to
resume from *after* this page. Storing a page's rows and its cursor in one transaction makes a
crashed run, resumed, identical to an uninterrupted one. ``cursor is None`` means the query is done.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from evidence.connectors.base import PostRecord, Record, Rejected
from evidence.connectors.http import Exchange

Cursor = dict[str, Any]  # JSON-serialisable; stored as CollectionRun.cursor


@dataclass(frozen=True, slots=True)
class Query:
    """A time-sliced query window. ``text`` is the platform query (a page id for Facebook)."""

    text: str
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Entity:
    """A mention, link or tag in a post, with *code point* offsets into ``PostRecord.text``.

    Platforms count differently (X code points, Bluesky UTF-8 bytes, Facebook UTF-16 units); the
    connectors convert, so ``text[start:end]`` is always the entity's surface form. -1 when the
    platform gives no offsets (Mastodon).
    """

    kind: str  # "mention" | "link" | "tag"
    value: str  # mention: the platform id (or handle); link: the URL; tag: without '#'
    start: int = -1
    end: int = -1


@dataclass(frozen=True, slots=True)
class RichPost(PostRecord):
    """A :class:`PostRecord` with the entities found in it."""

    entities: tuple[Entity, ...] = ()


@dataclass(frozen=True, slots=True)
class Deletion:
    """The platform reports this object gone or no longer public: mark it deleted, keep the row.

    With ``whole_account`` the id is an account's (deleted, taken down, suspended): every post of
    that account we hold is marked.
    """

    platform_id: str
    reason: str
    whole_account: bool = False


@dataclass(frozen=True, slots=True)
class Skipped:
    """An item deliberately not collected (a policy, such as an account's ``noindex``), with why.

    Its content is not kept: that is the point of skipping. Runs count and show these.
    """

    platform_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Derived:
    """Everything normalised out of one response body."""

    records: tuple[Record, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    deletions: tuple[Deletion, ...] = ()
    skipped: tuple[Skipped, ...] = ()


@dataclass(frozen=True, slots=True)
class Page:
    exchange: Exchange | None  # None for file imports, whose evidence is the file itself
    records: tuple[Record, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    deletions: tuple[Deletion, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    cursor: Cursor | None = None  # where to resume after this page; None when the query is done
    attempts: tuple[Exchange, ...] = field(default=())  # failed attempts (429, 5xx) before this one

    @classmethod
    def of(
        cls, exchange: Exchange | None, derived: Derived, cursor: Cursor | None, attempts: tuple[Exchange, ...] = ()
    ) -> Page:
        return cls(exchange, derived.records, derived.rejected, derived.deletions, derived.skipped, cursor, attempts)


class Connector(Protocol):
    name: str
    version: str
    platform: str

    def pages(self, query: Query, cursor: Cursor | None = None) -> Iterator[Page]: ...


def raw_text(item: Any, limit: int = 10_000) -> str:
    """The quarantined form of a raw item: its JSON (or text), truncated so one bad item stays small."""
    text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False, sort_keys=True, default=str)
    return text[:limit]
