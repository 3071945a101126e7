"""Register's figures for oversight: members by status and declared identifiers, counts only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oversight import figures
from oversight.figures import SMALL, Suppressed
from register.models import Member
from register.services import import_register

REGISTER = """number,given_name,family_name,x_handle,bluesky_handle
M1,Peggy,Oakes,@PeggyOakes61,https://bsky.app/profile/peggy.bsky.social
M2,Bill,Stone,@billstone,
M3,Ann,Ash,,
"""


def _value(key: str, min_cell: int = 1) -> Any:
    return figures.evaluate(figures.get(key), min_cell).value


@pytest.fixture
def register(tmp_path: Path, db: Any) -> None:
    (tmp_path / "r.csv").write_text(REGISTER, encoding="utf-8")
    import_register(tmp_path / "r.csv")
    Member.objects.filter(number="M3").update(status=Member.Status.LAPSED)


def test_members_by_status(register):
    assert _value("register.members").rows == (("Active", 2), ("Lapsed", 1), ("Suspended", 0))


def test_declared_identifiers_by_kind_and_platform(register):
    assert _value("register.identifiers").rows == (("Handle", "bluesky", 1, 1), ("Handle", "x", 2, 2))


def test_no_names_or_handles_appear_and_small_counts_are_suppressed(register):
    value = _value("register.identifiers", 5)

    assert "peggy" not in repr(value).lower() and "M1" not in repr(value)
    assert value.rows == (
        ("Handle", "bluesky", Suppressed(SMALL, 5), Suppressed(SMALL, 5)),
        ("Handle", "x", Suppressed(SMALL, 5), Suppressed(SMALL, 5)),
    )
    # two small cells in the column: neither follows from the total, so the zero stays
    assert _value("register.members", 5).rows == (
        ("Active", Suppressed(SMALL, 5)),
        ("Lapsed", Suppressed(SMALL, 5)),
        ("Suspended", 0),
    )
