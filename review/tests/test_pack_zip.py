"""The pure pack builder and the rule for which cases get a pack: no database."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

import pytest

from review import pack_verify
from review.pack_zip import Raw, assemble
from review.workflow import Outcome, State, pack_problem

CLOSED = datetime(2026, 11, 20, 14, 5, 9, tzinfo=UTC)
RAW = b'{"id":"1","text":"hello"}'


def _files() -> dict[str, bytes]:
    return {"index.html": b"<p>case</p>", "audit.json": b'{"events": []}', "posts/1.json": RAW}


def test_the_zip_is_the_same_bytes_every_time_in_a_fixed_order() -> None:
    first = assemble(7, _files(), posts=[Raw(1, "posts/1.json", hashlib.sha256(RAW).hexdigest())], when=CLOSED)
    second = assemble(7, _files(), posts=[Raw(1, "posts/1.json", hashlib.sha256(RAW).hexdigest())], when=CLOSED)

    assert first.data == second.data and first.sha256 == hashlib.sha256(first.data).hexdigest()
    infos = zipfile.ZipFile(io.BytesIO(first.data)).infolist()
    assert [i.filename for i in infos] == ["index.html", "audit.json", "posts/1.json", "verify.py", "manifest.json"]
    assert {i.date_time for i in infos} == {(2026, 11, 20, 14, 5, 8)}  # zip times count in two-second steps


def test_the_manifest_lists_every_file_and_the_collected_hashes() -> None:
    pack = assemble(7, _files(), posts=[Raw(1, "posts/1.json", "ab" * 32)], when=CLOSED)
    listing = zipfile.ZipFile(io.BytesIO(pack.data)).read("manifest.json")
    manifest = json.loads(listing)

    assert manifest["case"] == 7 and set(manifest["files"]) == {*_files(), "verify.py"}
    assert manifest["posts"] == [{"id": 1, "file": "posts/1.json", "sha256": "ab" * 32}]
    assert pack.manifest_sha256 == hashlib.sha256(listing).hexdigest()


def test_the_builder_refuses_files_it_adds_itself_and_raw_evidence_it_was_not_given() -> None:
    with pytest.raises(ValueError, match="added by the builder"):
        assemble(7, {**_files(), "verify.py": b""})
    with pytest.raises(ValueError, match=r"posts/2\.json is listed as raw evidence but is not among"):
        assemble(7, _files(), posts=[Raw(2, "posts/2.json", "0" * 64)])


def test_verify_reads_a_post_hashed_by_evidence_the_same_way() -> None:
    from evidence.connectors.base import canonical_json, canonical_sha256

    record = {"text": "Grüße, \u2603", "id": "99", "n": [1, 2.5, None, True]}
    assert pack_verify.canonical_json(record) == canonical_json(record)
    assert hashlib.sha256(pack_verify.canonical_json(record)).hexdigest() == canonical_sha256(record)


@pytest.mark.parametrize(
    ("state", "outcome", "overturned", "problem"),
    [
        (State.CLOSED, Outcome.REFER, False, ""),
        (State.CLOSED, Outcome.WARNING, False, ""),
        (State.CLOSED, Outcome.ADVICE, False, ""),
        (State.AWAITING_SIGNOFF, Outcome.REFER, False, "the case is awaiting signoff"),
        (State.CLOSED, None, False, "no signed-off adverse outcome"),
        (State.CLOSED, Outcome.NO_BREACH, False, "no signed-off adverse outcome"),
        (State.CLOSED, Outcome.REFER, True, "overturned on appeal"),
    ],
)
def test_which_cases_get_a_pack(state: State, outcome: Outcome | None, overturned: bool, problem: str) -> None:
    found = pack_problem(state, outcome, overturned=overturned)
    assert (found == "") if not problem else (problem in found)
