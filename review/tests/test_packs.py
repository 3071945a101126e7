"""Evidence packs for the disciplinary panel: built by the CLI, checked by the verify.py inside them."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from evidence.models import Exchange, ParentLookup, Post
from linkage.models import Link
from oversight.models import AuditEvent
from review import notices
from review.models import Case, EvidencePack
from review.packs import PackError, build_pack
from review.services import record_case_viewed, triage
from review.tests.privacy import REASON, close_case
from review.tests.world import World, case_of


def _build(case: Case, out: Path) -> str:
    stdout = io.StringIO()
    call_command("evidence_pack", str(case.pk), "--out", str(out), stdout=stdout)
    return stdout.getvalue()


def _unzip(pack: Path, into: Path) -> Path:
    with zipfile.ZipFile(pack) as archive:
        archive.extractall(into)
    return into


def _verify(target: Path) -> subprocess.CompletedProcess[str]:
    script = target / "verify.py" if target.is_dir() else None
    args = [sys.executable, str(script)] if script else [sys.executable, "-I", "-", str(target)]
    source = None if script else (Path(__file__).parents[1] / "pack_verify.py").read_text()
    return subprocess.run(args, input=source, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.django_db
def test_the_cli_writes_a_pack_that_verifies(referred: Case, collected: World, tmp_path: Path) -> None:
    out = tmp_path / "pack.zip"
    said = _build(referred, out)

    assert f"case {referred.pk}: evidence pack written to {out}" in said
    folder = _unzip(out, tmp_path / "pack")
    alice_first, alice_second, _bob = collected.posts[:3]
    own, _shared = Exchange.objects.order_by("seq")
    names = set(zipfile.ZipFile(out).namelist())
    assert names == {
        "index.html",
        "audit.json",
        "manifest.json",
        "verify.py",
        f"posts/{alice_first.pk}.json",
        f"posts/{alice_second.pk}.json",
        f"exchanges/{own.pk}",
    }
    assert json.loads((folder / f"posts/{alice_first.pk}.json").read_text()) == alice_first.raw
    assert (folder / f"exchanges/{own.pk}").read_bytes() == b'{"data": [{"id": "alice-1"}]}'

    result = _verify(folder)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: 6 files, 2 raw posts, 1 exchanges, 4 audit events check out")


@pytest.mark.django_db
def test_index_html_tells_the_panel_the_whole_case(referred: Case, collected: World, tmp_path: Path) -> None:
    out = tmp_path / "pack.zip"
    _build(referred, out)
    index = zipfile.ZipFile(out).read("index.html").decode()

    assert "Alice Archer" in index and "M-0001" in index
    assert "Rulebook 4.2(a): abuse" in index and "Rulebook 9.1: trading" in index
    assert "You are all <mark>idiots</mark> &amp; &lt;fools&gt;" in index
    assert collected.posts[0].url in index
    assert "Breach: refer to the disciplinary panel" in index
    assert REASON in index
    assert "Signed off by lena" in index and "Decided by rita" in index
    assert "connector ndjson version 1, run" in index
    assert "Declared: the member gave us this identifier" in index
    assert "withheld: the page also carried 1 post(s) by other accounts" in index
    assert "Notice " in index and "No appeal was received." in index
    # Nobody else's data: bob's post is on the shared page but not in the pack.
    assert "vermin" not in index and "Bob" not in index


@pytest.mark.django_db
def test_audit_json_holds_the_case_events_with_their_hash_links(
    referred: Case, cast: dict[str, Any], tmp_path: Path
) -> None:
    record_case_viewed(referred, cast["lena"])
    out = tmp_path / "pack.zip"
    _build(referred, out)

    events = json.loads(zipfile.ZipFile(out).read("audit.json"))["events"]

    actions = [e["body"]["action"] for e in events]
    assert actions[:4] == ["case.assigned", "case.decided", "case.signed_off", "notice.drafted"]
    assert "case.viewed" not in actions and "case.pack_built" not in actions
    stored = {e.seq: e.hash for e in AuditEvent.objects.filter(seq__in=[e["seq"] for e in events])}
    assert all(stored[e["seq"]] == e["hash"] for e in events)


@pytest.mark.django_db
def test_a_tampered_file_is_named(referred: Case, collected: World, tmp_path: Path) -> None:
    out = tmp_path / "pack.zip"
    _build(referred, out)
    folder = _unzip(out, tmp_path / "pack")
    post_file = folder / f"posts/{collected.posts[0].pk}.json"
    post_file.write_text(post_file.read_text().replace("idiots", "friends"))

    result = _verify(folder)

    assert result.returncode == 1
    assert result.stdout.startswith("DIFFERS:")
    assert f"posts/{collected.posts[0].pk}.json: its sha256 is" in result.stdout
    assert f"posts/{collected.posts[0].pk}.json: the raw post hashes to" in result.stdout


@pytest.mark.django_db
def test_an_edited_audit_event_and_an_added_file_are_named(referred: Case, tmp_path: Path) -> None:
    out = tmp_path / "pack.zip"
    _build(referred, out)
    folder = _unzip(out, tmp_path / "pack")
    audit = json.loads((folder / "audit.json").read_text())
    audit["events"][1]["body"]["data"]["outcome"] = "no_breach"
    manifest = json.loads((folder / "manifest.json").read_text())
    # A forger who also fixes the manifest still cannot fix the chain.
    (folder / "audit.json").write_text(json.dumps(audit))
    manifest["files"]["audit.json"] = hashlib.sha256((folder / "audit.json").read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "extra.txt").write_text("slipped in")
    (folder / ".DS_Store").write_bytes(b"\0Bud1")  # what a Mac leaves behind is not a change to the pack

    result = _verify(folder)

    assert result.returncode == 1
    seq = audit["events"][1]["seq"]
    assert f"audit.json: event {seq}: its content does not match its hash" in result.stdout
    assert "extra.txt: not listed in the manifest" in result.stdout
    assert ".DS_Store" not in result.stdout


@pytest.mark.django_db
def test_verify_checks_a_zip_as_given(referred: Case, tmp_path: Path) -> None:
    out = tmp_path / "pack.zip"
    _build(referred, out)

    assert _verify(out).returncode == 0
    with zipfile.ZipFile(out) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries["index.html"] = b"<p>another story</p>"
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)

    result = _verify(out)
    assert result.returncode == 1
    assert "index.html: its sha256 is" in result.stdout


@pytest.mark.django_db
def test_rebuilding_gives_the_same_pack_and_each_build_is_recorded(
    referred: Case, cast: dict[str, Any], tmp_path: Path
) -> None:
    first, second = tmp_path / "one.zip", tmp_path / "two.zip"
    _build(referred, first)
    record_case_viewed(referred, cast["olivia"])
    _build(referred, second)

    assert first.read_bytes() == second.read_bytes()
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    packs = list(EvidencePack.objects.filter(case=referred))
    assert [(p.sha256, p.size, p.built_by) for p in packs] == [(digest, first.stat().st_size, None)] * 2
    built = AuditEvent.objects.filter(action="case.pack_built").order_by("seq")
    assert [(e.actor, e.object_id, e.data["sha256"]) for e in built] == [("cli", str(referred.pk), digest)] * 2


@pytest.mark.django_db
def test_warnings_may_be_packed_but_not_cases_without_an_adverse_outcome(
    collected: World, cast: dict[str, Any], tmp_path: Path
) -> None:
    triage()
    open_case = case_of(collected.members["alice"])
    with pytest.raises(CommandError, match=f"no evidence pack for case {open_case.pk}: the case is open"):
        _build(open_case, tmp_path / "x.zip")
    closed = close_case(collected.members["alice"], cast, "no_breach")
    with pytest.raises(CommandError, match="has no signed-off adverse outcome"):
        _build(closed, tmp_path / "x.zip")
    account_case = close_case(collected.accounts["anon"], cast, "no_breach")
    with pytest.raises(CommandError, match="about an unlinked account"):
        _build(account_case, tmp_path / "x.zip")
    with pytest.raises(CommandError, match="there is no case 999999"):
        call_command("evidence_pack", "999999", "--out", str(tmp_path / "x.zip"))
    with pytest.raises(CommandError, match="is a folder"):
        call_command("evidence_pack", str(closed.pk), "--out", str(tmp_path))
    assert not EvidencePack.objects.exists()


@pytest.mark.django_db
def test_a_signed_off_warning_is_packed(collected: World, cast: dict[str, Any], tmp_path: Path) -> None:
    triage()
    case = close_case(collected.members["alice"], cast, "warning")
    _build(case, tmp_path / "w.zip")
    assert "Breach: formal warning" in zipfile.ZipFile(tmp_path / "w.zip").read("index.html").decode()


@pytest.mark.django_db
def test_no_pack_for_a_decision_overturned_on_appeal(referred: Case, cast: dict[str, Any], lars: Any) -> None:
    notice = referred.notices.get()
    notices.mark_posted(notices.send_notice(notice, actor=cast["olivia"]).notice, actor=cast["olivia"])
    appeal = notices.receive_appeal(notice, "I was quoting someone else, not calling anyone names.")
    appeal = notices.assign_appeal(appeal, lars, actor=cast["olivia"], expected_version=appeal.version)
    notices.decide_appeal(appeal, lars, "allowed", "The post quoted another account; no breach.", expected_version=2)

    with pytest.raises(PackError, match="its decision was overturned on appeal"):
        build_pack(referred, actor=cast["lena"])


@pytest.mark.django_db
def test_an_upheld_appeal_is_in_the_pack(referred: Case, cast: dict[str, Any], lars: Any) -> None:
    notice = referred.notices.get()
    notices.mark_posted(notices.send_notice(notice, actor=cast["olivia"]).notice, actor=cast["olivia"])
    appeal = notices.receive_appeal(notice, "I was quoting someone else, not calling anyone names.")
    appeal = notices.assign_appeal(appeal, lars, actor=cast["olivia"], expected_version=appeal.version)
    notices.decide_appeal(appeal, lars, "upheld", "The post is her own words; the decision stands.", expected_version=2)

    built = build_pack(referred, actor=cast["lena"])

    archive = zipfile.ZipFile(io.BytesIO(built.data))
    index = archive.read("index.html").decode()
    assert "I was quoting someone else" in index and "Upheld: the decision stands" in index
    actions = [e["body"]["action"] for e in json.loads(archive.read("audit.json"))["events"]]
    assert {"notice.sent", "appeal.received", "appeal.assigned", "appeal.decided"} <= set(actions)
    assert built.record.built_by == cast["lena"]


@pytest.mark.django_db
def test_reviewers_and_oversight_may_not_build_packs(referred: Case, cast: dict[str, Any]) -> None:
    for name in ("rita", "otto"):
        with pytest.raises(PackError, match="only operators and leads"):
            build_pack(referred, actor=cast[name])
    assert build_pack(referred, actor=cast["olivia"]).record.built_by == cast["olivia"]


@pytest.mark.django_db
def test_a_probabilistic_link_shows_its_evidence_but_names_no_other_member(
    collected: World, cast: dict[str, Any], tmp_path: Path
) -> None:
    link = collected.links["bob"]
    alice = collected.members["alice"]
    link.explanation["others"] = [{"member_id": alice.pk, "probability": 0.04, "match_weight": -4.2}]
    link.status, link.reviewed_by, link.reviewed_at = Link.Status.CONFIRMED, cast["lena"], timezone.now()
    link.save()
    triage()
    case = close_case(collected.members["bob"], cast, "refer")

    _build(case, tmp_path / "bob.zip")

    index = zipfile.ZipFile(tmp_path / "bob.zip").read("index.html").decode()
    assert "probability <strong>87%</strong>" in index and "(model test-model-1)" in index
    assert "nickname of the same name" in index and "Status: Confirmed, by lena" in index
    assert "1 other member(s) were considered (not named here)" in index
    assert "Alice" not in index and "M-0001" not in index and "idiots" not in index


@pytest.mark.django_db
def test_the_conversation_above_a_post_shows_the_members_words_and_only_refers_to_others(
    collected: World, cast: dict[str, Any], tmp_path: Path
) -> None:
    alice_first, alice_second, bob_post = collected.posts[:3]
    own_earlier = collected.post(collected.accounts["alice_x"], "My own earlier musing")
    # alice's first post replies to bob's; her second quotes her own earlier one, a reply to a post never collected.
    Post.objects.filter(pk=alice_first.pk).update(kind="reply", parent_platform_id=bob_post.platform_id)
    Post.objects.filter(pk=alice_second.pk).update(kind="quote", parent_platform_id=own_earlier.platform_id)
    Post.objects.filter(pk=own_earlier.pk).update(kind="reply", parent_platform_id="4242")
    ParentLookup.objects.create(platform="x", asked_id="4242", outcome="gone", run=collected.run,
                                asked_at=timezone.now(), reason="Not Found Error")  # fmt: skip
    triage()
    case = close_case(collected.members["alice"], cast, "refer")

    _build(case, tmp_path / "pack.zip")
    index = zipfile.ZipFile(tmp_path / "pack.zip").read("index.html").decode()

    assert "vermin" not in index and "bobby" not in index  # bob's words and handle stay out
    assert "A post by another account, not shown: it is not this member's data." in index
    assert f"x id {bob_post.platform_id}" in index and bob_post.sha256 in index
    assert "The case's post is in reply to the post above:" in index
    assert "My own earlier musing" in index and "the member's account" in index
    assert "A post the organisation has not collected (x id 4242). When the organisation asked for it on" in index
    assert "the platform no longer showed it." in index
    assert _verify(_unzip(tmp_path / "pack.zip", tmp_path / "unzipped")).returncode == 0
