"""The figures registry and small-cell suppression, without a database."""

from __future__ import annotations

import json

import pytest

from oversight import figures
from oversight.figures import COMPLEMENT, SMALL, FigureError, Link, Spec, Suppressed, Table


def _spec(key: str = "test.thing", value: figures.Value = 7, **kw) -> Spec:
    defaults = {"section": "review", "label": "A thing", "help": "Counts things.", "order": 1}
    return Spec(key=key, compute=lambda: value, **{**defaults, **kw})


def test_small_cells_show_as_fewer_than_the_minimum_and_the_complement_is_withheld():
    column = figures.suppress_column([12, 3, 40, 0, 9], 5)

    assert column[1] == Suppressed(SMALL, 5) and str(column[1]) == "fewer than 5"
    # with only one small cell, total - others would give it away: the smallest other non-zero goes too
    assert column[4] == Suppressed(COMPLEMENT, 5) and str(column[4]) == "withheld"
    assert (column[0], column[2], column[3]) == (12, 40, 0)


def test_two_small_cells_need_no_complement():
    assert figures.suppress_column([2, 3, 40], 5) == [Suppressed(SMALL, 5), Suppressed(SMALL, 5), 40]


def test_a_small_cell_that_is_the_only_non_zero_one_hides_the_zeros_too():
    # the total equals that cell; hiding the zeros hides where it is
    assert figures.suppress_column([0, 2, 0, "n/a"], 5) == [
        Suppressed(COMPLEMENT, 5),
        Suppressed(SMALL, 5),
        Suppressed(COMPLEMENT, 5),
        "n/a",
    ]


def test_zeros_and_counts_at_the_minimum_are_shown():
    assert figures.suppress_column([0, 5, 6], 5) == [0, 5, 6]
    assert figures.suppress_column([1, 2, 3], 1) == [1, 2, 3]


def test_each_value_column_is_suppressed_on_its_own_and_labels_never():
    table = Table(("Month", "Year", "Opened", "Closed"), (("2026-10", 2, 3, 10), ("2026-11", 3, 20, 30)), 2)

    out = figures.suppress_table(table, 5)

    assert out.rows[0][:2] == ("2026-10", 2) and out.rows[1][:2] == ("2026-11", 3)
    assert [r[2] for r in out.rows] == [Suppressed(SMALL, 5), Suppressed(COMPLEMENT, 5)]
    assert [r[3] for r in out.rows] == [10, 30]


def test_only_figures_about_people_are_suppressed():
    table = Table(("Platform", "Sources"), (("X", 2), ("Bluesky", 9)))

    about_sources = figures.evaluate(_spec(value=table, people=False), 5)
    about_people = figures.evaluate(_spec(value=table, people=True), 5)

    assert about_sources.value == table and about_sources.notes == ()
    assert isinstance(about_people.value, Table)
    assert about_people.value.rows == (("X", Suppressed(SMALL, 5)), ("Bluesky", Suppressed(COMPLEMENT, 5)))
    assert any("fewer than 5" in note for note in about_people.notes)
    assert any("withheld" in note for note in about_people.notes)


def test_the_json_of_a_suppressed_cell_says_why_and_never_the_number():
    table = Table(("Outcome", "Decisions"), (("warning", 3), ("no breach", 4417), ("advice", 6)))
    fig = figures.evaluate(_spec(value=table, people=True), 5)

    data = figures.as_json(fig)

    assert data["table"]["rows"][0] == ["warning", {"suppressed": "small", "text": "fewer than 5"}]
    assert data["table"]["rows"][2] == ["advice", {"suppressed": "complement", "text": "withheld"}]
    assert data["table"]["rows"][1] == ["no breach", 4417]
    text = json.dumps(data)
    assert ": 3" not in text and ": 6" not in text and ", 3]" not in text and ", 6]" not in text


def test_csv_rows_have_one_line_per_value_named_by_its_row_labels():
    table = Table(("Kind", "Platform", "Identifiers"), (("handle", "x", 12), ("email", "any", 2)), label_columns=2)
    fig = figures.evaluate(_spec(key="register.ids", value=table, people=True, section="linkage"), 5)

    assert figures.csv_rows(fig) == [
        ("linkage", "register.ids", "A thing", "handle / x", "Identifiers", "withheld", "complement"),
        ("linkage", "register.ids", "A thing", "email / any", "Identifiers", "fewer than 5", "small"),
    ]
    formula = figures.evaluate(_spec(value=Table(("Clause", "Hits"), (("=HYPERLINK(1)", 9),))), 5)
    assert figures.csv_rows(formula)[0][3] == "'=HYPERLINK(1)"  # a spreadsheet shows it, never runs it
    scalar = figures.evaluate(_spec(value=12.25, unit="%"), 5)
    assert figures.csv_rows(scalar) == [("review", "test.thing", "A thing", "", "", "12.25", "")]


def test_cells_read_as_people_read_them():
    assert figures.format_cell(1234567) == "1,234,567"
    assert figures.format_cell(12.34, "%") == "12.3%"
    assert figures.format_cell(2.5, "days") == "2.5 days"
    assert figures.format_cell(None) == "—"
    assert figures.format_cell(Link("v3", "/rules/3/")) == "v3"


def test_registering_checks_the_section_and_refuses_a_second_figure_under_one_key():
    with pytest.raises(FigureError, match=r"figure 'test.bad': unknown section 'people'"):
        figures.register(_spec(key="test.bad", section="people"))

    first = figures.register(_spec(key="test.twice"))
    try:
        with pytest.raises(FigureError, match=r"'test\.twice' is registered twice"):
            figures.register(Spec("test.twice", "review", "Other", "", 1, lambda: 2))
        assert figures.get("test.twice") is first
    finally:
        figures.unregister("test.twice")
    with pytest.raises(FigureError, match=r"no figure 'test\.twice' is registered"):
        figures.get("test.twice")


def test_the_decorator_registers_in_section_order():
    @figures.figure("test.late", section="collection", label="Late", help="", order=99)
    def late() -> figures.Value:
        return 1

    @figures.figure("test.early", section="collection", label="Early", help="", order=-1)
    def early() -> figures.Value:
        return 2

    try:
        keys = [s.key for s in figures.registered()]
        assert keys.index("test.early") < keys.index("test.late")
        computed = figures.compute(5, [figures.get("test.late"), figures.get("test.early")])
        sections = {k: figs for k, _, figs in figures.by_section(computed)}
        assert [f.value for f in sections["collection"]] == [1, 2]
        assert list(sections) == ["collection", "rules", "linkage", "review", "audit"]
    finally:
        figures.unregister("test.late")
        figures.unregister("test.early")


def test_a_bad_minimum_or_a_bad_value_is_an_error_naming_it():
    with pytest.raises(FigureError, match="at least 1, not 0"):
        figures.evaluate(_spec(), 0)
    with pytest.raises(FigureError, match=r"figure 'test.thing' computed a list"):
        figures.evaluate(_spec(value=[1, 2]), 5)  # type: ignore[arg-type]
    with pytest.raises(FigureError, match="row 1 has 1 cells but the table has 2 columns"):
        Table(("a", "b"), (("x",),))
