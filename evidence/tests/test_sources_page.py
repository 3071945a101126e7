"""The Sources pages: need-to-know, counts, quarantined items, unlinkable evidence, "collect now"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from evidence.models import CollectionRun, Quarantine, Source
from oversight.models import AuditEvent
from oversight.purposes import default_purpose

pytestmark = pytest.mark.django_db

STARTED = datetime(2026, 11, 20, 9, tzinfo=UTC)


def _source(name: str, **run: object) -> Source:
    source = Source.objects.create(
        name=name, platform="x", connector="x_search", query=f"#{name}", every_minutes=60, purpose=default_purpose()
    )
    defaults = {"connector": "x_search", "connector_version": "1", "started_at": STARTED, "status": "done"}
    CollectionRun.objects.create(source=source, **{**defaults, **run})
    return source


def _login(client, cast, name):
    client.force_login(cast[name])
    return client


def test_operators_see_each_source_with_its_last_run_counts_and_errors(client, cast):
    _source("alpha", imported=120, duplicates=7, quarantined=2, deleted=1)
    _source("beta", status="stopped", stop_action="stop_auth", error="X rejected the bearer token (401)")

    page = _login(client, cast, "olivia").get(reverse("evidence-sources")).content.decode()

    assert "alpha" in page and "<td>120</td>" in page and "<td>7</td>" in page
    assert "X rejected the bearer token (401)" in page and "Stopped" in page


def test_the_list_costs_the_same_queries_for_two_sources_or_twenty(client, cast, django_assert_num_queries):
    for i in range(2):
        _source(f"s{i}")
    client = _login(client, cast, "lena")
    with django_assert_num_queries(6) as two:
        client.get(reverse("evidence-sources"))
    for i in range(2, 20):
        _source(f"s{i}", error=f"error {i}")
    with django_assert_num_queries(len(two.captured_queries)):
        response = client.get(reverse("evidence-sources"))
    assert response.content.decode().count("<tr>") == 21


def test_oversight_sees_counts_but_not_queries_errors_or_runs(client, cast):
    source = _source("alpha", imported=120, error="something went wrong")
    run = source.runs.get()
    client = _login(client, cast, "otto")

    page = client.get(reverse("evidence-sources")).content.decode()

    assert "<td>120</td>" in page and "something went wrong" not in page and "#alpha" not in page
    assert client.get(reverse("evidence-source", args=[source.pk])).status_code == 403
    assert client.get(reverse("evidence-run", args=[run.pk])).status_code == 403


def test_reviewers_do_not_see_sources(client, cast):
    _source("alpha")
    assert _login(client, cast, "rita").get(reverse("evidence-sources")).status_code == 403


def test_a_run_shows_its_quarantined_items_with_position_and_reason_and_the_view_is_audited(client, cast):
    source = _source("alpha", quarantined=1, unlinkable=14)
    run = source.runs.get()
    Quarantine.objects.create(run=run, origin="alpha", position="page 2 data[4]", reason="'text' missing", raw="{}")

    page = _login(client, cast, "olivia").get(reverse("evidence-run", args=[run.pk])).content.decode()

    assert "page 2 data[4]" in page and "&#x27;text&#x27; missing" in page
    assert "14 posts came without an author" in page and "cannot be linked" in page
    assert AuditEvent.objects.filter(action="evidence.run_viewed", actor="olivia", object_id=str(run.pk)).exists()


def test_an_operator_collects_now_and_sees_the_job_queued(client, cast, django_capture_on_commit_callbacks):
    source = _source("alpha")
    client = _login(client, cast, "olivia")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("evidence-collect", args=[source.pk]), follow=True)

    page = response.content.decode()
    assert "Collection of alpha queued" in page and "Queued for a worker" in page
    assert 'http-equiv="refresh"' in page
    [job] = DBTaskResult.objects.all()
    assert job.status == "READY" and job.args_kwargs["args"] == [source.pk, "ui"]
    source.refresh_from_db()
    assert source.queued_at is not None and source.queued_at <= timezone.now()


def test_leads_may_look_but_not_start_a_collection(client, cast):
    source = _source("alpha")
    client = _login(client, cast, "lena")

    assert "Collect now" not in client.get(reverse("evidence-source", args=[source.pk])).content.decode()
    assert client.post(reverse("evidence-collect", args=[source.pk])).status_code == 403
    assert not DBTaskResult.objects.exists()


def test_the_source_page_names_the_credential_variable_never_a_token(client, cast):
    source = _source("alpha")
    Source.objects.filter(pk=source.pk).update(credential_env="X_BEARER_TOKEN_ORG")

    page = _login(client, cast, "olivia").get(reverse("evidence-source", args=[source.pk])).content.decode()

    assert "X_BEARER_TOKEN_ORG" in page
