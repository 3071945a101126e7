"""The figures registry: what oversight sees, in aggregate, contributed by each app.

Pure Python, no Django. oversight may import no other app, so each app registers its own
figures from an ``<app>/figures.py`` module (discovered at start-up by ``oversight.apps``):

    @figure("review.outcomes", section="review", label="Outcomes by type", help="...", order=40)
    def outcomes() -> Table: ...

:func:`compute` evaluates every registered figure and applies small-cell suppression: in a
figure about people, any breakdown cell below the minimum cell size shows as "fewer than N",
and one more cell of the same column is withheld when the small one could otherwise be worked
out from the column's total (complementary suppression).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeGuard

SECTIONS: dict[str, str] = {
    "collection": "Collection",
    "rules": "Rules",
    "linkage": "Linkage",
    "review": "Review",
    "audit": "Audit",
}

SMALL: Final = "small"  # the cell itself is below the minimum
COMPLEMENT: Final = "complement"  # withheld so that a small cell cannot be derived from the total


class FigureError(ValueError):
    """A figure was registered or computed wrongly; the message names it."""


@dataclass(frozen=True)
class Link:
    """A table cell or figure that leads to a page oversight may open."""

    text: str
    href: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Suppressed:
    """A count not shown: ``reason`` is SMALL or COMPLEMENT."""

    reason: Literal["small", "complement"]
    min_cell: int

    def __str__(self) -> str:
        return f"fewer than {self.min_cell}" if self.reason == SMALL else "withheld"


Cell = int | float | str | Link | Suppressed | None
Scalar = int | float | str | Link | None


@dataclass(frozen=True)
class Table:
    """A small table: ``label_columns`` columns that name each row, then its values (counts)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    label_columns: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.label_columns <= len(self.columns):
            raise FigureError(f"label_columns={self.label_columns} but the table has {len(self.columns)} columns")
        for n, row in enumerate(self.rows, start=1):
            if len(row) != len(self.columns):
                raise FigureError(f"row {n} has {len(row)} cells but the table has {len(self.columns)} columns")


Value = Scalar | Table


@dataclass(frozen=True)
class Spec:
    key: str
    section: str
    label: str
    help: str
    order: int
    compute: Callable[[], Value]
    people: bool = False  # counts of people (or their posts, cases, links): suppress small cells
    unit: str = ""  # shown after a number: "%", "days"
    prominent: bool = False  # shown large at the top of its section


@dataclass(frozen=True)
class Figure:
    """A computed figure, suppression applied."""

    key: str
    section: str
    label: str
    help: str
    order: int
    value: Value
    unit: str = ""
    prominent: bool = False
    people: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_table(self) -> bool:
        return isinstance(self.value, Table)

    @property
    def section_title(self) -> str:
        return SECTIONS[self.section]

    @property
    def numeric_columns(self) -> frozenset[int]:
        """The value columns holding numbers (shown right-aligned); empty for a scalar."""
        if not isinstance(self.value, Table):
            return frozenset()
        table = self.value
        return frozenset(
            i
            for i in _value_columns(table)
            if any(isinstance(r[i], int | float | Suppressed) and not isinstance(r[i], bool) for r in table.rows)
        )


_REGISTRY: dict[str, Spec] = {}


def register(spec: Spec) -> Spec:
    """Add a figure; a key registered twice, or an unknown section, is an error naming it."""
    if spec.section not in SECTIONS:
        raise FigureError(f"figure {spec.key!r}: unknown section {spec.section!r}; choose one of {', '.join(SECTIONS)}")
    existing = _REGISTRY.get(spec.key)
    if existing is not None and _origin(existing.compute) != _origin(spec.compute):
        raise FigureError(
            f"figure {spec.key!r} is registered twice ({_origin(existing.compute)} and {_origin(spec.compute)})"
        )
    _REGISTRY[spec.key] = spec
    return spec


def _origin(compute: Callable[[], Value]) -> str:
    return f"{getattr(compute, '__module__', '?')}.{getattr(compute, '__qualname__', '?')}"


def figure(
    key: str,
    *,
    section: str,
    label: str,
    help: str,
    order: int,
    people: bool = False,
    unit: str = "",
    prominent: bool = False,
) -> Callable[[Callable[[], Value]], Callable[[], Value]]:
    """Decorator: register the function as the figure ``key``'s computation."""

    def decorate(compute: Callable[[], Value]) -> Callable[[], Value]:
        register(Spec(key, section, label, help, order, compute, people, unit, prominent))
        return compute

    return decorate


def unregister(key: str) -> None:
    """Remove a figure (tests register figures of their own)."""
    _REGISTRY.pop(key, None)


def get(key: str) -> Spec:
    """The registered figure ``key``; an unknown key is an error naming it."""
    try:
        return _REGISTRY[key]
    except KeyError:
        raise FigureError(f"no figure {key!r} is registered") from None


def registered() -> list[Spec]:
    """Every registered figure, by section then order."""
    section_rank = {name: i for i, name in enumerate(SECTIONS)}
    return sorted(_REGISTRY.values(), key=lambda s: (section_rank[s.section], s.order, s.key))


# ---------------------------------------------------------------------------------------------
# small-cell suppression


def _value_columns(table: Table) -> list[int]:
    return list(range(table.label_columns, len(table.columns)))


def _is_count(cell: Cell) -> TypeGuard[int]:
    return isinstance(cell, int) and not isinstance(cell, bool)


def suppress_column(values: Sequence[Cell], min_cell: int) -> list[Cell]:
    """One column of counts, small cells suppressed and, where one small cell could be worked out
    from the total, the smallest other non-zero cell withheld too (or, with none, the zeros)."""
    out = list(values)
    small = [i for i, v in enumerate(out) if _is_count(v) and 0 < v < min_cell]
    for i in small:
        out[i] = Suppressed(SMALL, min_cell)
    if len(small) != 1:
        return out  # none hidden, or two or more: no one of them follows from the total
    others = [i for i, v in enumerate(out) if _is_count(v) and v > 0]
    if others:
        smallest = min(others, key=lambda i: (out[i], i))
        out[smallest] = Suppressed(COMPLEMENT, min_cell)
    else:
        for i, v in enumerate(out):
            if _is_count(v):
                out[i] = Suppressed(COMPLEMENT, min_cell)
    return out


def suppress_table(table: Table, min_cell: int) -> Table:
    """Every count column of ``table`` suppressed independently (each column may have a public total)."""
    rows = [list(row) for row in table.rows]
    for col in _value_columns(table):
        for row, cell in zip(rows, suppress_column([r[col] for r in rows], min_cell), strict=True):
            row[col] = cell
    return Table(table.columns, tuple(tuple(r) for r in rows), table.label_columns)


def _notes(value: Value, min_cell: int) -> tuple[str, ...]:
    if not isinstance(value, Table):
        return ()
    reasons = {c.reason for row in value.rows for c in row if isinstance(c, Suppressed)}
    notes = []
    if SMALL in reasons:
        notes.append(
            f"Counts from 1 to {min_cell - 1} show as “fewer than {min_cell}” so that no one can be picked out."
        )
    if COMPLEMENT in reasons:
        notes.append("“withheld”: a count hidden so that a small one cannot be worked out from the total.")
    return tuple(notes)


def evaluate(spec: Spec, min_cell: int) -> Figure:
    """Compute one figure and suppress its small cells if it counts people."""
    if min_cell < 1:
        raise FigureError(f"the minimum cell size must be at least 1, not {min_cell}")
    value = spec.compute()
    if not isinstance(value, Table | int | float | str | Link | None):
        raise FigureError(f"figure {spec.key!r} computed a {type(value).__name__}; expected a number, text or Table")
    if spec.people and isinstance(value, Table):
        value = suppress_table(value, min_cell)
    return Figure(
        spec.key,
        spec.section,
        spec.label,
        spec.help,
        spec.order,
        value,
        unit=spec.unit,
        prominent=spec.prominent,
        people=spec.people,
        notes=_notes(value, min_cell),
    )


def compute(min_cell: int, specs: Iterable[Spec] | None = None) -> list[Figure]:
    """Every registered figure (or ``specs``), computed now, in display order."""
    return [evaluate(spec, min_cell) for spec in (registered() if specs is None else specs)]


def by_section(figures: Iterable[Figure]) -> list[tuple[str, str, list[Figure]]]:
    """(section key, title, figures) for each section, in the fixed order, empty sections included."""
    grouped: dict[str, list[Figure]] = {name: [] for name in SECTIONS}
    for fig in figures:
        grouped[fig.section].append(fig)
    return [(name, SECTIONS[name], grouped[name]) for name in SECTIONS]


# ---------------------------------------------------------------------------------------------
# plain forms: text, JSON, CSV rows


def format_cell(cell: Cell, unit: str = "") -> str:
    """A cell as a person reads it: thousands separated, units after numbers, a dash for nothing."""
    if cell is None:
        return "—"
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, int):
        return f"{cell:,}{_unit(unit)}"
    if isinstance(cell, float):
        return f"{cell:,.1f}{_unit(unit)}"
    return str(cell)


def _unit(unit: str) -> str:
    if not unit:
        return ""
    return unit if unit == "%" else f" {unit}"


def json_cell(cell: Cell) -> Any:
    if isinstance(cell, Suppressed):
        return {"suppressed": cell.reason, "text": str(cell)}
    if isinstance(cell, Link):
        return {"text": cell.text, "href": cell.href}
    return cell


def as_json(fig: Figure) -> dict[str, Any]:
    """The figure as JSON-ready data; suppressed cells are objects saying why, never the number."""
    data: dict[str, Any] = {
        "key": fig.key,
        "section": fig.section,
        "label": fig.label,
        "help": fig.help,
        "unit": fig.unit,
        "people": fig.people,
    }
    if isinstance(fig.value, Table):
        data["table"] = {
            "columns": list(fig.value.columns),
            "label_columns": fig.value.label_columns,
            "rows": [[json_cell(c) for c in row] for row in fig.value.rows],
        }
    else:
        data["value"] = json_cell(fig.value)
    if fig.notes:
        data["notes"] = list(fig.notes)
    return data


CSV_HEADER = ("section", "key", "label", "row", "column", "value", "suppressed")


def csv_rows(fig: Figure) -> list[tuple[str, ...]]:
    """Long form: one line per scalar, or per count cell of a table (its row named by its labels)."""
    head = (fig.section, fig.key, fig.label)
    if not isinstance(fig.value, Table):
        return [(*head, "", "", _csv_value(fig.value), _csv_reason(fig.value))]
    table = fig.value
    lines: list[tuple[str, ...]] = []
    for row in table.rows:
        name = _csv_text(" / ".join(format_cell(row[i]) for i in range(table.label_columns)))
        lines.extend(
            (*head, name, table.columns[i], _csv_value(row[i]), _csv_reason(row[i])) for i in _value_columns(table)
        )
    return lines


def _csv_value(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, int | float):
        return str(cell)
    return _csv_text(str(cell))


def _csv_text(text: str) -> str:
    """Text a spreadsheet would run as a formula (=, +, -, @ first) is quoted with a leading apostrophe."""
    return f"'{text}" if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def _csv_reason(cell: Cell) -> str:
    return cell.reason if isinstance(cell, Suppressed) else ""
