"""The evidence pack as a zip: pure Python, no Django.

Given the pack's files (index.html, audit.json, raw posts and exchanges), this adds ``verify.py``
(the stdlib-only checker, :mod:`review.pack_verify`, copied verbatim) and ``manifest.json`` (every
file's sha256, the hash each raw post and exchange had when it was collected, and the collected
pages and raw posts withheld from the pack with their hash and why), and writes them
in a fixed order with a fixed timestamp, so the same case gives byte-identical packs.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

FORMAT = "assay-evidence-pack/1"
VERIFY_SOURCE = Path(__file__).with_name("pack_verify.py")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
_UNIX = 3  # ZipInfo.create_system: otherwise it depends on the machine that builds the pack


@dataclass(frozen=True)
class Raw:
    """A raw post or exchange in the pack, and the sha256 it had when it was collected."""

    id: int
    file: str
    sha256: str


@dataclass(frozen=True)
class Withheld:
    """A collected page or raw post left out of the pack (it holds other people's data): its sha256 and why."""

    id: int
    sha256: str
    reason: str


@dataclass(frozen=True)
class Pack:
    data: bytes
    sha256: str
    manifest_sha256: str
    names: tuple[str, ...]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json(value: object) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def manifest(
    case_id: int,
    files: Mapping[str, bytes],
    posts: Sequence[Raw],
    exchanges: Sequence[Raw],
    withheld: Sequence[Withheld] = (),
    withheld_posts: Sequence[Withheld] = (),
) -> bytes:
    """manifest.json: what verify.py checks the pack against, and the collected pages left out."""
    return _json(
        {
            "format": FORMAT,
            "case": case_id,
            "files": {name: _sha256(data) for name, data in files.items()},
            "posts": [{"id": r.id, "file": r.file, "sha256": r.sha256} for r in posts],
            "exchanges": [{"id": r.id, "file": r.file, "sha256": r.sha256} for r in exchanges],
            "withheld_exchanges": [{"id": w.id, "sha256": w.sha256, "reason": w.reason} for w in withheld],
            "withheld_posts": [{"id": w.id, "sha256": w.sha256, "reason": w.reason} for w in withheld_posts],
            "audit": "audit.json",
        }
    )


def _timestamp(when: datetime | None) -> tuple[int, int, int, int, int, int]:
    if when is None or when.year < 1980:
        return _ZIP_EPOCH
    return (when.year, when.month, when.day, when.hour, when.minute, when.second)


def assemble(
    case_id: int,
    files: Mapping[str, bytes],
    *,
    posts: Sequence[Raw] = (),
    exchanges: Sequence[Raw] = (),
    withheld: Sequence[Withheld] = (),
    withheld_posts: Sequence[Withheld] = (),
    when: datetime | None = None,
) -> Pack:
    """The zip of ``files`` (in the order given) plus verify.py and manifest.json, every entry dated ``when``."""
    if "manifest.json" in files or "verify.py" in files:
        raise ValueError("manifest.json and verify.py are added by the builder, not given to it")
    for raw in (*posts, *exchanges):
        if raw.file not in files:
            raise ValueError(f"{raw.file} is listed as raw evidence but is not among the pack's files")
    everything = {**files, "verify.py": VERIFY_SOURCE.read_bytes()}
    listing = manifest(case_id, everything, posts, exchanges, withheld, withheld_posts)
    everything["manifest.json"] = listing
    buffer = io.BytesIO()
    stamp = _timestamp(when)
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in everything.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = _UNIX
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=9)
    data = buffer.getvalue()
    return Pack(data, _sha256(data), _sha256(listing), tuple(everything))
