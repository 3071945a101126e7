"""The SQL features (linkage/features_sql.py) equal the Python reference (linkage/names.py) record by record."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from typing import Any

import pyarrow as pa
import pytest

from linkage import features_sql
from linkage.model import (
    AccountRecord,
    LinkageModel,
    MemberRecord,
    account_features,
    member_features,
    prepare,
    vocabulary,
)
from linkage.synth import generate

# Pieces of the messy text profiles and registers carry: accents, Irish and Dutch names, titles,
# emoji and decorations, Python-only whitespace (no-break and ideographic spaces, \x1c), tabs and
# newlines, Mastodon and Bluesky handle forms, postcodes with odd spacing, dates that do not parse.
_MESSY_NAMES = (
    "Éloïse", "O'Neill", "Mc Donald", "van der Berg", "José María", "Zoë", "Dr", "Bill\u00a0Smith", "ÁLVAREZ",
    "d'Arcy-Smith", "Nguyễn", "Søren", "St John", "Ms.", "  John  ", "\tMary\n", "X Æ A-12", "李", "ﬁona", "",
)  # fmt: skip
_MESSY_DISPLAY = (
    "Bill Smith 🌹", "SMITH, Bill", "B. Smith", "Dr Bill O'Neill", "Jan van der Berg", "Bill Smith | Leeds",
    "🌹🌹", "Mary Jones • York", "Siobhán Ó Briain (she/her)", "john smith - LS6 2AB", "Ms J. Quill-Feather",
    "Peggy\u3000Smith", "José / Bristol", "anne-marie o'neill, RN", "   ", "Mr.", "de la Cruz", "A B C",
    "Éamon de Valera | Baile Átha Cliath", "LEE, Mary-Kate", "prof. x", "smith,", ",bill",
)  # fmt: skip
_MESSY_HANDLES = (
    "jsmith_84", "@J_Smith84", "bill.smith@mastodon.social", "marysmith.bsky.social", "smithbill1984",
    "@@weird@@", "xx_gamer_123", "ÉloïseQuill", "jo_o'neill_07", "  spaced  ", "b_smith_1890", "j-smith-19841",
    "mary_" + "9" * 30, "oneill1999", "bill__smith__", "🌹rose", "ab", "_", "1984", "smith.j.2001",
)  # fmt: skip
_MESSY_PLACES = (
    "Leeds", "Leeds, UK", "LS6", "ls6 2ab", "LS6\u00a02AB", "SW1A 1AA", "  York  ", "Bath\tSomerset",
    "éLS6 here", "near M1, Manchester", "N/A", "unknown", "Stoke-on-Trent", "Newcastle upon Tyne",
    "W1", "AB12CD", "LS6A", "E1 6AN, London", "🌍", "Cambridge\nUK", "B33 8TH", "york north",
)  # fmt: skip
_MESSY_BIOS = (
    "nurse | from Leeds | b. 1984", "born in 1975, Bristol", "est. '99", "teacher in York north BS1",
    "Mary Smith's account", "b.84 | LS6 2AB", "views my own", "Café owner, Brighton — b 1990",
    "born 2022", "class of '01", "ÉLS6 and ls7", "dad of 2\nfrom\u00a0bath", "🌹", "", "bill jones fan",
)  # fmt: skip
_MESSY_DATES: tuple[Any, ...] = (
    None, date(1984, 2, 3), "1984-13-45", "31/02/19xx", "19xx", "12/05/1961", 1984, 84, -1984, 19840,
    "born 1975", "", "0999-01-01", True, 3.5, date(1899, 12, 31),
)  # fmt: skip
_MESSY_EMAILS = ("J.Smith+news@example.org", "not an email", "a@b@c", "Éloïse@example.org", "x@y", " at example", "")


def _messy_members(rng: random.Random, members: list[MemberRecord]) -> list[MemberRecord]:
    out = []
    for m in members:
        changes: dict[str, Any] = {}
        if rng.random() < 0.3:
            changes["given_name"] = rng.choice(_MESSY_NAMES)
        if rng.random() < 0.3:
            changes["family_name"] = rng.choice(_MESSY_NAMES)
        if rng.random() < 0.2:
            changes["email"] = rng.choice(_MESSY_EMAILS)
        if rng.random() < 0.3:
            changes["date_of_birth"] = rng.choice(_MESSY_DATES)
        if rng.random() < 0.2:
            changes["town"] = rng.choice(_MESSY_PLACES)
        if rng.random() < 0.2:
            changes["postcode"] = rng.choice(_MESSY_PLACES)
        out.append(replace(m, **changes))
    return out


def _messy_accounts(rng: random.Random, accounts: list[AccountRecord]) -> list[AccountRecord]:
    out = []
    for a in accounts:
        changes: dict[str, Any] = {}
        if rng.random() < 0.3:
            changes["handle"] = rng.choice(_MESSY_HANDLES)
        if rng.random() < 0.3:
            changes["display_name"] = rng.choice(_MESSY_DISPLAY)
        if rng.random() < 0.3:
            changes["bio"] = rng.choice(_MESSY_BIOS) + rng.choice(("", " " + rng.choice(_MESSY_PLACES)))
        if rng.random() < 0.3:
            changes["location"] = rng.choice(_MESSY_PLACES)
        out.append(replace(a, **changes))
    return out


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


@pytest.fixture(scope="module")
def messy() -> tuple[list[MemberRecord], list[AccountRecord]]:
    data = generate(3000, 3000, seed=23)
    rng = random.Random(23)
    return _messy_members(rng, data.members), _messy_accounts(rng, data.accounts)


def test_member_features_in_sql_equal_the_python_reference(messy):
    members, _ = messy
    expected = member_features(members)
    got = features_sql.member_features(features_sql.member_table(members))
    assert got.schema == expected.schema
    mismatches = [(e, g) for e, g in zip(_rows(expected), _rows(got), strict=True) if e != g]
    assert mismatches == []
    assert sum(r["yob"] is None for r in _rows(got)) > 100  # the malformed dates were really there


def test_account_features_in_sql_equal_the_python_reference(messy):
    members, accounts = messy
    register = member_features(members)
    expected = account_features(accounts, vocabulary(register))
    got = features_sql.account_features(features_sql.account_table(accounts), features_sql.vocabulary_tables(register))
    assert got.schema == expected.schema
    mismatches = [(a, e, g) for a, e, g in zip(accounts, _rows(expected), _rows(got), strict=True) if e != g]
    assert mismatches == []
    rows = _rows(got)
    # The cases the rules exist for were exercised: handle-derived names and years, bio towns.
    assert any(r["family"] == "smith" and r["initial"] == "j" and r["yob"] == 1984 for r in rows)
    assert sum(r["town"] is not None for r in rows) > 500


@pytest.mark.parametrize(
    ("handle", "display", "bio", "location", "expected"),
    [
        ("jsmith_84", "", "", "", {"given_raw": None, "initial": "j", "family": "smith", "yob": 1984}),
        ("x", "Dr Bill O'Neill", "", "", {"given_raw": "bill", "given": "william", "family": "oneill"}),
        ("x", "SMITH, Peggy", "", "LS6\u00a02AB", {"given": "margaret", "family": "smith", "district": "LS6"}),
        ("x", "", "nurse | from Leeds | b. 1984", "", {"town": "leeds", "yob": 1984}),
        ("", "Mary Jones | York", "", "", {"given_raw": "mary", "family": "jones", "town": "york"}),
    ],
)
def test_sql_features_read_the_documented_cases(handle, display, bio, location, expected):
    register = member_features(
        [
            MemberRecord(1, "John", "Smith", town="Leeds"),
            MemberRecord(2, "Mary", "Jones", town="York"),
            MemberRecord(3, "Bill", "O'Neill"),
        ]
    )
    account = AccountRecord(10, "x", handle, display, bio, location)
    got = features_sql.account_features(
        features_sql.account_table([account]), features_sql.vocabulary_tables(register)
    ).to_pylist()[0]
    assert {k: got[k] for k in expected} == expected
    assert got == account_features([account], vocabulary(register)).to_pylist()[0]


def test_arrow_tables_and_records_give_the_same_links():
    """``prepare``/``score``/``explain`` on Arrow tables decide exactly what ``predict`` on records does."""
    data = generate(2000, 2000, seed=31)
    labels = [(a, m, True) for a, m in list(data.truth.items())[:200]]
    by_records = prepare(data.members)
    model = LinkageModel.train(by_records, data.accounts, labels=labels)
    expected = model.predict(by_records, data.accounts, threshold=0.2)
    by_table = prepare(features_sql.member_table(data.members))
    scored = model.score(by_table, features_sql.account_table(data.accounts), threshold=0.2)
    assert model.explain(scored) == expected
    assert len(expected) > 200
    nobody = AccountRecord(1, "x", "zz_qq", "Zyx Qwv", "", "")
    assert model.predict(by_table, [nobody], threshold=0.2) == []
