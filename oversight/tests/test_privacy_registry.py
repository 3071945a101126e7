"""The personal-data registry: every app's declarations are discovered at start-up."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from oversight.privacy import categories, registry
from oversight.retention import rules


def test_every_app_declares_its_personal_data() -> None:
    keys = {c.key for c in categories()}

    assert {
        "register.member",
        "register.identifier",
        "evidence.account",
        "evidence.observation",
        "evidence.post",
        "linkage.link",
        "criteria.hit",
        "review.case",
        "review.decision",
    } <= keys
    assert all(c.retention and c.label for c in categories())
    assert registry.accounts_of and registry.member_holds


def test_erasure_removes_dependants_before_what_they_point_at() -> None:
    order = [c.key for c in categories()]

    assert order.index("review.decision") < order.index("review.case") < order.index("criteria.hit")
    assert order.index("criteria.hit") < order.index("evidence.post") < order.index("register.member")
    assert order[-1] == "register.member"


def test_each_retention_rule_names_a_setting_and_cases_expire_before_pages_are_emptied() -> None:
    keys = [r.key for r in rules()]

    assert all(isinstance(getattr(settings, r.setting), int) for r in rules())
    assert keys.index("review.closed_cases") < keys.index("evidence.spent_exchanges")
    assert {"evidence.unmatched_posts", "evidence.deleted_posts", "evidence.quarantine", "review.adverse_cases"} <= set(
        keys
    )


def test_the_system_checks_name_a_bad_retention_window(settings: Any) -> None:
    from oversight.checks import check_retention

    settings.RETENTION_DELETED_POST_DAYS = 0
    settings.RETENTION_ADVERSE_CASE_DAYS = 7

    found = {m.id: m.msg for m in check_retention()}

    assert found["oversight.E002"] == "ASSAY_RETENTION_DELETED_POST_DAYS=0: a retention window must be at least 1 day"
    assert "oversight.W002" in found
