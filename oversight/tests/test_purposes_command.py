"""`assay purposes`: record, approve (a second person), revise, retire and list purposes; each change audited."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from oversight.models import AuditEvent, Purpose
from oversight.services import create_user

pytestmark = pytest.mark.no_default_purpose

ADD = ["--description", "Reviewing public posts", "--basis", "legitimate_interests", "--review-due", "2099-01-01"]


@pytest.fixture
def oscar(cast):
    return create_user("oscar", "operator", password="x")


def _run(*args: str) -> str:
    out = StringIO()
    call_command("purposes", *args, stdout=out)
    return out.getvalue()


def test_a_purpose_is_recorded_then_approved_by_a_second_person(cast, oscar):
    assert "Conduct v1: recorded" in _run("add", "Conduct", "--by", "olivia", *ADD)
    with pytest.raises(CommandError, match="olivia wrote this version: a second person must approve it"):
        _run("approve", "Conduct", "--by", "olivia")
    assert "Conduct v1: approved by oscar" in _run("approve", "Conduct", "--by", "oscar")

    purpose = Purpose.objects.get()
    assert (purpose.created_by, purpose.approved_by, purpose.lawful_basis) == (
        "olivia",
        "oscar",
        "legitimate_interests",
    )
    events = list(AuditEvent.objects.filter(action__startswith="purpose.").values_list("action", "actor"))
    assert events == [("purpose.created", "olivia"), ("purpose.approved", "oscar")]


def test_a_lead_may_approve_but_a_reviewer_may_not_record(cast):
    _run("add", "Conduct", "--by", "olivia", *ADD)
    with pytest.raises(CommandError, match="--by 'rita': only operators may do this"):
        _run("add", "Other", "--by", "rita", *ADD)
    assert "approved by lena" in _run("approve", "Conduct", "--by", "lena")


def test_editing_makes_a_new_version_and_keeps_the_old_one_in_force_until_approved(cast, oscar):
    _run("add", "Conduct", "--by", "olivia", *ADD)
    _run("approve", "Conduct", "--by", "oscar")
    assert "Conduct v2: recorded" in _run("add", "Conduct", "--by", "oscar", *ADD[:-1], "2100-01-01")

    listing = _run("list")
    assert "in force" in listing and "awaiting approval" in listing
    assert list(Purpose.objects.order_by("version").values_list("version", "approved_by")) == [(1, "oscar"), (2, "")]
    _run("approve", "Conduct", "--by", "olivia")
    assert "superseded" in _run("list")


def test_a_probabilistic_purpose_without_a_dpia_is_refused_naming_the_field(cast):
    with pytest.raises(CommandError, match=r"DPIA reference: probabilistic matching is high-risk"):
        _run("add", "Matching", "--by", "olivia", *ADD, "--probabilistic")
    assert not Purpose.objects.exists()


def test_a_bad_date_is_refused_naming_the_option(cast):
    with pytest.raises(CommandError, match=r"review-due.*'next year' is not a date"):
        _run("add", "Conduct", "--by", "olivia", *ADD[:-1], "next year")


def test_retiring_stops_the_purpose_and_is_audited(cast, oscar):
    _run("add", "Conduct", "--by", "olivia", *ADD)
    _run("approve", "Conduct", "--by", "oscar")
    assert "Conduct: retired (1 version(s))" in _run("retire", "Conduct", "--by", "oscar", "--reason", "done")
    assert "retired" in _run("list")
    with pytest.raises(CommandError, match="is retired"):
        _run("add", "Conduct", "--by", "olivia", *ADD)
    event = AuditEvent.objects.get(action="purpose.retired")
    assert event.data["reason"] == "done" and event.actor == "oscar"


def test_an_unknown_user_or_purpose_is_named(cast):
    with pytest.raises(CommandError, match="--by 'nobody': no such user"):
        _run("add", "Conduct", "--by", "nobody", *ADD)
    with pytest.raises(CommandError, match="no purpose 'Missing'"):
        _run("approve", "Missing", "--by", "olivia")
