"""Oversight: the hash-chained audit log and the recorded purposes of processing."""

from __future__ import annotations

from typing import Any

from django.db import models

from oversight.lawful_basis import LAWFUL_BASES


class ChainHead(models.Model):
    """One row holding the chain's tip; locking it serialises appends on every backend."""

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"audit chain tip: event {self.last_seq}"


class AuditEvent(models.Model):
    """One access or change, chained to the one before it by hash."""

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150, help_text="username, or 'system' for commands")
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id"]), models.Index(fields=["action", "at"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id} by {self.actor}"

    def body(self) -> dict[str, Any]:
        """The hashed content of the event."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "data": self.data,
        }


class Purpose(models.Model):
    """One version of a recorded purpose of processing and its lawful basis (UK GDPR Art. 6, 30).

    Editing makes a new version (the old ones stay, as history); a version is approved by a
    second person; retiring stops everything that runs under the purpose. Work runs under the
    newest approved version of its name (oversight/purposes.py decides).
    """

    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    description = models.TextField()
    lawful_basis = models.CharField(max_length=32, choices=list(LAWFUL_BASES.items()))
    probabilistic = models.BooleanField(
        default=False, help_text="covers probabilistic matching of accounts to members (needs a DPIA)"
    )
    dpia_reference = models.CharField(max_length=200, blank=True)
    dpia_date = models.DateField(null=True, blank=True)
    review_due = models.DateField(null=True, blank=True)
    created_by = models.CharField(max_length=150, help_text="username, or 'migration' for the default purpose")
    created_at = models.DateTimeField()
    approved_by = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="purpose_unique_version")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def approved(self) -> bool:
        return self.approved_at is not None
