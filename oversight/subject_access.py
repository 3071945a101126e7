"""Subject access (UK GDPR Art. 15): everything assay holds about one member, as a zip.

The zip holds one JSON file per registered category (``register.member.json``, ``evidence.post.json``,
...; ``oversight.outbox.json`` lists the emails to the member still in the outbox, without their
text), ``audit_events.json`` (who looked at or changed their data, and when), ``manifest.json``
(what each file is, its sha256, the retention rule) and ``summary.md``, a readable version.

Policy on staff: reviewers, leads and operators appear by role ("reviewer"), never by name. Their
names are their own personal data, disclosing them can expose volunteers to pressure, and the
member's right is to the reasons and the process, which the roles and the reasons give in full.
The model's other candidate members for a proposed link are third parties and are left out.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from oversight.models import AuditEvent
from oversight.privacy import Category, FileCategory, Scope, categories, file_categories, scope_of, staff_as_roles
from oversight.services import record

# Audit data keys that carry a staff username: exported as the user's role.
_STAFF_KEYS = ("reviewer", "previous", "username")


@dataclass(frozen=True)
class Export:
    member_id: int
    counts: dict[str, int]
    audit_events: int


def _json(data: Any) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False).encode()


def _chunks(items: list[str], size: int = 900) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _audit_events(refs: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Events about any row we export (the member, their links, cases, ...), staff shown by role."""
    events: dict[int, AuditEvent] = {}
    for object_type, ids in refs.items():
        for chunk in _chunks(ids):
            for event in AuditEvent.objects.filter(object_type=object_type, object_id__in=chunk):
                events[event.seq] = event
    ordered = [events[seq] for seq in sorted(events)]
    names = {e.actor for e in ordered} | {str(e.data.get(k)) for e in ordered for k in _STAFF_KEYS if e.data.get(k)}
    users = dict(get_user_model().objects.filter(username__in=names).values_list("username", "pk"))
    roles = staff_as_roles(users.values())

    def as_role(name: str) -> str:
        return roles[users[name]] if name in users else ("system" if name == "system" else "staff")

    return [
        {
            "seq": e.seq,
            "at": e.at,
            "action": e.action,
            "by": as_role(e.actor),
            "object": f"{e.object_type}:{e.object_id}",
            "data": {k: (as_role(str(v)) if k in _STAFF_KEYS and v else v) for k, v in e.data.items()},
        }
        for e in ordered
    ]


Exported = list[tuple[Category | FileCategory, list[dict[str, Any]]]]


def _markdown(number: str, generated: datetime, exported: Exported, audit: list[dict[str, Any]]) -> str:
    lines = [
        f"# What we hold about member {number}",
        "",
        f"Generated {generated:%Y-%m-%d %H:%M} UTC under UK GDPR Article 15. Each section below is also a JSON "
        "file in this archive. Staff appear by role, not by name; other members are left out.",
        "",
        "Under *Kept* each section says how long it is kept. You may ask for any of it to be corrected or "
        "erased, or for its processing to be restricted.",
        "",
    ]
    for category, rows in reversed(exported):  # the register record first, decisions last
        title = f"{category.label[:1].upper()}{category.label[1:]}"
        lines += [f"## {title} ({len(rows)})", "", f"*Kept:* {category.retention}.", ""]
        for row in rows:
            shown = [f"**{k}**: {_text(v)}" for k, v in row.items() if v not in (None, "", [], {})]
            lines.append("- " + "; ".join(shown))
        lines.append("")
    lines += [f"## Who viewed or changed your data ({len(audit)})", ""]
    lines += [f"- {e['at']:%Y-%m-%d %H:%M} {e['action']} by {e['by']} ({e['object']})" for e in audit]
    return "\n".join(lines) + "\n"


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    return str(value).replace("\n", " ")


def write_export(member_id: int, number: str, out: IO[bytes] | Path, *, actor: Any = None) -> Export:
    """Write the subject access zip for member ``member_id`` to ``out``; audited as ``member.subject_access``."""
    scope: Scope = scope_of(member_id)
    generated = timezone.now()
    exported: Exported = [(f, f.export(f.find(scope))) for f in file_categories()]
    refs: dict[str, list[str]] = {}
    with transaction.atomic():
        for category in categories():
            rows = category.rows(scope)
            exported.append((category, category.export_for(scope, rows)))
            refs.setdefault(category.model_label, []).extend(str(pk) for pk in rows.values_list("pk", flat=True))
        audit = _audit_events(refs)
        files = {f"{c.key}.json": _json(rows) for c, rows in exported}
        files["audit_events.json"] = _json(audit)
        files["summary.md"] = _markdown(number, generated, exported, audit).encode()
        manifest = {
            "member": number,
            "generated_at": generated,
            "files": {
                name: {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)} for name, body in files.items()
            },
            "categories": {
                c.key: {"what": c.label, "rows": len(rows), "retention": c.retention} for c, rows in exported
            },
        }
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", _json(manifest))
            for name, body in files.items():
                archive.writestr(name, body)
        counts = {c.key: len(rows) for c, rows in exported}
        record(
            "member.subject_access",
            actor=actor,
            object_type="register.member",
            object_id=member_id,
            counts=counts,
            audit_events=len(audit),
        )
    return Export(member_id, counts, len(audit))
