"""Restricted and erased members are never newly linked, declared or probabilistic."""

from __future__ import annotations

import pytest
from django.utils import timezone

from linkage.services import linkable_members, member_records
from register.models import Member


@pytest.mark.django_db
def test_the_model_sees_only_members_who_may_be_linked() -> None:
    Member.objects.create(number="A1", given_name="Ann", family_name="Able")
    Member.objects.create(number="B2", given_name="Ben", family_name="Bold", restricted_at=timezone.now())
    Member.objects.create(number="erased-3", erased_at=timezone.now())

    records = member_records()

    assert [r.given_name for r in records] == ["Ann"]
    assert list(linkable_members().values_list("number", flat=True)) == ["A1"]
