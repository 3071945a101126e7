"""Each platform's fake, as a Source would point at it: for the collect, worker and page tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from evidence.collect import add_source
from evidence.models import Source
from evidence.tests.fakes import bluesky, facebook, mastodon, x
from evidence.tests.fakes.server import FakeClock, FakeServer, Reply

SINCE = datetime(2025, 12, 1, tzinfo=UTC)
UNTIL = datetime(2026, 1, 1, 9, tzinfo=UTC)


@dataclass(frozen=True)
class Platform:
    name: str
    connector: str
    query: str
    make: Callable[[FakeClock], FakeServer]
    env: tuple[str, str]  # the credential variable and the fake's token
    path: str  # the path to script failures on
    server_error: Callable[[], Reply]
    options: dict[str, Any] = field(default_factory=dict)
    base_url_needed: bool = False

    def source(self, fake: FakeServer, name: str = "", **extra: Any) -> Source:
        return add_source(
            name or f"{self.name} source",
            connector=self.connector,
            query=self.query,
            base_url=fake.base_url,
            since=SINCE,
            until=UNTIL,
            options={**self.options, **extra.pop("options", {})},
            **extra,
        )


PLATFORMS = {
    "x": Platform(
        "x", "x_search", "#examplehashtag", lambda c: x.XFake(n=25, clock=c), ("X_BEARER_TOKEN", x.TOKEN),
        x.SEARCH, x.XFake.server_error, {"page_size": 10},
    ),
    "bluesky": Platform(
        "bluesky", "bluesky_search", "#examplehashtag", lambda c: bluesky.BlueskyFake(n=30, clock=c),
        ("BLUESKY_ACCESS_JWT", bluesky.TOKEN), bluesky.SEARCH, bluesky.BlueskyFake.upstream_failure, {"page_size": 10},
    ),
    "mastodon": Platform(
        "mastodon", "mastodon_hashtag", "examplehashtag", lambda c: mastodon.MastodonFake(n=20, clock=c),
        ("MASTODON_ACCESS_TOKEN", mastodon.TOKEN), mastodon.TAG, mastodon.MastodonFake.server_error,
        {"page_size": 5},
    ),
    "facebook": Platform(
        "facebook", "facebook_page", facebook.PAGE, lambda c: facebook.FacebookFake(n=9, clock=c),
        ("FACEBOOK_PAGE_TOKEN", facebook.TOKEN), "/posts", facebook.FacebookFake.transient, {"page_size": 3},
    ),
}  # fmt: skip
