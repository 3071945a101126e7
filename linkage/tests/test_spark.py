"""DuckDB and Spark give the same links: the same pairs, probabilities equal within rounding.

Spark starts once per test session (``spark_backend``) in ``local[2]``; the tests skip, saying
why, only when pyspark (the ``assay[spark]`` extra) or a Java runtime is missing. The data is
small: Spark is here for scale-out, and on a few hundred rows its per-query overhead dominates.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from collections.abc import Iterator

import pytest

from linkage.model import Candidate, LinkageModel, prepare
from linkage.synth import Dataset, generate

pytestmark = [pytest.mark.spark, pytest.mark.slow]

_MISSING = (
    "pyspark is not installed (pip install 'assay[spark]')"
    if importlib.util.find_spec("pyspark") is None
    else "no Java runtime on PATH (Spark needs Java 17)"
    if shutil.which("java") is None
    else None
)


@pytest.fixture(scope="session")
def spark_backend() -> Iterator[None]:
    """Start Spark once for the session (the first Spark register starts it; later ones reuse it)."""
    if _MISSING:
        pytest.skip(_MISSING)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    yield
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


@pytest.fixture(autouse=True)
def _quiet() -> None:
    for name in ("splink", "py4j", "pyspark"):
        logging.getLogger(name).setLevel(logging.ERROR)


@pytest.fixture(scope="module")
def small() -> Dataset:
    # The flat name model: its shared surnames give proposals with runners-up, which both backends must rank alike.
    return generate(300, 300, seed=21, names="flat")


def _labels(data: Dataset) -> list[tuple[int, int, bool]]:
    return [(a, m, True) for a, m in data.truth.items()]


def _by_pair(candidates: list[Candidate]) -> dict[tuple[int, int], Candidate]:
    return {(c.account_id, c.member_id): c for c in candidates}


def _assert_same_links(duck: list[Candidate], spark: list[Candidate]) -> None:
    left, right = _by_pair(duck), _by_pair(spark)
    assert left, "the test set should produce links"
    assert set(left) == set(right)
    for pair, c in left.items():
        other = right[pair]
        assert other.probability == pytest.approx(c.probability, abs=1e-6)
        assert [(e.comparison, e.level) for e in other.evidence] == [(e.comparison, e.level) for e in c.evidence]
        assert [e.weight for e in other.evidence] == pytest.approx([e.weight for e in c.evidence], abs=1e-3)
        # the runners-up too (by member: equal weights may tie in a different order)
        theirs = {o.member_id: o for o in other.others}
        assert set(theirs) == {o.member_id for o in c.others}
        for rival in c.others:
            assert theirs[rival.member_id].probability == pytest.approx(rival.probability, abs=1e-6)
            assert theirs[rival.member_id].match_weight == pytest.approx(rival.match_weight, abs=1e-3)
    assert any(c.others for c in duck), "the test set should have proposals with runners-up"


def test_a_duckdb_model_links_the_same_on_spark(spark_backend: None, small: Dataset) -> None:
    model = LinkageModel.train(small.members, small.accounts)
    duck = model.predict(prepare(small.members), small.accounts, threshold=0.05)
    spark = model.predict(prepare(small.members, backend="spark"), small.accounts, threshold=0.05)
    _assert_same_links(duck, spark)


def test_a_model_trained_on_spark_links_the_same_on_both(spark_backend: None, small: Dataset) -> None:
    # m from confirmed labels and the prior from deterministic rules are the same on both
    # backends; u comes from random sampling, whose sample differs between DuckDB and Spark.
    labels = _labels(small)
    duck_model = LinkageModel.train(small.members, small.accounts, labels=labels)
    spark_register = prepare(small.members, backend="spark")
    spark_model = LinkageModel.train(spark_register, small.accounts, labels=labels, backend="spark")
    assert spark_model.settings["sql_dialect"] == "spark" and duck_model.settings["sql_dialect"] == "duckdb"
    assert _parameters(spark_model, "m_probability") == pytest.approx(_parameters(duck_model, "m_probability"))
    assert _parameters(spark_model, "u_probability") == pytest.approx(_parameters(duck_model, "u_probability"), rel=0.3)
    # The Spark-trained model, re-rendered for DuckDB, gives the links it gives on Spark.
    spark = spark_model.predict(spark_register, small.accounts, threshold=0.05)
    duck = spark_model.predict(prepare(small.members), small.accounts, threshold=0.05)
    _assert_same_links(duck, spark)


def _parameters(model: LinkageModel, key: str) -> list[float]:
    values = [float(model.settings["probability_two_random_records_match"])]
    for comparison in model.settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            value = level.get(key)
            values.append(-1.0 if value is None else float(value))
    return values
