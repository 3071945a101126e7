"""Staff pages for notices and appeals: who sees what, what is audited, and fixed query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from oversight.models import AuditEvent
from review import notices
from review.models import Appeal, Decision, Notice
from review.tests.conftest import DECISION_REASON
from review.tests.world import login

GROUNDS = "The account is my brother's; he uses my name online, not me."


@pytest.fixture
def appeal(notice: Notice, cast: dict[str, Any]) -> Appeal:
    notices.send_notice(notice, actor=cast["olivia"])
    return notices.receive_appeal(notice, GROUNDS)


def _pages(notice: Notice, appeal: Appeal) -> list[str]:
    return [
        reverse("review-notices"),
        reverse("review-notice", args=[notice.pk]),
        reverse("review-appeals"),
        reverse("review-appeal", args=[appeal.pk]),
    ]


@pytest.mark.django_db
def test_oversight_sees_none_of_these_pages(client: Client, notice: Notice, appeal: Appeal) -> None:
    login(client, "otto")

    assert [client.get(url).status_code for url in _pages(notice, appeal)] == [403, 403, 403, 403]


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client: Client, notice: Notice, appeal: Appeal) -> None:
    assert all(client.get(url).status_code == 302 for url in _pages(notice, appeal))


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["olivia", "lena", "rita"])
def test_operators_leads_and_the_cases_reviewer_see_them(
    client: Client, notice: Notice, appeal: Appeal, who: str
) -> None:
    login(client, who)

    assert [client.get(url).status_code for url in _pages(notice, appeal)] == [200, 200, 200, 200]
    assert f"#{notice.pk}" in client.get(reverse("review-notices") + "?show=all").text
    assert GROUNDS.replace("'", "&#x27;") in client.get(reverse("review-appeal", args=[appeal.pk])).text


@pytest.mark.django_db
def test_another_reviewer_sees_neither(client: Client, notice: Notice, appeal: Appeal) -> None:
    login(client, "ravi")

    assert client.get(reverse("review-notice", args=[notice.pk])).status_code == 404
    assert client.get(reverse("review-appeal", args=[appeal.pk])).status_code == 404
    assert "No notices" in client.get(reverse("review-notices") + "?show=all").text
    assert "No appeals" in client.get(reverse("review-appeals") + "?state=all").text


@pytest.mark.django_db
def test_staff_views_are_audited(client: Client, notice: Notice, appeal: Appeal) -> None:
    login(client, "lena")
    client.get(reverse("review-notice", args=[notice.pk]))
    client.get(reverse("review-appeal", args=[appeal.pk]))

    assert AuditEvent.objects.filter(action="notice.staff_viewed", actor="lena", object_id=str(notice.pk)).exists()
    assert AuditEvent.objects.filter(action="appeal.viewed", actor="lena", object_id=str(appeal.pk)).exists()


@pytest.mark.django_db
def test_the_case_page_links_to_its_notice_and_appeal(client: Client, notice: Notice, appeal: Appeal) -> None:
    page = login(client, "rita").get(reverse("review-case", args=[notice.case_id])).text

    assert reverse("review-notice", args=[notice.pk]) in page
    assert reverse("review-appeal", args=[appeal.pk]) in page


@pytest.mark.django_db
def test_a_reviewer_sees_the_notice_but_cannot_send_it(client: Client, notice: Notice) -> None:
    login(client, "rita")
    assert "Send notice" not in client.get(reverse("review-notice", args=[notice.pk])).text

    response = client.post(reverse("review-notice-send", args=[notice.pk]), follow=True)

    assert "only operators and leads send notices" in response.text
    assert not mail.outbox


@pytest.mark.django_db
def test_an_operator_sends_the_draft_from_its_page(client: Client, notice: Notice) -> None:
    login(client, "olivia")
    page = client.get(reverse("review-notice", args=[notice.pk])).text
    assert "Send notice" in page and "alice@example.org" in page
    assert "You are all idiots" in page  # what the member will read

    response = client.post(reverse("review-notice-send", args=[notice.pk]), follow=True)

    assert "Notice emailed to alice@example.org" in response.text
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_assign_form_offers_only_independent_leads(
    client: Client, appeal: Appeal, cast: dict[str, Any], lars: Any
) -> None:
    page = login(client, "olivia").get(reverse("review-appeal", args=[appeal.pk])).text

    assert "lena (not independent: they signed off the decision under appeal)" in page
    response = client.post(
        reverse("review-appeal-assign", args=[appeal.pk]), {"lead": cast["lena"].pk, "version": 1}, follow=True
    )
    assert "needs an independent lead" in response.text
    response = client.post(
        reverse("review-appeal-assign", args=[appeal.pk]), {"lead": lars.pk, "version": 1}, follow=True
    )
    assert "Appeal assigned to lars" in response.text


def _more_notices(notice: Notice, n: int) -> None:
    """``n`` more sent notices (with appeals) on the same case, straight through the ORM."""
    for _ in range(n):
        decision = Decision.objects.create(
            case=notice.case, reviewer=notice.decision.reviewer, outcome="advice", reason=DECISION_REASON,
            decided_at=notice.drafted_at,
        )  # fmt: skip
        extra = Notice.objects.create(
            decision=decision, outcome="advice", reasons=DECISION_REASON,
            appeal_days=21, drafted_at=notice.drafted_at,
        )  # fmt: skip
        notices.send_notice(extra, actor="cli")
        notices.receive_appeal(extra, GROUNDS)


@pytest.mark.django_db
@pytest.mark.parametrize("n", [0, 30])
def test_the_lists_take_the_same_queries_however_many_rows(
    client: Client, notice: Notice, appeal: Appeal, django_assert_num_queries: Any, n: int
) -> None:
    _more_notices(notice, n)
    login(client, "lena")

    # session, user, roles, counts, page count, page, nav groups
    with django_assert_num_queries(7):
        client.get(reverse("review-notices") + "?show=all")
    # session, user, roles, page count, page, state counts, nav groups
    with django_assert_num_queries(7):
        client.get(reverse("review-appeals") + "?state=all")


@pytest.mark.django_db
def test_the_cli_lists_and_sends_notices(notice: Notice, capsys: Any) -> None:
    call_command("notices")
    listed = capsys.readouterr().out
    assert f"{notice.pk:>5}" in listed and "M-0001" in listed and "draft" in listed

    call_command("notices", "send", str(notice.pk))
    assert capsys.readouterr().out == f"notice {notice.pk}: emailed to alice@example.org\n"
    assert AuditEvent.objects.filter(action="notice.sent", actor="cli").exists()

    with pytest.raises(CommandError, match="already sent by email"):
        call_command("notices", "send", str(notice.pk))
    call_command("notices", "send", "--all-drafts")
    assert capsys.readouterr().out == "no draft notices to send\n"


@pytest.mark.django_db
def test_the_cli_says_when_a_notice_must_go_by_post(notice: Notice, capsys: Any) -> None:
    notice.member.email = ""
    notice.member.save()

    call_command("notices", "send", "--all-drafts")

    out = capsys.readouterr().out
    assert "has no email address; marked to post" in out and f"/review/notices/{notice.pk}/" in out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["send"], "give a notice number, or --all-drafts"),
        (["send", "7", "--all-drafts"], "give a notice number, or --all-drafts"),
        (["send", "999"], "there is no notice 999"),
    ],
)
def test_the_cli_names_what_is_wrong(cast: dict[str, Any], args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("notices", *args)
