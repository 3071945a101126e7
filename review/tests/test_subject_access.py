"""`assay subject-access`: a zip of everything held about a member, staff by role, audited."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from oversight.models import AuditEvent
from review.services import record_case_viewed, triage
from review.tests.privacy import REASON, close_case
from review.tests.world import World, case_of


@pytest.fixture
def decided(hits: World, cast: dict[str, Any]) -> World:
    """alice: a declared link, two posts with hits, a case viewed by rita and closed with a signed-off warning."""
    triage()
    record_case_viewed(case_of(hits.members["alice"]), cast["olivia"])
    close_case(hits.members["alice"], cast, "warning")
    return hits


def _export(tmp_path: Path, number: str = "M-0001") -> dict[str, Any]:
    out = tmp_path / "alice.zip"
    call_command("subject_access", number, "--out", str(out))
    with zipfile.ZipFile(out) as archive:
        return {
            name: archive.read(name).decode() if name.endswith(".md") else json.loads(archive.read(name))
            for name in archive.namelist()
        }


@pytest.mark.django_db
def test_the_zip_holds_a_file_per_category_and_a_summary(decided: World, tmp_path: Path) -> None:
    files = _export(tmp_path)

    assert files["register.member.json"][0]["number"] == "M-0001"
    assert files["register.member.json"][0]["family_name"] == "Archer"
    [link] = files["linkage.link.json"]
    assert (link["method"], link["probability"], link["status"]) == ("declared by the member", 1.0, "confirmed")
    posts = files["evidence.post.json"]
    assert {p["text"] for p in posts} == {"You are all idiots & <fools>", "Great deals, buy now!"}
    assert all(p["sha256"] and p["url"].startswith("https://x.example/status/") for p in posts)
    assert {h["rule"] for h in files["criteria.hit.json"]} == {"ABUSE-1", "SPAM-3"}
    assert files["review.case.json"][0]["rules"] == ["ABUSE-1", "SPAM-3"]
    [decision] = files["review.decision.json"]
    assert decision["reason"] == REASON
    assert (decision["decided_by"], decision["signed_off_by"]) == ("reviewer", "lead")
    assert "Breach: formal warning" in files["summary.md"]
    assert "You are all idiots & <fools>" in files["summary.md"]
    manifest = files["manifest.json"]
    assert set(manifest["files"]) == set(files) - {"manifest.json"}
    assert manifest["categories"]["evidence.post"]["rows"] == 2


@pytest.mark.django_db
def test_it_lists_who_viewed_their_data_by_role_never_by_name(decided: World, tmp_path: Path) -> None:
    files = _export(tmp_path)

    actions = [(e["action"], e["by"]) for e in files["audit_events.json"]]
    assert ("case.viewed", "operator") in actions
    assert ("case.decided", "reviewer") in actions
    assert ("case.signed_off", "lead") in actions
    everything = json.dumps(files)
    for name in ("olivia", "rita", "lena", "ravi"):
        assert name not in everything


@pytest.mark.django_db
def test_other_members_and_their_accounts_are_left_out(decided: World, tmp_path: Path) -> None:
    everything = json.dumps(_export(tmp_path))

    assert "Baker" not in everything and "vermin" not in everything and "bobby" not in everything


@pytest.mark.django_db
def test_the_export_is_audited_with_counts(decided: World, tmp_path: Path) -> None:
    _export(tmp_path)

    event = AuditEvent.objects.get(action="member.subject_access")
    assert (event.object_type, event.object_id) == ("register.member", str(decided.members["alice"].pk))
    assert event.data["counts"]["evidence.post"] == 2
    assert "Archer" not in json.dumps(event.data)


@pytest.mark.django_db
def test_bad_requests_are_one_clear_error(decided: World, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no member with membership number 'M-9999'"):
        call_command("subject_access", "M-9999", "--out", str(tmp_path / "x.zip"))
    (tmp_path / "taken.zip").write_bytes(b"")
    with pytest.raises(CommandError, match="already exists"):
        call_command("subject_access", "M-0001", "--out", str(tmp_path / "taken.zip"))
    with pytest.raises(CommandError, match="does not exist"):
        call_command("subject_access", "M-0001", "--out", str(tmp_path / "nowhere" / "x.zip"))


@pytest.mark.django_db
def test_a_proposed_link_is_exported_with_its_evidence_but_without_the_other_candidates(
    hits: World, tmp_path: Path
) -> None:
    link = hits.links["bob"]
    link.explanation["others"] = [{"member_id": hits.members["alice"].pk, "probability": 0.3, "match_weight": 1.0}]
    link.save(update_fields=["explanation"])

    files = _export(tmp_path, "M-0002")

    [exported] = files["linkage.link.json"]
    assert (exported["method"], exported["status"]) == ("probabilistic match", "proposed")
    assert exported["probability"] == 0.87
    assert exported["explanation"]["evidence"][1] == {
        "comparison": "given_name",
        "level": "nickname of the same name",
        "weight": 6.5,
    }
    assert "others" not in exported["explanation"]
    assert {p["text"] for p in files["evidence.post.json"]} == {"They are vermin."}
    assert files["summary.md"].index("The register record") < files["summary.md"].index("Decisions, with reasons")


def _x_run(world: World) -> Any:
    from evidence.models import CollectionRun

    run = world.run
    return CollectionRun.objects.create(
        source=run.source, connector="x_search", connector_version="1", started_at=run.started_at
    )


@pytest.mark.django_db
def test_a_post_naming_others_is_exported_with_its_own_fields_and_none_of_theirs(
    decided: World, tmp_path: Path
) -> None:
    from evidence.connectors.base import canonical_sha256
    from evidence.models import Post

    alice = decided.accounts["alice_x"]
    mention = {"start": 0, "end": 13, "username": "erika_muster", "id": "1500000000000000002"}
    raw: dict[str, Any] = {
        "id": "7",
        "text": "RT @erika_muster",
        "author_id": alice.platform_id,
        "entities": {"mentions": [mention]},
    }
    raw["referenced_tweets"] = [{"type": "retweeted", "id": "2006812345678901234"}]
    post = decided.posts[0]
    Post.objects.filter(pk=post.pk).update(run=_x_run(decided), raw=raw, sha256=canonical_sha256(raw))

    files = _export(tmp_path)

    [row] = [p for p in files["evidence.post.json"] if p["pk"] == post.pk]
    assert (row["text"], row["url"], row["sha256"]) == (post.text, post.url, canonical_sha256(raw))
    assert "raw" not in row  # posts are exported by their own fields, never the raw record
    assert all("1500000000000000002" not in json.dumps(body) for body in files.values())
    assert all("2006812345678901234" not in json.dumps(body) for body in files.values())


@pytest.mark.django_db
def test_unreadable_records_keep_their_raw_text_only_when_they_name_no_one_else(decided: World, tmp_path: Path) -> None:
    from evidence.models import Quarantine

    run = _x_run(decided)
    alice = decided.accounts["alice_x"]
    user = {"id": alice.platform_id, "username": alice.handle}
    own = json.dumps(
        {"data": [{"id": "1", "text": "x", "author_id": alice.platform_id}], "includes": {"users": [user]}}
    )
    mention = {"username": "erika_muster", "id": "1500000000000000002"}
    shared = {"data": [{"id": "2", "author_id": alice.platform_id, "entities": {"mentions": [mention]}}]}
    for position, raw in (("item 1", own), ("item 2", json.dumps(shared)), ("item 3", '{"author": "alice_x", "te')):
        Quarantine.objects.create(
            run=run, origin="x", position=position, reason="no text", raw=raw, raw_sha256=position
        )

    files = _export(tmp_path)

    rows = {r["position"]: r for r in files["evidence.quarantined_record.json"]}
    assert set(rows) == {"item 1", "item 2", "item 3"}
    assert rows["item 1"]["raw"] == own and "raw_withheld" not in rows["item 1"]
    for withheld in ("item 2", "item 3"):  # names erika; cannot be read
        assert rows[withheld]["raw"] == ""
        assert rows[withheld]["raw_withheld"].startswith("it names other accounts too, or cannot be read")
        assert rows[withheld]["reason"] == "no text"
    assert all("erika_muster" not in json.dumps(body) for body in files.values())
    assert "raw_withheld" in files["summary.md"]
