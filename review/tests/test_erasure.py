"""`assay erase`: a member's data goes across every app, unless a hold applies; or they are restricted."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from criteria.models import Hit
from evidence.models import Account, AccountObservation, Post, Quarantine
from linkage.models import Link
from linkage.services import LinkReviewError, confirm_link, run_linkage
from oversight.models import AuditEvent
from oversight.services import verify_chain
from register.models import DeclaredIdentifier, Member
from register.services import import_register
from review.models import Case, Decision
from review.services import triage
from review.tests.privacy import close_case
from review.tests.world import POSTED, World, case_of, login

REQUEST = "DSAR-2026-014, received by post"
CAROL_CSV = (
    "number,given_name,family_name,town,x_handle\n"
    "M-0003,Carol,Cooper,Hull,@carol_c\n"
    "M-0003,Carol,Cooper-Old,Hull,@carol_c\n"  # quarantined: a duplicate number
    "M-00031,Other,Person,Hull,\n"
)


def _erase(*args: str) -> str:
    out = StringIO()
    call_command("erase", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def carol(hits: World, cast: dict[str, Any], tmp_path: Path) -> Member:
    """Carol, from the register, with her declared account, an unmatched post, and a closed no-breach case."""
    (tmp_path / "register.csv").write_text(CAROL_CSV)
    import_register(tmp_path / "register.csv")
    account = hits.account("carol_c")
    AccountObservation.objects.create(account=account, handle="carol_c", display_name="Carol C", observed_at=POSTED)
    hits.post(account, "lovely day in Hull")
    hits.hit_text(account, "they are idiots", "ABUSE-1")
    run_linkage()
    triage()
    close_case(Member.objects.get(number="M-0003"), cast, "no_breach")
    return Member.objects.get(number="M-0003")


@pytest.mark.django_db
def test_erasure_is_refused_while_a_case_is_open_and_says_which(hits: World) -> None:
    triage()
    case = case_of(hits.members["alice"])

    with pytest.raises(CommandError) as refused:
        _erase("M-0001", "--reason", REQUEST, "--apply")

    assert f"case #{case.pk} is open" in str(refused.value)
    assert "--restrict" in str(refused.value)
    assert Member.objects.get(pk=hits.members["alice"].pk).family_name == "Archer"
    assert not AuditEvent.objects.filter(action="member.erased").exists()


@pytest.mark.django_db
def test_an_account_case_holds_the_member_a_proposal_ties_it_to(hits: World) -> None:
    triage()

    with pytest.raises(CommandError, match=f"case #{case_of(hits.accounts['bobby']).pk} is open"):
        _erase("M-0002", "--reason", REQUEST, "--apply")


@pytest.mark.django_db
def test_an_adverse_outcome_holds_until_its_appeal_window_and_retention_end(hits: World, cast: dict[str, Any]) -> None:
    triage()
    case = close_case(hits.members["alice"], cast, "warning")
    assert case.closed_at is not None

    with pytest.raises(CommandError) as refused:
        _erase("M-0001", "--reason", REQUEST, "--apply")

    message = str(refused.value)
    assert f"appeal window (until {case.closed_at + timedelta(days=28):%Y-%m-%d})" in message
    assert (
        f"ASSAY_RETENTION_ADVERSE_CASE_DAYS after closing (until {case.closed_at + timedelta(days=6 * 365):%Y-%m-%d})"
        in message
    )


@pytest.mark.django_db
def test_a_dry_run_lists_what_would_go_and_changes_nothing(carol: Member) -> None:
    output = _erase("M-0003", "--reason", REQUEST)

    assert "would erase (dry run" in output
    assert "register.identifier: 1" in output and "evidence.post: 2" in output
    assert "register.quarantined_row: 1" in output
    assert DeclaredIdentifier.objects.filter(member=carol).count() == 1
    assert Post.objects.filter(text="lovely day in Hull").exists()


@pytest.mark.django_db
def test_erasure_removes_the_members_data_across_every_app(carol: Member) -> None:
    account = Account.objects.get(platform_id="id-carol_c")
    posts = list(Post.objects.filter(account=account).order_by("pk"))
    Quarantine.objects.create(origin="register.csv", position="line 9", reason="bad date", raw="M-00031,Other,Person")
    assert Quarantine.objects.filter(reason__contains="M-0003'").exists()

    output = _erase("M-0003", "--reason", REQUEST, "--apply")

    assert "member M-0003: erased" in output
    erased = Member.objects.get(pk=carol.pk)
    assert (erased.given_name, erased.family_name, erased.town, erased.number) == ("", "", "", f"erased-{carol.pk}")
    assert erased.erased_at is not None
    assert not DeclaredIdentifier.objects.filter(member=carol).exists()
    assert not Link.objects.filter(member=carol).exists()
    assert not Case.objects.filter(member=carol).exists() and not Decision.objects.filter(case__member=carol).exists()
    assert not Hit.objects.filter(post__account=account).exists()
    for before in posts:
        after = Post.objects.get(pk=before.pk)
        assert (after.text, after.raw, after.sha256) == ("", {}, before.sha256)
    account.refresh_from_db()
    assert (account.handle, account.display_name, account.platform_id) == ("", "", "id-carol_c")
    assert not AccountObservation.objects.filter(account=account).exists()
    assert not Quarantine.objects.filter(reason__contains="M-0003'").exists()
    assert Quarantine.objects.filter(raw__startswith="M-00031,").exists()  # another member's row stays
    event = AuditEvent.objects.get(action="member.erased")
    # The case went first, purging the post with the hit; the unmatched post went with the account's posts.
    assert (event.data["counts"]["review.case"], event.data["counts"]["evidence.post"]) == (1, 1)
    assert event.data["reason"] == REQUEST
    assert "Carol" not in json.dumps(event.data) and "carol_c" not in json.dumps(event.data)
    assert verify_chain()[1] is None
    assert Case.objects.filter(member=Member.objects.get(number="M-0001")).exists()  # others untouched


@pytest.mark.django_db
def test_the_member_leaves_other_proposals_runners_up(carol: Member, hits: World) -> None:
    bob_link = hits.links["bob"]
    bob_link.explanation["others"] = [{"member_id": carol.pk, "probability": 0.4, "match_weight": 2.0}]
    bob_link.save(update_fields=["explanation"])

    _erase("M-0003", "--reason", REQUEST, "--apply")

    bob_link.refresh_from_db()
    assert (bob_link.explanation["others"], bob_link.explanation["others_erased"]) == ([], 1)


@pytest.mark.django_db
def test_an_account_someone_else_is_linked_to_is_left(carol: Member, hits: World) -> None:
    account = Account.objects.get(platform_id="id-carol_c")
    Link.objects.create(account=account, member=hits.members["alice"], method="declared", probability=1.0,
                        status="confirmed", run=hits.links["alice"].run)  # fmt: skip

    _erase("M-0003", "--reason", REQUEST, "--apply")

    assert Post.objects.filter(text="lovely day in Hull").exists()
    assert Account.objects.get(pk=account.pk).handle == "carol_c"


@pytest.mark.django_db
def test_a_later_register_import_does_not_add_an_erased_member_back_unless_readmitted(
    carol: Member, tmp_path: Path
) -> None:
    _erase("M-0003", "--reason", REQUEST, "--apply")
    out = StringIO()

    call_command("import_register", str(tmp_path / "register.csv"), stdout=out)
    assert not Member.objects.filter(number="M-0003").exists()
    assert "1 erased members not re-added" in out.getvalue()

    call_command("import_register", str(tmp_path / "register.csv"), "--readmit", "M-0003", stdout=StringIO())
    readded = Member.objects.get(number="M-0003")
    assert readded.pk != carol.pk and readded.given_name == "Carol"
    assert AuditEvent.objects.filter(action="member.readmitted", object_id=str(carol.pk)).exists()


@pytest.mark.django_db
def test_a_restricted_member_is_never_newly_linked_or_put_in_a_case(hits: World, cast: dict[str, Any]) -> None:
    triage()
    alice = hits.members["alice"]
    output = _erase("M-0001", "--reason", REQUEST, "--restrict", "--apply")
    _erase("M-0002", "--reason", REQUEST, "--restrict", "--apply")
    assert "restricted: no new links or cases; holds: case #" in output

    DeclaredIdentifier.objects.create(member=alice, kind="handle", platform="x", value="alice_new")
    hits.account("alice_new")
    hits.hit_text(hits.accounts["alice_x"], "more idiots", "ABUSE-1")
    summary = run_linkage()
    triaged = triage()

    assert summary.declared_links == 0
    assert not Link.objects.filter(account__handle="alice_new").exists()
    assert triaged.hits_restricted == 1 and triaged.hits_added == 0
    assert "1 hits held back: their member's processing is restricted" in str(triaged)
    assert case_of(alice).hits.count() == 2
    with pytest.raises(LinkReviewError, match="restricted"):
        confirm_link(hits.links["bob"], cast["lena"], "same name and town")
    assert AuditEvent.objects.get(action="member.restricted", object_id=str(alice.pk)).data["reason"] == REQUEST


@pytest.mark.django_db
def test_the_erase_page_refuses_while_holds_apply(client: Client, hits: World) -> None:
    triage()
    alice = hits.members["alice"]
    url = reverse("register-erase", args=[alice.pk])

    page = login(client, "olivia").get(url)
    refused = client.post(url, {"action": "erase", "reason": REQUEST})

    assert f"case #{case_of(alice).pk} is open" in page.text
    assert refused.status_code == 409
    assert "Erasure refused while holds apply" in refused.text
    assert Member.objects.get(pk=alice.pk).erased_at is None


@pytest.mark.django_db
def test_the_case_page_leads_operators_to_the_member(client: Client, hits: World) -> None:
    triage()
    case = case_of(hits.members["alice"])
    member_url = reverse("register-member", args=[hits.members["alice"].pk])

    assert member_url in login(client, "olivia").get(reverse("review-case", args=[case.pk])).text
    client.logout()
    assert member_url not in login(client, "lena").get(reverse("review-case", args=[case.pk])).text


@pytest.mark.django_db
def test_lifting_a_restriction_lets_the_held_back_hits_into_the_case(hits: World) -> None:
    triage()
    _erase("M-0001", "--reason", REQUEST, "--restrict", "--apply")
    hits.hit_text(hits.accounts["alice_x"], "more idiots", "ABUSE-1")
    assert triage().hits_restricted == 1

    output = _erase("M-0001", "--reason", REQUEST, "--lift-restriction", "--apply")

    assert "restriction lifted" in output
    assert triage().hits_added == 1
    assert case_of(hits.members["alice"]).hits.count() == 3


@pytest.mark.django_db
def test_oversight_sees_how_often_members_rights_were_exercised(carol: Member, tmp_path: Path, settings: Any) -> None:
    from django.utils import timezone

    from oversight import figures

    settings.OVERSIGHT_MIN_CELL = 1
    call_command("subject_access", "M-0003", "--out", str(tmp_path / "carol.zip"))
    _erase("M-0003", "--reason", REQUEST, "--restrict", "--apply")
    _erase("M-0003", "--reason", REQUEST, "--lift-restriction", "--apply")
    _erase("M-0003", "--reason", REQUEST, "--apply")
    call_command("retention", "--apply", stdout=StringIO())

    table = figures.evaluate(figures.get("audit.data_rights"), 1).value
    assert isinstance(table, figures.Table)
    assert table.columns[1:] == (
        "Subject access exports",
        "Erasures",
        "Restrictions",
        "Restrictions lifted",
        "Retention runs applied",
    )
    [(month, *counts)] = table.rows
    assert month == f"{timezone.now():%Y-%m}" and counts == [1, 1, 1, 1, 1]
    # with the usual minimum, single requests are people and are not shown as numbers
    suppressed = figures.evaluate(figures.get("audit.data_rights"), 5).value
    assert isinstance(suppressed, figures.Table)
    assert all(not isinstance(n, int) for n in suppressed.rows[0][1:])
