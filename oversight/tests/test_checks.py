"""oversight's system checks."""

from __future__ import annotations

from oversight.checks import check_min_cell


def test_a_minimum_cell_below_one_is_rejected_as_oversight_e001(settings):
    settings.OVERSIGHT_MIN_CELL = 0

    [error] = check_min_cell()

    assert error.id == "oversight.E001" and "ASSAY_OVERSIGHT_MIN_CELL is 0" in error.msg


def test_the_default_and_other_whole_numbers_pass(settings):
    assert check_min_cell() == []
    settings.OVERSIGHT_MIN_CELL = 1
    assert check_min_cell() == []
