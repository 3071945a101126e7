"""Existing installs: members already lapsed get a lapse date no earlier than their last update, so the
lapsed-member retention window never starts before the lapse; the migration reverses."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("register", "0002_privacy")]
AFTER = [("register", "0003_member_lapsed_at")]
UPDATED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def test_lapsed_members_are_dated_from_their_last_update(transactional_db):
    old = _migrate(BEFORE).loader.project_state(BEFORE).apps
    Member = old.get_model("register", "Member")
    Member.objects.create(number="L1", given_name="Lee", family_name="L", status="lapsed")
    Member.objects.create(number="A1", given_name="Ann", family_name="A", status="active")
    Member.objects.filter(number="L1").update(updated_at=UPDATED)
    try:
        new = _migrate(AFTER).loader.project_state(AFTER).apps
        dated = dict(new.get_model("register", "Member").objects.values_list("number", "lapsed_at"))
        assert dated == {"L1": UPDATED, "A1": None}
        back = _migrate(BEFORE).loader.project_state(BEFORE).apps
        assert back.get_model("register", "Member").objects.count() == 2
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
