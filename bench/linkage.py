"""Linkage benchmark: assay's model against a plain Splink baseline on the same synthetic register.

    .venv/bin/python bench/linkage.py --n 100000     # develop here
    .venv/bin/python bench/linkage.py                # 1,000,000 members × 1,000,000 accounts

Data is generated in code from a seed (``linkage/synth.py``): 30% of accounts belong to members.
A generator process streams the records into Arrow record batches (IPC files in a temporary
directory; exactly ``synth.generate``'s data, without a Python object per record kept), and each
method runs in a forked child that memory-maps them, so its seconds and peak RSS are its own
(the peak includes the input tables the child reads). Both are scored against the generator's truth at
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
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyarrow as pa
import pyarrow.compute as pc

from linkage.features_sql import ACCOUNT_RAW_SCHEMA, MEMBER_RAW_SCHEMA, account_table, member_table
from linkage.model import AccountRecord, LinkageModel, evaluate, prepare
from linkage.synth import PROFILES, Generator, NameModel, ProfileName

Scores = list[tuple[int, int, float]]
_LABEL_SAMPLE = 4000  # accounts a reviewer team has decided: the labels for m and for the threshold
_BATCH = 50_000
_TRUTH_SCHEMA = pa.schema([("account_id", pa.int64()), ("member_id", pa.int64())])
_SCORES_SCHEMA = pa.schema([("account_id", pa.int64()), ("member_id", pa.int64()), ("probability", pa.float64())])


def _reset_peak() -> None:
    with contextlib.suppress(OSError):  # not Linux: the peak then includes the parent's
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_gib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def _write(path: Path, schema: pa.Schema, batches: Any) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for batch in batches:
            writer.write_table(batch)


def _read(path: Path) -> pa.Table:
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def _generate(
    n_members: int,
    n_accounts: int,
    seed: int,
    out: Path,
    names: NameModel = "gb",
    profile: ProfileName = "sparse",
    linked_share: float = 0.3,
) -> None:
    """``synth.generate(n_members, n_accounts, seed=seed, names=names, profile=profile)``'s draws, to Arrow.

    People are kept (accounts are drawn from them), records are not: each batch of members or
    accounts becomes an Arrow table as soon as it is drawn. The accounts are shuffled at the end
    exactly as ``generate`` shuffles them.
    """
    gen = Generator(seed, names, profile)
    rng = gen.rng
    people = [gen.person() for _ in range(n_members)]
    emails: list[str] = []
    member_parts = []
    for start in range(0, n_members, _BATCH):
        batch = [gen.member(i + 1, people[i]) for i in range(start, min(start + _BATCH, n_members))]
        emails += [m.email for m in batch]
        member_parts.append(member_table(batch))
    _write(out / "members.arrow", MEMBER_RAW_SCHEMA, member_parts)
    del member_parts
    n_linked = round(n_accounts * linked_share)
    owners = rng.sample(range(n_members), min(n_linked, n_members)) if n_members else []
    account_parts, truth_a, truth_m = [], [], []
    pending: list[AccountRecord] = []
    for k in range(n_accounts):
        account_id = 10_000_000 + k + 1
        if k < len(owners):
            i = owners[k]
            pending.append(gen.account(account_id, people[i], emails[i]))
            truth_a.append(account_id)
            truth_m.append(i + 1)
        elif n_members and rng.random() < 0.1:
            pending.append(gen.account(account_id, gen.relative(rng.choice(people))))
        else:
            pending.append(gen.account(account_id, gen.person()))
        if len(pending) == _BATCH:
            account_parts.append(account_table(pending))
            pending = []
    account_parts.append(account_table(pending))
    order = list(range(n_accounts))
    rng.shuffle(order)
    accounts = pa.concat_tables(account_parts).take(pa.array(order, pa.int64()))
    _write(out / "accounts.arrow", ACCOUNT_RAW_SCHEMA, [accounts])
    _write(out / "truth.arrow", _TRUTH_SCHEMA, [pa.table([truth_a, truth_m], schema=_TRUTH_SCHEMA)])


def _run_assay(
    members: pa.Table, accounts: pa.Table, new: pa.Table, labels: list[tuple[int, int, bool]]
) -> dict[str, Any]:
    start = time.perf_counter()
    register = prepare(members)
    prepared = time.perf_counter()
    model = LinkageModel.train(register, accounts, labels=labels)
    trained = time.perf_counter()
    scored = model.score(register, accounts, threshold=0.05)
    seconds = time.perf_counter() - start
    phases = (
        f"prepare {prepared - start:.1f} s, train {trained - prepared:.1f} s, score {start + seconds - trained:.1f} s"
    )
    t0 = time.perf_counter()
    waterfalls = len(model.explain(scored.filter(pc.greater_equal(scored.column("probability"), 0.5))))
    explain_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    incremental = model.predict(register, new, threshold=0.5)
    inc_seconds = time.perf_counter() - t0
    return {
        "scores": _ipc(scored.select(_SCORES_SCHEMA.names).cast(_SCORES_SCHEMA)),
        "seconds": seconds,
        "explain_seconds": explain_seconds,
        "phases": phases,
        "waterfalls": waterfalls,
        "incremental_seconds": inc_seconds,
        "incremental_links": len(incremental),
        "version": model.version,
    }


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return cast(bytes, sink.getvalue().to_pybytes())


def _from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def _baseline_tables(members: pa.Table, accounts: pa.Table) -> tuple[Any, Any]:
    """What a generic set-up feeds Splink: raw fields cleaned the usual way, nothing assay-specific.

    Names: lower-cased letters (punctuation and emoji dropped); an account's first and last words
    of its display name. Postcode: the member's, and an account location that looks like one
    (``LS6``); town: the member's, and the account location's first part (``Leeds, UK`` → leeds).
    Identifier: the email local part and the handle, lower-cased, separators dropped. Accounts have
    no date of birth: a generic set-up has none to read (assay reads years from handles and bios).
    Cleaned in DuckDB SQL, as such a set-up would at this size.
    """
    import duckdb

    con = duckdb.connect()
    con.register("m", members)
    con.register("a", accounts)
    word = "nullif(regexp_replace(lower({}), '[^a-z]+', '', 'g'), '')"
    ident = "nullif(regexp_replace(lower({}), '[^a-z0-9]+', '', 'g'), '')"
    postcode = (
        "CASE WHEN regexp_matches(upper(trim({0})), '^[A-Z]{{1,2}}[0-9][A-Z0-9]?( [0-9][A-Z]{{2}})?$') "
        "THEN upper(trim({0})) END"
    )
    words_of = r"regexp_extract_all(coalesce({}, ''), '[^ \t\n]+')"  # str.split()
    m_table = con.sql(
        f"""SELECT member_id AS unique_id,
                   {word.format(words_of.format("given_name") + "[1]")} AS first_name,
                   {word.format("family_name")} AS surname,
                   date_of_birth AS dob,
                   {postcode.format("postcode")} AS postcode,
                   {word.format("town")} AS town,
                   CASE WHEN length(email) - length(replace(email, '@', '')) = 1
                        THEN {ident.format("split_part(email, '@', 1)")} END AS ident
            FROM m"""  # noqa: S608
    ).to_arrow_table()
    a_table = con.sql(
        f"""WITH w AS (
                SELECT *, list_filter(list_transform({words_of.format("display_name")},
                                                     lambda x: {word.format("x")}), lambda x: x IS NOT NULL) AS words
                FROM a)
            SELECT account_id AS unique_id, words[1] AS first_name,
                   CASE WHEN len(words) > 1 THEN words[len(words)] END AS surname,
                   CAST(NULL AS VARCHAR) AS dob,
                   {postcode.format("location")} AS postcode,
                   {word.format("split_part(location, ',', 1)")} AS town,
                   {ident.format("split_part(ltrim(handle, '@'), '@', 1)")} AS ident
            FROM w"""  # noqa: S608
    ).to_arrow_table()
    con.close()
    return m_table, a_table


def _run_baseline(members: pa.Table, accounts: pa.Table, _new: pa.Table) -> dict[str, Any]:
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
    scores = pa.table(
        [[int(r["a"]) for r in best], [int(r["m"]) for r in best], [float(r["p"]) for r in best]], schema=_SCORES_SCHEMA
    )
    return {"scores": _ipc(scores), "seconds": seconds}


def _in_child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run ``fn`` in a forked child (it inherits the tables), returning its result and peak RSS."""
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


def _confirmed(truth: dict[int, int], sample: list[int]) -> list[tuple[int, int, bool]]:
    """What reviewers would have confirmed: the true owners among the label sample's accounts."""
    return [(a, truth[a], True) for a in sample if a in truth]


_GRID = [round(0.05 * i, 2) for i in range(1, 19)] + [0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995, 0.999]


def _threshold_from_labels(scores: Scores, truth: dict[int, int], sample: list[int]) -> float:
    """The lowest threshold whose precision on a reviewer-sized label set is at least 0.99."""
    labelled = set(sample)
    labels = [(a, truth[a], True) for a in labelled if a in truth]
    labels += [(a, m, truth.get(a) == m) for a, m, _ in scores if a in labelled]
    rows = evaluate(scores, labels, thresholds=_GRID)
    ok = [r.threshold for r in rows if r.precision >= 0.99 and r.tp > 0]
    return min(ok) if ok else 0.999


def _frontier(scores: Scores, truth: dict[int, int], precision: float = 0.99) -> tuple[float, float]:
    """The best recall at ``precision`` or better over every threshold, judged on the whole truth.

    What the model's ranking allows if the threshold were chosen perfectly: the labels' choice
    above is what a deployment gets; the gap between them is the label sample's noise.
    """
    best_recall, at = 0.0, 1.0
    tp = fp = 0
    for account_id, member_id, p in sorted(scores, key=lambda s: -s[2]):
        if truth.get(account_id) == member_id:
            tp += 1
        else:
            fp += 1
        if tp / (tp + fp) >= precision and tp / len(truth) > best_recall:
            best_recall, at = tp / len(truth), p
    return best_recall, at


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="members and accounts (each)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--names",
        choices=("gb", "flat"),
        default="gb",
        help="how common names are: 'gb' published British frequencies (default), 'flat' the first generator's",
    )
    parser.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        default="sparse",
        help="how forthcoming accounts are: 'sparse' (default, what surveys report) or 'full' (every account shows "
        "its owner's full name and postcode district: the upper bound)",
    )
    parser.add_argument(
        "--labels",
        choices=("sample", "all"),
        default="sample",
        help="what assay is trained on: the label sample's confirmed pairs (default, what reviewers would "
        "have decided) or every true pair (an oracle: shows whether estimating the model limits it)",
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-assay", action="store_true")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="assay-bench-linkage-") as tmp:
        out = Path(tmp)
        proc = mp.get_context("fork").Process(
            target=_generate, args=(args.n, args.n + 1000, args.seed, out, args.names, args.profile)
        )
        proc.start()
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit(f"generating the data failed (exit code {proc.exitcode})")
        members, all_accounts = _read(out / "members.arrow"), _read(out / "accounts.arrow")
        accounts, new = all_accounts.slice(0, args.n), all_accounts.slice(args.n)
        truth_table = _read(out / "truth.arrow")
        owner = dict(zip(*(truth_table.column(c).to_pylist() for c in ("account_id", "member_id")), strict=True))
        ids = accounts.column("account_id").to_pylist()
        truth = {a: owner[a] for a in ids if a in owner}
        new_truth = [a for a in new.column("account_id").to_pylist() if a in owner]
        sample = ids[:_LABEL_SAMPLE]
        training = ids if args.labels == "all" else sample
        del owner, ids
        gc.collect()
        gc.freeze()  # read-only from here: keep the children from copying it
        print(
            f"generated {args.n:,} members, {accounts.num_rows:,} accounts ({len(truth):,} members'), "
            f"+{new.num_rows:,} new ({len(new_truth)} members') in {time.perf_counter() - t0:.1f} s; "
            f"names {args.names}; accounts {args.profile}; labels {args.labels}; {os.cpu_count()} cores"
        )
        results = (
            {}
            if args.skip_assay
            else {"assay": _in_child(_run_assay, members, accounts, new, _confirmed(truth, training))}
        )
        if not args.skip_baseline:
            results["baseline"] = _in_child(_run_baseline, members, accounts, new)

    header = f"{'method':<9} {'threshold':>9} {'precision':>9} {'recall':>7} {'F1':>7} {'TP':>8} {'FP':>7} {'FN':>7}"
    print(header)
    summary: dict[str, tuple[float, float, float, float, float]] = {}
    for name, r in results.items():
        table = _from_ipc(r["scores"])
        scores: Scores = list(zip(*(table.column(c).to_pylist() for c in _SCORES_SCHEMA.names), strict=True))
        chosen = _threshold_from_labels(scores, truth, sample)
        for t in sorted({0.5, chosen}):
            p, rc, f1, tp, fp, fn = _metrics(scores, truth, t)
            tag = " (from labels)" if t == chosen else ""
            print(f"{name:<9} {t:>9.3f} {p:>9.4f} {rc:>7.4f} {f1:>7.4f} {tp:>8,d} {fp:>7,d} {fn:>7,d}{tag}")
            if t == chosen:
                summary[name] = (p, rc, f1, r["seconds"], r["peak_gib"])
        best, at = _frontier(scores, truth)
        print(f"{name:<9} best recall at precision >= 0.99 on the whole truth: {best:.4f} (threshold {at:.4f})")
    for name, r in results.items():
        phases = f" ({r['phases']})" if "phases" in r else ""
        print(f"{name:<9} seconds {r['seconds']:.1f}  peak RSS {r['peak_gib']:.2f} GiB{phases}")
    a = results.get("assay")
    if a is None:
        return
    print(
        f"assay     waterfalls for the {a['waterfalls']:,} proposals at 0.5 built in {a['explain_seconds']:.1f} s "
        "(not in the seconds above)"
    )
    print(
        f"assay     incremental: {new.num_rows:,} new accounts linked in {a['incremental_seconds']:.2f} s "
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
