"""The normalised record every connector yields, and the canonical hash of raw evidence."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

KINDS = frozenset({"post", "reply", "repost", "quote", "comment"})
PLATFORMS = frozenset({"x", "bluesky", "mastodon", "facebook", "file"})


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no whitespace, UTF-8): the form that is hashed.

    orjson's output, which is byte for byte the standard library's ``json.dumps(sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)`` except in how some floats are spelled
    (``0.00001`` for ``1e-05``); platform payloads carry ids as strings and few floats. What
    orjson cannot encode (integers beyond 64 bits) takes the standard library's form.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# For finding unquoted integers of 19 digits or more cheaply: digits become '9', a sign stays,
# every quote becomes '"' and everything else a space, then a plain substring search.
_DIGITS = bytes(ord("9") if chr(b).isdigit() and b < 128 else b if b in b'-"' else ord(" ") for b in range(256))
_LONG_POSITIVE = b" " + b"9" * 20
_LONG_NEGATIVE = b"-" + b"9" * 19


def _may_hold_long_int(data: bytes) -> bool:
    """Could ``data`` hold an integer orjson reads as a float (beyond 64 bits)? False positives are fine."""
    shape = data.translate(_DIGITS)
    return _LONG_POSITIVE in shape or _LONG_NEGATIVE in shape or shape.startswith(_LONG_POSITIVE[1:])


def loads(data: bytes | str) -> Any:
    """``json.loads``, faster: orjson where it decodes to the same value, the standard library where not.

    orjson rejects what the standard library accepts (NaN, lone surrogates) and reads integers
    beyond 64 bits as floats, so those documents (and, to be safe, any with an unquoted run of
    20 digits, or 19 after a minus sign) take the standard path; both raise
    :class:`json.JSONDecodeError` (orjson's error is a subclass) on malformed input.
    """
    raw = data.encode() if isinstance(data, str) else data
    if not _may_hold_long_int(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)


def canonical_sha256(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def canonical(value: Any) -> tuple[str, str]:
    """(canonical JSON text, its sha256): what is stored, and its fingerprint."""
    data = canonical_json(value)
    return data.decode(), hashlib.sha256(data).hexdigest()


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def scrub(value: Any) -> Any:
    """Replace what no database can store (NUL, lone UTF-16 surrogates) with U+FFFD, recursively.

    JSON may escape them (``"\\ud800"``, ``"\\u0000"``) but UTF-8 cannot encode a lone surrogate and
    PostgreSQL rejects both; the stored raw record and its hash are of the scrubbed form.
    """
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


_ESCAPED_UNSTORABLE = re.compile(rb"\\u(0000|[dD][89a-fA-F])")


def needs_scrub(json_text: str | bytes) -> bool:
    """Cheap test on a JSON line: could it decode to NUL or a surrogate?"""
    data = json_text.encode() if isinstance(json_text, str) else json_text
    return b"\\u" in data and bool(_ESCAPED_UNSTORABLE.search(data))


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """An author as observed: keyed by the platform's stable id, not by handle."""

    platform: str
    platform_id: str
    handle: str = ""
    display_name: str = ""
    bio: str = ""
    location: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class PostRecord:
    platform: str
    platform_id: str
    text: str
    kind: str = "post"
    parent_platform_id: str = ""
    lang: str = ""
    url: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """One normalised post with its author (None when the platform withholds it) and raw item."""

    post: PostRecord
    account: AccountRecord | None
    raw: Any
    position: str = ""
    sha256: str = field(default="")
    raw_json: str = field(default="", repr=False)

    def canonical(self) -> tuple[str, str]:
        """The raw item's canonical JSON text and sha256 (computed once by the connector, when it can)."""
        if self.raw_json and self.sha256:
            return self.raw_json, self.sha256
        return canonical(self.raw)


@dataclass(frozen=True, slots=True)
class Rejected:
    """An item that could not be normalised: where it was and why. It is quarantined, never dropped."""

    position: str
    reason: str
    raw: str


class RecordError(ValueError):
    """A raw item is malformed; the message names the field and what was wrong."""


# ---------------------------------------------------------------------------------------------
# the accounts a collected body names (see evidence.connectors.named)


@dataclass(frozen=True, slots=True, order=True)
class Named:
    """An account a collected body names, as the format carries it: by platform id, handle, or both.

    Both empty: a person the body carries data of without naming them (a Facebook comment whose
    author the platform withheld); such a name never matches an account.
    """

    platform: str
    platform_id: str = ""
    handle: str = ""


class UnreadableBody(ValueError):
    """A body that cannot be read for the accounts it names; the message says why."""


def json_documents(body: bytes) -> list[Any]:
    """The JSON values in a body: one JSON document, or one per non-blank line (NDJSON, a stream batch).

    Raises :class:`UnreadableBody` when it is neither.
    """
    if not body.strip():
        return []
    try:
        return [loads(body)]
    except (ValueError, UnicodeDecodeError):
        pass
    documents = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            documents.append(loads(line))
        except (ValueError, UnicodeDecodeError):
            raise UnreadableBody(f"line {number} is not JSON") from None
    return documents


def nodes(value: Any, skip: frozenset[str] = frozenset()) -> list[Any]:
    """Every value nested in ``value`` (itself included): objects, arrays, strings and the rest.

    ``skip``: keys whose values are not walked into (e.g. what a platform says about the viewer).
    """
    found, stack = [], [value]
    while stack:
        node = stack.pop()
        found.append(node)
        if isinstance(node, dict):
            stack.extend(v for k, v in node.items() if k not in skip)
        elif isinstance(node, list):
            stack.extend(node)
    return found


def objects(value: Any) -> list[dict[str, Any]]:
    """Every JSON object nested in ``value`` (itself included)."""
    return [node for node in nodes(value) if isinstance(node, dict)]


def text_of(value: Any) -> str:
    """A platform id or handle as text ('' when absent); ids may come as JSON numbers."""
    if isinstance(value, bool) or value is None:
        return ""
    return str(value) if isinstance(value, str | int) else ""
