"""Linkage features computed in DuckDB SQL over Arrow tables: the same values as ``linkage/names.py``.

Reading a million profiles one record at a time in Python took most of a 1M × 1M run. Here the
same rules run column-wise: folding (NFKD, ASCII, lower case) is one vectorised Arrow call per
chunk (a DuckDB Arrow UDF), the regular expressions are RE2 in DuckDB, and the vocabulary
lookups (handle splitting ``jsmith84`` → j + smith, names and towns in bios) are joins against
the register's names, computed once per distinct value. ``linkage/names.py`` stays the reference:
``linkage/tests/test_features_sql.py`` checks the two agree record by record on messy input.

Python's regular expressions are Unicode-aware where RE2's shorthand classes are ASCII-only, so
the patterns here spell out Python's whitespace (``str.isspace``) and treat non-ASCII letters and
digits as word characters around ``\\b``. Known differences, all on input no profile we have seen
carries: Python's ``str.upper`` expands ``ß`` and ligatures (``ß`` → ``SS``) where DuckDB keeps one
character, which can only matter for a postcode district typed with them.

No Django here (the pure-core contract covers this module through ``linkage.model``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from duckdb.func import PythonUDFType

from linkage.names import _NAME_PARTICLES, _TITLES, NICKNAMES, phonetic

MEMBER_RAW_SCHEMA = pa.schema(
    [
        ("member_id", pa.int64()),
        ("given_name", pa.string()),
        ("family_name", pa.string()),
        ("email", pa.string()),
        ("date_of_birth", pa.string()),  # ISO date or any text; the first four-digit run is the year
        ("town", pa.string()),
        ("postcode", pa.string()),
    ]
)
ACCOUNT_RAW_SCHEMA = pa.schema(
    [
        ("account_id", pa.int64()),
        ("platform", pa.string()),
        ("handle", pa.string()),
        ("display_name", pa.string()),
        ("bio", pa.string()),
        ("location", pa.string()),
    ]
)
FEATURE_SCHEMA = pa.schema(
    [
        ("unique_id", pa.int64()),
        ("given_raw", pa.string()),
        ("given", pa.string()),
        ("initial", pa.string()),
        ("family", pa.string()),
        ("given_ph", pa.string()),
        ("family_ph", pa.string()),
        ("yob", pa.int32()),
        ("ident", pa.string()),
        ("district", pa.string()),
        ("town", pa.string()),
    ]
)

# Python's whitespace (str.isspace, and what re's \s matches in a str pattern), as an RE2 class.
_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f\x{85}\pZ]"
_NOT_SPACE = r"[^\t\n\x0b\x0c\r\x1c-\x1f\x{85}\pZ]"
_WORD = r"[a-z]+(?:[''-][a-z]+)*"  # names._WORD_RE, its quote doubled for SQL
_DISTRICT = rf"^([A-Z]{{1,2}}[0-9][0-9A-Z]?)(?:{_SPACE}*[0-9][A-Z]{{2}})?$"
_DISTRICT_IN_TEXT = rf"\b([A-Z]{{1,2}}[0-9][0-9A-Z]?)(?:{_SPACE}*[0-9][A-Z]{{2}})?\b"
_DISPLAY_SEPARATORS_RAW = rf"{_SPACE}[|/(\x{{2022}}-]{_SPACE}?|[|(\x{{2022}}]"
_DISPLAY_SEPARATORS_FOLDED = rf"{_SPACE}[|/(-]{_SPACE}?|[|(]"
_YEAR_IN_BIO = rf"\b(?:b\.?|born(?: in)?|est\.?){_SPACE}?''?([0-9]{{4}}|[0-9]{{2}})\b"  # '' : SQL-quoted


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_list(words: Iterable[str]) -> str:
    return "[" + ", ".join(_sql_str(w) for w in sorted(words)) + "]"


def _fold(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``names.fold`` for a column: NFKD, non-ASCII dropped, lower case (ASCII lower is Python's there)."""
    decomposed = pc.utf8_normalize(array, "NFKD")
    return pc.ascii_lower(pc.replace_substring_regex(decomposed, r"[^\x00-\x7f]", ""))


def _macros(this_year: int) -> list[str]:
    particles = _sql_list(_NAME_PARTICLES)
    titles = _sql_list(_TITLES)
    return [
        # str.strip(): Python's whitespace at both ends.
        rf"CREATE OR REPLACE MACRO pystrip(s) AS regexp_replace(s, '^{_SPACE}+|{_SPACE}+$', '', 'g')",
        # names.postcode_district
        f"""CREATE OR REPLACE MACRO district_of(s) AS
            nullif(regexp_extract(upper(pystrip(s)), '{_DISTRICT}', 1), '')""",
        # names.districts_in_text: non-ASCII letters and digits are word characters for \b, as in Python.
        rf"""CREATE OR REPLACE MACRO districts_in(s) AS list_filter(
            regexp_extract_all(
                regexp_replace(regexp_replace(upper(s), '[^\x00-\x7f\PL]', '_', 'g'), '[^\x00-\x7f\PN]', '_', 'g'),
                '{_DISTRICT_IN_TEXT}', 1),
            lambda d: NOT regexp_matches(d, '[A-Z]$'))""",
        # names.place_key on already folded text
        f"CREATE OR REPLACE MACRO place_key_f(f) AS nullif(array_to_string(regexp_extract_all(f, '{_WORD}'), ' '), '')",
        # names.year_from_digits
        f"""CREATE OR REPLACE MACRO year_from_digits(d) AS CASE
            WHEN length(d) = 4 AND TRY_CAST(d AS INTEGER) BETWEEN 1900 AND {this_year - 10} THEN TRY_CAST(d AS INTEGER)
            WHEN length(d) = 2 THEN (CASE
                WHEN 2000 + TRY_CAST(d AS INTEGER) <= {this_year - 10} THEN 2000 + TRY_CAST(d AS INTEGER)
                WHEN 1900 + TRY_CAST(d AS INTEGER) >= 1930 THEN 1900 + TRY_CAST(d AS INTEGER) END)
            END""",
        # the bare handle before folding: handle.strip().lstrip("@").split("@", 1)[0].removesuffix(".bsky.social")
        r"""CREATE OR REPLACE MACRO bare_handle(h) AS
            regexp_replace(split_part(ltrim(pystrip(h), '@'), '@', 1), '\.bsky\.social$', '')""",
        # an alphanumeric key of at least three characters (handle_key, email_local) from folded text
        "CREATE OR REPLACE MACRO ident_key(f) AS "
        "CASE WHEN length(regexp_replace(f, '[^a-z0-9]+', '', 'g')) >= 3 "
        "THEN regexp_replace(f, '[^a-z0-9]+', '', 'g') END",
        f"CREATE OR REPLACE MACRO is_particle(t) AS list_contains({particles}, t)",
        f"CREATE OR REPLACE MACRO is_title(t) AS list_contains({titles}, t)",
    ]


class _Db:
    """A private DuckDB connection with the fold function and the helper macros."""

    def __init__(self) -> None:
        threads = int(os.environ.get("ASSAY_LINKAGE_THREADS", "0")) or (os.cpu_count() or 1)
        self.con = duckdb.connect(
            ":memory:", config={"threads": threads, "memory_limit": os.environ.get("ASSAY_LINKAGE_MEMORY", "2GB")}
        )
        varchar = duckdb.sqltype("VARCHAR")
        self.con.create_function("fold", _fold, [varchar], varchar, type=PythonUDFType.ARROW)
        for sql in _macros(datetime.now(UTC).year):
            self.con.execute(sql)

    def run(self, sql: str) -> None:
        self.con.execute(sql)

    def arrow(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def close(self) -> None:
        self.con.close()


def _numbered(raw: pa.Table) -> pa.Table:
    """The input with its row numbers: the features come back in input order (training samples are seeded)."""
    return raw.append_column("row_no", pa.array(range(raw.num_rows), pa.int64()))


def _nickname_table() -> pa.Table:
    return pa.table({"nick": list(NICKNAMES), "canonical": list(NICKNAMES.values())})


def _phonetics(db: _Db, table: str) -> None:
    """Soundex per distinct name (few at any scale), in Python (``names.phonetic``), joined back."""
    names = db.arrow(f"SELECT DISTINCT given AS n FROM {table} UNION SELECT DISTINCT family FROM {table}")  # noqa: S608
    values = [n for n in names.column("n").to_pylist() if n]
    codes = pa.table({"n": values, "code": [phonetic(n) for n in values]})
    db.con.register("phonetic_codes", codes)


_FINISH = """
    SELECT f.unique_id, f.given_raw, f.given, coalesce(f.initial, f.given_raw[1]) AS initial, f.family,
           g.code AS given_ph, fa.code AS family_ph, CAST(f.yob AS INTEGER) AS yob, f.ident, f.district, f.town
    FROM {table} f
    LEFT JOIN phonetic_codes g ON g.n = f.given
    LEFT JOIN phonetic_codes fa ON fa.n = f.family
    ORDER BY f.row_no
"""


def member_features(raw: pa.Table) -> pa.Table:
    """``model.member_features`` for a table in :data:`MEMBER_RAW_SCHEMA`."""
    db = _Db()
    try:
        db.con.register("raw_members", _numbered(raw))
        db.con.register("nicknames", _nickname_table())
        this_year = datetime.now(UTC).year
        db.run(
            rf"""CREATE TEMP TABLE m1 AS
            SELECT row_no, member_id AS unique_id,
                   nullif(regexp_replace(regexp_extract(fold(given_name), '{_NOT_SPACE}+'), '[^a-z]+', '', 'g'), '')
                       AS given_raw,
                   nullif(regexp_replace(fold(family_name), '[^a-z]+', '', 'g'), '') AS family,
                   list_filter(regexp_extract_all(date_of_birth, '[0-9]+'), lambda d: length(d) = 4)[1] AS y4,
                   CASE WHEN length(email) - length(replace(email, '@', '')) = 1
                        THEN ident_key(fold(split_part(split_part(email, '@', 1), '+', 1))) END AS ident,
                   district_of(postcode) AS district,
                   place_key_f(fold(town)) AS town
            FROM raw_members"""  # noqa: S608
        )
        db.run(
            f"""CREATE TEMP TABLE m2 AS
            SELECT m.row_no, m.unique_id, m.given_raw, coalesce(n.canonical, m.given_raw) AS given,
                   m.given_raw[1] AS initial, m.family,
                   CASE WHEN TRY_CAST(m.y4 AS INTEGER) BETWEEN 1900 AND {this_year}
                        THEN TRY_CAST(m.y4 AS INTEGER) END AS yob,
                   m.ident, m.district, m.town
            FROM m1 m LEFT JOIN nicknames n ON n.nick = m.given_raw"""  # noqa: S608
        )
        _phonetics(db, "m2")
        return db.arrow(_FINISH.format(table="m2")).cast(FEATURE_SCHEMA)
    finally:
        db.close()


def vocabulary_tables(features: pa.Table) -> dict[str, pa.Array]:
    """The register's known given names (plus every nickname), family names (2+ letters) and towns."""
    given = pc.unique(pc.drop_null(features.column("given_raw")))
    given = pc.unique(pa.concat_arrays([given.cast(pa.string()), pa.array(list(NICKNAMES), pa.string())]))
    family = pc.unique(pc.drop_null(features.column("family")))
    family = family.filter(pc.greater_equal(pc.utf8_length(family), 2))
    towns = pc.unique(pc.drop_null(features.column("town")))
    return {"vg": given, "vf": family, "vt": towns}


def _towns_in_texts(db: _Db, source: str, out: str) -> None:
    """``town_in_text``: the first 3-, then 2-, then 1-word run of a text's words that is a known town."""
    db.run(
        f"""CREATE TEMP TABLE {out} AS
        WITH texts AS (SELECT DISTINCT t, w FROM {source} WHERE len(w) > 0),
        sized AS (SELECT t, w, unnest([3, 2, 1]) AS sz FROM texts),
        grams AS (SELECT t, w, sz, unnest(range(1, len(w) - sz + 2)) AS i FROM sized),
        hits AS (
            SELECT t, array_to_string(w[i:i + sz - 1], ' ') AS cand, sz, i FROM grams
            WHERE array_to_string(w[i:i + sz - 1], ' ') IN (SELECT name FROM vt)
        )
        SELECT t, arg_min(cand, (4 - sz) * 1000000 + i) AS town FROM hits GROUP BY t"""  # noqa: S608
    )


def account_features(raw: pa.Table, vocab: dict[str, pa.Array]) -> pa.Table:
    """``model.account_features`` for a table in :data:`ACCOUNT_RAW_SCHEMA`, against a register's vocabulary."""
    db = _Db()
    try:
        db.con.register("raw_accounts", _numbered(raw))
        db.con.register("nicknames", _nickname_table())
        for name, values in vocab.items():
            db.con.register(name, pa.table({"name": values}))
        db.run(
            f"""CREATE TEMP TABLE a1 AS
            SELECT row_no, account_id AS unique_id, fold(bare_handle(handle)) AS fh,
                   fold(display_name) AS fdn,
                   CASE WHEN coalesce(location, '') <> '' THEN location
                        ELSE coalesce(pystrip(regexp_extract(display_name,
                            '(?s)^.*?(?:{_DISPLAY_SEPARATORS_RAW})(.*)$', 1)), '') END AS loc,
                   bio, fold(bio) AS fbio
            FROM raw_accounts"""  # noqa: S608
        )
        db.run(
            f"""CREATE TEMP TABLE a2 AS
            SELECT row_no, unique_id, ident_key(fh) AS ident,
                   regexp_extract_all(fh, '[a-z]+') AS hw,
                   array_to_string(regexp_extract_all(fh, '[a-z]+'), ' ') AS hk,
                   list_filter(list_transform(regexp_extract_all(fh, '[0-9]+'), lambda d: year_from_digits(d)),
                               lambda y: y IS NOT NULL)[1] AS h_year,
                   string_split_regex(coalesce(fdn, ''), '{_DISPLAY_SEPARATORS_FOLDED}')[1] AS dtext,
                   loc, split_part(loc, ',', 1) AS loc_first, fold(loc) AS floc,
                   bio, coalesce(fbio, '') AS fbio,
                   CASE WHEN coalesce(bio, '') <> '' THEN regexp_extract_all(fbio, '[a-z]+') ELSE [] END AS bw
            FROM a1"""  # noqa: S608
        )
        db.run("DROP TABLE a1")
        _display_names(db)
        _handles(db)
        _bios(db)
        db.run(
            f"""CREATE TEMP TABLE a3 AS
            SELECT a.row_no, a.unique_id,
                   coalesce(d.g, h.g, b.g) AS given_raw,
                   coalesce(d.f, h.f, b.f) AS family,
                   coalesce(d.i, h.i, b.i) AS initial,
                   coalesce(a.h_year, CASE WHEN coalesce(a.bio, '') <> ''
                       THEN year_from_digits(nullif(regexp_extract(a.fbio, '{_YEAR_IN_BIO}', 1), '')) END) AS yob,
                   a.ident, a.loc, a.loc_first, a.floc, a.bio, a.fbio, a.bw
            FROM a2 a
            LEFT JOIN display_parts d ON d.dtext = a.dtext
            LEFT JOIN handle_parts h ON h.hk = a.hk
            LEFT JOIN bio_names b ON b.t = a.fbio"""  # noqa: S608
        )
        db.run("DROP TABLE a2")
        _places(db)
        db.run(
            """CREATE TEMP TABLE a4 AS
            SELECT a.row_no, a.unique_id, a.given_raw, coalesce(n.canonical, a.given_raw) AS given, a.initial,
                   a.family, a.yob, a.ident, p.district, p.town
            FROM a3 a LEFT JOIN nicknames n ON n.nick = a.given_raw LEFT JOIN places p ON p.row_no = a.row_no"""
        )
        _phonetics(db, "a4")
        return db.arrow(_FINISH.format(table="a4")).cast(FEATURE_SCHEMA)
    finally:
        db.close()


def _display_names(db: _Db) -> None:
    """``read_display_name`` per distinct folded display text, plus the surname-only rule."""
    db.run(
        f"""CREATE TEMP TABLE display_parts AS
        WITH d0 AS (SELECT DISTINCT dtext FROM a2),
        d1 AS (
            SELECT dtext, contains(dtext, ',') AS comma_first,
                   list_filter(list_transform(regexp_extract_all(dtext, '{_WORD}\\.?'),
                                              lambda w: replace(replace(w, '''', ''), '-', '')),
                               lambda w: NOT is_title(rtrim(w, '.'))) AS words
            FROM d0
        ),
        d2 AS (
            SELECT dtext, list_transform(
                CASE WHEN comma_first AND len(words) >= 2 THEN list_concat(words[2:], [words[1]]) ELSE words END,
                lambda w: rtrim(w, '.')) AS tokens
            FROM d1
        ),
        d3 AS (
            SELECT dtext, tokens[1] AS first, tokens[2:] AS rest FROM d2 WHERE len(tokens) > 0
        ),
        d4 AS (
            SELECT dtext, first,
                   rest[1:len(rest) - greatest(0, least(
                       coalesce(
                           list_position(list_transform(list_reverse(rest), lambda t: NOT is_particle(t)), true) - 1,
                           len(rest)),
                       len(rest) - 1))] AS rest2
            FROM d3
        ),
        d5 AS (SELECT dtext, first, list_filter(rest2, lambda t: length(t) > 1) AS fl FROM d4),
        d6 AS (
            SELECT dtext, first,
                   CASE WHEN len(fl) > 0 THEN array_to_string(fl[len(fl) - coalesce(
                       list_position(list_transform(list_reverse(fl[1:len(fl) - 1]), lambda t: NOT is_particle(t)),
                                     true) - 1,
                       len(fl) - 1):len(fl)], '') END AS family
            FROM d5
        ),
        d7 AS (
            SELECT dtext,
                   CASE WHEN length(first) = 1 THEN NULL ELSE first END AS g, family AS f,
                   first[1] AS i
            FROM d6
        )
        SELECT dtext,
               CASE WHEN surname_only THEN NULL ELSE g END AS g,
               CASE WHEN surname_only THEN g ELSE f END AS f,
               CASE WHEN surname_only THEN NULL ELSE i END AS i
        FROM (
            SELECT *, (g IS NOT NULL AND f IS NULL AND g IN (SELECT name FROM vf)
                       AND g NOT IN (SELECT name FROM vg)) AS surname_only
            FROM d7
        )"""  # noqa: S608
    )


def _handles(db: _Db) -> None:
    """``Vocabulary.split_handle`` per distinct list of a handle's letter runs."""
    db.run(
        """CREATE TEMP TABLE handle_runs AS
        WITH runs AS (SELECT DISTINCT hw[1] AS w FROM a2 WHERE len(hw) = 1),
        cuts AS (SELECT w, unnest(range(2, length(w) - 1)) AS cut FROM runs),
        given_family AS (
            SELECT w, min(cut) AS cut FROM cuts
            WHERE substr(w, 1, cut) IN (SELECT name FROM vg) AND substr(w, cut + 1) IN (SELECT name FROM vf)
            GROUP BY w
        ),
        family_given AS (
            SELECT w, min(cut) AS cut FROM cuts
            WHERE substr(w, 1, cut) IN (SELECT name FROM vf) AND substr(w, cut + 1) IN (SELECT name FROM vg)
            GROUP BY w
        )
        SELECT r.w,
            CASE WHEN gf.cut IS NOT NULL THEN substr(r.w, 1, gf.cut)
                 WHEN fg.cut IS NOT NULL THEN substr(r.w, fg.cut + 1)
                 WHEN length(r.w) > 3 AND substr(r.w, 2) IN (SELECT name FROM vf) THEN NULL
                 WHEN r.w IN (SELECT name FROM vf) THEN NULL
                 WHEN r.w IN (SELECT name FROM vg) THEN r.w END AS g,
            CASE WHEN gf.cut IS NOT NULL THEN substr(r.w, gf.cut + 1)
                 WHEN fg.cut IS NOT NULL THEN substr(r.w, 1, fg.cut)
                 WHEN length(r.w) > 3 AND substr(r.w, 2) IN (SELECT name FROM vf) THEN substr(r.w, 2)
                 WHEN r.w IN (SELECT name FROM vf) THEN r.w END AS f,
            CASE WHEN gf.cut IS NOT NULL THEN r.w[1]
                 WHEN fg.cut IS NOT NULL THEN substr(r.w, fg.cut + 1, 1)
                 WHEN length(r.w) > 3 AND substr(r.w, 2) IN (SELECT name FROM vf) THEN r.w[1]
                 WHEN r.w IN (SELECT name FROM vf) THEN NULL
                 WHEN r.w IN (SELECT name FROM vg) THEN r.w[1] END AS i
        FROM runs r LEFT JOIN given_family gf ON gf.w = r.w LEFT JOIN family_given fg ON fg.w = r.w"""
    )
    db.run(
        """CREATE TEMP TABLE handle_parts AS
        WITH seps AS (
            SELECT DISTINCT hk, hw[1] AS first, hw[len(hw)] AS last FROM a2 WHERE len(hw) >= 2
        ),
        flags AS (
            SELECT hk, first, last,
                   first IN (SELECT name FROM vg) AS first_g, first IN (SELECT name FROM vf) AS first_f,
                   last IN (SELECT name FROM vg) AS last_g, last IN (SELECT name FROM vf) AS last_f
            FROM seps
        ),
        swapped AS (
            SELECT hk, first, last, first_g, last_f,
                   (length(first) > 1 AND first_f AND last_g AND NOT last_f) AS swap
            FROM flags
        )
        SELECT hk,
            CASE WHEN length(first) = 1 THEN NULL WHEN swap THEN last WHEN first_g THEN first END AS g,
            CASE WHEN length(first) = 1 THEN (CASE WHEN last_f THEN last END)
                 WHEN swap THEN first WHEN last_f THEN last END AS f,
            CASE WHEN length(first) = 1 THEN first WHEN swap THEN last[1] WHEN first_g THEN first[1] END AS i
        FROM swapped
        UNION ALL
        SELECT w AS hk, g, f, i FROM handle_runs"""
    )


def _bios(db: _Db) -> None:
    """``name_in_text``: the first pair of consecutive bio words that is a known given then family name."""
    db.run(
        """CREATE TEMP TABLE bio_names AS
        WITH texts AS (SELECT DISTINCT fbio AS t, bw AS w FROM a2 WHERE len(bw) > 1),
        pairs AS (SELECT t, w, unnest(range(1, len(w))) AS i FROM texts),
        hits AS (
            SELECT t, i, w[i] AS g, w[i + 1] AS f FROM pairs
            WHERE w[i] IN (SELECT name FROM vg) AND w[i + 1] IN (SELECT name FROM vf)
        )
        SELECT t, arg_min(g, i) AS g, arg_min(f, i) AS f, arg_min(g, i)[1] AS i FROM hits GROUP BY t"""
    )


def _places(db: _Db) -> None:
    """``_read_place`` on the location (or the display name's suffix), else districts and towns in the bio."""
    db.run(
        "CREATE TEMP TABLE loc_words AS SELECT DISTINCT floc AS t, regexp_extract_all(floc, '[a-z]+') AS w "
        "FROM a3 WHERE loc <> ''"
    )
    _towns_in_texts(db, "loc_words", "loc_towns")
    db.run("CREATE TEMP TABLE bio_words AS SELECT DISTINCT fbio AS t, bw AS w FROM a3")
    _towns_in_texts(db, "bio_words", "bio_towns")
    db.run(
        """CREATE TEMP TABLE places AS
        WITH p1 AS (
            SELECT a.row_no, a.bio, a.fbio, a.bw,
                   CASE WHEN a.loc = '' THEN NULL ELSE district_of(a.loc_first) END AS pc_district,
                   CASE WHEN a.loc = '' THEN NULL ELSE districts_in(a.loc)[1] END AS text_district,
                   CASE WHEN a.loc = '' THEN NULL
                        ELSE coalesce(lt.town, place_key_f(fold(a.loc_first))) END AS text_town
            FROM a3 a LEFT JOIN loc_towns lt ON lt.t = a.floc
        ),
        p2 AS (
            SELECT row_no, bio, fbio, bw,
                   coalesce(pc_district, text_district) AS district,
                   CASE WHEN pc_district IS NULL THEN text_town END AS town
            FROM p1
        )
        SELECT p.row_no,
               CASE WHEN p.district IS NULL AND p.town IS NULL AND len(p.bw) > 0
                    THEN districts_in(p.bio)[1] ELSE p.district END AS district,
               CASE WHEN p.district IS NULL AND p.town IS NULL AND len(p.bw) > 0
                    THEN bt.town ELSE p.town END AS town
        FROM p2 p LEFT JOIN bio_towns bt ON bt.t = p.fbio"""
    )


# ---------------------------------------------------------------------------------------------
# Records → Arrow (the Django side and the tests hand over records; the benchmark builds Arrow)
# ---------------------------------------------------------------------------------------------


def _dob_text(value: object) -> str | None:
    """A date of birth as text whose first four-digit run is the year ``names.year_of_birth`` reads."""
    if isinstance(value, date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    if isinstance(value, int):
        return str(value) if 1000 <= value <= 9999 else None
    return value


def member_table(members: Iterable[Any]) -> pa.Table:
    """Member records (``model.MemberRecord``) as a :data:`MEMBER_RAW_SCHEMA` table."""
    cols: dict[str, list[Any]] = {name: [] for name in MEMBER_RAW_SCHEMA.names}
    for m in members:
        cols["member_id"].append(m.member_id)
        cols["given_name"].append(m.given_name or None)
        cols["family_name"].append(m.family_name or None)
        cols["email"].append(m.email or None)
        cols["date_of_birth"].append(_dob_text(m.date_of_birth))
        cols["town"].append(m.town or None)
        cols["postcode"].append(m.postcode or None)
    return pa.table(cols, schema=MEMBER_RAW_SCHEMA)


def account_table(accounts: Iterable[Any]) -> pa.Table:
    """Account records (``model.AccountRecord``) as an :data:`ACCOUNT_RAW_SCHEMA` table."""
    cols: dict[str, list[Any]] = {name: [] for name in ACCOUNT_RAW_SCHEMA.names}
    for a in accounts:
        cols["account_id"].append(a.account_id)
        cols["platform"].append(a.platform)
        cols["handle"].append(a.handle or None)
        cols["display_name"].append(a.display_name or None)
        cols["bio"].append(a.bio or None)
        cols["location"].append(a.location or None)
    return pa.table(cols, schema=ACCOUNT_RAW_SCHEMA)


def concat(tables: Sequence[pa.Table]) -> pa.Table:
    return pa.concat_tables(tables)
