"""Importing normalised NDJSON posts: counts, dedup, quarantine, resume, provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evidence.connectors.base import canonical_sha256
from evidence.models import Account, CollectionRun, Post, Quarantine
from evidence.services import import_posts
from oversight.models import AuditEvent


def _item(n: int, author: str = "a1", **extra: object) -> dict[str, object]:
    return {
        "platform": "x",
        "id": str(n),
        "text": f"post number {n}",
        "created_at": "2026-10-01T12:00:00Z",
        "author": {"id": author, "handle": f"@user_{author}", "name": "A User"},
        **extra,
    }


def _write(path: Path, lines: list[object]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


@pytest.fixture
def good_and_bad(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "posts.ndjson",
        [
            _item(1),
            '{"platform": "x", "id": "2", "text": "cut off',
            {"platform": "x", "text": "no id"},
            _item(3, author="a2"),
            {"platform": "x", "id": "4", "text": "hi", "created_at": "yesterday"},
            _item(1),
        ],
    )


@pytest.mark.django_db
def test_it_imports_counts_and_quarantines_malformed_lines(good_and_bad: Path, capsys: pytest.CaptureFixture[str]):
    call_command("import_posts", str(good_and_bad))

    out = capsys.readouterr().out
    assert "2 imported, 1 duplicate, 3 quarantined" in out
    assert Post.objects.count() == 2
    assert Account.objects.count() == 2
    reasons = {q.position: q.reason for q in Quarantine.objects.all()}
    assert set(reasons) == {"line 2", "line 3", "line 5"}
    assert reasons["line 2"].startswith("invalid JSON")
    assert reasons["line 3"] == "missing required field 'id'"
    assert "'created_at' is not an ISO 8601 date-time" in reasons["line 5"]
    assert all(q.origin == str(good_and_bad) for q in Quarantine.objects.all())


@pytest.mark.django_db
def test_a_second_import_changes_no_counts(good_and_bad: Path):
    first = import_posts(good_and_bad)
    counts = (Post.objects.count(), Account.objects.count(), Quarantine.objects.count())
    second = import_posts(good_and_bad)

    assert (first.imported, second.imported) == (2, 0)
    assert second.duplicates == 3
    assert (Post.objects.count(), Account.objects.count(), Quarantine.objects.count()) == counts


@pytest.mark.django_db
def test_it_keeps_the_raw_record_and_its_canonical_hash_with_provenance(good_and_bad: Path):
    import_posts(good_and_bad)

    post = Post.objects.get(platform_id="3")
    assert post.raw == _item(3, author="a2")
    assert post.sha256 == canonical_sha256(post.raw)
    assert post.account is not None and post.account.handle == "user_a2"
    run = post.run
    assert (run.connector, run.query, run.status) == ("ndjson", str(good_and_bad), "done")
    assert len(run.input_sha256) == 64
    assert AuditEvent.objects.filter(action="collection.run_finished", object_id=str(run.pk)).exists()


@pytest.mark.django_db
def test_an_interrupted_import_resumes_where_it_stopped_and_duplicates_nothing(tmp_path: Path):
    path = _write(tmp_path / "many.ndjson", [_item(n, author=f"a{n % 3}") for n in range(1, 11)])

    def crash_after_first_batch(_done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_posts(path, batch_size=4, progress=crash_after_first_batch)
    run = CollectionRun.objects.get()
    assert (run.status, run.cursor, Post.objects.count()) == ("running", {"line": 4}, 4)

    summary = import_posts(path, batch_size=4)

    assert summary.resumed_from_line == 4
    assert (summary.imported, summary.duplicates) == (6, 0)
    assert sorted(int(p) for p in Post.objects.values_list("platform_id", flat=True)) == list(range(1, 11))
    assert CollectionRun.objects.get().status == "done"


@pytest.mark.django_db
def test_posts_without_an_author_are_kept_as_unlinkable_evidence(tmp_path: Path):
    item = {"platform": "facebook", "id": "c1", "kind": "comment", "text": "a comment", "parent_id": "p1"}
    import_posts(_write(tmp_path / "fb.ndjson", [item]))

    post = Post.objects.get()
    assert post.account is None
    assert (post.kind, post.parent_platform_id) == ("comment", "p1")


@pytest.mark.django_db
def test_a_changed_profile_updates_the_account_but_not_the_evidence(tmp_path: Path):
    import_posts(_write(tmp_path / "one.ndjson", [_item(1)]))
    renamed = _item(2)
    renamed["author"] = {"id": "a1", "handle": "new_handle", "name": "A User"}
    import_posts(_write(tmp_path / "two.ndjson", [renamed]))

    account = Account.objects.get()
    assert account.handle == "new_handle"
    assert Post.objects.get(platform_id="1").raw["author"]["handle"] == "@user_a1"


@pytest.mark.django_db
def test_a_missing_file_is_named_and_the_others_still_import(good_and_bad: Path, tmp_path: Path, capsys):
    with pytest.raises(CommandError):
        call_command("import_posts", str(tmp_path / "nope.ndjson"), str(good_and_bad))

    captured = capsys.readouterr()
    assert f"{tmp_path / 'nope.ndjson'}: no such file" in captured.err
    assert Post.objects.count() == 2


@pytest.mark.django_db
def test_characters_no_database_can_store_are_replaced_and_the_hash_matches_what_is_stored(tmp_path: Path):
    line = '{"platform": "x", "id": "9", "text": "a\\ud800b\\u0000c \\ud83d\\ude00"}'
    import_posts(_write(tmp_path / "odd.ndjson", [line]))

    post = Post.objects.get()
    assert post.text == "a\ufffdb\ufffdc \U0001f600"
    assert post.sha256 == canonical_sha256(post.raw)


@pytest.mark.django_db
def test_an_author_seen_with_only_an_id_keeps_the_profile_already_known(tmp_path: Path):
    """Some sources name only the author's id (a Bluesky Jetstream commit carries the DID alone):
    that is no news about the profile, and must not blank the handle linkage reads."""
    import_posts(_write(tmp_path / "a.ndjson", [_item(1, author="a1")]))
    bare = {"platform": "x", "id": "2", "text": "post number 2", "author": {"id": "a1"}}
    import_posts(_write(tmp_path / "b.ndjson", [bare]))

    account = Account.objects.get()
    assert (account.handle, account.display_name) == ("user_a1", "A User")
    assert Post.objects.filter(account=account).count() == 2
