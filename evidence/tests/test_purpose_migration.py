"""Existing installs: migrating puts every existing source under the default purpose, recorded
unapproved, so nothing collects until a person approves it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from oversight.lawful_basis import DEFAULT_PURPOSE

BEFORE = [("evidence", "0004_privacy")]
AFTER = [("evidence", "0005_purpose")]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.mark.no_default_purpose
def test_existing_sources_move_under_the_default_purpose_unapproved(transactional_db):
    old = _migrate(BEFORE).loader.project_state(BEFORE).apps
    old.get_model("evidence", "Source").objects.create(name="legacy", platform="x", connector="x_search", query="#a")
    try:
        new = _migrate(AFTER).loader.project_state(AFTER).apps
        source = new.get_model("evidence", "Source").objects.get(name="legacy")
        purpose = new.get_model("oversight", "Purpose").objects.get(pk=source.purpose_id)
        assert (purpose.name, purpose.version, purpose.created_by) == (DEFAULT_PURPOSE, 1, "migration")
        assert purpose.approved_at is None and purpose.review_due is not None
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
