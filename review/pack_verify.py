"""Check an assay evidence pack: python3 verify.py [FOLDER | PACK.zip]  (default: this script's folder).

Standard library only, so a panel member can run it anywhere with Python 3. It checks that
1. every file listed in manifest.json is present with the sha256 listed, and nothing else is there;
2. each raw post (posts/<id>.json) still hashes to the sha256 assay recorded when it was collected
   (the canonical JSON evidence uses: sorted keys, no whitespace, UTF-8);
3. each HTTP exchange (exchanges/<id>) still hashes to the sha256 recorded when it was received;
4. each audit event in audit.json still hashes to its recorded hash from its previous hash, and
   consecutive events link (an event's previous hash is the hash of the one before it).
It prints OK, or what differs, and the manifest's sha256 to compare with the organisation's record.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """The form evidence and the audit chain hash: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash(prev_hash: str, body: Any) -> str:
    return _sha256(prev_hash.encode("ascii") + b"\n" + canonical_json(body))


def read_pack(where: Path) -> dict[str, bytes]:
    """Every file of the pack (a folder or a zip) by its name inside the pack."""
    if where.is_file():
        with zipfile.ZipFile(where) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    return {
        path.relative_to(where).as_posix(): path.read_bytes()
        for path in sorted(where.rglob("*"))
        if path.is_file() and not _os_litter(path.relative_to(where).parts)
    }


def _os_litter(parts: tuple[str, ...]) -> bool:
    """Files an operating system or Python leaves in an unzipped folder (.DS_Store, __MACOSX, __pycache__)."""
    return any(part.startswith(".") or part in ("__MACOSX", "__pycache__", "Thumbs.db") for part in parts)


def _check_files(files: dict[str, bytes], listed: dict[str, str]) -> list[str]:
    problems = []
    for name, expected in sorted(listed.items()):
        if name not in files:
            problems.append(f"{name}: missing (the manifest lists it)")
        elif _sha256(files[name]) != expected:
            problems.append(f"{name}: its sha256 is {_sha256(files[name])}, the manifest says {expected}")
    for name in sorted(set(files) - set(listed) - {MANIFEST}):
        problems.append(f"{name}: not listed in the manifest (added after the pack was built)")
    return problems


def _check_posts(files: dict[str, bytes], posts: list[dict[str, Any]]) -> list[str]:
    problems = []
    for post in posts:
        name, expected = post["file"], post["sha256"]
        if name not in files:
            continue  # reported as missing by the file check
        data = files[name]
        try:
            recomputed = _sha256(canonical_json(json.loads(data)))
        except ValueError as exc:
            problems.append(f"{name}: not valid JSON ({exc})")
            continue
        # The file is written in the canonical form; its bytes hash the same unless a float is spelled
        # differently by another JSON library, so either form matching the recorded hash is a match.
        if expected not in (recomputed, _sha256(data)):
            problems.append(f"{name}: the raw post hashes to {recomputed}, but was {expected} when collected")
    return problems


def _check_exchanges(files: dict[str, bytes], exchanges: list[dict[str, Any]]) -> list[str]:
    problems = []
    for exchange in exchanges:
        name, expected = exchange["file"], exchange["sha256"]
        if name in files and _sha256(files[name]) != expected:
            problems.append(f"{name}: the body hashes to {_sha256(files[name])}, but was {expected} when received")
    return problems


def _check_audit(files: dict[str, bytes], name: str) -> tuple[int, list[str]]:
    if name not in files:
        return 0, []
    try:
        events = json.loads(files[name])["events"]
    except (ValueError, KeyError, TypeError) as exc:
        return 0, [f"{name}: not a list of audit events ({exc})"]
    problems = []
    before: dict[str, Any] | None = None
    for event in events:
        seq = event.get("seq")
        if event_hash(event["prev_hash"], event["body"]) != event["hash"]:
            problems.append(f"{name}: event {seq}: its content does not match its hash")
        if event["body"].get("seq") != seq:
            problems.append(f"{name}: event {seq}: its body says it is event {event['body'].get('seq')}")
        if before is not None and before["seq"] + 1 == seq and event["prev_hash"] != before["hash"]:
            problems.append(f"{name}: event {seq}: its previous hash is not the hash of event {before['seq']}")
        before = event
    return len(events), problems


def verify(where: Path) -> tuple[bool, list[str]]:
    """(all good, lines to print)."""
    files = read_pack(where)
    if MANIFEST not in files:
        return False, [f"{MANIFEST}: missing: this is not an evidence pack, or it was damaged"]
    manifest = json.loads(files[MANIFEST])
    listed: dict[str, str] = manifest["files"]
    problems = _check_files(files, listed)
    problems += _check_posts(files, manifest.get("posts", []))
    problems += _check_exchanges(files, manifest.get("exchanges", []))
    events, audit_problems = _check_audit(files, manifest.get("audit", "audit.json"))
    problems += audit_problems
    summary = (
        f"{len(listed)} files, {len(manifest.get('posts', []))} raw posts, "
        f"{len(manifest.get('exchanges', []))} exchanges, {events} audit events"
    )
    footer = f"manifest sha256 {_sha256(files[MANIFEST])} (compare with the organisation's record of the pack)"
    if problems:
        return False, ["DIFFERS:", *(f"  {p}" for p in problems), f"checked {summary}", footer]
    return True, [f"OK: {summary} check out", footer]


def main(argv: list[str]) -> int:
    where = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    if not where.exists():
        print(f"{where}: no such file or folder", file=sys.stderr)
        return 2
    ok, lines = verify(where)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
