"""Probabilistic account ↔ member linkage: Splink behind a narrow, plain-dataclass interface.

No Django here (import-linter enforces it). The Django side (``linkage/services.py``) turns
members and accounts into :class:`MemberRecord` / :class:`AccountRecord`, calls
:meth:`LinkageModel.train` or :meth:`LinkageModel.load`, then :meth:`LinkageModel.predict`, and
stores each :class:`Candidate` as a proposed link whose ``evidence`` is the reviewer's waterfall.

How it works (see docs/linkage.md for the reasoning):

* Features (``linkage/names.py`` is the reference, ``linkage/features_sql.py`` computes the same
  values column-wise in DuckDB): a nickname-normalised given name, a family name and initial, a
  year of birth, a postcode district and town, and the handle as an identifier.
  An account's name comes from its display name, else its handle (``jsmith_84`` → initial j,
  family smith, born 1984), else its bio, so one piece of evidence is counted once.
* Splink (DuckDB by default) generates candidates with several blocking rules, scores them with
  term-frequency-adjusted comparisons, and the result is made one-to-one: each account goes to
  its best member, and its probability is shared with the other members that also scored
  (``P(member i) = odds_i / (1 + Σ odds_j)``), so an ambiguous account is never a confident link.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import re
import tempfile
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeAlias, cast

import pyarrow as pa
import pyarrow.compute as pc
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on

from linkage import features_sql
from linkage.names import (
    NameParts,
    Vocabulary,
    canonical_given,
    display_place,
    districts_in_text,
    email_local,
    fold,
    handle_key,
    name_key,
    phonetic,
    place_key,
    postcode_district,
    read_display_name,
    year_from_digits,
    year_of_birth,
)

__all__ = [
    "AccountRecord",
    "Candidate",
    "Evidence",
    "LinkageError",
    "LinkageModel",
    "MemberRecord",
    "PreparedRegister",
    "Rival",
    "ThresholdRow",
    "evaluate",
    "find_duplicate_members",
]

FEATURES_VERSION = "2"  # bump when features or comparisons change: old models then refuse to load
Backend = Literal["duckdb", "spark"]
_MEMBERS = "members"
_ACCOUNTS = "accounts"
_SCORE_FLOOR_MW = -8.0  # pairs below this match weight cannot matter to any threshold or competitor
_DEFAULT_U_PAIRS = 3e6
_MAX_TRAINING_ACCOUNTS = 250_000
_OTHERS = 3  # runners-up kept per proposed account, for the reviewer to compare with the proposal

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# The interface: plain frozen dataclasses
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberRecord:
    member_id: int
    given_name: str
    family_name: str
    email: str = ""
    date_of_birth: date | None = None
    town: str = ""
    postcode: str = ""


@dataclass(frozen=True, slots=True)
class AccountRecord:
    account_id: int
    platform: str
    handle: str = ""
    display_name: str = ""
    bio: str = ""
    location: str = ""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One bar of the waterfall: a comparison, the level it reached and its match weight (log2 Bayes factor)."""

    comparison: str
    level: str
    weight: float


@dataclass(frozen=True, slots=True)
class Rival:
    """A member who also scored for the account but ranked below the proposal.

    ``probability`` is shared exactly as the proposal's is (``2^w / (1 + Σ odds)`` over the same
    members), so a reviewer can compare the two numbers; ``match_weight`` (``w``, log2 Bayes
    factor including the prior) is why it ranked lower.
    """

    member_id: int
    probability: float
    match_weight: float


@dataclass(frozen=True, slots=True)
class Candidate:
    """A proposed link. The evidence weights sum to log2 of the probability's odds.

    ``others`` are the next best members for the account (at most three, best first), rejected
    pairs excluded as they are from the proposal.
    """

    account_id: int
    member_id: int
    probability: float
    evidence: tuple[Evidence, ...]
    others: tuple[Rival, ...] = ()


@dataclass(frozen=True, slots=True)
class ThresholdRow:
    threshold: float
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


# Records, or Arrow tables in features_sql.MEMBER_RAW_SCHEMA / ACCOUNT_RAW_SCHEMA (large batches).
Members: TypeAlias = Iterable[MemberRecord] | pa.Table
Accounts: TypeAlias = Iterable[AccountRecord] | pa.Table


class LinkageError(ValueError):
    """Linkage cannot run as asked: empty input, an untrained or incompatible model, a missing backend."""


# ---------------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------------

_FEATURE_SCHEMA = features_sql.FEATURE_SCHEMA  # one schema, whichever path computed the features
_YEAR_IN_BIO_RE = re.compile(r"\b(?:b\.?|born(?: in)?|est\.?)\s?'?(\d{4}|\d{2})\b")


def _columns() -> dict[str, list[Any]]:
    return {name: [] for name in _FEATURE_SCHEMA.names}


def _append(
    cols: dict[str, list[Any]], uid: int, parts: NameParts, ident: str | None, district: str | None, town: str | None
) -> None:
    given_raw = parts.given
    given = canonical_given(given_raw)
    initial = parts.initial or (given_raw[0] if given_raw else None)
    cols["unique_id"].append(uid)
    cols["given_raw"].append(given_raw)
    cols["given"].append(given)
    cols["initial"].append(initial)
    cols["family"].append(parts.family)
    cols["given_ph"].append(phonetic(given))
    cols["family_ph"].append(phonetic(parts.family))
    cols["yob"].append(parts.year)
    cols["ident"].append(ident)
    cols["district"].append(district)
    cols["town"].append(town)


def _first_word_key(text: str) -> str | None:
    words = fold(text).split()
    return name_key(words[0]) if words else None


def member_features(members: Iterable[MemberRecord]) -> pa.Table:
    """One row per member: the comparable features (missing or malformed fields become nulls)."""
    cols = _columns()
    for m in members:
        given = _first_word_key(m.given_name or "")
        family = name_key(m.family_name or "")
        parts = NameParts(given, family, given[0] if given else None, year_of_birth(m.date_of_birth))
        _append(cols, m.member_id, parts, email_local(m.email), postcode_district(m.postcode), place_key(m.town))
    return pa.table(cols, schema=_FEATURE_SCHEMA)


def vocabulary(features: pa.Table) -> Vocabulary:
    """Known names and towns, from a register's features, for reading handles and bios."""
    given = [g for g in pc_unique(features, "given_raw") if g]
    family = [f for f in pc_unique(features, "family") if f]
    vocab = Vocabulary(given, family)
    vocab_towns = frozenset(t for t in pc_unique(features, "town") if t)
    return _WithTowns(vocab, vocab_towns)


def pc_unique(table: pa.Table, column: str) -> list[Any]:
    return cast(list[Any], table.column(column).unique().to_pylist())


class _WithTowns(Vocabulary):
    """A vocabulary that also knows the register's towns (to find them in bios)."""

    def __init__(self, base: Vocabulary, towns: frozenset[str]) -> None:
        self.given = base.given
        self.family = base.family
        self.towns = towns

    def town_in_text(self, words: list[str]) -> str | None:
        for size in (3, 2, 1):
            for i in range(len(words) - size + 1):
                candidate = " ".join(words[i : i + size])
                if candidate in self.towns:
                    return candidate
        return None

    def name_in_text(self, words: list[str]) -> NameParts:
        for a, b in itertools.pairwise(words):
            if a in self.given and b in self.family:
                return NameParts(a, b, a[0])
        return NameParts()


def account_features(accounts: Iterable[AccountRecord], vocab: Vocabulary) -> pa.Table:
    """One row per account: its best reading of a name, year and place, each from one source."""
    towns = vocab if isinstance(vocab, _WithTowns) else _WithTowns(vocab, frozenset())
    cols = _columns()
    for a in accounts:
        parts, district, town = _read_account(a, towns)
        _append(cols, a.account_id, parts, handle_key(a.handle), district, town)
    return pa.table(cols, schema=_FEATURE_SCHEMA)


def _read_account(a: AccountRecord, vocab: _WithTowns) -> tuple[NameParts, str | None, str | None]:
    shown = read_display_name(a.display_name)
    if shown.given and not shown.family and shown.given in vocab.family and shown.given not in vocab.given:
        shown = NameParts(None, shown.given, None)  # a display name that is only a surname
    from_handle = vocab.split_handle(a.handle)
    bio_words = re.findall(r"[a-z]+", fold(a.bio)) if a.bio else []
    from_bio = vocab.name_in_text(bio_words) if bio_words else NameParts()
    year = from_handle.year
    if year is None and a.bio:
        found = _YEAR_IN_BIO_RE.search(fold(a.bio))
        year = year_from_digits(found.group(1)) if found else None
    parts = NameParts(
        shown.given or from_handle.given or from_bio.given,
        shown.family or from_handle.family or from_bio.family,
        shown.initial or from_handle.initial or from_bio.initial,
        year,
    )
    district, town = _read_place(a.location or display_place(a.display_name), vocab)
    if district is None and town is None and bio_words:
        found_districts = districts_in_text(a.bio)
        district = found_districts[0] if found_districts else None
        town = vocab.town_in_text(bio_words)
    return parts, district, town


def _read_place(location: str, vocab: _WithTowns) -> tuple[str | None, str | None]:
    if not location:
        return None, None
    first = location.split(",", 1)[0]
    district = postcode_district(first)
    if district:
        return district, None
    found = districts_in_text(location)
    words = re.findall(r"[a-z]+", fold(location))
    return (found[0] if found else None), (vocab.town_in_text(words) or place_key(first))


# ---------------------------------------------------------------------------------------------
# Splink settings (dialect-neutral creators; Splink renders them per backend)
# ---------------------------------------------------------------------------------------------


def _given_name_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="given_name",
        comparison_description="given name: exact, nickname, fuzzy or initial",
        comparison_levels=[
            cll.CustomLevel("initial_l IS NULL OR initial_r IS NULL", "missing").configure(is_null_level=True),
            cll.ExactMatchLevel("given_raw", term_frequency_adjustments=True).configure(
                label_for_charts="same name", m_probability=0.7
            ),
            cll.ExactMatchLevel("given").configure(label_for_charts="nickname of the same name", m_probability=0.15),
            cll.JaroWinklerLevel("given_raw", 0.88).configure(label_for_charts="similar spelling", m_probability=0.03),
            cll.CustomLevel(
                "initial_l = initial_r AND (given_raw_l IS NULL OR given_raw_r IS NULL)", "initial agrees"
            ).configure(m_probability=0.08),
            cll.CustomLevel("initial_l = initial_r", "different name, same initial").configure(m_probability=0.01),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )


def _family_name_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="family_name",
        comparison_description="family name: exact, one edit or similar",
        comparison_levels=[
            cll.NullLevel("family").configure(label_for_charts="missing"),
            cll.ExactMatchLevel("family", term_frequency_adjustments=True).configure(
                label_for_charts="same name", m_probability=0.9
            ),
            cll.DamerauLevenshteinLevel("family", 1).configure(label_for_charts="one typo apart", m_probability=0.05),
            cll.JaroWinklerLevel("family", 0.9).configure(label_for_charts="similar spelling", m_probability=0.02),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )


def _year_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="birth_year",
        comparison_description="year of birth (an account's from its handle digits or bio)",
        comparison_levels=[
            cll.NullLevel("yob").configure(label_for_charts="missing"),
            cll.ExactMatchLevel("yob").configure(label_for_charts="same year"),
            cll.CustomLevel("abs(yob_l - yob_r) <= 1", "one year apart"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )


def _place_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="place",
        comparison_description="postcode district, else town",
        comparison_levels=[
            cll.CustomLevel(
                "(district_l IS NULL OR district_r IS NULL) AND (town_l IS NULL OR town_r IS NULL)", "missing"
            ).configure(is_null_level=True),
            cll.ExactMatchLevel("district", term_frequency_adjustments=True).configure(
                label_for_charts="same postcode district"
            ),
            cll.ExactMatchLevel("town", term_frequency_adjustments=True).configure(label_for_charts="same town"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )


def _ident_comparison() -> cl.CustomComparison:
    # Exact only: a fuzzy handle/email similarity would re-count the name evidence. An identifier
    # built from the person's own surname (``jsmith``) only repeats what the name comparisons
    # already counted, so that level is fixed at zero weight: shown to the reviewer, not counted.
    from_name = "(coalesce(instr(ident_l, family_l), 0) > 0 OR coalesce(instr(ident_r, family_r), 0) > 0)"
    return cl.CustomComparison(
        output_column_name="handle_email",
        comparison_description="handle equals the member's email name",
        comparison_levels=[
            cll.NullLevel("ident").configure(label_for_charts="missing"),
            cll.CustomLevel(f"ident_l = ident_r AND NOT {from_name}", "handle is the email name").configure(
                m_probability=0.1
            ),
            cll.ExactMatchLevel("ident").configure(
                label_for_charts="handle is the email name, but that is their name (counted above)",
                m_probability=0.01,
                u_probability=0.01,
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )


# Keys that are selective only for rare values: ``given|family`` is shared by ~900 members per
# "john smith" at 1M, so an account with only that name would pair with all of them (20M pairs in
# all) yet could never be linked with confidence. Such a key is kept (not null) only when at most
# ``_KEY_CAP`` register members have it; common names still meet their members through the
# other rules, which need a year or a place as well.
_KEY_CAP = 40
_CAPPED_KEYS: dict[str, tuple[str, ...]] = {
    "key_given_family": ("given", "family"),
    "key_family_yob": ("family", "yob"),
    "key_given_yob_finitial": ("given", "yob", "finitial"),
}


def _link_blocking_rules() -> list[Any]:
    """Candidate generation: each rule is selective enough to stay near-linear on a large register."""
    return [
        block_on("ident"),
        block_on("key_given_family"),
        block_on("key_family_yob"),
        block_on("given_ph", "family_ph", "district"),
        block_on("given_ph", "family_ph", "yob"),
        block_on("initial", "family", "district"),
        block_on("initial", "family", "town"),
        block_on("given", "yob", "district"),
        block_on("given", "yob", "town"),
        block_on("key_given_yob_finitial"),
        block_on("given_ph", "family_ph", "town"),
    ]


def _key_values(table: pa.Table, parts: tuple[str, ...]) -> pa.Array:
    columns = []
    for part in parts:
        if part == "finitial":
            columns.append(pc.utf8_slice_codeunits(table.column("family"), 0, 1))
        else:
            columns.append(pc.cast(table.column(part), pa.string()))
    return pc.binary_join_element_wise(*columns, "|")  # null when any part is null


def _rare_keys(members: pa.Table) -> dict[str, pa.Array]:
    """For each capped key, the values at most ``_KEY_CAP`` members share."""
    rare = {}
    for name, parts in _CAPPED_KEYS.items():
        counts = pa.table({"k": _key_values(members, parts)}).group_by("k").aggregate([("k", "count")])
        keep = pc.less_equal(counts.column("k_count"), _KEY_CAP)
        rare[name] = pc.drop_null(counts.filter(keep).column("k")).combine_chunks()
    return rare


def _with_keys(table: pa.Table, rare: Mapping[str, pa.Array]) -> pa.Table:
    for name, parts in _CAPPED_KEYS.items():
        values = _key_values(table, parts)
        kept = pc.if_else(pc.is_in(values, value_set=rare[name]), values, pa.scalar(None, pa.string()))
        table = table.append_column(name, kept)
    return table


def _link_settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="link_only",
        comparisons=[
            _given_name_comparison(),
            _family_name_comparison(),
            _year_comparison(),
            _place_comparison(),
            _ident_comparison(),
        ],
        blocking_rules_to_generate_predictions=_link_blocking_rules(),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
    )


# ---------------------------------------------------------------------------------------------
# Backends
# ---------------------------------------------------------------------------------------------


class _Session:
    """One backend connection with our tables registered; Splink's DatabaseAPI lives inside."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.db_api = _make_db_api(backend)
        self.dialect: str = self.db_api.sql_dialect.sql_dialect_str

    def register(self, table: pa.Table, name: str | None = None) -> Any:
        if self.backend == "spark":
            # Spark's temporary views are shared by every session object in the process: a unique
            # table name per register, while Splink still calls the dataset ``members``/``accounts``.
            unique = f"assay_{name or 'input'}_{uuid.uuid4().hex[:12]}"
            frame = self.db_api.spark.createDataFrame(table)
            return self.db_api.register(frame, dataset_display_name=name or unique, table_name=unique)
        return self.db_api.register(table, dataset_display_name=name)

    def fetch(self, sql: str) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self.db_api.query_sql(sql).as_record_list())

    def fetch_arrow(self, sql: str) -> pa.Table:
        """A query's result as Arrow (DuckDB hands it over column-wise; Spark's rows are converted)."""
        if self.backend == "duckdb":
            return cast(pa.Table, self.db_api.duckdb_con.sql(sql).to_arrow_table())
        return pa.Table.from_pylist(self.fetch(sql))


def _make_db_api(backend: str) -> Any:
    if backend == "duckdb":
        import duckdb
        from splink import DuckDBAPI

        threads = int(os.environ.get("ASSAY_LINKAGE_THREADS", "0")) or (os.cpu_count() or 1)
        # A memory cap below what the machine has, with somewhere to spill: joins and the scored
        # pairs go to disk rather than past the cap; insertion order is never relied on.
        spill = Path(os.environ.get("ASSAY_LINKAGE_TEMP", Path(tempfile.gettempdir()) / "assay-linkage-duckdb"))
        config: dict[str, str | bool | int | float | list[str]] = {
            "threads": threads,
            "memory_limit": os.environ.get("ASSAY_LINKAGE_MEMORY", "2GB"),
            "temp_directory": str(spill),
            "preserve_insertion_order": False,
        }
        return DuckDBAPI(connection=duckdb.connect(":memory:", config=config))
    if backend == "spark":
        try:
            from splink import SparkAPI
        except ImportError as exc:  # pragma: no cover - depends on the optional extra
            raise LinkageError("the spark linkage backend needs pyspark: pip install 'assay[spark]'") from exc
        spark, local = _spark_session()
        # Locally, cached DataFrames break Splink's long query lineages cheaply; on a cluster,
        # parquet files under the checkpoint directory do (Splink's default).
        lineage = os.environ.get("ASSAY_SPARK_LINEAGE", "persist" if local else "parquet")
        return SparkAPI(spark_session=spark, break_lineage_method=lineage)  # type: ignore[no-untyped-call]
    raise LinkageError(f"unknown linkage backend {backend!r}: choose 'duckdb' or 'spark'")


def _spark_session() -> tuple[Any, bool]:
    """The Spark session (``ASSAY_SPARK_URL``, default ``local[2]``) with Splink's similarity UDFs.

    ``getOrCreate`` reuses a running session, so Spark starts once per process. Splink's jar of
    Scala UDFs (Jaro-Winkler, Damerau-Levenshtein) must be on the classpath before the JVM starts;
    a checkpoint directory is needed for Splink to break long lineages.
    """
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as exc:
        raise LinkageError("the spark linkage backend needs pyspark: pip install 'assay[spark]'") from exc
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    url = os.environ.get("ASSAY_SPARK_URL", "local[2]")
    for name in ("py4j", "pyspark"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        spark = (
            SparkSession.builder.master(url)
            .appName("assay-linkage")
            .config("spark.jars", similarity_jar_location())
            .config("spark.sql.shuffle.partitions", os.environ.get("ASSAY_SPARK_PARTITIONS", "8"))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            # Splink's blocking excludes earlier rules' pairs with NOT (r1 OR r2 ...): inferring filters
            # from those constraints is exponential in the number of rules (minutes for 300 rows).
            .config("spark.sql.constraintPropagation.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
    except Exception as exc:  # no Java, or a cluster that does not answer
        raise LinkageError(f"cannot start Spark at {url}: {exc}") from exc
    context = spark.sparkContext
    context.setLogLevel(os.environ.get("ASSAY_SPARK_LOG_LEVEL", "ERROR"))
    if not context.getCheckpointDir():
        context.setCheckpointDir(tempfile.mkdtemp(prefix="assay-spark-"))
    return spark, url.startswith("local")


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


@dataclass
class PreparedRegister:
    """A register already read and loaded into a backend, for linking batches of new accounts quickly."""

    session: _Session
    members: Any  # SplinkDataFrame
    vocab: dict[str, pa.Array]  # the register's given names, family names and towns (features_sql)
    size: int
    rare_keys: dict[str, pa.Array] = field(default_factory=dict)


@dataclass
class LinkageModel:
    """A trained Splink model for accounts ↔ members, plus what assay needs to use it accountably."""

    settings: dict[str, Any]
    version: str
    backend: Backend = "duckdb"
    metadata: dict[str, Any] = field(default_factory=dict)

    # -- training ------------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        members: Members | PreparedRegister,
        accounts: Accounts,
        *,
        labels: Iterable[tuple[int, int, bool]] = (),
        backend: Backend = "duckdb",
    ) -> LinkageModel:
        """Estimate the model from the data (u by random sampling, m by EM, or from confirmed labels)."""
        register = members if isinstance(members, PreparedRegister) else prepare(members, backend=backend)
        table = _account_table(accounts)
        n_accounts = table.num_rows
        confirmed = sorted({(a, m) for a, m, ok in labels if ok})
        # Parameters are population shares: a deterministic sample estimates them as well, for less
        # work. Accounts with confirmed owners are always in it, so m from labels uses them all.
        stride = max(1, math.ceil(n_accounts / _MAX_TRAINING_ACCOUNTS))
        sample = table.take(pa.array(range(0, n_accounts, stride), pa.int64())) if stride > 1 else table
        if stride > 1 and confirmed:
            sampled = set(sample.column("account_id").to_pylist())
            wanted = pa.array(sorted({a for a, _ in confirmed} - sampled), pa.int64())
            sample = pa.concat_tables([sample, table.filter(pc.is_in(table.column("account_id"), value_set=wanted))])
        accounts_sdf, _ = _register_accounts(register, sample)
        linker = _linker(register, accounts_sdf, _link_settings())
        linker.training.estimate_probability_two_random_records_match(
            _DETERMINISTIC_RULES, recall=_DETERMINISTIC_RECALL
        )
        _floor_prior(linker, confirmed=len(confirmed), pairs=register.size * len(sample))
        linker.training.estimate_u_using_random_sampling(max_pairs=_DEFAULT_U_PAIRS, seed=5)
        if len(confirmed) >= _MIN_LABELS:
            _estimate_m_from_labels(register, linker, confirmed)
        else:
            for rule in (block_on("given", "family"), block_on("family", "yob"), block_on("given", "yob", "town")):
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, estimate_without_term_frequencies=True
                )
        settings = linker.misc.save_model_to_json()
        meta = {
            "members": register.size,
            "accounts": n_accounts,
            "labels": len(confirmed),
        }
        return cls(settings=settings, version=_version(settings), backend=backend, metadata=meta)

    # -- persistence ---------------------------------------------------------------------------

    def to_document(self) -> dict[str, Any]:
        """The model as one JSON-able document: Splink settings with assay's metadata beside them."""
        return {
            "assay_linkage": {"features_version": FEATURES_VERSION, "version": self.version, "backend": self.backend},
            "metadata": self.metadata,
            "splink_settings": self.settings,
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_document` to a file."""
        Path(path).write_text(json.dumps(self.to_document(), indent=2, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LinkageModel:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LinkageError(f"cannot read a linkage model from {path}: {exc}") from exc
        return cls.from_document(doc, origin=str(path))

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], *, origin: str = "the document") -> LinkageModel:
        """The model from :meth:`to_document`'s output (e.g. as stored in the database)."""
        try:
            head = doc["assay_linkage"]
            settings = doc["splink_settings"]
        except (KeyError, TypeError) as exc:
            raise LinkageError(f"cannot read a linkage model from {origin}: {exc}") from exc
        if head.get("features_version") != FEATURES_VERSION:
            raise LinkageError(
                f"model {head.get('version')} was built for features v{head.get('features_version')}, "
                f"this assay reads v{FEATURES_VERSION}: retrain it"
            )
        return cls(
            settings=settings, version=head["version"], backend=head["backend"], metadata=doc.get("metadata", {})
        )

    # -- prediction ----------------------------------------------------------------------------

    def predict(
        self,
        members: Members | PreparedRegister,
        accounts: Accounts,
        *,
        threshold: float = 0.5,
        exclude: Iterable[tuple[int, int]] = frozenset(),
    ) -> list[Candidate]:
        """Propose at most one member per account, with probability and per-comparison evidence.

        ``exclude`` holds (account_id, member_id) pairs a reviewer rejected: they are never proposed
        and do not compete for the account.
        """
        return self.explain(self.score(members, accounts, threshold=threshold, exclude=exclude))

    def explain(self, scored: pa.Table) -> list[Candidate]:
        """:meth:`score`'s rows as Candidates, each with the reviewer's evidence waterfall."""
        return _Explainer(self.settings).candidates(scored)

    def score(
        self,
        members: Members | PreparedRegister,
        accounts: Accounts,
        *,
        threshold: float = 0.5,
        exclude: Iterable[tuple[int, int]] = frozenset(),
    ) -> pa.Table:
        """:meth:`predict`'s decisions as an Arrow table, before they become waterfalls.

        One row per proposal: ``account_id``, ``member_id``, ``probability``, ``match_weight``,
        ``rivals``, each comparison's ``gamma_*`` / ``mw_*`` (and ``mw_tf_adj_*``) columns, and
        ``others``: a list of (member_id, probability, match_weight) structs, the account's next
        best members, best first. For evaluating a million accounts, where a Python object per
        evidence bar is not needed.
        """
        _check_trained(self.settings)
        register = members if isinstance(members, PreparedRegister) else prepare(members, backend=self.backend)
        accounts_sdf, _ = _register_accounts(register, _account_table(accounts))
        linker = _linker(register, accounts_sdf, self._settings_for(register.session.dialect))
        scored = linker.inference.predict(threshold_match_weight=_SCORE_FLOOR_MW, warning_mode="never")
        excluded = _register_exclusions(register.session, exclude)
        columns = _Explainer(self.settings).columns()
        ranked = register.session.fetch_arrow(_one_to_one_sql(scored.physical_name, excluded, threshold, columns))
        scored.drop_table_from_database_and_remove_from_cache()
        return _nest_others(ranked)

    def _settings_for(self, dialect: str) -> dict[str, Any]:
        if self.settings.get("sql_dialect") in (None, dialect):
            return self.settings
        return _transfer_parameters(self.settings, _link_settings().create_settings_dict(dialect), dialect)


# The prior (λ) is the pairs these rules find divided by an assumed recall. (Measuring the recall
# on confirmed pairs, with identifier+family as the first rule, was tried: at 100k it raised λ and
# lowered precision at 0.5 from 0.908 to 0.891, and recall at precision 0.99 did not improve.)
_DETERMINISTIC_RULES: list[str | Any] = [block_on("ident"), block_on("given_raw", "family", "yob", "district")]
_DETERMINISTIC_RECALL = 0.4
_MIN_LABELS = 20


def _floor_prior(linker: Linker, *, confirmed: int, pairs: int) -> None:
    """Keep the prior inside (0, 1): the deterministic rules may find no pair at all in sparse data.

    A prior of 0 makes every match weight -inf (Splink fails with a math domain error); the
    fallback counts reviewer-confirmed pairs (at least one) over all possible pairs.
    """
    settings_obj = linker._settings_obj  # Splink exposes no public setter for the prior
    prior = settings_obj._probability_two_random_records_match
    if 0 < prior < 1:
        return
    settings_obj._probability_two_random_records_match = min(0.5, max(1, confirmed) / max(1, pairs))


def prepare(members: Members, *, backend: Backend = "duckdb") -> PreparedRegister:
    """Read the register once and load it into a backend; pass the result to predict/train repeatedly.

    ``members`` are records, or an Arrow table in ``features_sql.MEMBER_RAW_SCHEMA`` (what a large
    import or the benchmark hands over without building a Python object per member).
    """
    raw = members if isinstance(members, pa.Table) else features_sql.member_table(members)
    features = features_sql.member_features(raw)
    if features.num_rows == 0:
        raise LinkageError("the register is empty: there are no members to link accounts to")
    rare = _rare_keys(features)
    session = _Session(backend)
    sdf = session.register(_with_keys(features, rare), _MEMBERS)
    return PreparedRegister(session, sdf, features_sql.vocabulary_tables(features), features.num_rows, rare)


def _account_table(accounts: Accounts) -> pa.Table:
    return accounts if isinstance(accounts, pa.Table) else features_sql.account_table(accounts)


def _register_accounts(register: PreparedRegister, raw_accounts: pa.Table) -> tuple[Any, int]:
    features = features_sql.account_features(raw_accounts, register.vocab)
    if features.num_rows == 0:
        raise LinkageError("there are no accounts to link")
    return register.session.register(_with_keys(features, register.rare_keys)), features.num_rows


def _linker(register: PreparedRegister, accounts_sdf: Any, settings: SettingsCreator | dict[str, Any]) -> Linker:
    accounts_sdf.dataset_display_name = _ACCOUNTS
    return Linker([register.members, accounts_sdf], settings, log_level=None)


def _check_trained(settings: Mapping[str, Any]) -> None:
    comparisons = settings.get("comparisons") or []
    if not comparisons:
        raise LinkageError("the linkage model is not trained (it has no comparisons): run LinkageModel.train first")
    for comparison in comparisons:
        levels = [lv for lv in comparison.get("comparison_levels", []) if not lv.get("is_null_level")]
        if not any(lv.get("u_probability") is not None for lv in levels):
            raise LinkageError(
                f"the linkage model is not trained ({comparison.get('output_column_name')} has no "
                "estimated parameters): run LinkageModel.train first"
            )


def _version(settings: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()
    return f"assay-linkage-f{FEATURES_VERSION}-{digest[:12]}"


def _estimate_m_from_labels(register: PreparedRegister, linker: Linker, confirmed: list[tuple[int, int]]) -> None:
    table = pa.table(
        {
            "source_dataset_l": [_MEMBERS] * len(confirmed),
            "unique_id_l": [m for _, m in confirmed],
            "source_dataset_r": [_ACCOUNTS] * len(confirmed),
            "unique_id_r": [a for a, _ in confirmed],
        }
    )
    linker.training.estimate_m_from_pairwise_labels(register.session.register(table))  # type: ignore[no-untyped-call]


def _register_exclusions(session: _Session, exclude: Iterable[tuple[int, int]]) -> str | None:
    pairs = sorted(set(exclude))
    if not pairs:
        return None
    table = pa.table({"account_id": [a for a, _ in pairs], "member_id": [m for _, m in pairs]})
    return cast(str, session.register(table).physical_name)


def _one_to_one_sql(scored: str, excluded: str | None, threshold: float, columns: Sequence[str]) -> str:
    """Best member per account and its runners-up; every probability shared with all who scored.

    One pass over the scored pairs: rows ranked 1 (the proposal) to ``1 + _OTHERS`` (the other
    candidates) of accounts whose best member reaches ``threshold``. The best probability comes
    from the same window as the odds (``max(match_weight)`` is rank 1's), so selecting proposed
    accounts needs no second window or join. Plain window functions: DuckDB and Spark SQL alike.
    """
    anti_join = (
        f"LEFT JOIN {excluded} x ON x.account_id = p.account_id AND x.member_id = p.member_id "
        "WHERE x.account_id IS NULL"
        if excluded
        else ""
    )
    # Table names are ours (Splink's physical names); the threshold is a float: nothing user-typed.
    return f"""
    WITH pairs AS (
        SELECT
            CASE WHEN source_dataset_l = '{_ACCOUNTS}' THEN unique_id_l ELSE unique_id_r END AS account_id,
            CASE WHEN source_dataset_l = '{_ACCOUNTS}' THEN unique_id_r ELSE unique_id_l END AS member_id,
            *
        FROM {scored}
    ), kept AS (
        SELECT p.* FROM pairs p {anti_join}
    ), ranked AS (
        SELECT *,
            row_number() OVER (PARTITION BY account_id ORDER BY match_weight DESC, member_id) AS rank_in_account,
            sum(power(2.0, match_weight)) OVER (PARTITION BY account_id) AS account_odds,
            max(match_weight) OVER (PARTITION BY account_id) AS best_weight,
            count(*) OVER (PARTITION BY account_id) AS rivals
        FROM kept
    )
    SELECT account_id, member_id, match_weight, rivals, rank_in_account, {", ".join(columns)},
           power(2.0, match_weight) / (1.0 + account_odds) AS probability
    FROM ranked
    WHERE rank_in_account <= {1 + _OTHERS}
      AND power(2.0, best_weight) / (1.0 + account_odds) >= {float(threshold)!r}
    ORDER BY account_id, rank_in_account
    """  # noqa: S608


_RIVAL_TYPE = pa.struct([("member_id", pa.int64()), ("probability", pa.float64()), ("match_weight", pa.float64())])


def _nest_others(ranked: pa.Table) -> pa.Table:
    """Rank-1 rows (one per proposal) with an ``others`` column: that account's runners-up, best first."""
    if ranked.num_rows == 0:  # Spark's empty result arrives without columns
        return ranked
    ranked = ranked.sort_by([("account_id", "ascending"), ("rank_in_account", "ascending")])
    first = pc.equal(ranked.column("rank_in_account"), 1)
    winners = ranked.filter(first).drop_columns(["rank_in_account"])
    rest = ranked.filter(pc.invert(first))
    # Both are sorted by account and every runner-up's account has a winner: offsets from counts.
    counts = rest.group_by("account_id").aggregate([("account_id", "count")])
    where = pc.index_in(winners.column("account_id"), value_set=counts.column("account_id"))
    per_winner = pc.fill_null(pc.take(counts.column("account_id_count"), where), 0).cast(pa.int32())
    offsets = pa.array([0, *itertools.accumulate(per_winner.to_pylist())], pa.int32())
    rivals = pa.StructArray.from_arrays(
        [
            pc.cast(rest.column("member_id"), pa.int64()).combine_chunks(),
            pc.cast(rest.column("probability"), pa.float64()).combine_chunks(),
            pc.cast(rest.column("match_weight"), pa.float64()).combine_chunks(),
        ],
        fields=list(_RIVAL_TYPE),
    )
    return winners.append_column("others", pa.ListArray.from_arrays(offsets, rivals))


class _Explainer:
    """Turns a scored row into a Candidate whose evidence bars add up to its probability."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        lam = float(settings["probability_two_random_records_match"])
        self.prior = math.log2(lam / (1 - lam))
        self.levels: list[tuple[str, dict[int, str], str | None]] = []
        for comparison in settings["comparisons"]:
            name = comparison["output_column_name"]
            levels = comparison["comparison_levels"]
            # Splink numbers levels from the most similar (highest) down to 0; null levels are -1.
            gammas = iter(range(sum(not lv.get("is_null_level") for lv in levels) - 1, -1, -1))
            labels = {
                -1 if lv.get("is_null_level") else next(gammas): str(lv.get("label_for_charts", "")) for lv in levels
            }
            tf_cols = [
                lv["tf_adjustment_column"] for lv in comparison["comparison_levels"] if lv.get("tf_adjustment_column")
            ]
            self.levels.append((name, labels, tf_cols[0] if tf_cols else None))

    def columns(self) -> list[str]:
        """The scored columns the waterfall needs, besides ids, probability, match weight and rivals."""
        cols = []
        for name, _, tf_col in self.levels:
            cols += [f"gamma_{name}", f"mw_{name}"] + ([f"mw_tf_adj_{name}"] if tf_col else [])
        return cols

    def candidates(self, table: pa.Table) -> list[Candidate]:
        """Every row of :meth:`LinkageModel.score`'s table as a Candidate (bars shared where equal)."""
        if table.num_rows == 0:  # Spark's empty result arrives without columns
            return []
        data = {name: table.column(name).to_pylist() for name in table.column_names}
        prior = Evidence("prior", "chance two random records match", round(self.prior, 4))
        shared: dict[tuple[int, int, float, bool], Evidence] = {}  # most bars recur: build each once
        per_comparison = []
        for index, (name, labels, tf_col) in enumerate(self.levels):
            tf = data[f"mw_tf_adj_{name}"] if tf_col else None
            per_comparison.append((index, name, labels, data[f"gamma_{name}"], data[f"mw_{name}"], tf))
        others = _rivals(table)
        out = []
        for row in range(table.num_rows):
            bars = [prior]
            for index, name, labels, gammas, weights, tf in per_comparison:
                weight = float(weights[row] or 0.0)
                gamma = int(gammas[row] if gammas[row] is not None else -1)
                adjusted = bool(tf is not None and tf[row])
                if adjusted:
                    weight += float(tf[row])  # type: ignore[index]
                key = (index, gamma, round(weight, 4), adjusted)
                bar = shared.get(key)
                if bar is None:
                    level = labels.get(gamma, "") + (" (weighed by how common it is)" if adjusted else "")
                    bar = shared[key] = Evidence(name, level, key[2])
                bars.append(bar)
            probability = float(data["probability"][row])
            competition = _log2_odds(probability) - float(data["match_weight"][row])
            rivals = int(data["rivals"][row]) - 1
            bars.append(Evidence("other candidates", f"{rivals} other member(s) also scored", round(competition, 4)))
            out.append(
                Candidate(
                    int(data["account_id"][row]), int(data["member_id"][row]), probability, tuple(bars), others[row]
                )
            )
        return out


def _rivals(table: pa.Table) -> list[tuple[Rival, ...]]:
    """Each row's ``others`` as Rivals (read column-wise: one list per field, not a dict per struct)."""
    if "others" not in table.column_names:
        return [()] * table.num_rows
    column = table.column("others").combine_chunks()
    offsets = column.offsets.to_pylist()  # a filtered or sliced table's offsets need not start at 0
    ids, probabilities, weights = (child.to_pylist() for child in column.flatten().flatten())
    rivals = [Rival(int(m), float(p), float(w)) for m, p, w in zip(ids, probabilities, weights, strict=True)]
    base = offsets[0]
    return [tuple(rivals[start - base : end - base]) for start, end in itertools.pairwise(offsets)]


def _log2_odds(p: float) -> float:
    p = min(max(p, 1e-300), 1 - 1e-16)
    return math.log2(p / (1 - p))


def _transfer_parameters(trained: Mapping[str, Any], fresh: dict[str, Any], dialect: str) -> dict[str, Any]:
    """Copy trained m/u (and the prior) onto settings rendered for another SQL dialect."""
    by_name = {c["output_column_name"]: c for c in trained["comparisons"]}
    for comparison in fresh["comparisons"]:
        source = by_name[comparison["output_column_name"]]["comparison_levels"]
        for level, old in zip(comparison["comparison_levels"], source, strict=True):
            for key in ("m_probability", "u_probability"):
                if key in old:
                    level[key] = old[key]
    fresh["probability_two_random_records_match"] = trained["probability_two_random_records_match"]
    fresh["sql_dialect"] = dialect
    return fresh


# ---------------------------------------------------------------------------------------------
# Register deduplication
# ---------------------------------------------------------------------------------------------


def _dedupe_settings() -> SettingsCreator:
    """Member ↔ member: the same name comparisons, full date of birth, full email, place."""
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            _given_name_comparison(),
            _family_name_comparison(),
            cl.CustomComparison(
                output_column_name="date_of_birth",
                comparison_levels=[
                    cll.NullLevel("yob").configure(label_for_charts="missing"),
                    cll.ExactMatchLevel("dob").configure(label_for_charts="same date", m_probability=0.9),
                    cll.ExactMatchLevel("yob").configure(label_for_charts="same year", m_probability=0.05),
                    cll.ElseLevel().configure(label_for_charts="different", m_probability=0.05),
                ],
            ),
            _place_comparison(),
            cl.CustomComparison(
                output_column_name="email",
                comparison_levels=[
                    cll.NullLevel("email").configure(label_for_charts="missing"),
                    cll.ExactMatchLevel("email").configure(label_for_charts="same email", m_probability=0.8),
                    cll.ElseLevel().configure(label_for_charts="different", m_probability=0.2),
                ],
            ),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("given", "family"),
            block_on("family", "dob"),
            block_on("given", "dob"),
            block_on("given_ph", "family_ph", "district"),
        ],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
    )


def _dedupe_features(members: Iterable[MemberRecord]) -> pa.Table:
    members = list(members)
    table = member_features(members)
    dobs = [m.date_of_birth.isoformat() if isinstance(m.date_of_birth, date) else None for m in members]
    emails = [m.email.strip().lower() if m.email and email_local(m.email) else None for m in members]
    return table.append_column("dob", pa.array(dobs, pa.string())).append_column("email", pa.array(emails, pa.string()))


def find_duplicate_members(
    model_or_settings: LinkageModel | Mapping[str, Any] | None,
    members: Iterable[MemberRecord],
    threshold: float = 0.9,
) -> list[tuple[int, int, float]]:
    """Pairs of member records that look like the same person: (lower id, higher id, probability).

    Pass a trained Splink dedupe settings dict to reuse it; otherwise (a LinkageModel, for its
    backend, or ``None``) u is estimated from this register and m starts from stated priors.
    """
    features = _dedupe_features(members)
    if features.num_rows < 2:
        raise LinkageError("the register needs at least two members to look for duplicates")
    backend: Backend = model_or_settings.backend if isinstance(model_or_settings, LinkageModel) else "duckdb"
    session = _Session(backend)
    sdf = session.register(features, _MEMBERS)
    if isinstance(model_or_settings, Mapping):
        _check_trained(model_or_settings)
        linker = Linker(sdf, dict(model_or_settings), log_level=None)
    else:
        linker = Linker(sdf, _dedupe_settings(), log_level=None)
        linker.training.estimate_probability_two_random_records_match(
            [block_on("email"), block_on("given", "family", "dob")], recall=0.7
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=_DEFAULT_U_PAIRS, seed=5)
    scored = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    rows = scored.as_record_list()
    pairs = {
        (min(int(r["unique_id_l"]), int(r["unique_id_r"])), max(int(r["unique_id_l"]), int(r["unique_id_r"]))): float(
            r["match_probability"]
        )
        for r in rows
    }
    return sorted((a, b, p) for (a, b), p in pairs.items())


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------

DEFAULT_THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)


def evaluate(
    candidates_or_scores: Iterable[Candidate] | Iterable[tuple[int, int, float]],
    labels: Iterable[tuple[int, int, bool]],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
) -> list[ThresholdRow]:
    """Precision, recall and F1 by threshold against labelled (account, member, is_match) pairs.

    A proposal counts as a false positive when its pair is labelled not-a-match or its account is
    labelled as another member's; proposals about unlabelled accounts are not counted either way.
    Every labelled match that is not proposed at the threshold is a false negative.
    """
    scores = [_as_score(x) for x in candidates_or_scores]
    truth: dict[tuple[int, int], bool] = {}
    owner: dict[int, int] = {}
    for account_id, member_id, is_match in labels:
        truth[(account_id, member_id)] = bool(is_match)
        if is_match:
            owner[account_id] = member_id
    positives = sum(truth.values())
    rows = []
    for t in thresholds:
        tp = fp = 0
        for account_id, member_id, p in scores:
            if p < t:
                continue
            label = truth.get((account_id, member_id))
            if label is None and account_id in owner:
                label = False
            if label is True:
                tp += 1
            elif label is False:
                fp += 1
        fn = positives - tp
        rows.append(_row(t, tp, fp, fn))
    return rows


def _as_score(x: Candidate | tuple[int, int, float]) -> tuple[int, int, float]:
    if isinstance(x, Candidate):
        return x.account_id, x.member_id, x.probability
    return int(x[0]), int(x[1]), float(x[2])


def _row(t: float, tp: int, fp: int, fn: int) -> ThresholdRow:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ThresholdRow(t, round(precision, 6), round(recall, 6), round(f1, 6), tp, fp, fn)
