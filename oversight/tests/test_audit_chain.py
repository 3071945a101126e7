"""The audit log's hash chain: appends link up, and any hand edit is found and named."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from oversight import chain
from oversight.models import AuditEvent
from oversight.services import record, verify_chain


def _events(n: int) -> list[chain.ChainedEvent]:
    events, prev = [], chain.GENESIS_HASH
    for seq in range(1, n + 1):
        body = {"seq": seq, "action": "thing.done", "data": {"n": seq}}
        digest = chain.event_hash(prev, body)
        events.append(chain.ChainedEvent(seq, body, prev, digest))
        prev = digest
    return events


def test_an_intact_chain_verifies():
    assert chain.verify(_events(5)) is None


def test_an_edited_event_is_named():
    events = _events(5)
    events[2] = chain.ChainedEvent(
        3, {**events[2].body, "action": "nothing.happened"}, events[2].prev_hash, events[2].hash
    )
    broken = chain.verify(events)
    assert broken is not None and broken.seq == 3 and "edited" in broken.reason


def test_a_deleted_event_is_found():
    events = _events(5)
    del events[1]
    broken = chain.verify(events)
    assert broken is not None and broken.seq == 2 and "missing" in broken.reason


def test_a_rehashed_edit_breaks_the_link_to_the_next_event():
    events = _events(4)
    body = {**events[1].body, "data": {"n": 99}}
    events[1] = chain.ChainedEvent(2, body, events[1].prev_hash, chain.event_hash(events[1].prev_hash, body))
    broken = chain.verify(events)
    assert broken is not None and broken.seq == 3


@pytest.mark.django_db
def test_recorded_events_chain_and_audit_verify_passes(capsys):
    for n in range(3):
        record("test.event", actor="olivia", object_type="thing", object_id=n, detail={"n": n, "tags": ("a", "b")})

    call_command("audit", "verify")

    assert "audit chain intact: 3 events verified" in capsys.readouterr().out
    first, second = AuditEvent.objects.order_by("seq")[:2]
    assert (first.prev_hash, second.prev_hash) == (chain.GENESIS_HASH, first.hash)


@pytest.mark.django_db
def test_audit_verify_fails_naming_an_event_edited_by_hand():
    for n in range(4):
        record("test.event", actor="olivia", object_type="thing", object_id=n)
    target = AuditEvent.objects.get(seq=3)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE oversight_auditevent SET actor = %s WHERE id = %s", ["mallory", target.pk])

    with pytest.raises(CommandError, match="audit chain broken at event 3"):
        call_command("audit", "verify")


@pytest.mark.django_db
def test_audit_verify_fails_when_the_newest_event_is_deleted():
    for n in range(3):
        record("test.event", object_id=n)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM oversight_auditevent WHERE seq = 3")

    total, broken = verify_chain()

    assert total == 2 and broken is not None and broken.seq == 3
