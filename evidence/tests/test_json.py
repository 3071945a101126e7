"""The fast JSON paths (orjson) give what the standard library gives, or fall back to it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.connectors.base import canonical_json, loads

# JSON without floats: what platform payloads carry (ids are strings, counts are integers).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=30,
)


def stdlib_canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@settings(max_examples=300)
@given(json_values)
def test_canonical_json_is_the_standard_librarys_form(value: object) -> None:
    surrogate_free = json.loads(json.dumps(value))  # lone surrogates are scrubbed before hashing
    try:
        stdlib_canonical(surrogate_free).decode("utf-8")
    except UnicodeEncodeError:
        return
    assert canonical_json(surrogate_free) == stdlib_canonical(surrogate_free)


@settings(max_examples=300)
@given(json_values)
def test_loads_reads_what_the_standard_library_reads(value: object) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False), json.dumps(value, indent=1)):
        assert loads(text.encode("utf-8", "surrogatepass")) == json.loads(text)


@pytest.mark.parametrize(
    "document",
    [
        b"[18446744073709551616]",  # 2**64: orjson would read a float
        b"18446744073709551616",  # the same, as the whole document
        b'{"n": -9223372036854775809}',  # below int64
        b"[NaN, Infinity]",  # accepted by the standard library, refused by orjson
        b'["\\ud800"]',  # a lone surrogate, escaped
    ],
)
def test_what_orjson_reads_differently_takes_the_standard_path(document: bytes) -> None:
    got, want = loads(document), json.loads(document)
    assert repr(got) == repr(want) and type(got) is type(want)


def test_malformed_json_raises_the_standard_error_with_its_position() -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        loads(b'{"a": 1,}')
    assert caught.value.colno == 9
