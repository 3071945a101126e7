"""`assay retention`: what is past its window is purged (or deleted), holds excepted; dry run by default."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from criteria.models import Hit
from evidence.models import Account, AccountObservation, Exchange, Post
from oversight.models import AuditEvent
from oversight.retention import run_retention
from review.models import Case, Decision
from review.services import triage
from review.tests.privacy import close_case
from review.tests.world import World

LATER = timedelta(days=400)


def _result(results: list[Any], key: str) -> Any:
    return next(r for r in results if r.rule.key == key)


def _old_unmatched_post(world: World, days: int = 100) -> Post:
    post = world.post(world.accounts["anon"], "a harmless post about the weather")
    Post.objects.filter(pk=post.pk).update(collected_at=timezone.now() - timedelta(days=days), sha256="a" * 64)
    return Post.objects.get(pk=post.pk)


@pytest.mark.django_db
def test_a_dry_run_counts_and_changes_nothing(world: World) -> None:
    post = _old_unmatched_post(world)
    fresh = world.post(world.accounts["anon"], "collected today")

    results = run_retention(apply=False)

    assert _result(results, "evidence.unmatched_posts").due == 1
    assert Post.objects.get(pk=post.pk).text == "a harmless post about the weather"
    assert Post.objects.get(pk=fresh.pk).purged_at is None
    assert not AuditEvent.objects.filter(action="retention.applied").exists()


@pytest.mark.django_db
def test_apply_purges_text_and_raw_keeps_the_sha256_and_a_second_run_changes_nothing(world: World) -> None:
    post = _old_unmatched_post(world)

    first = run_retention(apply=True)
    second = run_retention(apply=True)

    purged = Post.objects.get(pk=post.pk)
    assert (purged.text, purged.raw, purged.url) == ("", {}, "")
    assert purged.sha256 == "a" * 64 and purged.purged_at is not None
    assert (purged.platform_id, purged.collected_at) == (post.platform_id, post.collected_at)
    assert _result(first, "evidence.unmatched_posts").done == 1
    assert _result(second, "evidence.unmatched_posts").due == 0
    events = AuditEvent.objects.filter(action="retention.applied").order_by("seq")
    assert events.count() == 2
    assert events[0].data["counts"]["evidence.unmatched_posts"] == {"due": 1, "held": 0, "purged": 1}
    assert "weather" not in str(events[0].data)


@pytest.mark.django_db
def test_a_page_is_emptied_once_every_post_from_it_is_purged(world: World) -> None:
    now = timezone.now()
    page = Exchange.objects.create(
        run=world.run, seq=1, role="page", method="GET", url="https://api.x.example/2/tweets/search/recent",
        status=200, body=b'{"data": [{"text": "a harmless post"}]}', retrieved_at=now - timedelta(days=100),
        connector="x_search", connector_version="1", sha256="b" * 64,
    )  # fmt: skip
    post = _old_unmatched_post(world)
    Post.objects.filter(pk=post.pk).update(exchange=page)

    run_retention(apply=True)

    page.refresh_from_db()
    assert (bytes(page.body), page.sha256) == (b"", "b" * 64)
    assert page.purged_at is not None


@pytest.mark.django_db
def test_posts_under_an_open_case_or_awaiting_triage_are_held(hits: World) -> None:
    long_ago = timezone.now() - timedelta(days=60)
    Post.objects.update(deleted_at=long_ago, deleted_reason="deleted")
    triage()  # every post but the authorless one is now in an open case; that one's hit awaits nothing

    results = run_retention(apply=True)

    deleted = _result(results, "evidence.deleted_posts")
    assert (deleted.held, deleted.done) == (5, 0)
    assert not Post.objects.filter(purged_at__isnull=False).exists()


@pytest.mark.django_db
def test_a_closed_no_breach_case_expires_with_its_decisions_hits_and_post_text(
    hits: World, cast: dict[str, Any]
) -> None:
    triage()
    case = close_case(hits.members["alice"], cast, "no_breach")
    alice_posts = list(Post.objects.filter(account=hits.accounts["alice_x"]).values_list("pk", flat=True))

    early = run_retention(apply=True)
    later = run_retention(apply=True, now=timezone.now() + LATER)

    assert _result(early, "review.closed_cases").due == 0
    assert _result(later, "review.closed_cases").done == 1
    assert not Case.objects.filter(pk=case.pk).exists()
    assert not Decision.objects.filter(case_id=case.pk).exists()
    assert not Hit.objects.filter(post_id__in=alice_posts).exists()
    assert set(Post.objects.filter(pk__in=alice_posts).values_list("text", flat=True)) == {""}
    assert Case.objects.filter(account=hits.accounts["bobby"]).exists()  # still open: untouched


@pytest.mark.django_db
def test_an_adverse_case_is_kept_for_its_window_and_never_inside_the_appeal_window(
    hits: World, cast: dict[str, Any], settings: Any
) -> None:
    triage()
    case = close_case(hits.members["alice"], cast, "warning")
    settings.RETENTION_ADVERSE_CASE_DAYS = 5

    in_window = run_retention(apply=True, now=timezone.now() + timedelta(days=10))
    after = run_retention(apply=True, now=timezone.now() + timedelta(days=40))

    assert (_result(in_window, "review.adverse_cases").held, _result(in_window, "review.adverse_cases").done) == (1, 0)
    assert _result(after, "review.adverse_cases").done == 1
    assert not Case.objects.filter(pk=case.pk).exists()


@pytest.mark.django_db
def test_the_command_shows_a_table_and_needs_apply(world: World) -> None:
    post = _old_unmatched_post(world)
    dry, applied = StringIO(), StringIO()

    call_command("retention", stdout=dry)
    assert Post.objects.get(pk=post.pk).purged_at is None
    call_command("retention", "--apply", stdout=applied)

    assert "dry run" in dry.getvalue() and "posts that matched no rule" in dry.getvalue()
    assert "would be purged: 1" in dry.getvalue()
    assert "(applied)" in applied.getvalue() and "1 purged" in applied.getvalue()
    assert Post.objects.get(pk=post.pk).purged_at is not None


@pytest.mark.django_db
def test_a_window_of_zero_days_is_a_clear_error(world: World, settings: Any) -> None:
    settings.RETENTION_QUARANTINE_DAYS = 0

    with pytest.raises(CommandError, match="ASSAY_RETENTION_QUARANTINE_DAYS=0: a retention window must be at least 1"):
        call_command("retention")


@pytest.mark.django_db
def test_an_idle_accounts_profile_goes_once_its_posts_are_purged_unless_it_is_linked(world: World) -> None:
    idle, linked = world.account("idle_one"), world.accounts["alice_x"]
    long_ago = timezone.now() - timedelta(days=100)
    for account in (idle, linked):
        AccountObservation.objects.create(account=account, handle=account.handle, observed_at=long_ago)
        world.post(account, "nothing to see")
    Account.objects.update(display_name="Some Name", bio="my bio", last_seen=long_ago)
    Post.objects.update(collected_at=long_ago)

    results = run_retention(apply=True)
    again = run_retention(apply=True)

    idle.refresh_from_db()
    assert (idle.handle, idle.display_name, idle.bio, idle.platform_id) == ("", "", "", "id-idle_one")
    assert not AccountObservation.objects.filter(account=idle).exists()
    assert Account.objects.get(pk=linked.pk).handle == "alice_x"  # linked to alice: held
    assert _result(results, "evidence.idle_accounts").held >= 1
    assert _result(again, "evidence.idle_accounts").due == 0


@pytest.mark.django_db
def test_audit_events_hold_ids_and_counts_not_posts_or_register_details(
    hits: World, cast: dict[str, Any], tmp_path: Any
) -> None:
    """Retention keeps the audit log whole; this checks the claim that it holds no content to purge."""
    triage()
    close_case(hits.members["alice"], cast, "warning")
    call_command("subject_access", "M-0002", "--out", str(tmp_path / "bob.zip"))
    run_retention(apply=True, now=timezone.now() + LATER)

    logged = str([(e.object_type, e.object_id, e.data) for e in AuditEvent.objects.all()])
    texts = Post.objects.exclude(text="").values_list("text", flat=True)
    for private in ["Archer", "Baker", "Leeds", "York", "alice_x", "bobby", *texts]:
        assert private not in logged
