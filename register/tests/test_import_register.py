"""Importing the membership register: aliases, normalised identifiers, quarantine, idempotence."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evidence.models import Quarantine
from register.importers import MemberRow, RegisterFormatError, normalise_handle, read_csv
from register.models import DeclaredIdentifier, Member
from register.services import import_register

ASSAY_CSV = """number,given_name,family_name,email,date_of_birth,town,postcode,x_handle,bluesky_handle
M1,Margaret,Oakes,Peggy.Oakes@Example.org,1961-04-02,Leeds,ls6 2ab,@PeggyOakes61,https://bsky.app/profile/peggy.bsky.social
M2,William,Stone,,02/03/1975,York,YO1 7HH,https://x.com/billstone,
M3,Bad,Email,not-an-email,,,,,
M4,Bad,Date,,1980-02-30,,,,
M1,Dupe,Number,,,,,,
"""


@pytest.mark.parametrize(
    ("platform", "raw", "expected"),
    [
        ("x", "@JSmith_84", "jsmith_84"),
        ("x", "https://twitter.com/JSmith_84?lang=en", "jsmith_84"),
        ("x", "x.com/jsmith_84", "jsmith_84"),
        ("bluesky", "https://bsky.app/profile/J.bsky.social", "j.bsky.social"),
        ("mastodon", "https://mastodon.example/@jo", "jo@mastodon.example"),
        ("mastodon", "@jo@mastodon.example", "jo@mastodon.example"),
        ("x", "   ", ""),
    ],
)
def test_handles_are_normalised_however_they_were_written(platform: str, raw: str, expected: str):
    assert normalise_handle(platform, raw) == expected


def test_nationbuilder_style_headers_are_understood():
    rows = list(read_csv(io.StringIO("nationbuilder_id,first_name,last_name,twitter_login\n7,Ann,Lee,AnnLee\n")))
    assert isinstance(rows[0], MemberRow)
    assert rows[0].number == "7"
    assert [(i.kind, i.platform, i.value) for i in rows[0].identifiers] == [("handle", "x", "annlee")]


def test_a_missing_required_column_is_named():
    with pytest.raises(RegisterFormatError, match="family_name"):
        list(read_csv(io.StringIO("number,given_name\n1,Ann\n")))


@pytest.mark.django_db
def test_it_imports_members_with_declared_identifiers_and_quarantines_bad_rows(tmp_path: Path, capsys):
    path = tmp_path / "register.csv"
    path.write_text(ASSAY_CSV, encoding="utf-8")

    call_command("import_register", str(path))

    assert "2 created, 0 updated, 0 unchanged, 3 quarantined" in capsys.readouterr().out
    peggy = Member.objects.get(number="M1")
    assert (peggy.email, peggy.postcode, peggy.date_of_birth) == (
        "peggy.oakes@example.org",
        "LS6 2AB",
        date(1961, 4, 2),
    )
    assert Member.objects.get(number="M2").date_of_birth == date(1975, 3, 2)
    assert set(DeclaredIdentifier.objects.filter(member=peggy).values_list("kind", "platform", "value")) == {
        ("email", "", "peggy.oakes@example.org"),
        ("handle", "x", "peggyoakes61"),
        ("handle", "bluesky", "peggy.bsky.social"),
    }
    reasons = dict(Quarantine.objects.values_list("position", "reason"))
    assert reasons["line 4"] == "email: 'not-an-email' is not an email address"
    assert "date_of_birth: '1980-02-30' is not a date" in reasons["line 5"]
    assert reasons["line 6"] == "duplicate membership number 'M1' (first at line 2)"


@pytest.mark.django_db
def test_a_second_import_changes_nothing_and_a_withdrawn_handle_is_removed(tmp_path: Path):
    path = tmp_path / "register.csv"
    path.write_text(ASSAY_CSV, encoding="utf-8")
    import_register(path)
    again = import_register(path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert DeclaredIdentifier.objects.count() == 4

    path.write_text(ASSAY_CSV.replace("@PeggyOakes61", ""), encoding="utf-8")
    changed = import_register(path)

    assert (changed.created, changed.updated, changed.unchanged) == (0, 0, 2)
    assert not DeclaredIdentifier.objects.filter(value="peggyoakes61").exists()


@pytest.mark.django_db
def test_a_missing_register_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(CommandError, match=r"no-such\.csv: no such file"):
        call_command("import_register", str(tmp_path / "no-such.csv"))


def _statuses(tmp_path: Path, *rows: str) -> None:
    path = tmp_path / "statuses.csv"
    path.write_text("number,given_name,family_name,status\n" + "".join(f"{r}\n" for r in rows))
    call_command("import_register", str(path), stdout=io.StringIO())


@pytest.mark.django_db
def test_an_import_dates_a_lapse_once_and_clears_it_on_renewal(tmp_path: Path):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    start = timezone.now()
    _statuses(tmp_path, "L1,Lee,Lapsed,lapsed", "A1,Ann,Active,active")
    lapsed_at = Member.objects.get(number="L1").lapsed_at
    assert lapsed_at is not None and lapsed_at >= start
    assert Member.objects.get(number="A1").lapsed_at is None

    with time_machine.travel(start + timedelta(days=40), tick=False):
        _statuses(tmp_path, "L1,Lee,Lapsed,lapsed", "A1,Ann,Active,lapsed")
    assert Member.objects.get(number="L1").lapsed_at == lapsed_at  # still lapsed: the date stays
    assert Member.objects.get(number="A1").lapsed_at == start + timedelta(days=40)

    _statuses(tmp_path, "L1,Lee,Lapsed,active", "A1,Ann,Active,suspended")
    assert set(Member.objects.values_list("lapsed_at", flat=True)) == {None}
