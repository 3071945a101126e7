"""Oversight's figures for notices and appeals, driven through the real notice and appeal services."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from oversight import figures
from review import notices
from review.models import Appeal, Notice

GROUNDS = "The post quoted someone else's words in order to criticise them."
RESULT = "Read in full the post criticises the abuse it quotes; it is not abuse."


def _value(key: str) -> Any:
    return figures.evaluate(figures.get(key), 1).value


@pytest.fixture
def sent(notice: Notice, cast: dict[str, Any], settings: Any, client: Client) -> Notice:
    settings.OVERSIGHT_MIN_CELL = 1
    settings.PUBLIC_URL = "http://testserver"
    notices.send_notice(notice, actor=cast["olivia"])
    match = re.search(r"/notice/([A-Za-z0-9_-]+)/", str(mail.outbox[-1].body))
    assert match
    client.post(f"/notice/{match.group(1)}/", {"grounds": GROUNDS}, follow=True)
    return notice


@pytest.mark.django_db
def test_a_draft_notice_counts_as_not_yet_sent(notice: Notice, settings: Any) -> None:
    settings.OVERSIGHT_MIN_CELL = 1
    rows = dict(_value("review.notices").rows)
    assert rows["draft"] == 1 and rows["sent by email"] == 0
    assert rows["opened by the member at their link"] == 0
    assert dict(_value("review.outcomes").rows)["Breach: formal warning"] == 1


@pytest.mark.django_db
def test_an_allowed_appeal_takes_the_decision_out_of_the_outcomes(
    sent: Notice, cast: dict[str, Any], lars: Any
) -> None:
    rows = dict(_value("review.notices").rows)
    assert rows["draft"] == 0 and rows["sent by email"] == 1
    assert rows["opened by the member at their link"] == 1
    appeal = Appeal.objects.get()
    assert dict(_value("review.appeals").rows)["received, waiting for a lead"] == 1

    notices.assign_appeal(appeal, lars, actor=cast["olivia"], expected_version=appeal.version)
    appeal.refresh_from_db()
    assert dict(_value("review.appeals").rows)["with a lead"] == 1
    notices.decide_appeal(appeal, lars, "allowed", RESULT, expected_version=appeal.version)

    appeals = dict(_value("review.appeals").rows)
    assert appeals["allowed: the decision is overturned"] == 1 and appeals["with a lead"] == 0
    assert dict(_value("review.outcomes").rows)["Breach: formal warning"] == 0
    assert _value("review.adverse_share") is None  # no decision in effect is left
