"""The mail outbox as personal data: copies of sent notices expire, go with the member on erasure, and
are listed in a subject access export. Nothing in the folder the file backend did not write is touched."""

from __future__ import annotations

import json
import os
import zipfile
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oversight.models import AuditEvent
from review import notices
from review.models import Notice
from review.tests.world import login

FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
ERASURE = "DSAR-2026-044 erasure request"
NOTICE_SUBJECT = "A decision about your conduct as a member"


@pytest.fixture
def outbox(settings: Any, tmp_path: Path) -> Path:
    """The embedded default: the file backend writing into the data dir's outbox."""
    settings.EMAIL_BACKEND = FILE_BACKEND
    settings.EMAIL_FILE_PATH = str(tmp_path / "outbox")
    settings.RETENTION_ADVERSE_CASE_DAYS = 1
    settings.RETENTION_APPEAL_WINDOW_DAYS = 1
    settings.APPEAL_DAYS = 21
    return tmp_path / "outbox"


@pytest.fixture
def sent(notice: Notice, cast: dict[str, Any], outbox: Path) -> Notice:
    notices.send_notice(notice, actor=cast["olivia"])
    notice.refresh_from_db()
    return notice


@pytest.fixture
def strangers(outbox: Path) -> dict[str, Path]:
    """What else is in the folder: not the backend's, whatever it says or however old it is."""
    old = (timezone.now() - timedelta(days=400)).timestamp()
    found = {
        "notes": outbox / "notes.txt",
        "log": outbox / "20200101-000000-1.log",
        "half": outbox / "20200101-000000-2.log",
    }
    found["notes"].write_text("alice@example.org asked about her notice\n")
    found["log"].write_text("server started\nTo: alice@example.org\n" + "-" * 79 + "\n")
    found["half"].write_text("To: alice@example.org\nSubject: being written\n\nhalf a mess")
    for path in found.values():
        os.utime(path, (old, old))
    return found


def _files(outbox: Path) -> list[Path]:
    return sorted(p for p in outbox.iterdir() if p.suffix == ".log")


def _mail_files(outbox: Path, strangers: dict[str, Path]) -> list[Path]:
    return [p for p in _files(outbox) if p not in strangers.values()]


def _later(days: int) -> Any:
    return time_machine.travel(timezone.now() + timedelta(days=days), tick=False)


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_sent_notice_stays_in_the_outbox_with_the_members_address_and_link(sent: Notice, outbox: Path) -> None:
    [written] = _files(outbox)
    text = written.read_text()
    assert "To: alice@example.org" in text and "Alice" in text and "/notice/" in text


@pytest.mark.django_db
def test_retention_reports_outbox_files_past_the_window_and_deletes_only_those_the_backend_wrote(
    sent: Notice, outbox: Path, strangers: dict[str, Path], settings: Any
) -> None:
    settings.RETENTION_OUTBOX_DAYS = 30
    [notice_file] = _mail_files(outbox, strangers)

    assert "would be deleted: 0" in next(line for line in _run("retention").splitlines() if "outbox" in line)
    with _later(31):
        dry = _run("retention")
        assert notice_file.exists()
        applied = _run("retention", "--apply")

    assert "would be deleted: 1" in next(line for line in dry.splitlines() if "outbox" in line)
    assert "1 deleted" in next(line for line in applied.splitlines() if "outbox" in line)
    assert not notice_file.exists()
    assert all(path.exists() for path in strangers.values())
    event = AuditEvent.objects.get(action="retention.applied")
    assert event.data["counts"]["oversight.outbox"] == {"due": 1, "held": 0, "deleted": 1}
    assert "alice" not in json.dumps(event.data)


@pytest.mark.django_db
def test_the_outbox_window_is_checked_like_the_others(settings: Any) -> None:
    from django.core.management import CommandError

    settings.RETENTION_OUTBOX_DAYS = 0
    with pytest.raises(CommandError, match="ASSAY_RETENTION_OUTBOX_DAYS=0: a retention window must be at least 1"):
        call_command("retention")


@pytest.mark.django_db
def test_retention_with_no_outbox_folder_finds_nothing(settings: Any, tmp_path: Path) -> None:
    settings.EMAIL_FILE_PATH = str(tmp_path / "never-created")
    assert "would be deleted: 0" in next(line for line in _run("retention").splitlines() if "outbox" in line)


@pytest.mark.django_db
def test_erasure_removes_the_members_mail_from_the_outbox_and_nothing_else(
    sent: Notice, outbox: Path, strangers: dict[str, Path], settings: Any
) -> None:
    settings.RETENTION_OUTBOX_DAYS = 365
    [notice_file] = _mail_files(outbox, strangers)
    # The backend names a file by the second and the connection object: a day later, both alive, two new files.
    with _later(1), mail.get_connection() as to_bob, mail.get_connection() as shared_one:
        mail.send_mail("Welcome", "Hello Bob", None, ["bob@example.org"], connection=to_bob)
        # One file holding mail to Carol and to Alice's old address, as one connection writes it.
        mail.EmailMessage("Your renewal", "Hello Carol", None, ["carol@example.org"], connection=shared_one).send()
        mail.EmailMessage("Reminder", "Hello Alice", None, ["Alice <ALICE@example.org>"], connection=shared_one).send()
    bob_file, shared = (p for p in _mail_files(outbox, strangers) if p != notice_file)
    if "Bob" not in bob_file.read_text():
        bob_file, shared = shared, bob_file
    alice = sent.member
    alice.email = "alice.new@example.org"  # changed since: the notice's address still counts as hers
    alice.save()

    with _later(30):
        dry = _run("erase", "M-0001", "--reason", ERASURE)
        assert "oversight.outbox: 2" in dry and notice_file.exists()
        done = _run("erase", "M-0001", "--reason", ERASURE, "--apply")

    assert "oversight.outbox: 2" in done
    assert not notice_file.exists()
    assert "Hello Bob" in bob_file.read_text()
    left = shared.read_text()
    assert "Hello Carol" in left and "Alice" not in left and left.endswith("-" * 79 + "\n")
    assert all(path.exists() for path in strangers.values())
    assert "alice@example.org" in strangers["notes"].read_text()
    event = AuditEvent.objects.get(action="member.erased")
    assert event.data["counts"]["oversight.outbox"] == 2


@pytest.mark.django_db
def test_subject_access_lists_the_outbox_mail_without_its_text(sent: Notice, outbox: Path, tmp_path: Path) -> None:
    out = tmp_path / "alice.zip"
    call_command("subject_access", "M-0001", "--out", str(out), stdout=StringIO())

    with zipfile.ZipFile(out) as archive:
        [listed] = json.loads(archive.read("oversight.outbox.json"))
        manifest = json.loads(archive.read("manifest.json"))
        summary = archive.read("summary.md").decode()
    [notice_file] = _files(outbox)
    assert listed["subject"] == NOTICE_SUBJECT and listed["to"] == ["alice@example.org"]
    assert listed["file"] == notice_file.name and set(listed) == {"sent_at", "subject", "to", "file"}
    assert manifest["categories"]["oversight.outbox"]["rows"] == 1
    assert "Copies of emails sent to the member" in summary and NOTICE_SUBJECT in summary


@pytest.mark.django_db
def test_the_member_page_counts_the_outbox_mail(sent: Notice, client: Client) -> None:
    response = login(client, "olivia").get(reverse("register-member", args=[sent.member_id]))

    assert response.status_code == 200
    assert "Copies of emails sent to the member" in response.text
    assert "ASSAY_RETENTION_OUTBOX_DAYS" in response.text


@pytest.mark.django_db
def test_erasure_leaves_mail_to_an_address_another_member_shares(
    sent: Notice, outbox: Path, hits: Any, settings: Any
) -> None:
    settings.RETENTION_OUTBOX_DAYS = 365
    bob = hits.members["bob"]
    bob.email = "ALICE@example.org"  # a household's one address: the mail may be about bob
    bob.save()

    with _later(30):
        dry = _run("erase", "M-0001", "--reason", ERASURE)
        assert "oversight.outbox: 0" in dry
        _run("erase", "M-0001", "--reason", ERASURE, "--apply")

    [kept] = _files(outbox)
    assert "To: alice@example.org" in kept.read_text()  # retention removes it in its time
