"""A source collects only under an approved, current purpose; each run records the version it ran under."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from evidence.models import CollectionRun, Source
from evidence.services import import_posts
from evidence.tests.fakes.helpers import options
from evidence.tests.fakes.server import FakeClock
from evidence.tests.platforms import PLATFORMS
from oversight import purposes
from oversight.models import Purpose
from oversight.services import create_user

pytestmark = [pytest.mark.django_db, pytest.mark.no_default_purpose]

X = PLATFORMS["x"]
TERMS = purposes.PurposeTerms("Conduct", "Reviewing public posts", "legitimate_interests", date(2099, 1, 1))


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def fake(clock, monkeypatch):
    monkeypatch.setenv(*X.env)
    with X.make(clock) as server:
        yield server


@pytest.fixture
def _default_approved(oscar):
    purposes.default_purpose()
    purposes.approve(purposes.DEFAULT_PURPOSE, actor=oscar)


@pytest.fixture
def oscar(cast):
    return create_user("oscar", "operator", password="x")


def _collect(clock, name: str) -> str:
    out = StringIO()
    call_command("collect", name, client_options=options(clock), stdout=out)
    return out.getvalue()


def _refused(clock, name: str) -> str:
    """Collect ``name`` expecting a refusal; what the command said on stderr."""
    err = StringIO()
    with pytest.raises(CommandError, match=f"not collected: {name}"):
        call_command("collect", name, client_options=options(clock), stdout=StringIO(), stderr=err)
    return err.getvalue()


def test_a_source_under_an_unapproved_purpose_does_not_collect(cast, fake, clock):
    purposes.record_purpose(TERMS, actor=cast["olivia"])
    source = X.source(fake, purpose="Conduct")

    said = _refused(clock, source.name)
    assert "collecting x source refused: purpose 'Conduct' is not approved" in said
    assert not CollectionRun.objects.exists()


def test_once_approved_it_collects_and_the_run_records_the_version(cast, oscar, fake, clock):
    purposes.record_purpose(TERMS, actor=cast["olivia"])
    source = X.source(fake, purpose="Conduct")
    approved = purposes.approve("Conduct", actor=oscar)

    assert "done" in _collect(clock, source.name)
    run = CollectionRun.objects.get()
    assert run.purpose == approved and run.imported > 0


def test_a_retired_or_overdue_purpose_stops_collection(cast, oscar, fake, clock):
    purposes.record_purpose(TERMS, actor=cast["olivia"])
    purposes.approve("Conduct", actor=oscar)
    source = X.source(fake, purpose="Conduct")
    Purpose.objects.update(review_due=timezone.now().date() - timedelta(days=1))
    assert "purpose 'Conduct' is past its review date" in _refused(clock, source.name)
    Purpose.objects.update(review_due=date(2099, 1, 1))
    purposes.retire("Conduct", actor=oscar)
    assert "purpose 'Conduct' is retired" in _refused(clock, source.name)
    assert not CollectionRun.objects.exists()


def test_a_source_with_no_purpose_does_not_collect(cast, fake, clock):
    Source.objects.create(name="legacy", platform="x", connector="x_search", query="#a", base_url=fake.base_url)
    assert "collecting legacy refused: no purpose is recorded" in _refused(clock, "legacy")


def test_sources_add_names_its_purpose_and_says_when_it_cannot_collect_yet(cast):
    purposes.record_purpose(TERMS, actor=cast["olivia"])
    out = StringIO()
    call_command("sources", "add", "s", "--connector", "x_search", "--query", "#a", "--purpose", "Conduct", stdout=out)
    assert "for purpose 'Conduct'" in out.getvalue()
    assert "will not collect yet: purpose 'Conduct' is not approved" in out.getvalue()
    assert Source.objects.get(name="s").purpose == Purpose.objects.get(name="Conduct")


def test_sources_add_refuses_an_unknown_purpose(cast):
    with pytest.raises(CommandError, match="--purpose 'Nope': no such purpose"):
        call_command("sources", "add", "s", "--connector", "x_search", "--query", "#a", "--purpose", "Nope")


def test_a_file_import_runs_only_under_an_approved_default_purpose(cast, oscar, tmp_path: Path):
    path = tmp_path / "posts.ndjson"
    path.write_text("")
    with pytest.raises(purposes.PurposeError, match="is not approved"):
        import_posts(path)
    purposes.approve(purposes.DEFAULT_PURPOSE, actor=oscar)
    summary = import_posts(path)
    assert CollectionRun.objects.get(pk=summary.run_id).purpose == purposes.current(purposes.DEFAULT_PURPOSE)


def test_collect_now_on_the_sources_page_is_refused_naming_the_purpose(client, cast):
    from django.urls import reverse

    purposes.record_purpose(TERMS, actor=cast["olivia"])
    source = Source.objects.create(
        name="s", platform="x", connector="x_search", query="#a", purpose=Purpose.objects.get()
    )
    client.force_login(cast["olivia"])
    response = client.post(reverse("evidence-collect", args=[source.pk]), follow=True)
    assert "Not queued: collecting s refused: purpose &#x27;Conduct&#x27; is not approved" in response.text
    assert Source.objects.get(pk=source.pk).queued_at is None
    page = client.get(reverse("evidence-source", args=[source.pk])).text
    assert (
        "Conduct — <strong>does not collect: collecting s refused: purpose &#x27;Conduct&#x27; is not approved" in page
    )


@pytest.mark.usefixtures("_default_approved")
def test_the_purposes_page_shows_the_sources_and_runs_under_each(client, cast):
    from django.urls import reverse

    default = Purpose.objects.get(name=purposes.DEFAULT_PURPOSE)
    source = Source.objects.create(name="x search", platform="x", connector="x_search", query="#a", purpose=default)
    for _ in range(3):
        CollectionRun.objects.create(source=source, connector="x_search", connector_version="1",
                                     started_at=default.created_at, purpose=default)  # fmt: skip
    client.force_login(cast["otto"])
    page = client.get(reverse("oversight-purposes")).text

    row = page.split(f'id="purpose-{default.pk}"')[1].split("</tr>")[0]
    assert "x search" in row and '<td class="num">3</td>' in row


def _import(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_posts", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _refused_import(*args: str) -> str:
    err = StringIO()
    with pytest.raises(CommandError, match="some files could not be imported"):
        call_command("import_posts", *args, stdout=StringIO(), stderr=err)
    return err.getvalue()


@pytest.fixture
def posts_file(tmp_path: Path) -> Path:
    path = tmp_path / "posts.ndjson"
    line = '{"platform": "x", "id": "1", "text": "hello", "created_at": "2026-10-01T12:00:00Z", "author": {"id": "a"}}'
    path.write_text(line + "\n")
    return path


def test_import_posts_names_its_purpose_and_refuses_until_it_is_approved(cast, oscar, posts_file: Path):
    purposes.record_purpose(TERMS, actor=cast["olivia"])

    said = _refused_import(str(posts_file), "--purpose", "Conduct")
    assert f"assay import-posts: importing {posts_file} refused: purpose 'Conduct' is not approved" in said
    assert not CollectionRun.objects.exists()

    approved = purposes.approve("Conduct", actor=oscar)
    out, _ = _import(str(posts_file), "--purpose", "Conduct")

    assert "1 imported" in out
    run = CollectionRun.objects.get()
    assert run.purpose == approved
    assert run.source.name == "file import (ndjson) for Conduct" and run.source.purpose == approved


def test_import_posts_under_a_retired_or_overdue_purpose_is_refused(cast, oscar, posts_file: Path):
    purposes.record_purpose(TERMS, actor=cast["olivia"])
    purposes.approve("Conduct", actor=oscar)

    Purpose.objects.update(review_due=timezone.now().date() - timedelta(days=1))
    assert "purpose 'Conduct' is past its review date" in _refused_import(str(posts_file), "--purpose", "Conduct")
    Purpose.objects.update(review_due=date(2099, 1, 1))
    purposes.retire("Conduct", actor=oscar)
    assert "purpose 'Conduct' is retired" in _refused_import(str(posts_file), "--purpose", "Conduct")
    assert not CollectionRun.objects.exists()


def test_import_posts_refuses_an_unknown_purpose(cast, posts_file: Path):
    said = _refused_import(str(posts_file), "--purpose", "Nope")
    assert "--purpose 'Nope': no such purpose; record it with `assay purposes add`" in said
    assert not Source.objects.exists()


def test_import_posts_without_purpose_runs_under_the_default_once_approved(cast, oscar, posts_file: Path):
    assert "purpose 'Conduct review under the published rulebook' is not approved" in _refused_import(str(posts_file))
    purposes.approve(purposes.DEFAULT_PURPOSE, actor=oscar)

    _import(str(posts_file))

    run = CollectionRun.objects.get()
    assert run.purpose == purposes.current(purposes.DEFAULT_PURPOSE)
    assert run.source.name == "file import (ndjson)"
