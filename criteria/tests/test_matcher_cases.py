"""Every case in cases.py, on every installed engine, with the same results and spans."""

from __future__ import annotations

import importlib.util

import pytest

from criteria.matcher import compile_rules
from criteria.tests.cases import CASES, Case

ENGINES = [
    "ahocorasick",
    pytest.param(
        "hyperscan",
        marks=pytest.mark.skipif(importlib.util.find_spec("hyperscan") is None, reason="hyperscan not installed"),
    ),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case: Case, engine: str) -> None:
    matcher = compile_rules([("r", case.query)], engine=engine)
    got = matcher.match(case.post)
    if not case.hit:
        assert got == []
        return
    assert [m.key for m in got] == ["r"]
    assert got[0].spans == case.spans


@pytest.mark.parametrize("engine", ENGINES)
def test_all_cases_compiled_together_agree_with_one_at_a_time(engine: str) -> None:
    matcher = compile_rules([(i, c.query) for i, c in enumerate(CASES)], engine=engine)
    for i, case in enumerate(CASES):
        got = {m.key: m.spans for m in matcher.match(case.post)}
        assert (i in got) == case.hit, case
        if case.hit:
            assert got[i] == case.spans, case
