"""Notices to members: drafted at sign-off, sent by email or post, read through an unguessable link."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from evidence.models import Post
from oversight.models import AuditEvent
from review import notices
from review.models import Notice
from review.services import ReviewError, record_decision, sign_off, triage
from review.tests.conftest import DECISION_REASON
from review.tests.world import World, assigned, login

LINK = re.compile(r"http://testserver/notice/([A-Za-z0-9_-]+)/")


def _send(notice: Notice, actor: Any) -> str:
    """Send the notice; the token from the link in the email."""
    notices.send_notice(notice, actor=actor)
    match = LINK.search(str(mail.outbox[-1].body))
    assert match, mail.outbox[-1].body
    return match.group(1)


@pytest.fixture(autouse=True)
def _public_url(settings: Any) -> None:
    settings.PUBLIC_URL = "http://testserver"


@pytest.mark.django_db
def test_signing_off_an_adverse_decision_drafts_the_notice_with_its_evidence(notice: Notice, hits: World) -> None:
    assert notice.status == Notice.Status.DRAFT
    assert (notice.outcome, notice.reasons, notice.appeal_days) == ("warning", DECISION_REASON, 21)
    assert notice.clauses == [
        {"code": "ABUSE-1", "title": "Abuse of other people", "clause": "Rulebook 4.2(a): abuse"},
        {"code": "SPAM-3", "title": "Commercial spam", "clause": "Rulebook 9.1: trading"},
    ]
    first = notice.evidence[0]
    post = hits.posts[0]
    assert (first["text"], first["url"], first["sha256"]) == (post.text, post.url, post.sha256)
    assert post.created_at is not None and first["posted_at"] == post.created_at.isoformat()
    assert first["rules"] == ["ABUSE-1"] and first["deleted_at"] == ""
    assert first["linked_by"]["method"] == "declared"
    assert AuditEvent.objects.filter(action="notice.drafted", actor="lena", object_id=str(notice.pk)).exists()


@pytest.mark.django_db
def test_no_notice_when_the_decision_is_not_adverse(hits: World, cast: dict[str, Any]) -> None:
    triage()
    case = assigned(hits.members["alice"], cast["rita"], by=cast["olivia"])
    record_decision(case, cast["rita"], "no_breach", DECISION_REASON, expected_version=case.version)

    assert not Notice.objects.exists()


@pytest.mark.django_db
def test_no_notice_for_an_account_no_member_is_linked_to(hits: World, cast: dict[str, Any]) -> None:
    # Nobody is confirmed to own the account, so no adverse decision, and no notice, can arise from it.
    triage()
    case = assigned(hits.accounts["anon"], cast["rita"], by=cast["olivia"])
    with pytest.raises(ReviewError, match="needs to know whose account this is"):
        record_decision(case, cast["rita"], "advice", DECISION_REASON, expected_version=case.version)
    record_decision(case, cast["rita"], "no_breach", DECISION_REASON, expected_version=case.version)

    assert not Notice.objects.exists()


@pytest.mark.django_db
def test_sending_emails_a_link_whose_token_is_stored_only_hashed(notice: Notice, cast: dict[str, Any]) -> None:
    token = _send(notice, cast["olivia"])

    notice.refresh_from_db()
    assert notice.status == Notice.Status.SENT and notice.email == "alice@example.org"
    assert mail.outbox[0].to == ["alice@example.org"]
    assert "Breach: formal warning" in mail.outbox[0].body
    assert notice.token_hash == notices.hash_token(token) and token not in notice.token_hash
    assert notice.sent_at is not None
    assert notice.appeal_due_at == notice.sent_at + timedelta(days=21)
    assert notice.token_expires_at == notice.sent_at + timedelta(days=60)
    assert AuditEvent.objects.filter(action="notice.sent", actor="olivia").exists()


@pytest.mark.django_db
def test_a_notice_is_sent_once(notice: Notice, cast: dict[str, Any]) -> None:
    notices.send_notice(notice, actor=cast["olivia"])

    with pytest.raises(notices.NoticeError, match="already sent by email"):
        notices.send_notice(notice, actor=cast["lena"])
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_reviewers_cannot_send_notices(notice: Notice, cast: dict[str, Any]) -> None:
    with pytest.raises(notices.NoticeError, match="only operators and leads send notices"):
        notices.send_notice(notice, actor=cast["rita"])
    assert not mail.outbox


@pytest.mark.django_db
def test_the_member_page_shows_the_notice_and_evidence_and_audits_the_view_without_the_token(
    client: Client, notice: Notice, hits: World, cast: dict[str, Any]
) -> None:
    token = _send(notice, cast["olivia"])

    response = client.get(f"/notice/{token}/")

    assert response.status_code == 200
    text = response.text
    assert "Breach: formal warning" in text and "Rulebook 4.2(a): abuse" in text
    assert "You are all idiots &amp; &lt;fools&gt;" in text  # as collected, escaped
    assert hits.posts[0].sha256 in text and hits.posts[0].url in text
    assert "You gave us this account as yours" in text
    assert "Send my appeal" in text
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    viewed = AuditEvent.objects.get(action="notice.viewed")
    assert (viewed.actor, viewed.object_id) == ("member", str(notice.pk))
    assert all(token not in str(e.data) for e in AuditEvent.objects.all())
    notice.refresh_from_db()
    assert notice.views == 1 and notice.first_viewed_at is not None


@pytest.mark.django_db
def test_unknown_and_expired_links_get_the_same_plain_404(client: Client, notice: Notice, cast: dict[str, Any]) -> None:
    token = _send(notice, cast["olivia"])
    unknown = client.get("/notice/not-a-real-token/")
    with time_machine.travel(timezone.now() + timedelta(days=61)):
        expired = client.get(f"/notice/{token}/")

    assert unknown.status_code == expired.status_code == 404
    assert unknown.text == expired.text
    assert "Alice" not in expired.text and "warning" not in expired.text
    assert not AuditEvent.objects.filter(action="notice.viewed").exists()


@pytest.mark.django_db
def test_a_draft_has_no_working_link(client: Client, notice: Notice) -> None:
    assert notice.token_hash == ""
    assert client.get("/notice/x/").status_code == 404


@pytest.mark.django_db
def test_reissuing_a_link_stops_the_old_one(client: Client, notice: Notice, cast: dict[str, Any]) -> None:
    old = _send(notice, cast["olivia"])

    notices.reissue_link(notice, actor=cast["lena"])

    new = LINK.search(str(mail.outbox[-1].body))
    assert new and new.group(1) != old
    assert "Any earlier link no longer works" in mail.outbox[-1].body
    assert client.get(f"/notice/{old}/").status_code == 404
    assert client.get(f"/notice/{new.group(1)}/").status_code == 200
    assert AuditEvent.objects.get(action="notice.link_reissued", actor="lena").data["by"] == "email"


@pytest.mark.django_db
def test_a_member_without_email_gets_a_letter_to_print_and_the_window_opens_when_posted(
    client: Client, notice: Notice, hits: World, cast: dict[str, Any]
) -> None:
    hits.members["alice"].email = ""
    hits.members["alice"].save()
    login(client, "olivia")

    letter = client.post(reverse("review-notice-send", args=[notice.pk]))

    assert not mail.outbox
    notice.refresh_from_db()
    assert notice.status == Notice.Status.TO_POST and notice.appeal_due_at is None
    assert "print this letter and post it" in letter.text
    token = LINK.search(letter.text)
    assert token and notices.hash_token(token.group(1)) == notice.token_hash
    assert "You are all idiots" in letter.text and "@media print" not in letter.text
    listed = client.get(reverse("review-notices") + "?show=to_post")
    assert f"#{notice.pk}" in listed.text

    client.post(reverse("review-notice-posted", args=[notice.pk]))

    notice.refresh_from_db()
    assert notice.status == Notice.Status.POSTED
    assert notice.posted_at is not None and notice.appeal_due_at == notice.posted_at + timedelta(days=21)
    assert "Print the letter again" in client.get(reverse("review-notice", args=[notice.pk])).text
    reprint = client.post(reverse("review-notice-reissue", args=[notice.pk]))
    assert "A new link is on this letter" in reprint.text and token.group(1) not in reprint.text
    assert not mail.outbox and AuditEvent.objects.get(action="notice.link_reissued").data["by"] == "post"


@pytest.mark.django_db
def test_the_email_and_page_say_how_else_to_appeal(
    client: Client, settings: Any, hits: World, cast: dict[str, Any]
) -> None:
    settings.APPEAL_CONTACT = "the Appeals Secretary, 1 High Street, Leeds"
    settings.APPEAL_DAYS = 10
    triage()
    alice = hits.members["alice"]
    alice.email = "alice@example.org"
    alice.save()
    case = assigned(alice, cast["rita"], by=cast["olivia"])
    record_decision(case, cast["rita"], "advice", DECISION_REASON, expected_version=case.version)
    sign_off(case, cast["lena"], expected_version=case.version)
    token = _send(Notice.objects.get(), cast["olivia"])

    assert "the Appeals Secretary, 1 High Street, Leeds" in mail.outbox[0].body
    assert "the Appeals Secretary, 1 High Street, Leeds" in client.get(f"/notice/{token}/").text
    sent = Notice.objects.get()
    assert sent.sent_at is not None and sent.appeal_due_at == sent.sent_at + timedelta(days=10)


@pytest.mark.django_db
def test_a_mail_server_that_refuses_leaves_the_notice_a_draft(
    client: Client, notice: Notice, settings: Any, cast: dict[str, Any]
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens

    response = login(client, "olivia").post(reverse("review-notice-send", args=[notice.pk]), follow=True)

    assert "Nothing was sent: the email to alice@example.org could not be sent" in response.text
    notice.refresh_from_db()
    assert (notice.status, notice.token_hash, notice.sent_at) == (Notice.Status.DRAFT, "", None)
    assert not AuditEvent.objects.filter(action="notice.sent").exists()


@pytest.mark.django_db
def test_a_post_the_platform_deleted_is_still_shown_and_says_so(
    client: Client, hits: World, cast: dict[str, Any]
) -> None:
    Post.objects.filter(pk=hits.posts[0].pk).update(deleted_at=timezone.now(), deleted_reason="deleted")
    triage()
    alice = hits.members["alice"]
    alice.email = "alice@example.org"
    alice.save()
    case = assigned(alice, cast["rita"], by=cast["olivia"])
    record_decision(case, cast["rita"], "advice", DECISION_REASON, expected_version=case.version)
    sign_off(case, cast["lena"], expected_version=case.version)
    token = _send(Notice.objects.get(), cast["olivia"])

    page = client.get(f"/notice/{token}/").text

    assert "You are all idiots" in page and "The platform reported this post deleted on" in page
