"""Oversight: the hash-chained audit log and the recorded purposes of processing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.utils.crypto import salted_hmac

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
    actor = models.CharField(
        max_length=150, help_text="username (for commands ASSAY_ACTOR, else os:NAME), or 'system' for scheduled work"
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["action", "at"]),
            models.Index(fields=["at"]),  # the oversight figures count months as ranges of it
        ]

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


class SignInKey(models.Model):
    """A person's sign-in key: part of every session's proof of who is signed in (see SignedInUser).

    Rotating it (``oversight.signin.end_sessions``) ends every session of the person in any session
    store (database, signed cookies, cache): their sessions' hashes no longer match. No row: no key yet.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="sign_in_key"
    )
    value = models.CharField(max_length=64)
    rotated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"sign-in key of user {self.user_id}, rotated {self.rotated_at:%Y-%m-%d %H:%M}"


_SESSION_HASH_SALT = "assay.oversight.models.SignedInUser.get_session_auth_hash"


def session_auth_hash(password: str, key: str, *, secret: str | bytes | None = None) -> str:
    """A session's proof of who is signed in: over the password hash and the person's sign-in key."""
    return salted_hmac(_SESSION_HASH_SALT, f"{password}\n{key}", secret=secret, algorithm="sha256").hexdigest()


class SignedInUser(User):
    """A user as loaded for a session (``oversight.signin.StaffBackend``): Django checks the session's
    hash against :meth:`get_session_auth_hash`, which here also covers the person's sign-in key.

    Without a key (never rotated) the hash is Django's own, so sessions made before any rotation stay valid.
    """

    class Meta:
        proxy = True

    def sign_in_key_value(self) -> str:
        key: SignInKey | None = getattr(self, "sign_in_key", None)  # the reverse accessor raises when absent
        return key.value if key is not None else ""

    def get_session_auth_hash(self) -> str:
        key = self.sign_in_key_value()
        return session_auth_hash(self.password, key) if key else super().get_session_auth_hash()

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        key = self.sign_in_key_value()
        if not key:
            yield from super().get_session_auth_fallback_hash()
            return
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield session_auth_hash(self.password, key, secret=secret)
