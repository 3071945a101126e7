"""Helpers for connector tests: client options on a fake clock, and running a connector."""

from __future__ import annotations

import random
from collections.abc import Iterable
from itertools import islice

from evidence.connectors.base import PostRecord, canonical_sha256
from evidence.connectors.http import ClientOptions, RetryPolicy
from evidence.connectors.page import Connector, Cursor, Entity, Page, Query, RichPost
from evidence.tests.fakes.server import FakeClock


def options(clock: FakeClock, timeout: float = 2.0, **policy: float) -> ClientOptions:
    return ClientOptions(
        policy=RetryPolicy(**policy),  # type: ignore[arg-type]
        timeout=timeout,
        clock=clock.time,
        sleep=clock.sleep,
        rng=random.Random(7),
    )


def collect(connector: Connector, query: Query, cursor: Cursor | None = None, limit: int | None = None) -> list[Page]:
    """All pages (or the first ``limit``) of a query, from ``cursor``."""
    return list(islice(connector.pages(query, cursor), limit))


def ids(pages: Iterable[Page]) -> list[str]:
    return [record.post.platform_id for page in pages for record in page.records]


def digests(pages: Iterable[Page]) -> list[tuple[str, str, str]]:
    """What must be identical between an uninterrupted run and a resumed one."""
    return [
        (r.post.platform_id, r.sha256 or canonical_sha256(r.raw), r.position) for page in pages for r in page.records
    ]


def entities(post: PostRecord) -> tuple[Entity, ...]:
    assert isinstance(post, RichPost)
    return post.entities
