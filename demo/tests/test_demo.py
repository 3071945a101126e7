"""`assay demo` runs the whole flow on a fictional organisation, and running it twice is safe."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

from criteria.models import Hit
from demo import generator
from evidence.models import Account, Post, Quarantine
from linkage.models import Link
from oversight.services import verify_chain
from register.models import Member
from review.models import Appeal, Case, Conflict, Notice, SecondLook


def _counts() -> dict[str, int]:
    return {
        "members": Member.objects.count(),
        "accounts": Account.objects.count(),
        "posts": Post.objects.count(),
        "quarantined": Quarantine.objects.count(),
        "hits": Hit.objects.count(),
        "links": Link.objects.count(),
        "cases": Case.objects.count(),
        "notices": Notice.objects.count(),
        "appeals": Appeal.objects.count(),
        "second looks": SecondLook.objects.count(),
    }


def test_the_generator_is_deterministic(tmp_path: Path):
    a = generator.generate(tmp_path / "a", **generator.scaled(0.02))
    b = generator.generate(tmp_path / "b", **generator.scaled(0.02))

    assert a.posts_ndjson.read_bytes() == b.posts_ndjson.read_bytes()
    assert a.register_csv.read_bytes() == b.register_csv.read_bytes()


@pytest.mark.django_db
@pytest.mark.second_factor
def test_the_demo_runs_every_stage_and_a_second_run_changes_no_counts(tmp_path: Path, settings, capsys):
    settings.DATA_DIR = tmp_path
    settings.SECOND_LOOK_SHARE = 0.5  # conftest turns them off; half, so a few no-breach decisions show one
    call_command("demo", "--no-serve", "--scale", "0.05")
    first = capsys.readouterr().out
    counts = _counts()

    assert counts["members"] == 250 and counts["posts"] == 2500
    assert counts["quarantined"] == 5  # two register rows, three post lines: malformed on purpose
    assert counts["hits"] > 0 and counts["links"] > 0 and counts["cases"] > 0
    assert Case.objects.filter(assigned_to__username="reviewer").exists()
    proposals = Link.objects.filter(method="probabilistic", status="proposed")
    assert proposals.exists(), "the demo organisation allows probabilistic linkage: there should be proposals"
    assert all(p.explanation["evidence"][0]["comparison"] == "prior" for p in proposals)
    assert Case.objects.filter(account__links__status="proposed").exists()
    assert "password:" in first and "Log in at http://127.0.0.1:8000/" in first
    _signs_in_with_the_printed_password_and_recovery_code(first, "reviewer")
    notice = Notice.objects.get()
    signer = notice.decision.signed_off_by
    assert notice.status == Notice.Status.SENT and signer is not None and signer.username == "lead"
    assert Appeal.objects.get().notice == notice
    assert "the member's page: http://" in first and "log in as 'panel'" in first
    assert f"`assay evidence-pack {notice.case_id} --out case-{notice.case_id}.zip`" in first
    conflict = Conflict.objects.get()
    assert conflict.person.username == "lead" and conflict.case is not None and conflict.case.member is not None
    assert f"'lead' stepped aside from the member of case #{conflict.case.pk}" in first
    [look] = SecondLook.objects.all()
    assert look.pending and look.decision.outcome == "no_breach" and look.decision.reviewer.username == "reviewer"
    lead = "panel" if Conflict.objects.filter(member=look.case.member).exists() else "lead"
    assert (
        f"case #{look.case_id} was picked (ASSAY_SECOND_LOOK_SHARE=0.5) for a lead who took no part: log in as "
        f"'{lead}' and open /review/second-looks/, or `ASSAY_ACTOR={lead} assay second-looks take {look.case_id}"
    ) in first

    call_command("demo", "--no-serve", "--scale", "0.05")
    second = capsys.readouterr().out

    assert _counts() == counts
    assert "password:" not in second
    assert "0 imported" in second
    assert "second looks: 1 waiting for a lead at /review/second-looks/" in second
    total, broken = verify_chain()
    assert broken is None and total > 0

    # The pack the demo offers verifies on posts imported from a file, with their real hashes.
    pack = tmp_path / "pack"
    call_command("evidence_pack", str(notice.case_id), "--out", str(tmp_path / "pack.zip"))
    zipfile.ZipFile(tmp_path / "pack.zip").extractall(pack)
    checked = subprocess.run([sys.executable, str(pack / "verify.py")], capture_output=True, text=True, check=False)
    assert checked.returncode == 0 and checked.stdout.startswith("OK:"), checked.stdout


def _signs_in_with_the_printed_password_and_recovery_code(out: str, username: str) -> None:
    """A newcomer with no authenticator app signs in with what the demo printed."""
    import re

    from django.test import Client

    block = out[out.index(f"  {username} ") :]
    password = re.search(r"password: (\S+)", block)
    codes = re.search(r"recovery codes \(one per sign-in\): (\S+)", block)
    assert password is not None and codes is not None
    client = Client()
    assert client.post("/login/", {"username": username, "password": password.group(1)}).status_code == 302
    assert client.get("/review/").status_code == 302  # the code step first
    assert client.post("/login/code/", {"code": codes.group(1), "next": "/review/"})["Location"] == "/review/"
    assert client.get("/review/").status_code == 200
