"""Reading names, handles, places and dates from messy profile text."""

from __future__ import annotations

from datetime import date

import pytest

from linkage.names import (
    Vocabulary,
    canonical_given,
    display_place,
    email_local,
    handle_key,
    phonetic,
    postcode_district,
    read_display_name,
    year_from_digits,
    year_of_birth,
)

VOCAB = Vocabulary(["john", "william", "mary"], ["smith", "jones", "oneill"])


@pytest.mark.parametrize(
    ("nickname", "canonical"), [("bill", "william"), ("peggy", "margaret"), ("maggie", "margaret"), ("zoe", "zoe")]
)
def test_nicknames_normalise_to_one_given_name(nickname, canonical):
    assert canonical_given(nickname) == canonical


@pytest.mark.parametrize(
    ("handle", "given", "family", "initial", "year"),
    [
        ("jsmith_84", None, "smith", "j", 1984),
        ("@bill.smith", "bill", "smith", "b", None),
        ("smithbill1984", "bill", "smith", "b", 1984),
        ("marysmith", "mary", "smith", "m", None),
        ("xx_gamer_123", None, None, None, None),
        ("wsmith84@mastodon.social", None, "smith", "w", 1984),
        ("", None, None, None, None),
    ],
)
def test_handles_carry_names_and_years(handle, given, family, initial, year):
    parts = VOCAB.split_handle(handle)
    assert (parts.given, parts.family, parts.initial, parts.year) == (given, family, initial, year)


@pytest.mark.parametrize(
    ("shown", "given", "family"),
    [
        ("Bill Smith 🌹", "bill", "smith"),
        ("SMITH, Bill", "bill", "smith"),
        ("B. Smith", None, "smith"),
        ("Dr Bill O'Neill", "bill", "oneill"),
        ("Jan van der Berg", "jan", "vanderberg"),
        ("Bill Smith | Leeds", "bill", "smith"),
        ("🌹🌹", None, None),
    ],
)
def test_display_names_are_read_past_titles_emoji_and_decorations(shown, given, family):
    parts = read_display_name(shown)
    assert (parts.given, parts.family) == (given, family)


def test_places_dates_and_identifiers_never_raise_on_bad_input():
    assert postcode_district("ls6 2ab") == "LS6"
    assert postcode_district("N/A") is None
    assert display_place("Bill Smith | Leeds") == "Leeds"
    assert year_of_birth(date(1984, 2, 3)) == 1984
    assert year_of_birth("31/02/19xx") is None
    assert year_of_birth("1984-13-45") == 1984
    assert year_from_digits("07", this_year=2026) == 2007
    assert year_from_digits("123") is None
    assert email_local("J.Smith+news@example.org") == "jsmith"
    assert email_local("not an email") is None
    assert handle_key("@J_Smith84") == "jsmith84"
    assert phonetic("smith") == phonetic("smyth") == "s530"
