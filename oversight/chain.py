"""Hash chain for the audit log: each event's hash covers its content and the previous hash.

Pure Python, no Django. Editing, inserting or deleting any event breaks every hash after it;
:func:`verify` names the first event whose stored hash no longer matches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def json_roundtrip(value: Any) -> Any:
    """The value as it comes back from a JSON column (tuples become lists, dates strings)."""
    return json.loads(canonical_json(value))


def event_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """sha256 over the previous hash and the event's canonical body."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical_json(body))
    return digest.hexdigest()


@dataclass(frozen=True)
class ChainedEvent:
    seq: int
    body: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify(events: Iterable[ChainedEvent]) -> ChainBreak | None:
    """Check events in sequence order; return the first break, or None if the chain holds."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    for event in events:
        if event.seq != expected_seq:
            return ChainBreak(expected_seq, f"event {expected_seq} is missing (found {event.seq} next)")
        if event.prev_hash != expected_prev:
            return ChainBreak(event.seq, "its previous-hash does not match the event before it")
        if event_hash(event.prev_hash, event.body) != event.hash:
            return ChainBreak(event.seq, "its content does not match its hash (edited after it was written)")
        expected_prev = event.hash
        expected_seq += 1
    return None
