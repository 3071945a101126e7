"""The mail outbox: copies of sent email that Django's file backend keeps on disk, as personal data.

With the file email backend (the embedded default) every notice and appeal-result email stays in
``ASSAY_EMAIL_FILE_PATH`` (``$ASSAY_DATA_DIR/outbox``) as a file holding the member's name, address
and a live link to their notice. So:

- retention deletes files whose newest message is older than ``ASSAY_RETENTION_OUTBOX_DAYS``;
- erasure removes the messages addressed to the member (To or Cc): a file with nothing else in it is
  deleted, a file that also holds mail to others keeps only that mail;
- subject access lists the messages to the member (date, subject, file), without their bodies.

Only files the backend wrote are touched: regular ``*.log`` files (not links) directly in the folder,
each part of which is an email with To, Date and Message-ID headers followed by the backend's line of
79 dashes. Anything else in the folder is never read past that check, changed or deleted. The folder
is read whatever ``ASSAY_EMAIL_BACKEND`` is now: files from an earlier file-backend setup count too.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from oversight.privacy import FileCategory, RetentionRule, register_file_category, register_retention

# What django.core.mail.backends.filebased.EmailBackend.write_message puts after each message.
SEPARATOR = b"\n" + b"-" * 79 + b"\n"
MAX_BYTES = 16 * 1024 * 1024  # an outbox file is a few KB; a larger *.log is somebody else's


@dataclass(frozen=True)
class Message:
    recipients: frozenset[str]  # To and Cc, lower case
    subject: str
    sent_at: datetime
    part: bytes  # the message as the backend wrote it, without the separator


@dataclass(frozen=True)
class OutboxFile:
    path: Path
    messages: tuple[Message, ...]

    @property
    def sent_at(self) -> datetime:
        """When the newest message in it was sent."""
        return max(m.sent_at for m in self.messages)


def folder() -> Path:
    return Path(settings.EMAIL_FILE_PATH)


def _message(part: bytes) -> Message | None:
    headers: EmailMessage = BytesHeaderParser(policy=default_policy).parsebytes(part)
    try:
        to, date, message_id = headers["To"], headers["Date"], headers["Message-ID"]
        if not (to and date and message_id):
            return None
        sent_at = parsedate_to_datetime(str(date))
        cc = headers.get_all("Cc") or []
    except (ValueError, TypeError, IndexError):  # a header that does not parse: not the backend's
        return None
    if sent_at.tzinfo is None:  # "-0000": Django writes UTC so unless EMAIL_USE_LOCALTIME
        sent_at = sent_at.replace(tzinfo=UTC)
    recipients = frozenset(addr.strip().lower() for _, addr in getaddresses([str(to), *map(str, cc)]) if addr)
    return Message(recipients, str(headers.get("Subject", "")), sent_at, part)


def read(path: Path, mentioning: set[str] | None = None) -> OutboxFile | None:
    """The messages in ``path`` if the file backend wrote it, else None (the file is left alone)."""
    try:
        if path.suffix != ".log" or path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if not data.endswith(SEPARATOR):
        return None  # empty, half-written, or not the backend's
    if mentioning is not None and not any(m.encode() in data.lower() for m in mentioning):
        return None
    messages = []
    for part in data[: -len(SEPARATOR)].split(SEPARATOR):
        message = _message(part)
        if message is None:
            return None
        messages.append(message)
    return OutboxFile(path, tuple(messages))


def files(mentioning: set[str] | None = None) -> list[OutboxFile]:
    """Every file in the outbox the file backend wrote, oldest name first (``mentioning``: only files
    whose bytes contain one of these lower-case strings, a cheap test before parsing)."""
    try:
        paths = sorted(folder().iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [found for path in paths if (found := read(path, mentioning)) is not None]


def sent_before(cutoff: datetime) -> list[OutboxFile]:
    return [f for f in files() if f.sent_at < cutoff]


def delete(found: list[OutboxFile]) -> int:
    """Delete the files (those still there); returns how many went."""
    n = 0
    for outbox_file in found:
        try:
            outbox_file.path.unlink()
        except FileNotFoundError:
            continue
        n += 1
    return n


def to_addresses(addresses: tuple[str, ...]) -> list[tuple[OutboxFile, Message]]:
    """Each message addressed to any of ``addresses``, with its file."""
    wanted = set(addresses)
    if not wanted:
        return []
    return [(f, m) for f in files(mentioning=wanted) for m in f.messages if m.recipients & wanted]


def erase_to(addresses: tuple[str, ...]) -> int:
    """Remove every message addressed to ``addresses``; returns how many messages went."""
    wanted = set(addresses)
    removed = 0
    for outbox_file in {f.path: f for f, _ in to_addresses(addresses)}.values():
        kept = [m for m in outbox_file.messages if not m.recipients & wanted]
        if kept:
            _rewrite(outbox_file.path, kept)
        else:
            outbox_file.path.unlink(missing_ok=True)
        removed += len(outbox_file.messages) - len(kept)
    return removed


def _rewrite(path: Path, kept: list[Message]) -> None:
    """Replace ``path`` with only the ``kept`` messages, atomically (a temporary file renamed over it)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".erasing-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(b"".join(m.part + SEPARATOR for m in kept))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _listing(found: list[tuple[OutboxFile, Message]]) -> list[dict[str, Any]]:
    return [
        {"sent_at": m.sent_at, "subject": m.subject, "to": sorted(m.recipients), "file": f.path.name}
        for f, m in sorted(found, key=lambda fm: fm[1].sent_at)
    ]


register_file_category(
    FileCategory(
        key="oversight.outbox",
        label="copies of emails sent to the member, kept in the outbox folder (listed, not included)",
        retention="deleted ASSAY_RETENTION_OUTBOX_DAYS after sending, or on erasure",
        find=lambda scope: to_addresses(scope.addresses),
        export=_listing,
        erase=lambda scope: erase_to(scope.addresses),
    )
)
register_retention(
    RetentionRule(
        key="oversight.outbox",
        label="sent emails kept in the outbox folder (files)",
        setting="RETENTION_OUTBOX_DAYS",
        candidates=sent_before,
        apply=delete,
        action="deleted",
        order=90,
    )
)
