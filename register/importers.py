"""Register import: read member CSV exports (assay's own columns or NationBuilder-style names).

Pure Python. Each row becomes a :class:`MemberRow` or a :class:`RowError` naming the row and the
field; identifiers (handles, profile URLs, emails) are normalised here once, so that linkage
compares like with like.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO
from urllib.parse import urlsplit

# Canonical column -> accepted header names (lower case). NationBuilder exports use the second forms.
COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("number", "membership_number", "member_number", "nationbuilder_id", "external_id"),
    "given_name": ("given_name", "first_name", "firstname"),
    "family_name": ("family_name", "last_name", "lastname", "surname"),
    "email": ("email", "email1", "email_address"),
    "date_of_birth": ("date_of_birth", "born_at", "dob", "birthdate"),
    "town": ("town", "city", "primary_city", "address_city"),
    "postcode": ("postcode", "zip", "primary_zip", "address_zip", "post_code"),
    "joined_on": ("joined_on", "membership_started_at", "started_at", "joined"),
    "status": ("status", "membership_status"),
    "x": ("x_handle", "twitter_login", "twitter", "twitter_handle"),
    "bluesky": ("bluesky_handle", "bluesky"),
    "mastodon": ("mastodon_handle", "mastodon"),
    "facebook": ("facebook_url", "facebook_username", "facebook"),
}
REQUIRED = ("number", "given_name", "family_name")
IDENTIFIER_COLUMNS = ("x", "bluesky", "mastodon", "facebook")
STATUSES = {"active", "lapsed", "suspended"}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PROFILE_HOSTS = {
    "x.com": "x",
    "twitter.com": "x",
    "mobile.twitter.com": "x",
    "bsky.app": "bluesky",
    "facebook.com": "facebook",
    "m.facebook.com": "facebook",
}


class RegisterFormatError(ValueError):
    """The file as a whole cannot be read as a register (e.g. a required column is missing)."""


@dataclass(frozen=True)
class Identifier:
    kind: str  # email | handle | url
    platform: str  # "" for email
    value: str


@dataclass(frozen=True)
class MemberRow:
    line: int
    number: str
    given_name: str
    family_name: str
    email: str = ""
    date_of_birth: date | None = None
    town: str = ""
    postcode: str = ""
    joined_on: date | None = None
    status: str = "active"
    identifiers: tuple[Identifier, ...] = field(default=())


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str
    raw: str


def normalise_email(value: str) -> str:
    return value.strip().lower()


def normalise_handle(platform: str, value: str) -> str:
    """One form for a handle however it was written: case, leading @, profile URLs."""
    value = value.strip()
    if not value:
        return ""
    if "://" in value or value.startswith(("x.com/", "twitter.com/", "bsky.app/", "www.", "facebook.com/")):
        url = urlsplit(value if "://" in value else f"https://{value}")
        host = (url.hostname or "").removeprefix("www.")
        parts = [p for p in url.path.split("/") if p]
        if host in ("bsky.app",) and len(parts) >= 2 and parts[0] == "profile":
            value = parts[1]
        elif platform == "mastodon" and parts and parts[0].startswith("@"):
            value = f"{parts[0]}@{host}"
        elif parts:
            value = parts[0]
    return value.lower().lstrip("@")


def _date(raw: str, column: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    for candidate in (raw[:10], raw):
        try:
            return date.fromisoformat(candidate)
        except ValueError:
            continue
    day_month_year = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", raw)
    if day_month_year:  # UK registers write 31/12/1980
        d, m, y = (int(x) for x in day_month_year.groups())
        try:
            return date(y, m, d)
        except ValueError:
            pass
    raise ValueError(f"{column}: {raw!r} is not a date (use YYYY-MM-DD or DD/MM/YYYY)")


def _header_map(header: list[str]) -> dict[str, int]:
    lowered = [h.strip().lower().lstrip("\ufeff") for h in header]
    mapping: dict[str, int] = {}
    for canonical, names in COLUMNS.items():
        for name in names:
            if name in lowered:
                mapping[canonical] = lowered.index(name)
                break
    missing = [c for c in REQUIRED if c not in mapping]
    if missing:
        accepted = "; ".join(f"{c}: {' / '.join(COLUMNS[c])}" for c in missing)
        raise RegisterFormatError(f"missing required column(s): {accepted}")
    return mapping


def _identifiers(get: dict[str, str]) -> tuple[Identifier, ...]:
    found: list[Identifier] = []
    email = normalise_email(get.get("email", ""))
    if email:
        found.append(Identifier("email", "", email))
    for platform in IDENTIFIER_COLUMNS:
        for raw in re.split(r"[;\s]+", get.get(platform, "")):
            handle = normalise_handle(platform, raw)
            if handle:
                found.append(Identifier("handle", platform, handle))
    return tuple(dict.fromkeys(found))


def _row(line: int, cells: list[str], mapping: dict[str, int]) -> MemberRow:
    get = {c: (cells[i].strip() if i < len(cells) else "") for c, i in mapping.items()}
    for column in REQUIRED:
        if not get[column]:
            raise ValueError(f"{column} is empty")
    email = get.get("email", "")
    if email and not _EMAIL.match(email):
        raise ValueError(f"email: {email!r} is not an email address")
    status = (get.get("status") or "active").lower()
    if status not in STATUSES:
        raise ValueError(f"status: {status!r} is not one of {', '.join(sorted(STATUSES))}")
    return MemberRow(
        line=line,
        number=get["number"],
        given_name=get["given_name"],
        family_name=get["family_name"],
        email=normalise_email(email),
        date_of_birth=_date(get.get("date_of_birth", ""), "date_of_birth"),
        town=get.get("town", ""),
        postcode=get.get("postcode", "").upper(),
        joined_on=_date(get.get("joined_on", ""), "joined_on"),
        status=status,
        identifiers=_identifiers(get),
    )


def read_csv(stream: IO[str]) -> Iterator[MemberRow | RowError]:
    """Yield a MemberRow or RowError for every data row; raises RegisterFormatError on a bad header."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise RegisterFormatError("the file is empty (expected a header row)") from None
    mapping = _header_map(header)
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        try:
            yield _row(line, cells, mapping)
        except ValueError as exc:
            yield RowError(line, str(exc), ",".join(cells)[:10_000])
