"""What the synthetic accounts allow any model: for each true account, the members it fits.

    .venv/bin/python bench/linkage_ceiling.py --n 100000 [--names flat]

Reads the same features assay reads (``linkage/features_sql.py``) from ``synth.generate``'s
data and counts, for every account that belongs to a member, the register members *compatible*
with it: the same family name as read, and no disagreeing given name (nicknames allowed),
initial, year of birth, postcode district or town. Nothing here is learnt or tuned.

An account whose only compatible member is its own can, in principle, be linked confidently from
names, years and places; one with several can only be shared among them; one that names no
family, or contradicts its own member (a typo, a move, a joke location, a random number read as
a year), can be linked only where a probabilistic model weighs the rest above the contradiction.
So the first row bounds, roughly, the recall any model reaches at high precision.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb
import pyarrow as pa

from linkage import features_sql
from linkage.synth import PROFILES, generate

_COMPATIBLE = """
WITH own AS (SELECT a.*, t.member_id AS owner FROM a JOIN t ON a.unique_id = t.account_id),
fits AS (
    SELECT own.unique_id AS account_id, m.unique_id AS member_id, own.owner
    FROM own JOIN m ON own.family = m.family
    WHERE (own.given IS NULL OR m.given IS NULL OR own.given = m.given OR own.given_raw = m.given_raw)
      AND (own.initial IS NULL OR m.initial IS NULL OR own.initial = m.initial)
      AND (own.yob IS NULL OR m.yob IS NULL OR own.yob = m.yob)
      AND (own.district IS NULL OR m.district IS NULL OR own.district = m.district)
      AND (own.town IS NULL OR m.town IS NULL OR own.town = m.town)
),
per_account AS (
    SELECT own.unique_id, own.family IS NULL AS no_family, count(f.member_id) AS n,
           coalesce(bool_or(f.member_id = own.owner), false) AS fits_own
    FROM own LEFT JOIN fits f ON f.account_id = own.unique_id
    GROUP BY own.unique_id, own.family
)
SELECT CASE WHEN no_family THEN '6 names no family'
            WHEN NOT fits_own THEN '5 contradicts its own member'
            WHEN n = 1 THEN '1 fits its own member only'
            WHEN n <= 3 THEN '2 fits 2-3 members'
            WHEN n <= 10 THEN '3 fits 4-10 members'
            ELSE '4 fits more than 10 members' END AS what,
       count(*) AS accounts
FROM per_account GROUP BY 1 ORDER BY 1
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="members and accounts (each)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--names", choices=("gb", "flat"), default="gb")
    parser.add_argument("--profile", choices=tuple(PROFILES), default="sparse", help="how forthcoming accounts are")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    data = generate(args.n, args.n, seed=args.seed, names=args.names, profile=args.profile)
    members = features_sql.member_features(features_sql.member_table(data.members))
    accounts = features_sql.account_features(
        features_sql.account_table(data.accounts), features_sql.vocabulary_tables(members)
    )
    truth = pa.table({"account_id": list(data.truth), "member_id": list(data.truth.values())})
    con = duckdb.connect()
    for name, table in (("m", members), ("a", accounts), ("t", truth)):
        con.register(name, table)
    rows = con.sql(_COMPATIBLE).fetchall()
    total = sum(n for _, n in rows)
    families = con.sql("SELECT count(DISTINCT family) FROM m").fetchall()[0][0]
    print(
        f"{args.n:,} members ({families:,} family names), {total:,} members' accounts, names {args.names}, "
        f"accounts {args.profile}, "
        f"in {time.perf_counter() - start:.1f} s"
    )
    for what, n in rows:
        print(f"  {what[2:]:<30} {n:>9,} {100 * n / total:6.1f}%")


if __name__ == "__main__":
    main()
