"""Evidence's figures for oversight: sources, runs by month, posts, accounts, quarantine, deletions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from evidence.models import Account, CollectionRun, Post, Quarantine, Source
from oversight import figures
from oversight.figures import COMPLEMENT, SMALL, Suppressed

pytestmark = pytest.mark.django_db


def _at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=UTC)


def _value(key: str, min_cell: int = 1) -> Any:
    return figures.evaluate(figures.get(key), min_cell).value


@pytest.fixture
def collected() -> None:
    x = Source.objects.create(name="x search", platform="x", connector="x_search", query="#a")
    Source.objects.create(name="x off", platform="x", connector="x_search", query="#b", enabled=False)
    masto = Source.objects.create(name="masto", platform="mastodon", connector="mastodon_search", query="#c")
    run = {"connector_version": "1", "status": "done"}
    oct_run = CollectionRun.objects.create(
        source=x, connector="x_search", started_at=_at(10, 2), imported=40, quarantined=2, **run
    )
    CollectionRun.objects.create(
        source=masto, connector="mastodon_search", started_at=_at(11, 3), imported=7, **{**run, "status": "failed"}
    )
    CollectionRun.objects.create(source=x, connector="x_compliance", started_at=_at(11, 20), deleted=1, **run)
    CollectionRun.objects.create(source=x, connector="x_context", started_at=_at(11, 21), imported=2, **run)
    accounts = [
        Account.objects.create(
            platform=p, platform_id=f"{p}-{i}", handle=f"h{i}", first_seen=_at(10, 2), last_seen=_at(10, 2)
        )
        for i, p in enumerate(["x"] * 7 + ["mastodon"] * 2)
    ]
    for i, account in enumerate(accounts):
        Post.objects.create(
            platform=account.platform,
            platform_id=f"p{i}",
            account=account,
            text="t",
            collected_at=_at(10, 2),
            run=oct_run,
            raw={},
            sha256="0" * 64,
            deleted_at=_at(11, 20) if i == 0 else None,
        )
    Quarantine.objects.create(run=oct_run, origin="file.ndjson", position="line 3", reason="not JSON", raw="{")
    Quarantine.objects.create(run=oct_run, origin="file.ndjson", position="line 9", reason="no id", raw="{}")


def test_sources_by_platform(collected):
    assert _value("evidence.sources").rows == (("Mastodon", 1, 1), ("X", 2, 1))


def test_runs_by_month_separate_collections_from_rechecks_and_context_fetches(collected):
    assert _value("evidence.runs_by_month").rows == (
        ("2026-10", 1, 0, 0, 0, 40, 2, 0),
        ("2026-11", 1, 1, 1, 1, 9, 0, 1),
    )


def test_posts_accounts_quarantine_and_deletions(collected):
    assert _value("evidence.posts").rows == (("Mastodon", 2, 0), ("X", 7, 1))
    assert _value("evidence.accounts").rows == (("Mastodon", 2), ("X", 7))
    assert _value("evidence.quarantined") == 2
    assert _value("evidence.deletions_by_month").rows == (("2026-11", 1),)


def test_accounts_are_people_so_a_small_platform_is_suppressed(collected):
    assert _value("evidence.accounts", 5).rows == (
        ("Mastodon", Suppressed(SMALL, 5)),
        ("X", Suppressed(COMPLEMENT, 5)),
    )
    # sources and posts are not people: shown as they are
    assert _value("evidence.sources", 5).rows == (("Mastodon", 1, 1), ("X", 2, 1))


def test_sources_by_purpose_with_their_lawful_basis_and_runs(collected):
    from oversight.purposes import DEFAULT_PURPOSE, current

    purpose = current(DEFAULT_PURPOSE)
    Source.objects.filter(name__in=["x search", "x off"]).update(purpose=purpose)
    CollectionRun.objects.filter(connector="x_search").update(purpose=purpose)

    assert _value("evidence.sources_by_purpose").rows == (
        (DEFAULT_PURPOSE, "Art. 6(1)(f) legitimate interests", 2, 1, 1),
        ("(none recorded)", "", 1, 1, 0),
    )
