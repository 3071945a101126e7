"""Linkage benchmark: assay's model against a plain Splink baseline on the same synthetic register.

    .venv/bin/python bench/linkage.py --n 100000     # develop here
    .venv/bin/python bench/linkage.py                # 1,000,000 members × 1,000,000 accounts

Data is generated in code from a seed (``linkage/synth.py``): 30% of accounts belong to members.
Each method runs in a forked child process so its seconds and peak RSS are its own (the peak
includes the input records the child holds). Both are scored against the generator's truth at
the default threshold 0.5 and at a threshold chosen, as the issue asks, from labels: the first
2,000 true links plus proposals for 2,000 other accounts play the part of reviewer decisions.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from linkage.model import AccountRecord, LinkageModel, MemberRecord, evaluate, prepare
from linkage.synth import generate

Scores = list[tuple[int, int, float]]
_LABEL_SAMPLE = 4000  # accounts a reviewer team has decided: the labels for m and for the threshold


def _reset_peak() -> None:
    with contextlib.suppress(OSError):  # not Linux: the peak then includes the parent's
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_gib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def _run_assay(
    members: list[MemberRecord],
    accounts: list[AccountRecord],
    new: list[AccountRecord],
    labels: list[tuple[int, int, bool]],
) -> dict[str, Any]:
    start = time.perf_counter()
    register = prepare(members)
    model = LinkageModel.train(register, accounts, labels=labels)
    candidates = model.predict(register, accounts, threshold=0.05)
    seconds = time.perf_counter() - start
    t0 = time.perf_counter()
    incremental = model.predict(register, new, threshold=0.5)
    inc_seconds = time.perf_counter() - t0
    scores = [(c.account_id, c.member_id, c.probability) for c in candidates]
    return {
        "scores": scores,
        "seconds": seconds,
        "incremental_seconds": inc_seconds,
        "incremental_links": len(incremental),
        "version": model.version,
    }


def _baseline_tables(members: list[MemberRecord], accounts: list[AccountRecord]) -> tuple[Any, Any]:
    """What a generic set-up feeds Splink: raw fields cleaned the usual way, nothing assay-specific.

    Names: lower-cased letters (punctuation and emoji dropped); an account's first and last words
    of its display name. Postcode: the member's, and an account location that looks like one
    (``LS6``); town: the member's, and the account location's first part (``Leeds, UK`` → leeds).
    Identifier: the email local part and the handle, lower-cased, separators dropped. Accounts have
    no date of birth: a generic set-up has none to read (assay reads years from handles and bios).
    """
    import re

    import pyarrow as pa

    not_letters = re.compile(r"[^a-z]+")
    not_alnum = re.compile(r"[^a-z0-9]+")

    def word(s: str) -> str | None:
        return not_letters.sub("", s.lower()) or None

    def ident(s: str) -> str | None:
        return not_alnum.sub("", s.lower()) or None

    def postcode(s: str) -> str | None:
        s = s.strip().upper()
        return s if re.match(r"^[A-Z]{1,2}[0-9][A-Z0-9]?( [0-9][A-Z]{2})?$", s) else None

    names = ("unique_id", "first_name", "surname", "dob", "postcode", "town", "ident")
    m_cols: dict[str, list[Any]] = {k: [] for k in names}
    for m in members:
        m_cols["unique_id"].append(m.member_id)
        m_cols["first_name"].append(word(m.given_name.split()[0]) if m.given_name.split() else None)
        m_cols["surname"].append(word(m.family_name))
        m_cols["dob"].append(m.date_of_birth.isoformat() if m.date_of_birth else None)
        m_cols["postcode"].append(postcode(m.postcode))
        m_cols["town"].append(word(m.town))
        m_cols["ident"].append(ident(m.email.split("@", 1)[0]) if m.email.count("@") == 1 else None)
    a_cols: dict[str, list[Any]] = {k: [] for k in names}
    for a in accounts:
        words = [w for w in (word(x) for x in a.display_name.split()) if w]
        a_cols["unique_id"].append(a.account_id)
        a_cols["first_name"].append(words[0] if words else None)
        a_cols["surname"].append(words[-1] if len(words) > 1 else None)
        a_cols["dob"].append(None)
        a_cols["postcode"].append(postcode(a.location))
        a_cols["town"].append(word(a.location.split(",", 1)[0]) if a.location else None)
        a_cols["ident"].append(ident(a.handle.lstrip("@").split("@", 1)[0]))
    schema = pa.schema([("unique_id", pa.int64())] + [(k, pa.string()) for k in names[1:]])
    return pa.table(m_cols, schema=schema), pa.table(a_cols, schema=schema)


def _run_baseline(
    members: list[MemberRecord], accounts: list[AccountRecord], _new: list[AccountRecord]
) -> dict[str, Any]:
    """A plain Splink set-up as its tutorials build one, trained the way they train it.

    Exact identifier (email local part = handle), Jaro-Winkler names with term-frequency
    adjustment, date of birth, postcode (full, sector, district, area), town; blocking on
    name, surname + date of birth, surname + postcode district, identifier. The prior comes from
    deterministic rules with a stated recall; u from random sampling; m from EM sessions blocked
    on name and on identifier (one blocked on town alone
    would compare ~100M pairs at 100k). The best-scoring member per account is its proposal.
    """
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    start = time.perf_counter()
    m_table, a_table = _baseline_tables(members, accounts)
    db_api = DuckDBAPI()
    district = "regexp_extract(postcode, '^[A-Z]{1,2}[0-9][A-Z0-9]?')"
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.ExactMatch("ident"),
            cl.JaroWinklerAtThresholds("first_name", [0.92, 0.8]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("surname", [0.92, 0.8]).configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("town").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "surname"),
            block_on("surname", "dob"),
            block_on("surname", district),
            block_on("ident"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    linker = Linker(
        [
            db_api.register(m_table, dataset_display_name="members"),
            db_api.register(a_table, dataset_display_name="accounts"),
        ],
        settings,
        log_level=None,
    )
    linker.training.estimate_probability_two_random_records_match(
        [block_on("ident"), block_on("first_name", "surname", "town")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=3e6, seed=5)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("ident"))
    scored = linker.inference.predict(threshold_match_probability=0.05, warning_mode="never")
    best = db_api.query_sql(
        f"""SELECT CASE WHEN source_dataset_l = 'accounts' THEN unique_id_l ELSE unique_id_r END AS a,
                   CASE WHEN source_dataset_l = 'accounts' THEN unique_id_r ELSE unique_id_l END AS m,
                   match_probability AS p
            FROM {scored.physical_name}
            QUALIFY row_number() OVER (PARTITION BY a ORDER BY match_probability DESC, m) = 1"""  # noqa: S608
    ).as_record_list()
    seconds = time.perf_counter() - start
    return {"scores": [(int(r["a"]), int(r["m"]), float(r["p"])) for r in best], "seconds": seconds}


def _in_child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run ``fn`` in a forked child (it inherits the records), returning its result and peak RSS."""
    ctx = mp.get_context("fork")
    parent_end, child_end = ctx.Pipe(duplex=False)

    def target() -> None:
        logging.getLogger("splink").setLevel(logging.ERROR)
        _reset_peak()
        result = fn(*args)
        result["peak_gib"] = _peak_rss_gib()
        child_end.send(result)
        child_end.close()
        os._exit(0)  # skip interpreter teardown in the fork: nothing to flush, and it is slow

    proc = ctx.Process(target=target)
    proc.start()
    result: dict[str, Any] = parent_end.recv()
    proc.join()
    return result


def _metrics(scores: Scores, truth: dict[int, int], threshold: float) -> tuple[float, float, float, int, int, int]:
    tp = fp = 0
    for account_id, member_id, p in scores:
        if p >= threshold:
            if truth.get(account_id) == member_id:
                tp += 1
            else:
                fp += 1
    fn = len(truth) - tp
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, tp, fp, fn


def _confirmed(truth: dict[int, int], accounts: list[AccountRecord]) -> list[tuple[int, int, bool]]:
    """What reviewers would have confirmed: the true owners among the label sample's accounts."""
    return [(a.account_id, truth[a.account_id], True) for a in accounts[:_LABEL_SAMPLE] if a.account_id in truth]


def _threshold_from_labels(scores: Scores, truth: dict[int, int], accounts: list[AccountRecord]) -> float:
    """The lowest threshold whose precision on a reviewer-sized label set is at least 0.99."""
    labelled = {a.account_id for a in accounts[:_LABEL_SAMPLE]}
    labels = [(a, truth[a], True) for a in labelled if a in truth]
    labels += [(a, m, truth.get(a) == m) for a, m, _ in scores if a in labelled]
    grid = [round(0.05 * i, 2) for i in range(1, 20)] + [0.97, 0.99, 0.995, 0.999]
    rows = evaluate(scores, labels, thresholds=grid)
    ok = [r.threshold for r in rows if r.precision >= 0.99 and r.tp > 0]
    return min(ok) if ok else 0.999


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="members and accounts (each)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-assay", action="store_true")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    data = generate(args.n, args.n + 1000, seed=args.seed)
    accounts, new = data.accounts[: args.n], data.accounts[args.n :]
    truth = {a.account_id: data.truth[a.account_id] for a in accounts if a.account_id in data.truth}
    new_truth = {a.account_id for a in new if a.account_id in data.truth}
    gc.collect()
    gc.freeze()  # the records are read-only from here: keep the children from copying them
    print(
        f"generated {args.n:,} members, {len(accounts):,} accounts ({len(truth):,} members'), "
        f"+{len(new):,} new ({len(new_truth)} members') in {time.perf_counter() - t0:.1f} s; "
        f"{os.cpu_count()} cores"
    )
    results = (
        {}
        if args.skip_assay
        else {"assay": _in_child(_run_assay, data.members, accounts, new, _confirmed(truth, accounts))}
    )
    if not args.skip_baseline:
        results["baseline"] = _in_child(_run_baseline, data.members, accounts, new)

    header = f"{'method':<9} {'threshold':>9} {'precision':>9} {'recall':>7} {'F1':>7} {'TP':>8} {'FP':>7} {'FN':>7}"
    print(header)
    summary: dict[str, tuple[float, float, float, float, float]] = {}
    for name, r in results.items():
        chosen = _threshold_from_labels(r["scores"], truth, accounts)
        for t in sorted({0.5, chosen}):
            p, rc, f1, tp, fp, fn = _metrics(r["scores"], truth, t)
            tag = " (from labels)" if t == chosen else ""
            print(f"{name:<9} {t:>9.3f} {p:>9.4f} {rc:>7.4f} {f1:>7.4f} {tp:>8,d} {fp:>7,d} {fn:>7,d}{tag}")
            if t == chosen:
                summary[name] = (p, rc, f1, r["seconds"], r["peak_gib"])
    for name, r in results.items():
        print(f"{name:<9} seconds {r['seconds']:.1f}  peak RSS {r['peak_gib']:.2f} GiB")
    a = results.get("assay")
    if a is None:
        return
    print(
        f"assay     incremental: {len(new):,} new accounts linked in {a['incremental_seconds']:.2f} s "
        f"({a['incremental_links']} proposals at 0.5); model {a['version']}"
    )
    if "baseline" in summary:
        (ap, ar, af, asec, amem), (bp, br, bf, bsec, bmem) = summary["assay"], summary["baseline"]
        print(
            f"ratios assay/baseline (thresholds from labels): precision {ap / bp:.3f}  recall {ar / br:.3f}  "
            f"F1 {af / bf:.3f}  seconds {asec / bsec:.2f}  peak RSS {amem / bmem:.2f}"
        )


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)  # skip DuckDB's noisy nanobind leak report at interpreter exit
